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
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	ctrl "sigs.k8s.io/controller-runtime"

	cutoverv1alpha1 "github.com/cutover-dev/cutover/api/v1alpha1"
	"github.com/cutover-dev/cutover/internal/plan"
)

// rolloutScope is the data of one reconcile: what was observed, what was planned, and the
// Events to emit after the status write. It holds data only; the phases are functions.
type rolloutScope struct {
	rollout *cutoverv1alpha1.Rollout
	base    *cutoverv1alpha1.Rollout // the Rollout as read, to patch the status against
	now     time.Time

	// observed
	replicaSets map[string]*appsv1.ReplicaSet // managed ReplicaSets by revision
	drifted     []*appsv1.ReplicaSet          // managed ReplicaSets whose template was edited
	desired     plan.Revision
	pinned      *corev1.PodTemplateSpec // spec.template with images pinned and the revision label
	traffic     *plan.Traffic           // what the traffic router found; nil without a router
	// activeService is the revision the blue-green active Service selects ("" if none).
	activeService string
	// routingVersions name the versions of the routing objects read (VirtualServices,
	// DestinationRule, Services), as traffic.Observed.Versions does.
	routingVersions []string
	blocked         *plan.Problem
	// measurements are the gate measurements taken this round.
	measurements map[string]plan.GateResult

	// planned
	// input is what the plan was computed from (see reconcileTraffic, which follows it up).
	input plan.Input
	plan  *plan.Output
	// scaled is set once the ReplicaSets were created and scaled as planned; the planned
	// deletions follow the status write.
	scaled bool
	// created is the revision whose ReplicaSet this round created, at createdAt.
	created   string
	createdAt time.Time

	// queued for after the status write, after the plan's own Events
	events []plan.Event
}

// phase is one step of the reconcile pipeline.
type phase struct {
	name string
	fn   func(ctx context.Context, s *rolloutScope) (ctrl.Result, error)
}

// errWaiting stops the pipeline without an error.
var errWaiting = errors.New("waiting")

// runPhases runs the phases in order. It stops at the first error (wrapped with the phase's
// name) or at errWaiting, and merges the lowest RequeueAfter across the phases that ran.
func runPhases(ctx context.Context, s *rolloutScope, phases ...phase) (ctrl.Result, error) {
	var res ctrl.Result
	for _, ph := range phases {
		r, err := ph.fn(ctx, s)
		res = lowestNonZero(res, r)
		if errors.Is(err, errWaiting) {
			return res, nil
		}
		if err != nil {
			return res, fmt.Errorf("%s: %w", ph.name, err)
		}
	}
	return res, nil
}

func lowestNonZero(a, b ctrl.Result) ctrl.Result {
	switch {
	case a.RequeueAfter == 0:
		return b
	case b.RequeueAfter == 0 || a.RequeueAfter < b.RequeueAfter:
		return a
	default:
		return b
	}
}

// block records a problem that blocks the rollout, unless one was found already: the first
// problem found is the one reported.
func (s *rolloutScope) block(p *plan.Problem) {
	if s.blocked == nil {
		s.blocked = p
	}
}

// queue adds Events to emit after the status write.
func (s *rolloutScope) queue(ev ...plan.Event) { s.events = append(s.events, ev...) }

// plan runs the pure planner on what was observed. Its Events are emitted after the status
// write, before the ones the phases queue; its RequeueAfter is added there too, as a follow-up
// (see reconcileTraffic) may replace the plan meanwhile.
func (r *RolloutReconciler) plan(_ context.Context, s *rolloutScope) (ctrl.Result, error) {
	s.input = planInput(s)
	out := plan.Compute(s.input)
	s.plan = &out
	return ctrl.Result{}, nil
}

// replan plans again once applying the plan found a problem that blocks the rollout: the new
// plan, Events included, replaces the first one, and the pipeline stops.
func (r *RolloutReconciler) replan(ctx context.Context, s *rolloutScope, p *plan.Problem) (ctrl.Result, error) {
	s.block(p)
	res, err := r.plan(ctx, s)
	if err != nil {
		return res, err
	}
	return res, errWaiting
}

// planInput turns the observation into the planner's input.
func planInput(s *rolloutScope) plan.Input {
	ro := s.rollout
	in := plan.Input{
		Now:     s.now,
		Spec:    ro.Spec,
		Status:  ro.Status,
		Desired: s.desired,
		Traffic: s.traffic,
		Blocked: s.blocked,
		// The gate measurements of this round (nil before measureGates ran).
		Measurements: s.measurements,
		// The active Service's selection, as observed.
		ActiveService: s.activeService,
		Actions: plan.Actions{
			Promote: ro.Annotations[cutoverv1alpha1.AnnotationPromote],
			Abort:   ro.Annotations[cutoverv1alpha1.AnnotationAbort],
			Retry:   ro.Annotations[cutoverv1alpha1.AnnotationRetry],
		},
	}
	for rev, rs := range s.replicaSets {
		in.ReplicaSets = append(in.ReplicaSets, replicaSetInfo(rev, rs))
	}
	return in
}

// replicaSetInfo is what the planner needs of a ReplicaSet. Availability counts only when the
// ReplicaSet's status describes its current spec.
func replicaSetInfo(rev string, rs *appsv1.ReplicaSet) plan.ReplicaSet {
	info := plan.ReplicaSet{
		Revision:  rev,
		Replicas:  ptrValue(rs.Spec.Replicas, 1),
		Current:   rs.Status.Replicas,
		Ready:     rs.Status.ReadyReplicas,
		Available: rs.Status.AvailableReplicas,
		Deleting:  !rs.DeletionTimestamp.IsZero(),
		CreatedAt: rs.CreationTimestamp.Time,
	}
	if rs.Status.ObservedGeneration < rs.Generation {
		info.Available = min(info.Available, info.Replicas)
		info.Stale = true
	}
	return info
}

func ptrValue[T any](p *T, def T) T {
	if p == nil {
		return def
	}
	return *p
}
