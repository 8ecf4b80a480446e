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

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	cutoverv1alpha1 "github.com/cutover-dev/cutover/api/v1alpha1"
	"github.com/cutover-dev/cutover/internal/image"
	"github.com/cutover-dev/cutover/internal/plan"
)

// observe reads the managed ReplicaSets and works out the desired revision: spec.template with
// every image pinned to a digest.
func (r *RolloutReconciler) observe(ctx context.Context, s *rolloutScope) (ctrl.Result, error) {
	all, err := r.listReplicaSets(ctx, s.rollout)
	if err != nil {
		return ctrl.Result{}, err
	}
	if r.cacheBehindScales(ctx, s.rollout, all) {
		return ctrl.Result{RequeueAfter: watchEventRetry}, errWaiting
	}
	if err := r.observeRevision(ctx, s, all); err != nil {
		return ctrl.Result{}, err
	}
	if err := r.observeTraffic(ctx, s); err != nil {
		return ctrl.Result{}, err
	}
	if err := r.observeServices(ctx, s); err != nil {
		return ctrl.Result{}, err
	}
	if r.cacheBehindRouting(ctx, s) {
		return ctrl.Result{RequeueAfter: watchEventRetry}, errWaiting
	}
	r.checkGates(s)
	classifyReplicaSets(s, all)
	if err := r.claimDesiredName(ctx, s); err != nil {
		return ctrl.Result{}, err
	}
	return ctrl.Result{}, nil
}

// cacheBehindScales reports whether the cache still holds a ReplicaSet as it was before one of
// Cutover's own scales. A round that planned from that copy would send the same scale again
// (a write that changes nothing) or decide on a size that is no longer true; it is put off
// until the scale's watch event arrives, as for the Rollout's own writes (ownWrites). The round
// writes nothing: it stops before the planner runs. That event brings the next round (every
// ReplicaSet event does, and the informer's cache holds the scale by then), so the round does
// not poll: its requeue is a safety net.
func (r *RolloutReconciler) cacheBehindScales(ctx context.Context, ro *cutoverv1alpha1.Rollout, all []*appsv1.ReplicaSet) bool {
	rvs := make([]string, len(all))
	for i, rs := range all {
		rvs[i] = rs.ResourceVersion
	}
	if !r.ownScales.stale(client.ObjectKeyFromObject(ro), rvs...) {
		return false
	}
	ctrl.LoggerFrom(ctx).V(1).Info("Waiting for the cache to see Cutover's own scale")
	return true
}

// cacheBehindRouting reports whether the cache still holds a routing object (a VirtualService,
// the DestinationRule, a blue-green Service) as it was before one of Cutover's own patches to
// it. A round that planned from that copy would plan as if the patch had not landed: the same
// patch again, its test operations now false, a write the API server refuses (422). It is put
// off like a round behind a scale (cacheBehindScales): the patch's watch event brings the next.
func (r *RolloutReconciler) cacheBehindRouting(ctx context.Context, s *rolloutScope) bool {
	if !r.ownRouting.stale(client.ObjectKeyFromObject(s.rollout), s.routingVersions...) {
		return false
	}
	ctrl.LoggerFrom(ctx).V(1).Info("Waiting for the cache to see Cutover's own routing patch")
	return true
}

// listReplicaSets lists the ReplicaSets this Rollout controls, by their owner reference.
func (r *RolloutReconciler) listReplicaSets(ctx context.Context, ro *cutoverv1alpha1.Rollout) ([]*appsv1.ReplicaSet, error) {
	list := &appsv1.ReplicaSetList{}
	if err := r.List(ctx, list, client.InNamespace(ro.Namespace),
		client.MatchingFields{replicaSetOwnerIndex: ro.Name}); err != nil {
		return nil, fmt.Errorf("listing ReplicaSets: %w", err)
	}
	var out []*appsv1.ReplicaSet
	for i := range list.Items {
		rs := &list.Items[i]
		if ref := metav1.GetControllerOf(rs); ref != nil && ref.UID == ro.UID && revisionOf(rs) != "" {
			out = append(out, rs)
		}
	}
	return out, nil
}

// classifyReplicaSets indexes the ReplicaSets by revision. A ReplicaSet of the desired revision
// whose template was edited out of band is set aside to be replaced.
func classifyReplicaSets(s *rolloutScope, all []*appsv1.ReplicaSet) {
	s.replicaSets = map[string]*appsv1.ReplicaSet{}
	for _, rs := range all {
		rev := revisionOf(rs)
		if rev == s.desired.Hash && rs.DeletionTimestamp.IsZero() && templateEdited(rs) {
			s.drifted = append(s.drifted, rs)
			continue
		}
		if old, ok := s.replicaSets[rev]; ok && old.DeletionTimestamp.IsZero() {
			continue
		}
		s.replicaSets[rev] = rs
	}
}

