/*
Copyright 2026 The Cutover Authors.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

// Package rfc6902 holds the operation of a JSON patch (RFC 6902) that every JSON patch Cutover
// sends is built from: the Rollout's status and annotations, the Istio routing objects, the
// blue-green Services and the plugin's image changes.
package rfc6902

// The operations Cutover sends.
const (
	Test    = "test"
	Add     = "add"
	Replace = "replace"
	Remove  = "remove"
)

// Op is one operation of a JSON patch. A nil Value is left out (a remove); any other value,
// zero values included, is sent.
type Op struct {
	Op    string `json:"op"`
	Path  string `json:"path"`
	Value any    `json:"value,omitempty"`
}
