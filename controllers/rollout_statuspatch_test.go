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
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	cutoverv1alpha1 "github.com/cutover-dev/cutover/api/v1alpha1"
)

// TestStatusPatchOnTheAPIServer writes statuses with patchStatus on a real API server:
//   - the status read back is the one written, fields it no longer has included (the patch
//     sets the status whole), and the spec and the annotations are untouched;
//   - the Rollout takes the answer's resourceVersion, and the write is remembered as Cutover's;
//   - a write from a copy older than the last write is refused with 409 Conflict and changes
//     nothing.
func TestStatusPatchOnTheAPIServer(t *testing.T) {
	c := envClient(t)
	ctx := context.Background()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "status-patch-"}}
	if err := c.Create(ctx, ns); err != nil {
		t.Fatal(err)
	}
	ro := &cutoverv1alpha1.Rollout{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: ns.Name, Annotations: map[string]string{"team": "shop"}},
		Spec: cutoverv1alpha1.RolloutSpec{
			Replicas: ptr.To[int32](2),
			Selector: &cutoverv1alpha1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "registry.example/web:1"}}},
			},
			Strategy: cutoverv1alpha1.RolloutStrategy{BlueGreen: &cutoverv1alpha1.BlueGreenStrategy{ActiveService: "web"}},
		},
	}
	if err := c.Create(ctx, ro); err != nil {
		t.Fatal(err)
	}
	r := &RolloutReconciler{Client: c}
	write := func(base *cutoverv1alpha1.Rollout, st cutoverv1alpha1.RolloutStatus) (*cutoverv1alpha1.Rollout, error) {
		next := base.DeepCopy()
		next.Status = st
		return next, r.patchStatus(ctx, next, base)
	}
	read := func() *cutoverv1alpha1.Rollout {
		got := &cutoverv1alpha1.Rollout{}
		if err := c.Get(ctx, client.ObjectKeyFromObject(ro), got); err != nil {
			t.Fatal(err)
		}
		return got
	}

	first := cutoverv1alpha1.RolloutStatus{ObservedGeneration: 1, Phase: cutoverv1alpha1.PhaseProgressing, Message: "waiting for 2 pods",
		CurrentRevision: "b", StableRevision: "a", Replicas: 2, CurrentStepIndex: ptr.To[int32](1),
		Conditions: []metav1.Condition{{Type: cutoverv1alpha1.ReadyCondition, Status: metav1.ConditionFalse,
			Reason: "Progressing", Message: "waiting", LastTransitionTime: metav1.NewTime(time.Now().Truncate(time.Second))}}}
	w1, err := write(ro, first)
	if err != nil {
		t.Fatalf("first write: %v", err)
	}
	got := read()
	if !equality.Semantic.DeepEqual(got.Status, first) || w1.ResourceVersion != got.ResourceVersion {
		t.Fatalf("after the first write: status %+v (rv %s), want %+v (rv %s)", got.Status, got.ResourceVersion, first, w1.ResourceVersion)
	}
	if !r.own.stale(client.ObjectKeyFromObject(ro), ro.ResourceVersion) {
		t.Error("the version the write replaced is not remembered as stale")
	}

	// The second status drops the message and the step index: a merge of the two would keep them.
	second := cutoverv1alpha1.RolloutStatus{ObservedGeneration: 1, Phase: cutoverv1alpha1.PhaseHealthy, CurrentRevision: "b", StableRevision: "b",
		Replicas: 2, ReadyReplicas: 2, AvailableReplicas: 2}
	if _, err := write(got, second); err != nil {
		t.Fatalf("second write: %v", err)
	}
	got = read()
	if !equality.Semantic.DeepEqual(got.Status, second) {
		t.Fatalf("after the second write: status %+v, want %+v", got.Status, second)
	}
	if *got.Spec.Replicas != 2 || got.Annotations["team"] != "shop" || got.Spec.Template.Spec.Containers[0].Image != "registry.example/web:1" {
		t.Errorf("the status write changed more than the status: %+v, annotations %v", got.Spec, got.Annotations)
	}

	// From w1, a copy older than the second write.
	_, err = write(w1, cutoverv1alpha1.RolloutStatus{Phase: cutoverv1alpha1.PhaseAborted})
	if !apierrors.IsConflict(err) {
		t.Fatalf("a write from a stale copy: got %v, want 409 Conflict", err)
	}
	if after := read(); after.ResourceVersion != got.ResourceVersion || !equality.Semantic.DeepEqual(after.Status, second) {
		t.Errorf("the refused write changed the Rollout: rv %s → %s, status %+v", got.ResourceVersion, after.ResourceVersion, after.Status)
	}
}
