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
	"strings"
	"time"

	apimeta "k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	cutoverv1alpha1 "github.com/cutover-dev/cutover/api/v1alpha1"
	"github.com/cutover-dev/cutover/internal/plan"
	"github.com/cutover-dev/cutover/internal/traffic"
)

// TrafficFinalizer holds a Rollout with a traffic router until its routing is back on the stable
// revision, so deleting a Rollout never leaves weight on a revision that is going away.
const TrafficFinalizer = "cutover.dev/traffic"

// usesRouter reports whether a traffic router carries this Rollout's traffic.
func (r *RolloutReconciler) usesRouter(ro *cutoverv1alpha1.Rollout) bool {
	return ro.Spec.TrafficRouting != nil && ro.Spec.TrafficRouting.Istio != nil
}

// observeTraffic reads the routing objects. A missing object or one that cannot carry the
// split blocks the rollout: nothing that runs is changed until it is fixed. They are read even
// when the rollout is blocked for another reason, so that an abort, or a weight its pods can no
// longer serve, still moves the traffic; the first problem found is the one reported.
func (r *RolloutReconciler) observeTraffic(ctx context.Context, s *rolloutScope) error {
	ro := s.rollout
	if !r.usesRouter(ro) {
		return nil
	}
	if r.Router == nil {
		s.block(&plan.Problem{Reason: cutoverv1alpha1.ReasonInvalidSpec,
			Message: "spec.trafficRouting.istio is set, but the Istio networking.istio.io/v1 API is not installed in this cluster"})
		return nil
	}
	obs, err := r.Router.Observe(ctx, ro)
	switch {
	case errors.Is(err, traffic.ErrReferenceNotFound):
		s.block(&plan.Problem{Reason: cutoverv1alpha1.ReasonReferenceNotFound, Transient: true,
			Message: "spec.trafficRouting.istio: " + err.Error()})
		return nil
	case errors.Is(err, traffic.ErrInvalidReference):
		s.block(&plan.Problem{Reason: cutoverv1alpha1.ReasonInvalidSpec, Message: "spec.trafficRouting.istio: " + err.Error()})
		return nil
	case err != nil:
		return fmt.Errorf("reading the routing objects: %w", err)
	}
	s.routingVersions = append(s.routingVersions, obs.Versions...)
	s.traffic = &plan.Traffic{StableRevision: obs.StableRevision, CanaryRevision: obs.CanaryRevision, CanaryWeight: obs.CanaryWeight}
	return nil
}

// reconcileTraffic applies the planned split. A field the router had to put back while the plan
// did not move is drift: someone changed a field Cutover owns.
func (r *RolloutReconciler) reconcileTraffic(ctx context.Context, s *rolloutScope) (ctrl.Result, error) {
	split := s.plan.Traffic
	if split == nil || r.Router == nil {
		return ctrl.Result{}, nil
	}
	if err := r.ensureFinalizer(ctx, s); err != nil {
		return ctrl.Result{}, err
	}
	obs, err := r.Router.Reconcile(ctx, s.rollout, traffic.Split{
		StableRevision: split.StableRevision, CanaryRevision: split.CanaryRevision, CanaryWeight: split.CanaryWeight,
	})
	r.ownRouting.replaced(client.ObjectKeyFromObject(s.rollout), obs.Replaced...)
	if err != nil {
		return ctrl.Result{}, fmt.Errorf("routing traffic: %w", err)
	}
	// A planned move, written: plan the round again from that write (plan.Follow). The step
	// the weight reaches, and the pause after it, then go into this round's status write
	// instead of the next round's, which the caches would bring only once they show the write.
	// A follow-up scales the ReplicaSets it needs to (a timed pause starts the next weight's
	// pods); its deletions follow the status write like any plan's. When the follow-up would
	// route again, the next round takes it, as without a follow-up.
	if len(obs.Corrected) > 0 && !sameRouting(s.base.Status, s.plan) {
		if next, ok := plan.Follow(s.input, *s.plan); ok {
			s.plan = &next
			return ctrl.Result{}, r.scaleReplicaSets(ctx, s)
		}
	}
	return routingWritten(s, obs.Corrected), nil
}

// routingWritten handles the fields a router or the Service switcher had to write. When the
// plan did not move, the write put back someone else's change: drift, with an Event. Either
// way the routing objects' watch events usually bring the next round; they come through
// informers that may lag each other, so look again shortly in any case.
func routingWritten(s *rolloutScope, written []string) ctrl.Result {
	if len(written) == 0 {
		return ctrl.Result{}
	}
	if sameRouting(s.base.Status, s.plan) {
		s.queue(plan.Event{Warning: true, Reason: plan.EventDriftReverted,
			Message: "routing changed out of band, put back: " + strings.Join(written, ", ")})
	}
	return ctrl.Result{RequeueAfter: time.Second}
}

