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
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"
	networkingv1alpha3 "istio.io/api/networking/v1alpha3"
	networkingv1 "istio.io/client-go/pkg/apis/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	cutoverv1alpha1 "github.com/cutover-dev/cutover/api/v1alpha1"
	"github.com/cutover-dev/cutover/internal/traffic"
	"github.com/cutover-dev/cutover/internal/traffic/istio"
)

func vsObj(ns, name string, routes ...*networkingv1alpha3.HTTPRoute) *networkingv1.VirtualService {
	return &networkingv1.VirtualService{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec:       networkingv1alpha3.VirtualService{Hosts: []string{"checkout"}, Http: routes},
	}
}

func route(name string, dests ...*networkingv1alpha3.HTTPRouteDestination) *networkingv1alpha3.HTTPRoute {
	return &networkingv1alpha3.HTTPRoute{Name: name, Route: dests}
}

func dest(subset string, weight int32) *networkingv1alpha3.HTTPRouteDestination {
	return &networkingv1alpha3.HTTPRouteDestination{
		Destination: &networkingv1alpha3.Destination{Host: "checkout", Subset: subset}, Weight: weight,
	}
}

func drObj(subsets ...*networkingv1alpha3.Subset) *networkingv1.DestinationRule {
	return &networkingv1.DestinationRule{
		ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "checkout"},
		Spec:       networkingv1alpha3.DestinationRule{Host: "checkout", Subsets: subsets},
	}
}

func subset(name string, labels map[string]string) *networkingv1alpha3.Subset {
	return &networkingv1alpha3.Subset{Name: name, Labels: labels}
}

func rev(r string) map[string]string { return map[string]string{cutoverv1alpha1.LabelRevision: r} }

// labelled is a DestinationRule whose subsets select s1 and c1.
func labelled() *networkingv1.DestinationRule {
	return drObj(subset("stable", rev("s1")), subset("canary", rev("c1")))
}

// withHost sets the host of a DestinationRule.
func withHost(dr *networkingv1.DestinationRule, host string) *networkingv1.DestinationRule {
	dr.Spec.Host = host
	return dr
}

// primary80 is the VirtualService shop/checkout with one route "primary" at 80/20.
func primary80() *networkingv1.VirtualService {
	return vsObj("shop", "checkout", route("primary", dest("stable", 80), dest("canary", 20)))
}

func cfgFor(vs ...cutoverv1alpha1.IstioVirtualService) cutoverv1alpha1.IstioTrafficRouting {
	cfg := cutoverv1alpha1.IstioTrafficRouting{
		DestinationRule: cutoverv1alpha1.IstioDestinationRule{Name: "checkout", StableSubset: "stable", CanarySubset: "canary"},
	}
	if len(vs) == 1 {
		cfg.VirtualService = &vs[0]
	} else {
		cfg.VirtualServices = vs
	}
	return cfg
}

func ref(name string, routes ...string) cutoverv1alpha1.IstioVirtualService {
	return cutoverv1alpha1.IstioVirtualService{Name: name, Routes: routes}
}

// formatPatches writes each patch as "<Kind> <ns>/<name>" followed by its operations, one
// "<op> <path> <value>" a line.
func formatPatches(t *testing.T, patches []istio.ObjectPatch) []string {
	t.Helper()
	var out []string
	for _, p := range patches {
		kind := istio.KindVirtualService
		if _, ok := p.Object.(*networkingv1.DestinationRule); ok {
			kind = istio.KindDestinationRule
		}
		out = append(out, fmt.Sprintf("%s %s/%s", kind, p.Object.GetNamespace(), p.Object.GetName()))
		for _, op := range p.Ops {
			v, err := json.Marshal(op.Value)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, fmt.Sprintf("  %s %s %s", op.Op, op.Path, v))
		}
	}
	return out
}

