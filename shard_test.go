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

package main

import (
	"strings"
	"testing"

	cutoverv1alpha1 "github.com/cutover-dev/cutover/api/v1alpha1"
)

// TestCacheOptionsShard: --shard selects the Rollout informer and keeps --watch-namespaces; an
// invalid value is refused at start with the flag's name.
func TestCacheOptionsShard(t *testing.T) {
	opts, err := cacheOptions("shop, web", "a")
	if err != nil {
		t.Fatal(err)
	}
	if len(opts.DefaultNamespaces) != 2 || opts.DefaultTransform == nil {
		t.Errorf("namespaces or transform lost: %+v", opts)
	}
	found := false
	for obj, cfg := range opts.ByObject {
		if _, ok := obj.(*cutoverv1alpha1.Rollout); ok {
			found = cfg.Label != nil && cfg.Label.String() == cutoverv1alpha1.LabelShard+"=a"
		}
	}
	if !found {
		t.Errorf("the Rollout informer is not selected by shard a: %+v", opts.ByObject)
	}
	if _, err := cacheOptions("", "Shard_A"); err == nil || !strings.Contains(err.Error(), "--shard") {
		t.Errorf("cacheOptions accepted an invalid shard, or did not name the flag: %v", err)
	}
}
