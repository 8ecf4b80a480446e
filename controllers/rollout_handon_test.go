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
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/clock"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	cutoverv1alpha1 "github.com/cutover-dev/cutover/api/v1alpha1"
	"github.com/cutover-dev/cutover/internal/plan"
)

// TestTheCreatingRoundStopsAfterTheCreate: a round whose plan creates a ReplicaSet creates it
// and stops there. It scales nothing, writes no status, removes no annotation and emits none
// of the plan's Events (the next round, which finds the ReplicaSet, plans them again); an
// Event a phase queued before the create is still emitted. It asks to look again.
func TestTheCreatingRoundStopsAfterTheCreate(t *testing.T) {
	labels := map[string]string{"app": "web"}
	ro := &cutoverv1alpha1.Rollout{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop", UID: "u1", Generation: 2,
			Annotations: map[string]string{cutoverv1alpha1.AnnotationPromote: cutoverv1alpha1.ValueTrue}},
		Spec: cutoverv1alpha1.RolloutSpec{Replicas: ptr.To[int32](2), Selector: &cutoverv1alpha1.LabelSelector{MatchLabels: labels}},
		Status: cutoverv1alpha1.RolloutStatus{ObservedGeneration: 1, Phase: cutoverv1alpha1.PhaseHealthy,
			CurrentRevision: "old", StableRevision: "old"},
	}
	stable := &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: "web-old", Namespace: "shop"},
		Spec: appsv1.ReplicaSetSpec{Replicas: ptr.To[int32](2)}}
	c := fake.NewClientBuilder().WithScheme(testScheme()).WithObjects(ro, stable).WithStatusSubresource(ro).Build()
	rec := events.NewFakeRecorder(10)
	r := &RolloutReconciler{Client: c, Recorder: rec, Clock: clock.RealClock{}}
	ctx := context.Background()

	read := &cutoverv1alpha1.Rollout{}
	if err := c.Get(ctx, client.ObjectKeyFromObject(ro), read); err != nil {
		t.Fatal(err)
	}
	planned := read.Status.DeepCopy()
	planned.CurrentRevision, planned.Phase = "new", cutoverv1alpha1.PhaseProgressing
	template := corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "registry.example/web@sha256:" + strings.Repeat("a", 64)}}}}
	s := &rolloutScope{rollout: read, base: read.DeepCopy(), now: time.Now(),
		replicaSets: map[string]*appsv1.ReplicaSet{"old": stable},
		desired:     plan.Revision{Hash: "new", TemplateHash: "t"}, pinned: &template,
		plan: &plan.Output{Create: "new", CreateReplicas: 1, Scale: map[string]int32{"old": 1}, Status: *planned,
			RemoveAnnotations: []string{cutoverv1alpha1.AnnotationPromote},
			Events:            []plan.Event{{Reason: plan.EventRevisionCreated, Message: "revision new"}}},
	}
	s.queue(plan.Event{Warning: true, Reason: "DriftReplaced", Message: "a phase's own Event"})

	res, err := runPhases(ctx, s, phase{"replicasets", r.reconcileReplicaSets})
	res, err = r.finalizeStatus(ctx, s, res, err)
	if err != nil || res.RequeueAfter == 0 {
		t.Fatalf("the creating round = %+v, %v; want a requeue and no error", res, err)
	}
	created := &appsv1.ReplicaSet{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: "shop", Name: "web-new"}, created); err != nil {
		t.Fatalf("the new revision's ReplicaSet: %v", err)
	}
	if err := c.Get(ctx, client.ObjectKeyFromObject(stable), stable); err != nil || *stable.Spec.Replicas != 2 {
		t.Errorf("the stable ReplicaSet was scaled to %d (%v); the next round scales", *stable.Spec.Replicas, err)
	}
	after := &cutoverv1alpha1.Rollout{}
	if err := c.Get(ctx, client.ObjectKeyFromObject(ro), after); err != nil {
		t.Fatal(err)
	}
	if !equality.Semantic.DeepEqual(after.Status, ro.Status) || after.ResourceVersion != read.ResourceVersion {
		t.Errorf("the Rollout was written: status %+v, resourceVersion %s → %s", after.Status, read.ResourceVersion, after.ResourceVersion)
	}
	if after.Annotations[cutoverv1alpha1.AnnotationPromote] != cutoverv1alpha1.ValueTrue {
		t.Error("the promote annotation was removed before any status recorded it")
	}
	if n := len(rec.Events); n != 1 {
		t.Fatalf("%d Events, want only the phase's own", n)
	}
	if ev := <-rec.Events; !strings.Contains(ev, "DriftReplaced") {
		t.Errorf("Event %q, want the phase's DriftReplaced", ev)
	}
	if s.plan != nil || s.created != "new" {
		t.Errorf("the round did not hand its plan on (plan kept: %v, created %q)", s.plan != nil, s.created)
	}
}
