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

package controllers

import (
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	cutoverv1alpha1 "github.com/cutover-dev/cutover/api/v1alpha1"
)

// TestShardSelectorSplitsRollouts: every label set is in exactly one of the shards, and the
// default shard takes the Rollouts without the label (an empty value is a label all the same).
func TestShardSelectorSplitsRollouts(t *testing.T) {
	shards := []string{"", "a", "b"}
	cases := []struct {
		labels labels.Set
		want   string
	}{
		{nil, ""},
		{labels.Set{"app": "web"}, ""},
		{labels.Set{cutoverv1alpha1.LabelShard: "a"}, "a"},
		{labels.Set{cutoverv1alpha1.LabelShard: "b", "app": "web"}, "b"},
		{labels.Set{cutoverv1alpha1.LabelShard: "c"}, "none"},
		{labels.Set{cutoverv1alpha1.LabelShard: ""}, "none"},
	}
	for _, c := range cases {
		var in []string
		for _, shard := range shards {
			sel, err := ShardSelector(shard)
			if err != nil {
				t.Fatalf("ShardSelector(%q): %v", shard, err)
			}
			if sel.Matches(c.labels) {
				in = append(in, shard)
			}
		}
		want := []string{c.want}
		if c.want == "none" {
			want = nil
		}
		if strings.Join(in, ",") != strings.Join(want, ",") || len(in) != len(want) {
			t.Errorf("labels %v: in shards %q, want %q", c.labels, in, want)
		}
	}
}

// TestShardSelectorStrings: the selectors are the ones docs/scaling.md gives for kubectl.
func TestShardSelectorStrings(t *testing.T) {
	for shard, want := range map[string]string{"": "!cutover.dev/shard", "a": "cutover.dev/shard=a"} {
		sel, err := ShardSelector(shard)
		if err != nil || sel.String() != want {
			t.Errorf("ShardSelector(%q) = %v, %v; want %s", shard, sel, err, want)
		}
	}
}

// TestValidateShard: a name that cannot be both a label value and part of a Lease name is
// refused with the reason; the error names the label.
func TestValidateShard(t *testing.T) {
	for _, ok := range []string{"", "a", "shard-1", strings.Repeat("x", validation.DNS1123LabelMaxLength)} {
		if err := ValidateShard(ok); err != nil {
			t.Errorf("ValidateShard(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{"A", "a_b", "a.b", "-a", "a b", strings.Repeat("x", validation.DNS1123LabelMaxLength+1)} {
		err := ValidateShard(bad)
		if err == nil || !strings.Contains(err.Error(), cutoverv1alpha1.LabelShard) {
			t.Errorf("ValidateShard(%q) = %v, want an error naming %s", bad, err, cutoverv1alpha1.LabelShard)
		}
		if _, err := ShardSelector(bad); err == nil {
			t.Errorf("ShardSelector(%q) accepted an invalid name", bad)
		}
		if _, err := ShardCacheOptions(cache.Options{}, bad); err == nil {
			t.Errorf("ShardCacheOptions(%q) accepted an invalid name", bad)
		}
	}
}

// TestShardCacheOptions: only the Rollout informer is selected; the other options and the
// caller's own ByObject map are left alone.
func TestShardCacheOptions(t *testing.T) {
	rsConfig := cache.ByObject{Transform: TrimForCache}
	in := cache.Options{
		DefaultTransform:  TrimForCache,
		DefaultNamespaces: map[string]cache.Config{"shop": {}},
		ByObject:          map[client.Object]cache.ByObject{&appsv1.ReplicaSet{}: rsConfig},
	}
	out, err := ShardCacheOptions(in, "a")
	if err != nil {
		t.Fatal(err)
	}
	if len(in.ByObject) != 1 {
		t.Errorf("the caller's ByObject map was changed: %v", in.ByObject)
	}
	if out.DefaultTransform == nil || len(out.DefaultNamespaces) != 1 || len(out.ByObject) != 2 {
		t.Errorf("options not kept: %+v", out)
	}
	for obj, cfg := range out.ByObject {
		switch obj.(type) {
		case *cutoverv1alpha1.Rollout:
			if cfg.Label == nil || cfg.Label.String() != "cutover.dev/shard=a" {
				t.Errorf("Rollout selector = %v, want cutover.dev/shard=a", cfg.Label)
			}
		case *appsv1.ReplicaSet:
			if cfg.Label != nil {
				t.Errorf("ReplicaSets are selected by %v; they must not be", cfg.Label)
			}
		}
	}
}

// TestLeaderElectionID: each shard has its own Lease; the default shard keeps the name of an
// unsharded install, so adding shards does not elect a second leader for it.
func TestLeaderElectionID(t *testing.T) {
	for shard, want := range map[string]string{"": "cutover.cutover.dev", "a": "cutover-a.cutover.dev"} {
		if got := LeaderElectionID(shard); got != want {
			t.Errorf("LeaderElectionID(%q) = %s, want %s", shard, got, want)
		}
	}
	long := strings.Repeat("x", validation.DNS1123LabelMaxLength)
	if errs := validation.IsDNS1123Subdomain(LeaderElectionID(long)); len(errs) > 0 {
		t.Errorf("the Lease name of the longest shard name is invalid: %v", errs)
	}
}
