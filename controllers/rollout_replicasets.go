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
	"maps"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	cutoverv1alpha1 "github.com/cutover-dev/cutover/api/v1alpha1"
	"github.com/cutover-dev/cutover/internal/plan"
)

// reconcileReplicaSets applies the plan to the ReplicaSets: it replaces drifted ones, creates the
// new revision's, scales, and deletes. It only ever creates, scales and deletes; it never
// changes a ReplicaSet's pod template.
func (r *RolloutReconciler) reconcileReplicaSets(ctx context.Context, s *rolloutScope) (ctrl.Result, error) {
	for _, rs := range s.drifted {
		if err := r.replaceDrifted(ctx, s, rs); err != nil {
			return ctrl.Result{}, err
		}
	}
	out := s.plan
	if out.Create != "" {
		if res, err := r.createReplicaSet(ctx, s, out.Create, out.CreateReplicas); err != nil || !res.IsZero() {
			return res, err
		}
		// The round that creates a revision's ReplicaSet stops there, one round trip after it
		// began: in a burst of changes the next Rollout's ReplicaSet is not kept waiting for this
		// one's status write. It drops its plan, so it records and announces nothing of it (no
		// status write, no plan Events, no annotation removed). The ReplicaSet's watch event
		// brings the round that plans the same again, finds the ReplicaSet in the cache, and
		// writes the status that records the revision, with its RevisionCreated Event; the rest
		// of this plan (scales, routing, an action's annotation) is that round's too. The
		// requeue is a safety net only.
		s.plan = nil
		return ctrl.Result{RequeueAfter: time.Second}, errWaiting
	}
	if err := r.scaleReplicaSets(ctx, s); err != nil {
		return ctrl.Result{}, err
	}
	// Deletions wait for the status write (see deleteReplicaSets).
	s.scaled = true
	return ctrl.Result{}, nil
}

// scaleReplicaSets brings the live ReplicaSets to the sizes of the plan. Each patch's answer
// updates the ReplicaSet in s, so a follow-up plan scales from the new size; the version it
// replaced is remembered, so that a later round does not plan from a cached copy older than
// the scale (see observe).
func (r *RolloutReconciler) scaleReplicaSets(ctx context.Context, s *rolloutScope) error {
	for rev, want := range s.plan.Scale {
		rs, ok := s.replicaSets[rev]
		if !ok || ptrValue(rs.Spec.Replicas, 1) == want || !rs.DeletionTimestamp.IsZero() {
			continue
		}
		orig := rs.DeepCopy()
		rs.Spec.Replicas = &want
		if err := r.Patch(ctx, rs, client.MergeFrom(orig), client.FieldOwner(FieldOwner)); err != nil {
			return fmt.Errorf("scaling ReplicaSet %s to %d: %w", rs.Name, want, err)
		}
		r.ownScales.wrote(client.ObjectKeyFromObject(s.rollout), orig.ResourceVersion, rs.ResourceVersion)
		ctrl.LoggerFrom(ctx).V(1).Info("Scaled ReplicaSet", "ReplicaSet", rs.Name, "replicas", want)
	}
	return nil
}

// deleteReplicaSets deletes the ReplicaSets the plan retires. It runs only after the status
// write that records the decision: a deletion cannot be undone, and a revision torn down by a
// round whose status was then lost (a conflict, a crash) would leave the next round without
// the record of why (a completion whose promote would then be refused as if nothing were
// rolling out). A deletion that fails is retried by the next round, which plans it again.
func (r *RolloutReconciler) deleteReplicaSets(ctx context.Context, s *rolloutScope) error {
	if !s.scaled {
		return nil // the pipeline stopped before the ReplicaSets were brought to the plan
	}
	for _, rev := range s.plan.Delete {
		rs, ok := s.replicaSets[rev]
		if !ok || !rs.DeletionTimestamp.IsZero() || r.deletions.done(rs.UID, s.now) {
			continue
		}
		if err := r.Delete(ctx, rs, client.PropagationPolicy(metav1.DeletePropagationBackground),
			client.Preconditions{UID: &rs.UID}); client.IgnoreNotFound(err) != nil {
			return fmt.Errorf("deleting ReplicaSet %s: %w", rs.Name, err)
		}
		r.deletions.deleted(rs.UID, s.now)
		ctrl.LoggerFrom(ctx).V(1).Info("Deleted ReplicaSet", "ReplicaSet", rs.Name)
	}
	return nil
}

