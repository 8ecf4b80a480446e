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

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	cutoverv1alpha1 "github.com/cutover-dev/cutover/api/v1alpha1"
)

// staleCopy stores ro, reads it back, then lets change alter the stored object: the returned
// copy is what a reconcile read before the change.
func staleCopy(t *testing.T, ro *cutoverv1alpha1.Rollout, change func(*cutoverv1alpha1.Rollout)) (client.Client, *cutoverv1alpha1.Rollout) {
	t.Helper()
	scheme := testScheme()
	c := fake.NewClientBuilder().WithScheme(scheme).WithObjects(ro).WithStatusSubresource(ro).Build()
	ctx := context.Background()
	read := &cutoverv1alpha1.Rollout{}
	if err := c.Get(ctx, client.ObjectKeyFromObject(ro), read); err != nil {
		t.Fatal(err)
	}
	now := read.DeepCopy()
	change(now)
	if err := c.Update(ctx, now); err != nil {
		t.Fatal(err)
	}
	return c, read
}

func stored(t *testing.T, c client.Client, ro *cutoverv1alpha1.Rollout) *cutoverv1alpha1.Rollout {
	t.Helper()
	got := &cutoverv1alpha1.Rollout{}
	if err := c.Get(context.Background(), client.ObjectKeyFromObject(ro), got); err != nil {
		t.Fatal(err)
	}
	return got
}

// TestAnnotationRemovalKeepsANewValue: promote=true is acted on, and changed to promote=full
// before its removal. The removal must not take the new value with it: it is a new action.
func TestAnnotationRemovalKeepsANewValue(t *testing.T) {
	ro := &cutoverv1alpha1.Rollout{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop",
		Annotations: map[string]string{cutoverv1alpha1.AnnotationPromote: cutoverv1alpha1.ValueTrue, cutoverv1alpha1.AnnotationAbort: "true"}}}
	c, read := staleCopy(t, ro, func(r *cutoverv1alpha1.Rollout) {
		r.Annotations[cutoverv1alpha1.AnnotationPromote] = cutoverv1alpha1.ValueFull
	})
	r := &RolloutReconciler{Client: c}
	res, err := r.removeAnnotations(context.Background(), read, []string{cutoverv1alpha1.AnnotationPromote})
	if err != nil {
		t.Fatalf("removeAnnotations: %v", err)
	}
	if got := stored(t, c, ro).Annotations[cutoverv1alpha1.AnnotationPromote]; got != cutoverv1alpha1.ValueFull {
		t.Errorf("promote = %q after the removal of the value that was read, want the new value %q kept", got, cutoverv1alpha1.ValueFull)
	}
	if res.RequeueAfter == 0 {
		t.Error("no requeue: the new value must be read again soon")
	}

	// Unchanged values are removed; keys not named stay.
	c, read = staleCopy(t, ro, func(*cutoverv1alpha1.Rollout) {})
	r = &RolloutReconciler{Client: c}
	if _, err := r.removeAnnotations(context.Background(), read, []string{cutoverv1alpha1.AnnotationPromote}); err != nil {
		t.Fatalf("removeAnnotations: %v", err)
	}
	got := stored(t, c, ro).Annotations
	if _, ok := got[cutoverv1alpha1.AnnotationPromote]; ok {
		t.Errorf("annotations %v: the promote that was acted on is still there", got)
	}
	if got[cutoverv1alpha1.AnnotationAbort] != "true" {
		t.Errorf("annotations %v: an annotation that was not named went too", got)
	}
}

// TestFinalizerPatchKeepsAnotherControllersFinalizer: a finalizer added by someone else between
// the read and the patch is never dropped; the patch is refused and retried on fresh data.
func TestFinalizerPatchKeepsAnotherControllersFinalizer(t *testing.T) {
	ro := &cutoverv1alpha1.Rollout{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop"}}
	c, read := staleCopy(t, ro, func(r *cutoverv1alpha1.Rollout) {
		controllerutil.AddFinalizer(r, "example.com/backup")
	})
	r := &RolloutReconciler{Client: c}
	err := r.ensureFinalizer(context.Background(), &rolloutScope{rollout: read, base: read.DeepCopy()})
	if !apierrors.IsConflict(err) {
		t.Errorf("ensureFinalizer on a stale copy = %v, want a conflict", err)
	}
	if got := stored(t, c, ro).Finalizers; len(got) != 1 || got[0] != "example.com/backup" {
		t.Errorf("finalizers %v, want the other controller's kept", got)
	}

	// Removing ours keeps theirs the same way.
	withBoth := ro.DeepCopy()
	withBoth.Finalizers = []string{TrafficFinalizer}
	c, read = staleCopy(t, withBoth, func(r *cutoverv1alpha1.Rollout) {
		controllerutil.AddFinalizer(r, "example.com/backup")
	})
	r = &RolloutReconciler{Client: c}
	now := metav1.Now()
	read.DeletionTimestamp = &now
	if _, err := r.reconcileDelete(context.Background(), read); err == nil {
		t.Error("reconcileDelete on a stale copy succeeded, want a conflict to retry on fresh data")
	}
	if got := stored(t, c, withBoth).Finalizers; len(got) != 2 {
		t.Errorf("finalizers %v, want both kept until the retry", got)
	}
}
