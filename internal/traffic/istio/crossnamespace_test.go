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
	"context"
	"errors"
	"testing"

	"github.com/cutover-dev/cutover/internal/traffic"
	"github.com/cutover-dev/cutover/internal/traffic/istio"
)

// TestRouterCrossNamespace: a VirtualService of another namespace is refused, and left
// unpatched, unless the router was built with AllowCrossNamespace (the manager's
// --allow-cross-namespace-refs); then it is routed like one of the Rollout's own namespace.
func TestRouterCrossNamespace(t *testing.T) {
	c := envClient(t)
	ctx := context.Background()
	ns, mesh := newNamespace(t, c), newNamespace(t, c)
	// The VirtualService of the other namespace names the Rollout's service in full, as it
	// must for the DestinationRule's subsets to apply.
	vs := gitopsVirtualService(mesh, "checkout")
	for _, r := range vs.Spec.Http {
		for _, d := range r.Route {
			d.Destination.Host = "checkout." + ns + ".svc.cluster.local"
		}
	}
	create(t, c, gitopsDestinationRule(ns), vs)
	ro := rollout(ns, mesh+"/checkout")
	before := getVS(t, c, mesh, "checkout")
	split := traffic.Split{StableRevision: "s1", CanaryRevision: "c1", CanaryWeight: 10}

	refusing := &istio.Router{Client: c, FieldOwner: routerManager}
	if _, err := refusing.Reconcile(ctx, ro, split); !errors.Is(err, traffic.ErrInvalidReference) {
		t.Fatalf("Reconcile without AllowCrossNamespace = %v, want ErrInvalidReference", err)
	}
	if _, err := refusing.Observe(ctx, ro); !errors.Is(err, traffic.ErrInvalidReference) {
		t.Fatalf("Observe without AllowCrossNamespace = %v, want ErrInvalidReference", err)
	}
	if got := getVS(t, c, mesh, "checkout"); got.ResourceVersion != before.ResourceVersion {
		t.Fatalf("the other namespace's VirtualService was written although cross-namespace references are off")
	}

	allowing := &istio.Router{Client: c, FieldOwner: routerManager, AllowCrossNamespace: true}
	if _, err := allowing.Reconcile(ctx, ro, split); err != nil {
		t.Fatalf("Reconcile with AllowCrossNamespace: %v", err)
	}
	for i, w := range weights(getVS(t, c, mesh, "checkout")) {
		if w != [2]int32{90, 10} {
			t.Errorf("route %d weights = %v, want 90/10", i, w)
		}
	}
	obs, err := allowing.Observe(ctx, ro)
	if err != nil || obs.CanaryWeight != 10 {
		t.Errorf("Observe with AllowCrossNamespace = %+v, %v; want canary weight 10", obs, err)
	}
}