// createReplicaSet creates the ReplicaSet of a revision. When the name is still taken by a
// ReplicaSet being replaced, it waits for it to go.
func (r *RolloutReconciler) createReplicaSet(ctx context.Context, s *rolloutScope, rev string, replicas int32) (ctrl.Result, error) {
	if rev != s.desired.Hash || s.pinned == nil {
		return ctrl.Result{}, fmt.Errorf("planner asked to create revision %s, but only %s can be built", rev, s.desired.Hash)
	}
	rs, err := r.newReplicaSet(s, replicas)
	if err != nil {
		return ctrl.Result{}, err
	}
	err = r.Create(ctx, rs, client.FieldOwner(FieldOwner))
	if apierrors.IsAlreadyExists(err) {
		return ctrl.Result{RequeueAfter: time.Second}, errWaiting
	}
	if apierrors.IsInvalid(err) {
		// The template breaks a rule of the API server that the Rollout's admission cannot
		// check (a container name, say): a spec that cannot be carried out, like any other.
		return r.replan(ctx, s, refusedTemplate(rs.Name, err))
	}
	if err != nil {
		return ctrl.Result{}, fmt.Errorf("creating ReplicaSet %s: %w", rs.Name, err)
	}
	// The planner announces the revision (RevisionCreated) with the status write that records it.
	s.created, s.createdAt = rev, r.Clock.Now()
	ctrl.LoggerFrom(ctx).Info("Created ReplicaSet", "ReplicaSet", rs.Name, "replicas", replicas)
	return ctrl.Result{}, nil
}

// refusedTemplate is the problem of a revision whose ReplicaSet the API server refuses as
// invalid. The ReplicaSet's field paths are the Rollout's: both hold the template at
// spec.template.
func refusedTemplate(name string, err error) *plan.Problem {
	msg := err.Error()
	var st apierrors.APIStatus
	if errors.As(err, &st) && st.Status().Details != nil && len(st.Status().Details.Causes) > 0 {
		causes := make([]string, 0, len(st.Status().Details.Causes))
		for _, c := range st.Status().Details.Causes {
			causes = append(causes, c.Field+": "+c.Message)
		}
		msg = strings.Join(causes, "; ")
	}
	return &plan.Problem{Reason: cutoverv1alpha1.ReasonInvalidSpec,
		Message: fmt.Sprintf("spec.template: the API server refuses the revision's ReplicaSet %s: %s", name, msg)}
}

// ReplicaSetName is the name of a revision's ReplicaSet: <rollout>-<revision>.
func ReplicaSetName(rollout, revision string) string { return rollout + "-" + revision }

// newReplicaSet builds the ReplicaSet of the desired revision from the pinned template.
func (r *RolloutReconciler) newReplicaSet(s *rolloutScope, replicas int32) (*appsv1.ReplicaSet, error) {
	ro, rev := s.rollout, s.desired.Hash
	pins, err := json.Marshal(s.desired.Images)
	if err != nil {
		return nil, err
	}
	sel := ro.Spec.Selector.AsMeta()
	sel.MatchLabels = maps.Clone(sel.MatchLabels)
	if sel.MatchLabels == nil {
		sel.MatchLabels = map[string]string{}
	}
	sel.MatchLabels[cutoverv1alpha1.LabelRevision] = rev
	rs := &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{
			Name:      ReplicaSetName(ro.Name, rev),
			Namespace: ro.Namespace,
			Labels: map[string]string{
				cutoverv1alpha1.LabelRollout:  ro.Name,
				cutoverv1alpha1.LabelRevision: rev,
			},
			Annotations: map[string]string{
				cutoverv1alpha1.AnnotationTemplateHash: s.desired.TemplateHash,
				cutoverv1alpha1.AnnotationImagePins:    string(pins),
				cutoverv1alpha1.AnnotationCreatedAt:    s.now.UTC().Format(time.RFC3339),
			},
		},
		Spec: appsv1.ReplicaSetSpec{
			Replicas:        &replicas,
			MinReadySeconds: ro.Spec.MinReadySeconds,
			Selector:        sel,
			Template:        *s.pinned.DeepCopy(),
		},
	}
	if err := controllerutil.SetControllerReference(ro, rs, r.Scheme()); err != nil {
		return nil, err
	}
	return rs, nil
}

// replaceDrifted deletes a ReplicaSet whose template was edited out of band, orphaning its pods
// so that the replacement, made from the revision's template, adopts them without a dip in
// capacity.
func (r *RolloutReconciler) replaceDrifted(ctx context.Context, s *rolloutScope, rs *appsv1.ReplicaSet) error {
	err := r.Delete(ctx, rs, client.PropagationPolicy(metav1.DeletePropagationOrphan), client.Preconditions{UID: &rs.UID})
	if client.IgnoreNotFound(err) != nil {
		return fmt.Errorf("replacing drifted ReplicaSet %s: %w", rs.Name, err)
	}
	s.queue(plan.Event{Warning: true, Reason: plan.EventDriftReverted,
		Message: fmt.Sprintf("ReplicaSet %s: its pod template was edited; replaced with the template of revision %s",
			rs.Name, s.desired.Hash)})
	return nil
}
