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
	"errors"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"

	cutoverv1alpha1 "github.com/cutover-dev/cutover/api/v1alpha1"
	"github.com/cutover-dev/cutover/internal/plan"
)

// TestConditionsAreKstatusCorrect checks, with kstatus itself (what Flux and Argo CD's kstatus
// integration use), that each planner verdict maps to the kstatus result the contract promises:
// Healthy → Current, Progressing and Paused → InProgress, Aborted and Degraded → Failed.
func TestConditionsAreKstatusCorrect(t *testing.T) {
	tests := []struct {
		name   string
		phase  cutoverv1alpha1.RolloutPhase
		reason string
		err    error
		want   status.Status
		ready  metav1.ConditionStatus
	}{
		{"healthy", cutoverv1alpha1.PhaseHealthy, cutoverv1alpha1.ReasonSucceeded, nil, status.CurrentStatus, metav1.ConditionTrue},
		{"progressing", cutoverv1alpha1.PhaseProgressing, cutoverv1alpha1.ReasonWaitingForAvailability, nil, status.InProgressStatus, metav1.ConditionFalse},
		{"paused", cutoverv1alpha1.PhasePaused, cutoverv1alpha1.ReasonPaused, nil, status.InProgressStatus, metav1.ConditionFalse},
		{"aborted", cutoverv1alpha1.PhaseAborted, cutoverv1alpha1.ReasonAborted, nil, status.FailedStatus, metav1.ConditionFalse},
		{"degraded", cutoverv1alpha1.PhaseDegraded, cutoverv1alpha1.ReasonInvalidSpec, nil, status.FailedStatus, metav1.ConditionFalse},
		{"transient error", cutoverv1alpha1.PhaseProgressing, cutoverv1alpha1.ReasonProgressing, errors.New("conflict"), status.InProgressStatus, metav1.ConditionFalse},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ro := &cutoverv1alpha1.Rollout{
				TypeMeta:   metav1.TypeMeta{APIVersion: cutoverv1alpha1.GroupVersion.String(), Kind: "Rollout"},
				ObjectMeta: metav1.ObjectMeta{Name: "r", Namespace: "ns", Generation: 3},
				Status:     cutoverv1alpha1.RolloutStatus{ObservedGeneration: 2},
			}
			out := &plan.Output{State: plan.State{Phase: tc.phase, Reason: tc.reason, Message: "m", Available: tc.phase == cutoverv1alpha1.PhaseHealthy}}
			setConditions(ro, out, tc.err)

			u, err := runtime.DefaultUnstructuredConverter.ToUnstructured(ro)
			if err != nil {
				t.Fatal(err)
			}
			res, err := status.Compute(&unstructured.Unstructured{Object: u})
			if err != nil {
				t.Fatal(err)
			}
			if res.Status != tc.want {
				t.Errorf("kstatus %s (%s), want %s", res.Status, res.Message, tc.want)
			}
			ready := findCondition(ro, cutoverv1alpha1.ReadyCondition)
			if ready == nil || ready.Status != tc.ready || ready.ObservedGeneration != 3 {
				t.Errorf("Ready = %+v, want status %s at generation 3", ready, tc.ready)
			}
			// observedGeneration moves only when the reconcile had no error.
			wantGen := int64(3)
			if tc.err != nil {
				wantGen = 2
			}
			if ro.Status.ObservedGeneration != wantGen {
				t.Errorf("observedGeneration %d, want %d", ro.Status.ObservedGeneration, wantGen)
			}
		})
	}
}

func findCondition(ro *cutoverv1alpha1.Rollout, typ string) *metav1.Condition {
	for i := range ro.Status.Conditions {
		if ro.Status.Conditions[i].Type == typ {
			return &ro.Status.Conditions[i]
		}
	}
	return nil
}

// TestPodsStartingIsNoStatusWrite: pods created for a revision in flight and not ready yet do
// not cost a status write of their own; any other change does, and so does any change at rest.
func TestPodsStartingIsNoStatusWrite(t *testing.T) {
	inFlight := cutoverv1alpha1.RolloutStatus{StableRevision: "a", CurrentRevision: "b", Replicas: 2, ReadyReplicas: 2,
		AvailableReplicas: 2, Message: "step 1/4: 0% to b, 0/1 pods available"}
	started := inFlight
	started.Replicas = 3
	if !podsStarting(inFlight, started) {
		t.Error("a pod created for the revision in flight, not ready yet: want no write of its own")
	}
	ready := started
	ready.ReadyReplicas = 3
	if podsStarting(inFlight, ready) {
		t.Error("the pod ready too: want a write")
	}
	moved := started
	moved.Message = "step 1/4: 0% to b, 1/1 pods available"
	if podsStarting(inFlight, moved) {
		t.Error("the message changed too: want a write")
	}
	gone := inFlight
	gone.Replicas = 1
	if podsStarting(inFlight, gone) {
		t.Error("a pod gone: want a write")
	}
	atRest := inFlight
	atRest.CurrentRevision = "a"
	restStarted := atRest
	restStarted.Replicas = 3
	if podsStarting(atRest, restStarted) {
		t.Error("at rest every change is written, so the counts never stay behind")
	}
}
