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
	"maps"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	cutoverv1alpha1 "github.com/cutover-dev/cutover/api/v1alpha1"
	"github.com/cutover-dev/cutover/internal/plan"
)

// nameConflictRecheck is how often a rollout stalled by a foreign ReplicaSet looks again: that
// ReplicaSet is not watched, so its removal brings no event.
const nameConflictRecheck = 30 * time.Second

// claimDesiredName handles a ReplicaSet that already has the desired revision's name but is
// not this Rollout's. An orphan made from exactly the revision's template and labels (left by
// `kubectl delete --cascade=orphan` of the Rollout, then re-applied) is adopted, as a
// Deployment adopts its orphans, so its pods keep running. Anything else blocks the rollout
// with a condition naming it; it is never adopted, changed or deleted.
func (r *RolloutReconciler) claimDesiredName(ctx context.Context, s *rolloutScope) error {
	if s.blocked != nil || s.pinned == nil || s.replicaSets[s.desired.Hash] != nil {
		return nil
	}
	ro := s.rollout
	name := ReplicaSetName(ro.Name, s.desired.Hash)
	found := &appsv1.ReplicaSet{}
	err := r.Get(ctx, client.ObjectKey{Namespace: ro.Namespace, Name: name}, found)
	switch {
	case apierrors.IsNotFound(err):
		return nil
	case err != nil:
		return fmt.Errorf("reading ReplicaSet %s: %w", name, err)
	}
	if ref := metav1.GetControllerOf(found); ref != nil && ref.UID == ro.UID {
		return nil // ours, not yet in the cache index
	}
	match, err := r.isRevisionOrphan(ctx, s, found)
	if err != nil {
		return err
	}
	if !match {
		s.blocked = &plan.Problem{Reason: cutoverv1alpha1.ReasonNameConflict, Recheck: nameConflictRecheck,
			Message: fmt.Sprintf("ReplicaSet %s/%s has the name of revision %s but is not this Rollout's, and is not an orphan made from exactly its template: remove or rename it; Cutover never changes or deletes it",
				ro.Namespace, name, s.desired.Hash)}
		return nil
	}
	orig := found.DeepCopy()
	if err := controllerutil.SetControllerReference(ro, found, r.Scheme()); err != nil {
		return err
	}
	patch := client.MergeFromWithOptions(orig, client.MergeFromWithOptimisticLock{})
	if err := r.Patch(ctx, found, patch, client.FieldOwner(FieldOwner)); err != nil {
		return fmt.Errorf("adopting ReplicaSet %s: %w", name, err)
	}
	ctrl.LoggerFrom(ctx).Info("Adopted orphaned ReplicaSet", "ReplicaSet", klog.KObj(found))
	s.replicaSets[s.desired.Hash] = found
	return nil
}

// isRevisionOrphan reports whether rs has no controller and is exactly what Cutover would
// create for the desired revision: the same labels, selector and pod template. The template is
// compared after the API server's defaulting, by a dry-run create of the revision's ReplicaSet.
func (r *RolloutReconciler) isRevisionOrphan(ctx context.Context, s *rolloutScope, rs *appsv1.ReplicaSet) (bool, error) {
	if metav1.GetControllerOf(rs) != nil {
		return false, nil
	}
	want, err := r.newReplicaSet(s, 0)
	if err != nil {
		return false, err
	}
	if !maps.Equal(rs.Labels, want.Labels) || !equality.Semantic.DeepEqual(rs.Spec.Selector, want.Spec.Selector) {
		return false, nil
	}
	want.Name, want.GenerateName = "", want.Name+"-"
	if err := r.Create(ctx, want, client.DryRunAll); err != nil {
		return false, fmt.Errorf("defaulting the template of revision %s (dry run): %w", s.desired.Hash, err)
	}
	return equality.Semantic.DeepEqual(rs.Spec.Template, want.Spec.Template), nil
}
