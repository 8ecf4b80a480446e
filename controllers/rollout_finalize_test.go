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
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	cutoverv1alpha1 "github.com/cutover-dev/cutover/api/v1alpha1"
	"github.com/cutover-dev/cutover/internal/plan"
)

// TestEventsFollowTheStatusWriteWhateverComesNext: once the status records an action, its
// Events are emitted even if removing the action annotation then fails. The retry finds the
// action recorded in pendingRemoval and does not take it again, so without this its Events
// would never be emitted.
func TestEventsFollowTheStatusWriteWhateverComesNext(t *testing.T) {
	scheme := testScheme()
	ro := &cutoverv1alpha1.Rollout{ObjectMeta: metav1.ObjectMeta{
		Name: "web", Namespace: "shop", Generation: 1,
		Annotations: map[string]string{cutoverv1alpha1.AnnotationPromote: cutoverv1alpha1.ValueTrue},
	}}
	refused := errors.New("the API server refused the patch")
	c := fake.NewClientBuilder().WithScheme(scheme).WithObjects(ro).WithStatusSubresource(ro).
		WithInterceptorFuncs(interceptor.Funcs{
			Patch: func(context.Context, client.WithWatch, client.Object, client.Patch, ...client.PatchOption) error {
				return refused
			},
		}).Build()
	rec := events.NewFakeRecorder(10)
	r := &RolloutReconciler{Client: c, Recorder: rec}

	ctx := context.Background()
	read := &cutoverv1alpha1.Rollout{}
	if err := c.Get(ctx, client.ObjectKeyFromObject(ro), read); err != nil {
		t.Fatal(err)
	}
	out := &plan.Output{
		Status:            cutoverv1alpha1.RolloutStatus{PendingRemoval: []string{"cutover.dev/promote=true@bbbbbbbbbb"}},
		State:             plan.State{Phase: cutoverv1alpha1.PhasePaused, Reason: cutoverv1alpha1.ReasonPaused, Message: "m"},
		RemoveAnnotations: []string{cutoverv1alpha1.AnnotationPromote},
	}
	s := &rolloutScope{rollout: read, base: read.DeepCopy(), now: time.Now(), plan: out,
		events: []plan.Event{{Reason: plan.EventPromoted, Message: "revision bbbbbbbbbb promoted past step 2"}}}
	_, err := r.finalizeStatus(ctx, s, ctrl.Result{}, nil)
	if !errors.Is(err, refused) {
		t.Fatalf("finalizeStatus = %v, want the refused annotation removal", err)
	}
	got := &cutoverv1alpha1.Rollout{}
	if err := c.Get(ctx, client.ObjectKeyFromObject(ro), got); err != nil {
		t.Fatal(err)
	}
	if len(got.Status.PendingRemoval) != 1 {
		t.Fatalf("status.pendingRemoval = %v, want the action recorded", got.Status.PendingRemoval)
	}
	select {
	case ev := <-rec.Events:
		if !strings.Contains(ev, plan.EventPromoted) {
			t.Errorf("Event %q, want Promoted", ev)
		}
	default:
		t.Error("no Event: the status recorded the promote, so its Event must be emitted")
	}
}
