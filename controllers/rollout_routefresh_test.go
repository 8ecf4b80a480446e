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
	"context"
	"errors"
	"testing"

	networkingv1alpha3 "istio.io/api/networking/v1alpha3"
	networkingv1 "istio.io/client-go/pkg/apis/networking/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	cutoverv1alpha1 "github.com/cutover-dev/cutover/api/v1alpha1"
	"github.com/cutover-dev/cutover/internal/plan"
	"github.com/cutover-dev/cutover/internal/traffic/istio"
	"github.com/cutover-dev/cutover/internal/traffic/service"
)

// TestARoundWaitsForTheCacheToSeeItsRoutingPatch: after Cutover patches a VirtualService or
// DestinationRule, a round that still reads the copy from before the patch (the cache has not
// had its watch event yet) is put off before it plans. Planned from that copy, it would send the
// same patch again, with test operations that no longer hold: a write the API server refuses
// (422). The patch's watch event brings the next round, so the requeue is only a safety net.
// Once the cache holds the patch, rounds run as before.
func TestARoundWaitsForTheCacheToSeeItsRoutingPatch(t *testing.T) {
	scheme := testScheme()
	utilruntime.Must(networkingv1.AddToScheme(scheme))
	ro := &cutoverv1alpha1.Rollout{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop", UID: "u1"},
		Spec: cutoverv1alpha1.RolloutSpec{TrafficRouting: &cutoverv1alpha1.TrafficRouting{Istio: &cutoverv1alpha1.IstioTrafficRouting{
			VirtualService:  &cutoverv1alpha1.IstioVirtualService{Name: "web"},
			DestinationRule: cutoverv1alpha1.IstioDestinationRule{Name: "web", StableSubset: "stable", CanarySubset: "canary"},
		}}},
	}
	vs := &networkingv1.VirtualService{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop"},
		Spec: networkingv1alpha3.VirtualService{Hosts: []string{"web"}, Http: []*networkingv1alpha3.HTTPRoute{{Route: []*networkingv1alpha3.HTTPRouteDestination{
			{Destination: &networkingv1alpha3.Destination{Host: "web", Subset: "stable"}, Weight: 100},
			{Destination: &networkingv1alpha3.Destination{Host: "web", Subset: "canary"}},
		}}}}}
	dr := &networkingv1.DestinationRule{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop"},
		Spec: networkingv1alpha3.DestinationRule{Host: "web", Subsets: []*networkingv1alpha3.Subset{{Name: "stable"}, {Name: "canary"}}}}

	// What the cache answers for a routing object, by kind; missing: the API server's answer.
	cached := map[string]client.Object{}
	c := fake.NewClientBuilder().WithScheme(scheme).WithObjects(ro, vs, dr).
		WithIndex(&appsv1.ReplicaSet{}, replicaSetOwnerIndex, replicaSetOwner).
		WithInterceptorFuncs(interceptor.Funcs{Get: func(ctx context.Context, c client.WithWatch, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
			switch o := obj.(type) {
			case *networkingv1.VirtualService:
				if old, ok := cached[kindVirtualService].(*networkingv1.VirtualService); ok {
					old.DeepCopyInto(o)
					return nil
				}
			case *networkingv1.DestinationRule:
				if old, ok := cached[kindDestinationRule].(*networkingv1.DestinationRule); ok {
					old.DeepCopyInto(o)
					return nil
				}
			}
			return c.Get(ctx, key, obj, opts...)
		}}).Build()
	r := &RolloutReconciler{Client: c, Clock: clock.RealClock{}, Router: &istio.Router{Client: c, FieldOwner: FieldOwner}}
	ctx := context.Background()
	key := client.ObjectKeyFromObject(ro)
	read := func() *cutoverv1alpha1.Rollout {
		out := &cutoverv1alpha1.Rollout{}
		if err := c.Get(ctx, key, out); err != nil {
			t.Fatal(err)
		}
		return out
	}
	observe := func() (*rolloutScope, error) { return observeRound(t, r, key) }
	get := func(obj client.Object) client.Object {
		if err := c.Get(ctx, client.ObjectKeyFromObject(obj), obj); err != nil {
			t.Fatal(err)
		}
		return obj
	}
	route := func(weight int32) {
		t.Helper()
		s := &rolloutScope{rollout: read(), plan: &plan.Output{Traffic: &plan.Split{StableRevision: "s1", CanaryRevision: "c1", CanaryWeight: weight}}}
		s.base = s.rollout.DeepCopy()
		if _, err := r.reconcileTraffic(ctx, s); err != nil {
			t.Fatalf("routing %d%% to the canary: %v", weight, err)
		}
	}

	// A round labels both subsets and moves 20% to the canary: both objects are patched.
	oldVS, oldDR := get(&networkingv1.VirtualService{ObjectMeta: vs.ObjectMeta}), get(&networkingv1.DestinationRule{ObjectMeta: dr.ObjectMeta})
	route(20)

	// The next round's cache still has both objects as they were.
	cached[kindVirtualService], cached[kindDestinationRule] = oldVS, oldDR
	if s, err := observe(); !errors.Is(err, errWaiting) || s.replicaSets != nil {
		t.Fatalf("a round that reads the routing from before Cutover's patches = %v (ReplicaSets classified: %v); want it put off before it plans", err, s.replicaSets != nil)
	}
	// Either object alone behind is enough to put the round off.
	delete(cached, kindVirtualService)
	if _, err := observe(); !errors.Is(err, errWaiting) {
		t.Fatalf("a round that reads the DestinationRule from before Cutover's patch = %v, want it put off", err)
	}
	cached[kindVirtualService] = oldVS
	delete(cached, kindDestinationRule)
	if _, err := observe(); !errors.Is(err, errWaiting) {
		t.Fatalf("a round that reads the VirtualService from before Cutover's patch = %v, want it put off", err)
	}
	// Then the VirtualService's: the round runs on the patched copies.
	delete(cached, kindVirtualService)
	s, err := observe()
	if err != nil {
		t.Fatalf("a round that reads the patched routing: %v", err)
	}
	if s.traffic == nil || s.traffic.CanaryWeight != 20 || s.traffic.CanaryRevision != "c1" {
		t.Errorf("the round observed %+v, want 20%% on c1", s.traffic)
	}
	// The record is gone once the cache caught up: the memory stays bounded.
	if len(r.ownRouting.superseded) != 0 {
		t.Error("the record of the patches outlived the round that saw them land")
	}

	// A weight change patches the VirtualService alone: a copy from before it is put off, the
	// DestinationRule (not patched this time) is not what holds the round.
	oldVS = get(&networkingv1.VirtualService{ObjectMeta: vs.ObjectMeta})
	route(50)
	cached[kindVirtualService] = oldVS
	if _, err := observe(); !errors.Is(err, errWaiting) {
		t.Fatalf("a round that reads the VirtualService from before the 50%% patch = %v, want it put off", err)
	}
	delete(cached, kindVirtualService)
	if s, err := observe(); err != nil || s.traffic == nil || s.traffic.CanaryWeight != 50 {
		t.Fatalf("a round that reads the 50%% patch = %v, traffic %+v; want it run on 50%%", err, s.traffic)
	}
}

