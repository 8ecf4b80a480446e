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
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	cutoverv1alpha1 "github.com/cutover-dev/cutover/api/v1alpha1"
)

// TestAPutOffRoundWaitsForTheWatchEvent: a round that reads a Rollout older than Cutover's own
// write is put off with only a safety-net requeue, and the watch event that brings the write
// into the cache brings the next round; other events of the Rollout's status do not. An event
// that reached the cache just before the wait was recorded is not missed: the round reads again.
func TestAPutOffRoundWaitsForTheWatchEvent(t *testing.T) {
	ctx := context.Background()
	key := types.NamespacedName{Namespace: "shop", Name: "web"}
	staleReads := 0 // how many of the next reads the cache answers with the copy from before the write
	var old *cutoverv1alpha1.Rollout
	c := fake.NewClientBuilder().WithScheme(testScheme()).
		WithObjects(&cutoverv1alpha1.Rollout{ObjectMeta: metav1.ObjectMeta{Namespace: key.Namespace, Name: key.Name}}).
		WithInterceptorFuncs(interceptor.Funcs{Get: func(ctx context.Context, c client.WithWatch, k client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
			if ro, ok := obj.(*cutoverv1alpha1.Rollout); ok && staleReads > 0 {
				staleReads--
				old.DeepCopyInto(ro)
				return nil
			}
			return c.Get(ctx, k, obj, opts...)
		}}).Build()
	r := &RolloutReconciler{Client: c}

	// Cutover writes the Rollout: the cache still has the copy from before.
	old = &cutoverv1alpha1.Rollout{}
	if err := c.Get(ctx, key, old); err != nil {
		t.Fatal(err)
	}
	written := old.DeepCopy()
	written.Annotations = map[string]string{"written": "by cutover"}
	if err := c.Update(ctx, written); err != nil {
		t.Fatal(err)
	}
	r.own.wrote(key, old.ResourceVersion, written.ResourceVersion)

	queue := workqueue.NewTypedRateLimitingQueue(workqueue.DefaultTypedControllerRateLimiter[reconcile.Request]())
	defer queue.ShutDown()
	events := r.enqueueCaughtUp()
	deliver := func(rv string) {
		ro := written.DeepCopy()
		ro.ResourceVersion = rv
		events.Update(ctx, event.UpdateEvent{ObjectOld: old, ObjectNew: ro}, queue)
	}

	// Nothing waits yet: the event of Cutover's own write brings no round (it would echo).
	deliver(written.ResourceVersion)
	if queue.Len() != 0 {
		t.Fatal("a status event brought a round while no round waited for it")
	}

	// A round reads the old copy twice: it is put off, with the safety net only.
	staleReads = 2
	ro, wait, err := r.readRollout(ctx, key)
	if ro != nil || err != nil || wait != ownWriteSeenRetry {
		t.Fatalf("a round that reads the copy from before Cutover's write = %v, wait %v, %v; want put off with a requeue after %v",
			ro != nil, wait, err, ownWriteSeenRetry)
	}
	// An event of the older version (the watch delivers in order) is not the one awaited.
	deliver(old.ResourceVersion)
	if queue.Len() != 0 {
		t.Fatal("the event of a version Cutover's write replaced brought a round")
	}
	// The event of the write brings the round, once: the wait ends with it.
	deliver(written.ResourceVersion)
	if queue.Len() != 1 {
		t.Fatalf("the event of Cutover's write brought %d rounds, want 1", queue.Len())
	}
	req, _ := queue.Get()
	if req.NamespacedName != key {
		t.Fatalf("the round is for %v, want %v", req.NamespacedName, key)
	}
	queue.Done(req)
	deliver(written.ResourceVersion)
	if queue.Len() != 0 {
		t.Fatal("a second event brought another round: the wait should have ended with the first")
	}
	if ro, wait, err := r.readRollout(ctx, key); ro == nil || wait != 0 || err != nil || ro.ResourceVersion != written.ResourceVersion {
		t.Fatalf("the round after the event = %v, wait %v, %v; want the written copy", ro, wait, err)
	}

	// Another write; this time the event reaches the cache between the round's first read
	// and the record of its wait: the second read finds the written copy and the round runs.
	old = written.DeepCopy()
	written.Annotations["written"] = "again"
	if err := c.Update(ctx, written); err != nil {
		t.Fatal(err)
	}
	r.own.wrote(key, old.ResourceVersion, written.ResourceVersion)
	staleReads = 1
	if ro, wait, err := r.readRollout(ctx, key); ro == nil || wait != 0 || err != nil || ro.ResourceVersion != written.ResourceVersion {
		t.Fatalf("a round whose second read finds the write = %v, wait %v, %v; want it to run on the written copy", ro, wait, err)
	}
	// Nothing waits any more: the event brings no second round.
	deliver(written.ResourceVersion)
	if queue.Len() != 0 {
		t.Error("a round that already ran was brought again by the event")
	}

	// A Rollout that is gone: nil, no error, no wait.
	if err := c.Delete(ctx, written); err != nil {
		t.Fatal(err)
	}
	if ro, wait, err := r.readRollout(ctx, key); ro != nil || wait != 0 || err != nil {
		t.Errorf("a deleted Rollout = %v, wait %v, %v; want nil, 0, nil", ro, wait, err)
	}
}