func TestPlan(t *testing.T) {
	split := func(s, c string, w int32) traffic.Split {
		return traffic.Split{StableRevision: s, CanaryRevision: c, CanaryWeight: w}
	}
	cases := []struct {
		name    string
		vs      []*networkingv1.VirtualService
		dr      *networkingv1.DestinationRule
		cfg     cutoverv1alpha1.IstioTrafficRouting
		desired traffic.Split

		wantPatches   []string
		wantObserved  traffic.Observed // without Corrected
		wantCorrected []string
		wantErr       error  // errors.Is
		wantMsg       string // the whole message
	}{{
		name: "first split on every route: absent weights are added, the labels map is added",
		vs: []*networkingv1.VirtualService{vsObj("shop", "checkout",
			route("primary", dest("stable", 100), dest("canary", 0)),
			route("", dest("canary", 0), dest("stable", 100)))},
		dr:      drObj(subset("stable", map[string]string{"app": "checkout"}), subset("canary", nil)),
		cfg:     cfgFor(ref("checkout")),
		desired: split("s1", "c1", 10),
		wantPatches: []string{
			"DestinationRule shop/checkout",
			`  test /spec/subsets/0/name "stable"`,
			`  add /spec/subsets/0/labels/cutover.dev~1revision "s1"`,
			`  test /spec/subsets/1/name "canary"`,
			`  add /spec/subsets/1/labels {"cutover.dev/revision":"c1"}`,
			"VirtualService shop/checkout",
			`  test /spec/http/0/name "primary"`,
			`  test /spec/http/0/route/0/destination/subset "stable"`,
			`  test /spec/http/0/route/0/weight 100`,
			`  replace /spec/http/0/route/0/weight 90`,
			`  test /spec/http/0/route/1/destination/subset "canary"`,
			`  add /spec/http/0/route/1/weight 10`,
			`  test /spec/http/1/route/1/destination/subset "stable"`,
			`  test /spec/http/1/route/1/weight 100`,
			`  replace /spec/http/1/route/1/weight 90`,
			`  test /spec/http/1/route/0/destination/subset "canary"`,
			`  add /spec/http/1/route/0/weight 10`,
		},
		wantCorrected: []string{
			"DestinationRule shop/checkout /spec/subsets/0/labels/cutover.dev~1revision",
			"DestinationRule shop/checkout /spec/subsets/1/labels/cutover.dev~1revision",
			"VirtualService shop/checkout /spec/http/0/route/0/weight",
			"VirtualService shop/checkout /spec/http/0/route/1/weight",
			"VirtualService shop/checkout /spec/http/1/route/1/weight",
			"VirtualService shop/checkout /spec/http/1/route/0/weight",
		},
	}, {
		name: "named routes only; the others are left alone, whatever they hold",
		vs: []*networkingv1.VirtualService{vsObj("shop", "checkout",
			route("legacy", dest("old", 100)),
			route("primary", dest("stable", 80), dest("canary", 20)))},
		dr:      labelled(),
		cfg:     cfgFor(ref("checkout", "primary")),
		desired: split("s1", "c1", 50),
		wantPatches: []string{
			"VirtualService shop/checkout",
			`  test /spec/http/1/name "primary"`,
			`  test /spec/http/1/route/0/destination/subset "stable"`,
			`  test /spec/http/1/route/0/weight 80`,
			`  replace /spec/http/1/route/0/weight 50`,
			`  test /spec/http/1/route/1/destination/subset "canary"`,
			`  test /spec/http/1/route/1/weight 20`,
			`  replace /spec/http/1/route/1/weight 50`,
		},
		wantObserved: traffic.Observed{StableRevision: "s1", CanaryRevision: "c1", CanaryWeight: 20},
		wantCorrected: []string{
			"VirtualService shop/checkout /spec/http/1/route/0/weight",
			"VirtualService shop/checkout /spec/http/1/route/1/weight",
		},
	}, {
		name:    "to 100%: the stable weight becomes 0 (replaced, not removed)",
		vs:      []*networkingv1.VirtualService{primary80()},
		dr:      labelled(),
		cfg:     cfgFor(ref("checkout")),
		desired: split("s1", "c1", 100),
		wantPatches: []string{
			"VirtualService shop/checkout",
			`  test /spec/http/0/name "primary"`,
			`  test /spec/http/0/route/0/destination/subset "stable"`,
			`  test /spec/http/0/route/0/weight 80`,
			`  replace /spec/http/0/route/0/weight 0`,
			`  test /spec/http/0/route/1/destination/subset "canary"`,
			`  test /spec/http/0/route/1/weight 20`,
			`  replace /spec/http/0/route/1/weight 100`,
		},
		wantObserved: traffic.Observed{StableRevision: "s1", CanaryRevision: "c1", CanaryWeight: 20},
		wantCorrected: []string{
			"VirtualService shop/checkout /spec/http/0/route/0/weight",
			"VirtualService shop/checkout /spec/http/0/route/1/weight",
		},
	}, {
		name:    "a changed label is tested and replaced; an empty canary revision leaves its label",
		vs:      []*networkingv1.VirtualService{vsObj("shop", "checkout", route("primary", dest("stable", 100), dest("canary", 0)))},
		dr:      labelled(),
		cfg:     cfgFor(ref("checkout")),
		desired: split("c1", "", 0),
		wantPatches: []string{
			"DestinationRule shop/checkout",
			`  test /spec/subsets/0/name "stable"`,
			`  test /spec/subsets/0/labels/cutover.dev~1revision "s1"`,
			`  replace /spec/subsets/0/labels/cutover.dev~1revision "c1"`,
		},
		wantObserved:  traffic.Observed{StableRevision: "s1", CanaryRevision: "c1", CanaryWeight: 0},
		wantCorrected: []string{"DestinationRule shop/checkout /spec/subsets/0/labels/cutover.dev~1revision"},
	}, {
		name:         "idempotent: the objects already carry the split, nothing to patch",
		vs:           []*networkingv1.VirtualService{primary80(), vsObj("shop", "checkout-internal", route("", dest("canary", 20), dest("stable", 80)))},
		dr:           labelled(),
		cfg:          cfgFor(ref("checkout"), ref("checkout-internal")),
		desired:      split("s1", "c1", 20),
		wantObserved: traffic.Observed{StableRevision: "s1", CanaryRevision: "c1", CanaryWeight: 20},
	}, {
		name: "only the named routes are observed",
		vs: []*networkingv1.VirtualService{vsObj("shop", "checkout",
			route("a", dest("stable", 80), dest("canary", 20)),
			route("b", dest("stable", 90), dest("canary", 10)))},
		dr:           labelled(),
		cfg:          cfgFor(ref("checkout", "a")),
		desired:      split("s1", "c1", 20),
		wantObserved: traffic.Observed{StableRevision: "s1", CanaryRevision: "c1", CanaryWeight: 20},
	}, {
		name: "routes that disagree are observed as -1 (all routes)",
		vs: []*networkingv1.VirtualService{vsObj("shop", "checkout",
			route("a", dest("stable", 80), dest("canary", 20)),
			route("b", dest("stable", 90), dest("canary", 10)))},
		dr:      labelled(),
		cfg:     cfgFor(ref("checkout")),
		desired: split("s1", "c1", 20),
		wantPatches: []string{
			"VirtualService shop/checkout",
			`  test /spec/http/1/name "b"`,
			`  test /spec/http/1/route/0/destination/subset "stable"`,
			`  test /spec/http/1/route/0/weight 90`,
			`  replace /spec/http/1/route/0/weight 80`,
			`  test /spec/http/1/route/1/destination/subset "canary"`,
			`  test /spec/http/1/route/1/weight 10`,
			`  replace /spec/http/1/route/1/weight 20`,
		},
		wantObserved: traffic.Observed{StableRevision: "s1", CanaryRevision: "c1", CanaryWeight: -1},
		wantCorrected: []string{
			"VirtualService shop/checkout /spec/http/1/route/0/weight",
			"VirtualService shop/checkout /spec/http/1/route/1/weight",
		},
	}, {
		name:    `a "namespace/name" reference to the Rollout's own namespace`,
		vs:      []*networkingv1.VirtualService{vsObj("shop", "checkout", route("", dest("stable", 100), dest("canary", 0)))},
		dr:      labelled(),
		cfg:     cfgFor(ref("shop/checkout")),
		desired: split("s1", "c1", 5),
		wantPatches: []string{
			"VirtualService shop/checkout",
			`  test /spec/http/0/route/0/destination/subset "stable"`,
			`  test /spec/http/0/route/0/weight 100`,
			`  replace /spec/http/0/route/0/weight 95`,
			`  test /spec/http/0/route/1/destination/subset "canary"`,
			`  add /spec/http/0/route/1/weight 5`,
		},
		wantObserved: traffic.Observed{StableRevision: "s1", CanaryRevision: "c1", CanaryWeight: 0},
		wantCorrected: []string{
			"VirtualService shop/checkout /spec/http/0/route/0/weight",
			"VirtualService shop/checkout /spec/http/0/route/1/weight",
		},
	}, {
		name:    "a VirtualService of another namespace",
		vs:      []*networkingv1.VirtualService{vsObj("mesh", "checkout", route("", dest("stable", 100), dest("canary", 0)))},
		dr:      labelled(),
		cfg:     cfgFor(ref("mesh/checkout")),
		desired: split("s1", "c1", 5),
		wantErr: traffic.ErrInvalidReference,
		wantMsg: `VirtualService mesh/checkout: is in another namespace than the Rollout (spec.trafficRouting.istio.virtualService.name); ` +
			`a Rollout routes only objects in its own namespace, unless the manager runs with --allow-cross-namespace-refs`,
	}, {
		name:    "two http routes with the managed name",
		vs:      []*networkingv1.VirtualService{vsObj("shop", "checkout", route("primary", dest("stable", 100), dest("canary", 0)), route("primary", dest("stable", 100), dest("canary", 0)))},
		dr:      labelled(),
		cfg:     cfgFor(ref("checkout", "primary")),
		desired: split("s1", "c1", 5),
		wantErr: traffic.ErrInvalidReference,
		wantMsg: `VirtualService shop/checkout: has 2 http routes named "primary": a named route must be one route`,
	}, {
		name:    "a DestinationRule of another host",
		vs:      []*networkingv1.VirtualService{primary80()},
		dr:      withHost(labelled(), "payments"),
		cfg:     cfgFor(ref("checkout")),
		desired: split("s1", "c1", 10),
		wantErr: traffic.ErrInvalidReference,
		wantMsg: `VirtualService shop/checkout: http route "primary" sends subset "stable" to host "checkout", but DestinationRule shop/checkout ` +
			`is for host "payments": its subsets do not apply there; VirtualService shop/checkout: http route "primary" sends subset "canary" ` +
			`to host "checkout", but DestinationRule shop/checkout is for host "payments": its subsets do not apply there`,
	}, {
		name:         "a DestinationRule host written in full is the same host",
		vs:           []*networkingv1.VirtualService{primary80()},
		dr:           withHost(labelled(), "checkout.shop.svc.cluster.local"),
		cfg:          cfgFor(ref("checkout")),
		desired:      split("s1", "c1", 20),
		wantObserved: traffic.Observed{StableRevision: "s1", CanaryRevision: "c1", CanaryWeight: 20},
	}, {
		name:         "a wildcard DestinationRule host is not judged",
		vs:           []*networkingv1.VirtualService{primary80()},
		dr:           withHost(labelled(), "*.shop.svc.cluster.local"),
		cfg:          cfgFor(ref("checkout")),
		desired:      split("s1", "c1", 20),
		wantObserved: traffic.Observed{StableRevision: "s1", CanaryRevision: "c1", CanaryWeight: 20},
	}, {
		name:    "a route name JSON could encode in several ways is not tested",
		vs:      []*networkingv1.VirtualService{vsObj("shop", "checkout", route("a<b", dest("stable", 100), dest("canary", 0)))},
		dr:      labelled(),
		cfg:     cfgFor(ref("checkout")),
		desired: split("s1", "c1", 10),
		wantPatches: []string{
			"VirtualService shop/checkout",
			`  test /spec/http/0/route/0/destination/subset "stable"`,
			`  test /spec/http/0/route/0/weight 100`,
			`  replace /spec/http/0/route/0/weight 90`,
			`  test /spec/http/0/route/1/destination/subset "canary"`,
			`  add /spec/http/0/route/1/weight 10`,
		},
		wantObserved: traffic.Observed{StableRevision: "s1", CanaryRevision: "c1", CanaryWeight: 0},
		wantCorrected: []string{
			"VirtualService shop/checkout /spec/http/0/route/0/weight",
			"VirtualService shop/checkout /spec/http/0/route/1/weight",
		},
	}, {
		name:    "missing destination",
		vs:      []*networkingv1.VirtualService{vsObj("shop", "checkout", route("primary", dest("stable", 100)))},
		dr:      labelled(),
		cfg:     cfgFor(ref("checkout")),
		desired: split("s1", "c1", 10),
		wantErr: traffic.ErrInvalidReference,
		wantMsg: `VirtualService shop/checkout: http route "primary" has no destination with subset "canary"`,
	}, {
		name:    "two destinations with the same subset, unnamed route",
		vs:      []*networkingv1.VirtualService{vsObj("shop", "checkout", route("primary", dest("stable", 100), dest("canary", 0)), route("", dest("stable", 50), dest("stable", 50), dest("canary", 0)))},
		dr:      labelled(),
		cfg:     cfgFor(ref("checkout")),
		desired: split("s1", "c1", 10),
		wantErr: traffic.ErrInvalidReference,
		wantMsg: `VirtualService shop/checkout: http route #1 (unnamed) has 2 destinations with subset "stable"`,
	}, {
		name:    "three destinations: the weights could not sum to 100",
		vs:      []*networkingv1.VirtualService{vsObj("shop", "checkout", route("primary", dest("stable", 90), dest("canary", 0), dest("mirror", 10)))},
		dr:      labelled(),
		cfg:     cfgFor(ref("checkout")),
		desired: split("s1", "c1", 10),
		wantErr: traffic.ErrInvalidReference,
		wantMsg: `VirtualService shop/checkout: http route "primary" has a destination other than subsets "stable" and "canary" ` +
			`(host "checkout" subset "mirror"): the weights of a managed route could not sum to 100`,
	}, {
		name:    "missing named route",
		vs:      []*networkingv1.VirtualService{primary80()},
		dr:      labelled(),
		cfg:     cfgFor(ref("checkout", "primary", "nope")),
		desired: split("s1", "c1", 10),
		wantErr: traffic.ErrInvalidReference,
		wantMsg: `VirtualService shop/checkout: has no http route named "nope"`,
	}, {
		name:    "missing subset",
		vs:      []*networkingv1.VirtualService{primary80()},
		dr:      drObj(subset("stable", nil), subset("preview", nil)),
		cfg:     cfgFor(ref("checkout")),
		desired: split("s1", "c1", 10),
		wantErr: traffic.ErrInvalidReference,
		wantMsg: `DestinationRule shop/checkout: has no subset "canary"`,
	}, {
		name: "tcp-only VirtualService",
		vs: []*networkingv1.VirtualService{{
			ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "checkout"},
			Spec: networkingv1alpha3.VirtualService{Tcp: []*networkingv1alpha3.TCPRoute{{Route: []*networkingv1alpha3.RouteDestination{
				{Destination: &networkingv1alpha3.Destination{Host: "checkout", Subset: "stable"}, Weight: 100},
			}}}},
		}},
		dr:      labelled(),
		cfg:     cfgFor(ref("checkout")),
		desired: split("s1", "c1", 10),
		wantErr: traffic.ErrInvalidReference,
		wantMsg: `VirtualService shop/checkout: has no http route; tcp/tls routes are not supported yet`,
	}, {
		name:    "every problem of every object is reported, and nothing is patched",
		vs:      []*networkingv1.VirtualService{primary80(), vsObj("shop", "checkout-internal", route("internal", dest("canary", 100)))},
		dr:      drObj(subset("stable", nil)),
		cfg:     cfgFor(ref("checkout"), ref("checkout-internal")),
		desired: split("s1", "c1", 10),
		wantErr: traffic.ErrInvalidReference,
		wantMsg: `DestinationRule shop/checkout: has no subset "canary"; ` +
			`VirtualService shop/checkout-internal: http route "internal" has no destination with subset "stable"`,
	}, {
		name:    "the same VirtualService referenced twice",
		vs:      []*networkingv1.VirtualService{primary80(), primary80()},
		dr:      labelled(),
		cfg:     cfgFor(ref("checkout"), ref("shop/checkout")),
		desired: split("s1", "c1", 10),
		wantErr: traffic.ErrInvalidReference,
		wantMsg: `VirtualService shop/checkout: referenced more than once`,
	}, {
		name:    "invalid split: weight out of range",
		vs:      []*networkingv1.VirtualService{primary80()},
		dr:      labelled(),
		cfg:     cfgFor(ref("checkout")),
		desired: split("s1", "c1", 101),
		wantMsg: `invalid split: canary weight 101 is not in 0..100`,
	}, {
		name:    "invalid split: weight without a canary revision",
		vs:      []*networkingv1.VirtualService{primary80()},
		dr:      labelled(),
		cfg:     cfgFor(ref("checkout")),
		desired: split("s1", "", 10),
		wantMsg: `invalid split: canary weight 10 without a canary revision`,
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := make([]*networkingv1.VirtualService, len(tc.vs))
			for i, v := range tc.vs {
				before[i] = v.DeepCopy()
			}
			patches, observed, err := istio.Plan(tc.vs, tc.dr, tc.cfg, tc.desired)
			if tc.wantMsg != "" {
				if err == nil || err.Error() != tc.wantMsg {
					t.Fatalf("error = %v\nwant    %s", err, tc.wantMsg)
				}
				if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
					t.Errorf("error %v does not wrap %v", err, tc.wantErr)
				}
				if tc.wantErr == nil && (errors.Is(err, traffic.ErrInvalidReference) || errors.Is(err, traffic.ErrReferenceNotFound)) {
					t.Errorf("error %v blames a routing object", err)
				}
				if len(patches) != 0 {
					t.Errorf("patches on error: %q", formatPatches(t, patches))
				}
				return
			}
			if err != nil {
				t.Fatalf("Plan: %v", err)
			}
			if got := formatPatches(t, patches); !slices.Equal(got, tc.wantPatches) {
				t.Errorf("patches:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.wantPatches, "\n"))
			}
			if !slices.Equal(observed.Corrected, tc.wantCorrected) {
				t.Errorf("Corrected = %q\nwant %q", observed.Corrected, tc.wantCorrected)
			}
			var changed []string
			for _, p := range patches {
				changed = append(changed, p.Changed...)
			}
			if !slices.Equal(changed, observed.Corrected) {
				t.Errorf("the patches' Changed %q differ from Corrected %q", changed, observed.Corrected)
			}
			observed.Corrected = nil
			if observed.StableRevision != tc.wantObserved.StableRevision || observed.CanaryRevision != tc.wantObserved.CanaryRevision ||
				observed.CanaryWeight != tc.wantObserved.CanaryWeight {
				t.Errorf("observed %+v, want %+v", observed, tc.wantObserved)
			}
			for i, v := range tc.vs {
				if !proto.Equal(&v.Spec, &before[i].Spec) {
					t.Errorf("Plan changed VirtualService %d", i)
				}
			}
		})
	}
}

// TestPlanPatchEncoding checks the JSON of a patch: a weight of 0 is written, not omitted.
func TestPlanPatchEncoding(t *testing.T) {
	patches, _, err := istio.Plan([]*networkingv1.VirtualService{primary80()}, labelled(), cfgFor(ref("checkout")),
		traffic.Split{StableRevision: "s1", CanaryRevision: "c1", CanaryWeight: 0})
	if err != nil || len(patches) != 1 {
		t.Fatalf("Plan = %d patches, %v", len(patches), err)
	}
	p, err := patches[0].Patch()
	if err != nil {
		t.Fatal(err)
	}
	data, err := p.Data(nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"op":"replace","path":"/spec/http/0/route/1/weight","value":0}`; !strings.Contains(string(data), want) {
		t.Errorf("patch %s does not contain %s", data, want)
	}
}
