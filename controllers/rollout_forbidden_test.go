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
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	cutoverv1alpha1 "github.com/cutover-dev/cutover/api/v1alpha1"
)

// TestPermissionDeniedIsReportedOnce: a request the API server refuses (403) makes Ready say
// what was refused, with the API server's words (verb, resource, user) and a hint; one Warning
// Event PermissionDenied comes with the first status write that says so, and none with the
// retries that are refused the same way. The reconcile is checked again after
// permissionRecheck instead of being backed off as an error.
func TestPermissionDeniedIsReportedOnce(t *testing.T) {
	scheme := testScheme()
	ro := &cutoverv1alpha1.Rollout{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop", Generation: 1}}
	c := fake.NewClientBuilder().WithScheme(scheme).WithObjects(ro).WithStatusSubresource(ro).Build()
	rec := events.NewFakeRecorder(10)
	r := &RolloutReconciler{Client: c, Recorder: rec}
	ctx := context.Background()
	refused := fmt.Errorf("replicasets: creating ReplicaSet web-abc: %w", apierrors.NewForbidden(
		schema.GroupResource{Group: "apps", Resource: "replicasets"}, "web-abc",
		fmt.Errorf(`User "system:serviceaccount:cutover-system:cutover-controller-manager" cannot create resource "replicasets" in API group "apps" in the namespace "shop"`)))

	for round := range 3 {
		read := &cutoverv1alpha1.Rollout{}
		if err := c.Get(ctx, client.ObjectKeyFromObject(ro), read); err != nil {
			t.Fatal(err)
		}
		s := &rolloutScope{rollout: read, base: read.DeepCopy(), now: time.Now()}
		res, err := r.finalizeStatus(ctx, s, ctrl.Result{}, refused)
		if err != nil || res.RequeueAfter != permissionRecheck {
			t.Fatalf("round %d: finalizeStatus = %+v, %v; want a recheck after %s and no error", round, res, err, permissionRecheck)
		}
	}
	got := &cutoverv1alpha1.Rollout{}
	if err := c.Get(ctx, client.ObjectKeyFromObject(ro), got); err != nil {
		t.Fatal(err)
	}
	ready := apimeta.FindStatusCondition(got.Status.Conditions, cutoverv1alpha1.ReadyCondition)
	if ready == nil || ready.Status != metav1.ConditionFalse || ready.Reason != cutoverv1alpha1.ReasonProgressingWithRetry {
		t.Fatalf("Ready = %+v, want False/ProgressingWithRetry", ready)
	}
	for _, want := range []string{`cannot create resource "replicasets" in API group "apps"`,
		"system:serviceaccount:cutover-system:cutover-controller-manager", "RBAC section of docs/install.md"} {
		if !strings.Contains(ready.Message, want) {
			t.Errorf("Ready message %q does not say %q", ready.Message, want)
		}
	}
	if n := len(rec.Events); n != 1 {
		t.Fatalf("%d Events after three refused rounds, want 1", n)
	}
	if ev := <-rec.Events; !strings.HasPrefix(ev, corev1.EventTypeWarning+" "+EventPermissionDenied) {
		t.Errorf("Event %q, want a Warning %s", ev, EventPermissionDenied)
	}
}

// TestPermissionDeniedIsNotATerminatingNamespace: a namespace being deleted answers 403 too, but
// that is not a permission to grant.
func TestPermissionDeniedIsNotATerminatingNamespace(t *testing.T) {
	terminating := apierrors.NewForbidden(schema.GroupResource{Group: "apps", Resource: "replicasets"}, "web-abc",
		fmt.Errorf("unable to create new content in namespace shop because it is being terminated"))
	terminating.ErrStatus.Details.Causes = []metav1.StatusCause{{Type: corev1.NamespaceTerminatingCause}}
	if permissionDenied(terminating) {
		t.Error("a terminating namespace was taken for a missing permission")
	}
	if permissionDenied(fmt.Errorf("plain")) || permissionDenied(nil) {
		t.Error("a non-API error was taken for a missing permission")
	}
}
