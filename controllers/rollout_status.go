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
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/go-openapi/jsonpointer"
	jsonpatch "gopkg.in/evanphx/json-patch.v4"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	cutoverv1alpha1 "github.com/cutover-dev/cutover/api/v1alpha1"
	"github.com/cutover-dev/cutover/internal/plan"
	"github.com/cutover-dev/cutover/internal/rfc6902"
)

// finalizeStatus is the one status write of a reconcile. It sets the conditions from the plan
// (or the error), patches the status only when it changed, emits the queued Events, and then
// removes the action annotations the status now records as pending removal.
func (r *RolloutReconciler) finalizeStatus(ctx context.Context, s *rolloutScope, res ctrl.Result, retErr error) (ctrl.Result, error) {
	ro := s.rollout
	if s.plan != nil {
		ro.Status = *s.plan.Status.DeepCopy()
		res = lowestNonZero(res, ctrl.Result{RequeueAfter: s.plan.RequeueAfter})
	}
	setConditions(ro, s.plan, retErr)
	if !equality.Semantic.DeepEqual(s.base.Status, ro.Status) && !podsStarting(s.base.Status, ro.Status) {
		// The patch carries the resourceVersion that was read: a reconcile that started from a
		// cached copy older than the last status write fails here, before it emits Events or
		// acts on annotations a second time, and runs again on fresh data.
		if err := r.patchStatus(ctx, ro, s.base); err != nil {
			if apierrors.IsConflict(err) && retErr == nil {
				ctrl.LoggerFrom(ctx).V(1).Info("Reconciled a stale copy; trying again")
				return ctrl.Result{RequeueAfter: 100 * time.Millisecond}, nil
			}
			return res, errors.Join(retErr, fmt.Errorf("writing status: %w", err))
		}
	}
	r.recordMetrics(s, s.scaled && retErr == nil)
	// The status records what happened: the Events say so now, whatever comes next.
	events := s.events
	if s.plan != nil {
		events = append(slices.Clone(s.plan.Events), s.events...)
	}
	events = append(events, permissionEvent(s.base, ro, retErr)...)
	for _, ev := range events {
		typ := corev1.EventTypeNormal
		if ev.Warning {
			typ = corev1.EventTypeWarning
		}
		r.Recorder.Eventf(ro, nil, typ, ev.Reason, "Reconcile", "%s", ev.Message)
	}
	if s.plan != nil && retErr == nil {
		// Only now that the status records the decision; not after a failed phase.
		if err := r.deleteReplicaSets(ctx, s); err != nil {
			return res, err
		}
	}
	if s.plan != nil && len(s.plan.RemoveAnnotations) > 0 {
		// status.pendingRemoval now records them, so a restart before this removal does not act
		// on them twice. The planner clears the record in a later status write, once it sees
		// them gone.
		again, err := r.removeAnnotations(ctx, ro, s.plan.RemoveAnnotations)
		if err != nil {
			return res, errors.Join(retErr, err)
		}
		res = lowestNonZero(res, again)
	}
	if permissionDenied(retErr) {
		ctrl.LoggerFrom(ctx).Info("Permission denied; trying again later", "error", retErr.Error(), "after", permissionRecheck)
		// The Ready condition and an Event say what is refused; backing off like an error would
		// leave a granted permission unused for up to a quarter of an hour.
		return lowestNonZero(res, ctrl.Result{RequeueAfter: permissionRecheck}), nil
	}
	return res, retErr
}

// podsStarting reports whether the only change from old to st is pods created for a revision
// in flight that are not ready yet (status.replicas up, nothing else). That is no news worth a
// status write of its own: their readiness, or the progress deadline, brings the next write,
// which counts them. Outside a rollout (st's current revision is the stable one) every change is
// written, so the counts never stay behind at rest.
func podsStarting(old, st cutoverv1alpha1.RolloutStatus) bool {
	if st.CurrentRevision == st.StableRevision || st.Replicas <= old.Replicas || st.ReadyReplicas >= st.Replicas {
		return false
	}
	st.Replicas = old.Replicas
	return equality.Semantic.DeepEqual(old, st)
}

// removeAnnotations removes the one-shot action annotations that were acted on. Each removal
// is guarded by a JSON-patch test of the value that was read: an annotation changed meanwhile
// (promote=true made promote=full) is a new action, and stays for the next reconcile to take.
// Keys added meanwhile are not named, so they stay too.
func (r *RolloutReconciler) removeAnnotations(ctx context.Context, ro *cutoverv1alpha1.Rollout, keys []string) (ctrl.Result, error) {
	var ops []rfc6902.Op
	for _, k := range keys {
		v, ok := ro.Annotations[k]
		if !ok {
			continue
		}
		path := "/metadata/annotations/" + jsonpointer.Escape(k)
		ops = append(ops, rfc6902.Op{Op: rfc6902.Test, Path: path, Value: v}, rfc6902.Op{Op: rfc6902.Remove, Path: path})
	}
	if len(ops) == 0 {
		return ctrl.Result{}, nil
	}
	body, err := json.Marshal(ops)
	if err != nil {
		return ctrl.Result{}, err
	}
	before := ro.ResourceVersion
	err = r.Patch(ctx, ro, client.RawPatch(types.JSONPatchType, body), client.FieldOwner(FieldOwner))
	switch {
	case apierrors.IsInvalid(err) || errors.Is(err, jsonpatch.ErrTestFailed) || apierrors.IsConflict(err) || apierrors.IsNotFound(err):
		// An annotation changed (or went) since it was read: the next reconcile reads it
		// again. The API server answers a failed test operation with 422 Invalid (see
		// TestJSONPatchTestFailureIsInvalid); client-side patchers return the library's error.
		ctrl.LoggerFrom(ctx).V(1).Info("Action annotations changed since they were read; reading them again", "keys", keys, "reason", err.Error())
		return ctrl.Result{RequeueAfter: staleRetry}, nil
	case err != nil:
		return ctrl.Result{}, fmt.Errorf("removing action annotations %v: %w", keys, err)
	}
	r.own.wrote(client.ObjectKeyFromObject(ro), before, ro.ResourceVersion)
	return ctrl.Result{}, nil
}