// TestARoundWaitsForTheCacheToSeeItsServiceSwitch: the same for a blue-green Service. After
// Cutover points the active Service at a revision, a round that reads the Service from before
// that patch is put off; once the cache holds it, the round observes the new revision.
func TestARoundWaitsForTheCacheToSeeItsServiceSwitch(t *testing.T) {
	ro := &cutoverv1alpha1.Rollout{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop", UID: "u1"},
		Spec: cutoverv1alpha1.RolloutSpec{Strategy: cutoverv1alpha1.RolloutStrategy{
			BlueGreen: &cutoverv1alpha1.BlueGreenStrategy{ActiveService: "web-active"}}},
	}
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "web-active", Namespace: "shop"},
		Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "web", cutoverv1alpha1.LabelRevision: "a"}}}
	var cached *corev1.Service // what the cache answers for the Service; nil: the API server's answer
	c := fake.NewClientBuilder().WithScheme(testScheme()).WithObjects(ro, svc).
		WithIndex(&appsv1.ReplicaSet{}, replicaSetOwnerIndex, replicaSetOwner).
		WithInterceptorFuncs(interceptor.Funcs{Get: func(ctx context.Context, c client.WithWatch, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
			if o, ok := obj.(*corev1.Service); ok && cached != nil {
				cached.DeepCopyInto(o)
				return nil
			}
			return c.Get(ctx, key, obj, opts...)
		}}).Build()
	r := &RolloutReconciler{Client: c, Clock: clock.RealClock{}, Services: &service.Switcher{Client: c, FieldOwner: FieldOwner}}
	ctx := context.Background()
	observe := func() (*rolloutScope, error) { return observeRound(t, r, client.ObjectKeyFromObject(ro)) }

	before := &corev1.Service{}
	if err := c.Get(ctx, client.ObjectKeyFromObject(svc), before); err != nil {
		t.Fatal(err)
	}
	s := &rolloutScope{rollout: ro, base: ro.DeepCopy(), plan: &plan.Output{Services: &plan.Services{Active: "b"}}}
	if _, err := r.reconcileServices(ctx, s); err != nil {
		t.Fatalf("pointing the active Service at b: %v", err)
	}

	cached = before
	if s, err := observe(); !errors.Is(err, errWaiting) || s.replicaSets != nil {
		t.Fatalf("a round that reads the Service from before Cutover's switch = %v; want it put off before it plans", err)
	}
	cached = nil
	s, err := observe()
	if err != nil || s.activeService != "b" {
		t.Fatalf("a round that reads the switched Service = %v, active on %q; want it run, active on b", err, s.activeService)
	}
}
