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

package gates

import "strings"

// Vars are the values of the placeholders a query, URL, header or body may name.
type Vars struct {
	// Revision is the hash of the revision being rolled out: ${revision}.
	Revision string
	// StableRevision is the hash of the stable revision: ${stableRevision}.
	StableRevision string
	// Rollout is the name of the Rollout: ${rollout}.
	Rollout string
	// Namespace is the namespace of the Rollout: ${namespace}.
	Namespace string
}

// Expand replaces ${revision}, ${stableRevision}, ${rollout} and ${namespace}; other text
// (including unknown ${...}) is left as is. Replacement is a single left-to-right pass, so a
// value that itself contains a placeholder is not expanded again.
//
// Nothing is escaped. The values are revision hashes and Kubernetes names, which hold no
// character that is special in a PromQL string literal, a URL or a header, so a query such as
// `{revision="${revision}"}` needs no quoting beyond its own.
func (v Vars) Expand(s string) string {
	if !strings.Contains(s, "${") {
		return s
	}
	return strings.NewReplacer(
		"${revision}", v.Revision,
		"${stableRevision}", v.StableRevision,
		"${rollout}", v.Rollout,
		"${namespace}", v.Namespace,
	).Replace(s)
}