// setConditions sets Ready, Reconciling and Stalled (kstatus) and the domain conditions from the
// planner's verdict. observedGeneration moves only when the reconcile had no error.
func setConditions(ro *cutoverv1alpha1.Rollout, out *plan.Output, retErr error) {
	gen := ro.Generation
	set := func(typ string, status metav1.ConditionStatus, reason, msg string) {
		apimeta.SetStatusCondition(&ro.Status.Conditions, metav1.Condition{
			Type: typ, Status: status, Reason: reason, Message: msg, ObservedGeneration: gen,
		})
	}
	if retErr != nil {
		msg := retryMessage(retErr)
		set(cutoverv1alpha1.ReadyCondition, metav1.ConditionFalse, cutoverv1alpha1.ReasonProgressingWithRetry, msg)
		set(cutoverv1alpha1.ReconcilingCondition, metav1.ConditionTrue, cutoverv1alpha1.ReasonProgressingWithRetry, msg)
		apimeta.RemoveStatusCondition(&ro.Status.Conditions, cutoverv1alpha1.StalledCondition)
		if out == nil {
			set(cutoverv1alpha1.ReplicaSetsAvailableCondition, metav1.ConditionUnknown, cutoverv1alpha1.ReasonInternalError, msg)
		}
		if ro.Status.Phase == "" {
			ro.Status.Phase = cutoverv1alpha1.PhaseProgressing
		}
		return
	}
	if out == nil {
		return
	}
	st := out.State
	switch st.Phase {
	case cutoverv1alpha1.PhaseHealthy:
		set(cutoverv1alpha1.ReadyCondition, metav1.ConditionTrue, st.Reason, st.Message)
		apimeta.RemoveStatusCondition(&ro.Status.Conditions, cutoverv1alpha1.ReconcilingCondition)
		apimeta.RemoveStatusCondition(&ro.Status.Conditions, cutoverv1alpha1.StalledCondition)
	case cutoverv1alpha1.PhaseAborted, cutoverv1alpha1.PhaseDegraded:
		set(cutoverv1alpha1.ReadyCondition, metav1.ConditionFalse, st.Reason, st.Message)
		set(cutoverv1alpha1.StalledCondition, metav1.ConditionTrue, st.Reason, st.Message)
		apimeta.RemoveStatusCondition(&ro.Status.Conditions, cutoverv1alpha1.ReconcilingCondition)
	default:
		set(cutoverv1alpha1.ReadyCondition, metav1.ConditionFalse, st.Reason, st.Message)
		set(cutoverv1alpha1.ReconcilingCondition, metav1.ConditionTrue, st.Reason, st.Message)
		apimeta.RemoveStatusCondition(&ro.Status.Conditions, cutoverv1alpha1.StalledCondition)
	}
	if st.Available {
		set(cutoverv1alpha1.ReplicaSetsAvailableCondition, metav1.ConditionTrue, cutoverv1alpha1.ReasonAvailable,
			"every ReplicaSet the rollout needs has all its pods available")
	} else {
		set(cutoverv1alpha1.ReplicaSetsAvailableCondition, metav1.ConditionFalse, cutoverv1alpha1.ReasonWaitingForAvailability, st.Message)
	}
	switch {
	case out.Traffic != nil || out.Services != nil:
		set(cutoverv1alpha1.TrafficRoutedCondition, metav1.ConditionTrue, cutoverv1alpha1.ReasonRouted, routingMessage(out))
	case strings.HasPrefix(st.Message, "spec.trafficRouting"):
		set(cutoverv1alpha1.TrafficRoutedCondition, metav1.ConditionFalse, st.Reason, st.Message)
	case apimeta.FindStatusCondition(ro.Status.Conditions, cutoverv1alpha1.TrafficRoutedCondition) == nil:
		set(cutoverv1alpha1.TrafficRoutedCondition, metav1.ConditionTrue, cutoverv1alpha1.ReasonRouted,
			"traffic follows the replica ratio: no traffic router is configured")
	}
	g := out.State.Gates
	if g.Status == "" {
		g = plan.GateVerdict{Status: metav1.ConditionTrue, Reason: cutoverv1alpha1.ReasonNoGates, Message: "no gate is running"}
	}
	set(cutoverv1alpha1.GatesPassedCondition, g.Status, g.Reason, g.Message)
	ro.Status.ObservedGeneration = gen
}
