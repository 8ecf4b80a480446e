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

package istio_test

import (
	"encoding/json"
	"testing"

	jsonpatch "gopkg.in/evanphx/json-patch.v4"
	networkingv1alpha3 "istio.io/api/networking/v1alpha3"
	networkingv1 "istio.io/client-go/pkg/apis/networking/v1"

	"github.com/cutover-dev/cutover/internal/rfc6902"
	"github.com/cutover-dev/cutover/internal/traffic"
	"github.com/cutover-dev/cutover/internal/traffic/istio"
)

// fuzzObjects builds a VirtualService and a DestinationRule from the fuzzer's bytes: routes
// named primary, mirror or nothing (duplicates too), destinations to any subset with any weight,
// and subsets that may be missing or labelled with any revision.
func fuzzObjects(data []byte) (*networkingv1.VirtualService, *networkingv1.DestinationRule, traffic.Split, []string) {
	i := 0
	next := func(n int) int {
		if i >= len(data) {
			return 0
		}
		i++
		return int(data[i-1]) % n
	}
	names := []string{"primary", "mirror", "", "primary"}
	subsets := []string{"stable", "canary", "other", ""}
	var routes []*networkingv1alpha3.HTTPRoute
	for range 1 + next(3) {
		var dests []*networkingv1alpha3.HTTPRouteDestination
		if w := int32(next(101)); next(4) != 0 {
			// Mostly the shape Cutover manages, at any weight, so Plan accepts it often.
			dests = []*networkingv1alpha3.HTTPRouteDestination{dest("stable", 100-w), dest("canary", w)}
		} else {
			for range next(4) {
				dests = append(dests, dest(subsets[next(4)], int32(next(121))))
			}
		}
		routes = append(routes, route(names[next(4)], dests...))
	}
	revs := []string{"", "s1", "c1", "s2"}
	var subs []*networkingv1alpha3.Subset
	for _, name := range []string{"stable", "canary", "other"} {
		if next(8) != 0 {
			subs = append(subs, subset(name, rev(revs[next(4)])))
		}
	}
	split := traffic.Split{StableRevision: "s2", CanaryRevision: []string{"", "c2"}[next(2)], CanaryWeight: int32(next(105))}
	managed := [][]string{nil, {"primary"}, {"mirror", "primary"}}[next(3)]
	return vsObj("shop", "checkout", routes...), drObj(subs...), split, managed
}

// applyTo applies a planned patch to the JSON of its object and decodes the result into out.
func applyTo(t *testing.T, p istio.ObjectPatch, out any) {
	t.Helper()
	raw, err := json.Marshal(p.Object)
	if err != nil {
		t.Fatal(err)
	}
	ops, err := json.Marshal(p.Ops)
	if err != nil {
		t.Fatal(err)
	}
	patch, err := jsonpatch.DecodePatch(ops)
	if err != nil {
		t.Fatalf("the patch does not decode: %v", err)
	}
	if len(p.Ops) == 0 || p.Ops[0].Op != rfc6902.Test {
		t.Fatalf("the patch does not start with a test operation: %s", ops)
	}
	patched, err := patch.Apply(raw)
	if err != nil {
		t.Fatalf("the patch does not apply to the object it was planned from: %v\npatch %s\nobject %s", err, ops, raw)
	}
	if err := json.Unmarshal(patched, out); err != nil {
		t.Fatal(err)
	}
}

// FuzzPlan: for any routing objects and split, Plan either refuses them or returns patches that
// apply to the objects they were planned from (every test operation holds), after which the
// objects carry the split: planning again changes nothing and observes the desired weight.
func FuzzPlan(f *testing.F) {
	for _, seed := range [][]byte{nil, {1, 2, 0, 80, 1, 20}, {2, 0, 3, 0, 50, 1, 50, 2, 9, 1, 1, 1, 1, 1, 1, 30}} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		vs, dr, split, routes := fuzzObjects(data)
		cfg := cfgFor(ref("checkout", routes...))
		patches, _, err := istio.Plan([]*networkingv1.VirtualService{vs}, dr, cfg, split)
		if err != nil {
			return
		}
		for _, p := range patches {
			switch p.Object.(type) {
			case *networkingv1.VirtualService:
				next := &networkingv1.VirtualService{}
				applyTo(t, p, next)
				vs = next
			case *networkingv1.DestinationRule:
				next := &networkingv1.DestinationRule{}
				applyTo(t, p, next)
				dr = next
			}
		}
		again, obs, err := istio.Plan([]*networkingv1.VirtualService{vs}, dr, cfg, split)
		if err != nil {
			t.Fatalf("the patched objects are refused: %v", err)
		}
		if len(again) != 0 || obs.CanaryWeight != split.CanaryWeight || obs.StableRevision != split.StableRevision {
			t.Fatalf("after the patches: %d more patches, observed %+v; want none and the split %+v", len(again), obs, split)
		}
	})
}
