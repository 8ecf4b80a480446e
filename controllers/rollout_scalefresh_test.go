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
	"time"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/clock"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	cutoverv1alpha1 "github.com/cutover-dev/cutover/api/v1alpha1"
	"github.com/cutover-dev/cutover/internal/plan"
)

// TestARoundWaitsForTheCacheToSeeItsScale: after Cutover scales a ReplicaSet, a round that
// still reads the copy from before the scale (the cache has not had the watch event yet) is put
// off before it plans: planned from that copy, it would send the same scale again, a write that
// changes nothing. The scale's watch event brings the next round, so the requeue is only a
// safety net. Once the cache holds the scale, rounds run as before.
func TestARoundWaitsForTheCacheToSeeItsScale(t *testing.T) {
	ro := &cutoverv1alpha1.Rollout{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop", UID: "u1"}}
	rs := &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Name: "web-new", Namespace: "shop",
			Labels: map[string]string{cutoverv1alpha1.LabelRollout: "web", cutoverv1alpha1.LabelRevision: "new"},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: cutoverv1alpha1.GroupVersion.String(), Kind: "Rollout",
				Name: "web", UID: "u1", Controller: ptr.To(true)}}},
		Spec: appsv1.ReplicaSetSpec{Replicas: ptr.To[int32](1)},
	}
	var cached *appsv1.ReplicaSetList // what the cache answers; nil: the API server's answer
	c := fake.NewClientBuilder().WithScheme(testScheme()).WithObjects(ro, rs).
		WithIndex(&appsv1.ReplicaSet{}, replicaSetOwnerIndex, replicaSetOwner).
		WithInterceptorFuncs(interceptor.Funcs{List: func(ctx context.Context, c client.WithWatch, list client.ObjectList, opts ...client.ListOption) error {
			if l, ok := list.(*appsv1.ReplicaSetList); ok && cached != nil {
				cached.DeepCopyInto(l)
				return nil
			}
			return c.List(ctx, list, opts...)
		}}).Build()
	r := &RolloutReconciler{Client: c, Clock: clock.RealClock{}}
	ctx := context.Background()
	observe := func() (*rolloutScope, error) { return observeRound(t, r, client.ObjectKeyFromObject(ro)) }

	before := &appsv1.ReplicaSetList{}
	if err := c.List(ctx, before); err != nil || len(before.Items) != 1 {
		t.Fatalf("listing the ReplicaSets: %v (%d)", err, len(before.Items))
	}
	// A round scales web-new from 1 to 2.
	s := &rolloutScope{rollout: ro, replicaSets: map[string]*appsv1.ReplicaSet{"new": before.Items[0].DeepCopy()},
		plan: &plan.Output{Scale: map[string]int32{"new": 2}}}
	if err := r.scaleReplicaSets(ctx, s); err != nil {
		t.Fatal(err)
	}
	if v := s.replicaSets["new"].ResourceVersion; v == before.Items[0].ResourceVersion {
		t.Fatalf("the scale left resourceVersion %s: the test needs a write that moves it", v)
	}

	// The next round's cache still has web-new at 1 replica.
	cached = before
	if s, err := observe(); !errors.Is(err, errWaiting) || s.replicaSets != nil {
		t.Fatalf("a round that reads web-new from before Cutover's scale = %v, %d ReplicaSets observed; want it put off before it plans", err, len(s.replicaSets))
	}

	// The watch event arrives: the round runs on the scaled copy.
	cached = nil
	s2, err := observe()
	if errors.Is(err, errWaiting) {
		t.Fatal("a round that reads the scaled ReplicaSet is still put off")
	}
	if got := s2.replicaSets["new"]; got == nil || *got.Spec.Replicas != 2 {
		t.Errorf("the round observed web-new as %v, want its 2 replicas", got)
	}
	// The record is gone once the cache caught up (its watch events arrive in order, so it
	// cannot go back to the old copy): the memory stays bounded.
	if r.ownScales.stale(client.ObjectKeyFromObject(ro), before.Items[0].ResourceVersion) {
		t.Error("the record of the scale outlived the round that saw it land")
	}
}

// observeRound reads the Rollout key and runs the observe phase on it, as a round does. A round
// put off for the cache must ask to run again after the safety net only: the watch event of the
// write it waits for brings it.
func observeRound(t *testing.T, r *RolloutReconciler, key client.ObjectKey) (*rolloutScope, error) {
	t.Helper()
	read := &cutoverv1alpha1.Rollout{}
	if err := r.Get(context.Background(), key, read); err != nil {
		t.Fatal(err)
	}
	s := &rolloutScope{rollout: read, base: read.DeepCopy(), now: time.Now()}
	res, err := r.observe(context.Background(), s)
	if errors.Is(err, errWaiting) && res.RequeueAfter != watchEventRetry {
		t.Errorf("a round put off asks to run again after %v, want the safety net %v", res.RequeueAfter, watchEventRetry)
	}
	return s, err
}