// observeRevision pins spec.template. Pins are looked up before any registry is asked: on a
// ReplicaSet made from the same template, then in the status and its history. A template is
// resolved once.
func (r *RolloutReconciler) observeRevision(ctx context.Context, s *rolloutScope, all []*appsv1.ReplicaSet) error {
	ro := s.rollout
	tmpl := &ro.Spec.Template
	if p := checkSpec(ro); p != nil {
		s.blocked = p
		return nil
	}
	tmplHash, err := plan.TemplateHash(tmpl)
	if err != nil {
		return err
	}
	pinned, pins := knownPins(ro, tmplHash, all)
	if pinned == nil {
		secrets, err := r.pullSecrets(ctx, ro)
		if err != nil {
			return err
		}
		pinned, pins, err = image.Pin(ctx, r.Images, tmpl, secrets, ro.Spec.ImagePolicy)
		if err != nil {
			s.blocked = imageProblem(err)
			return nil
		}
		// The planner announces the pins (ImageResolved) with the status write that records them.
	}
	hash, err := plan.TemplateHash(pinned)
	if err != nil {
		return err
	}
	if pinned.Labels == nil {
		pinned.Labels = map[string]string{}
	}
	pinned.Labels[cutoverv1alpha1.LabelRevision] = hash
	s.pinned = pinned
	s.desired = plan.Revision{Hash: hash, TemplateHash: tmplHash, Images: pins}
	return nil
}

// checkSpec finds what admission cannot: a selector expression the template labels miss, and an
// image refused by spec.imagePolicy.
func checkSpec(ro *cutoverv1alpha1.Rollout) *plan.Problem {
	sel, err := metav1.LabelSelectorAsSelector(ro.Spec.Selector.AsMeta())
	if err != nil {
		return &plan.Problem{Reason: cutoverv1alpha1.ReasonInvalidSpec, Message: "spec.selector: " + err.Error()}
	}
	if sel.Empty() || !sel.Matches(labels.Set(ro.Spec.Template.Labels)) {
		return &plan.Problem{Reason: cutoverv1alpha1.ReasonInvalidSpec,
			Message: "spec.template.metadata.labels must match spec.selector, which must not be empty"}
	}
	if err := image.CheckPolicy(&ro.Spec.Template, ro.Spec.ImagePolicy); err != nil {
		return imageProblem(err)
	}
	return nil
}

// knownPins returns the pinned template when this template was pinned before.
func knownPins(ro *cutoverv1alpha1.Rollout, tmplHash string, all []*appsv1.ReplicaSet) (*corev1.PodTemplateSpec, []cutoverv1alpha1.ContainerImage) {
	try := func(pins []cutoverv1alpha1.ContainerImage) (*corev1.PodTemplateSpec, []cutoverv1alpha1.ContainerImage) {
		if pinned, ok := image.ApplyPins(&ro.Spec.Template, pins); ok {
			return pinned, pins
		}
		return nil, nil
	}
	for _, rs := range all {
		if rs.Annotations[cutoverv1alpha1.AnnotationTemplateHash] != tmplHash {
			continue
		}
		var pins []cutoverv1alpha1.ContainerImage
		if json.Unmarshal([]byte(rs.Annotations[cutoverv1alpha1.AnnotationImagePins]), &pins) == nil {
			if pinned, p := try(pins); pinned != nil {
				return pinned, p
			}
		}
	}
	if ro.Status.TemplateHash == tmplHash && len(ro.Status.Images) > 0 {
		if pinned, p := try(ro.Status.Images); pinned != nil {
			return pinned, p
		}
	}
	// A revision whose ReplicaSet is gone keeps its pins in status.history.
	for _, rec := range ro.Status.History {
		if rec.TemplateHash == tmplHash && len(rec.Images) > 0 {
			if pinned, p := try(rec.Images); pinned != nil {
				return pinned, p
			}
		}
	}
	return nil, nil
}

// pullSecrets reads the template's imagePullSecrets; a missing one is skipped, as the kubelet
// does.
func (r *RolloutReconciler) pullSecrets(ctx context.Context, ro *cutoverv1alpha1.Rollout) ([]corev1.Secret, error) {
	var out []corev1.Secret
	for _, ref := range ro.Spec.Template.Spec.ImagePullSecrets {
		sec := corev1.Secret{}
		err := r.APIReader.Get(ctx, client.ObjectKey{Namespace: ro.Namespace, Name: ref.Name}, &sec)
		switch {
		case apierrors.IsNotFound(err):
			continue
		case err != nil:
			return nil, fmt.Errorf("reading image pull secret %q: %w", ref.Name, err)
		}
		out = append(out, sec)
	}
	return out, nil
}

// imageProblem classifies a pinning error: a policy violation stalls; a registry problem is
// retried.
func imageProblem(err error) *plan.Problem {
	var pe *image.PolicyError
	if errors.As(err, &pe) {
		return &plan.Problem{Reason: cutoverv1alpha1.ReasonInvalidSpec, Message: err.Error()}
	}
	return &plan.Problem{Reason: cutoverv1alpha1.ReasonImageResolutionFailed, Transient: true,
		Message: "resolving image tags (retrying): " + err.Error()}
}