// sameRouting reports whether the plan asks for the routing the last status recorded (in the
// TrafficRouted condition), so a correction is a revert of someone else's change rather than a
// planned move.
func sameRouting(last cutoverv1alpha1.RolloutStatus, out *plan.Output) bool {
	c := apimeta.FindStatusCondition(last.Conditions, cutoverv1alpha1.TrafficRoutedCondition)
	return c != nil && c.Message == routingMessage(out)
}

// routingMessage describes the planned routing in words, for the TrafficRouted condition.
func routingMessage(out *plan.Output) string {
	var parts []string
	if split := out.Traffic; split != nil {
		if split.CanaryWeight == 0 {
			parts = append(parts, fmt.Sprintf("all traffic on the stable subset (revision %s)", split.StableRevision))
		} else {
			parts = append(parts, fmt.Sprintf("%d%% on the canary subset (revision %s), %d%% on the stable subset (revision %s)",
				split.CanaryWeight, split.CanaryRevision, 100-split.CanaryWeight, split.StableRevision))
		}
	}
	if sv := out.Services; sv != nil {
		parts = append(parts, fmt.Sprintf("active Service on revision %s, preview Service on revision %s", sv.Active, sv.Preview))
	}
	return strings.Join(parts, "; ")
}

// ensureFinalizer adds the traffic finalizer once. The status patch of the same reconcile then
// starts from this write's answer, Cutover's own: it is locked on its resourceVersion (not the
// read before it, which every new routed Rollout's first status write was refused with 409 for)
// and carries no metadata.
func (r *RolloutReconciler) ensureFinalizer(ctx context.Context, s *rolloutScope) error {
	ro := s.rollout
	if controllerutil.ContainsFinalizer(ro, TrafficFinalizer) {
		return nil
	}
	read := ro.ResourceVersion
	controllerutil.AddFinalizer(ro, TrafficFinalizer)
	patch, err := finalizersPatch(ro)
	if err != nil {
		return err
	}
	if err := r.Patch(ctx, ro, patch, client.FieldOwner(FieldOwner)); err != nil {
		return fmt.Errorf("adding finalizer %s: %w", TrafficFinalizer, err)
	}
	r.own.wrote(client.ObjectKeyFromObject(ro), read, ro.ResourceVersion)
	// The answer replaced ro's metadata (resourceVersion, finalizers, and managedFields the
	// cache would have trimmed): the base takes the same, or the status patch would carry the
	// difference.
	s.base.ObjectMeta = *ro.ObjectMeta.DeepCopy()
	return nil
}

// reconcileDelete puts all traffic back on the stable revision, then lets the Rollout go.
func (r *RolloutReconciler) reconcileDelete(ctx context.Context, ro *cutoverv1alpha1.Rollout) (ctrl.Result, error) {
	if !controllerutil.ContainsFinalizer(ro, TrafficFinalizer) {
		return ctrl.Result{}, nil
	}
	if r.Router != nil && r.usesRouter(ro) && ro.Status.StableRevision != "" {
		_, err := r.Router.Reconcile(ctx, ro, traffic.Split{StableRevision: ro.Status.StableRevision, CanaryWeight: 0})
		if err != nil && !errors.Is(err, traffic.ErrReferenceNotFound) && !errors.Is(err, traffic.ErrInvalidReference) {
			return ctrl.Result{}, fmt.Errorf("routing all traffic to stable before deletion: %w", err)
		}
	}
	controllerutil.RemoveFinalizer(ro, TrafficFinalizer)
	patch, err := finalizersPatch(ro)
	if err != nil {
		return ctrl.Result{}, err
	}
	if err := r.Patch(ctx, ro, patch, client.FieldOwner(FieldOwner)); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	return ctrl.Result{}, nil
}

// finalizersPatch is the merge patch that gives ro's metadata.finalizers to the stored Rollout.
// A merge patch replaces a list whole, so it is locked on the resourceVersion ro was read at:
// a finalizer another controller added since the read is never dropped, the patch is refused
// (409) and the round runs again on fresh data. It is the patch client.MergeFrom with its
// optimistic lock would send, without encoding and diffing two whole Rollouts to find it.
func finalizersPatch(ro *cutoverv1alpha1.Rollout) (client.Patch, error) {
	type metadata struct {
		ResourceVersion string   `json:"resourceVersion"`
		Finalizers      []string `json:"finalizers"`
	}
	data, err := json.Marshal(struct {
		Metadata metadata `json:"metadata"`
	}{metadata{ResourceVersion: ro.ResourceVersion, Finalizers: ro.Finalizers}})
	if err != nil {
		return nil, fmt.Errorf("encoding the finalizers patch: %w", err)
	}
	return client.RawPatch(types.MergePatchType, data), nil
}
