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

	ctrl "sigs.k8s.io/controller-runtime"

	cutoverv1alpha1 "github.com/cutover-dev/cutover/api/v1alpha1"
	"github.com/cutover-dev/cutover/internal/gates"
	"github.com/cutover-dev/cutover/internal/plan"
)

// checkGates compiles every success condition (each expression once per process: the programs
// are cached by text). A bad expression blocks the rollout with InvalidSpec naming the field.
func (r *RolloutReconciler) checkGates(s *rolloutScope) {
	if s.blocked != nil || r.Gates == nil || r.Gates.Conditions == nil || len(s.rollout.Spec.Gates) == 0 {
		return
	}
	if err := r.Gates.Conditions.Check(s.rollout.Spec.Gates); err != nil {
		s.blocked = &plan.Problem{Reason: cutoverv1alpha1.ReasonInvalidSpec, Message: err.Error()}
	}
}

// measureGates takes the measurements the planner's status says are due. The gates are
// measured concurrently, each bounded by its timeout, so a slow target holds the worker no
// longer than the longest timeout. The results are judged here and decided on by the planner.
func (r *RolloutReconciler) measureGates(ctx context.Context, s *rolloutScope) (ctrl.Result, error) {
	ro := s.rollout
	if r.Gates == nil || len(ro.Status.Gates) == 0 {
		return ctrl.Result{}, nil // nothing can be due: the common case costs no plan input
	}
	due := plan.DueGates(planInput(s))
	if len(due) == 0 {
		return ctrl.Result{}, nil
	}
	list := make([]cutoverv1alpha1.Gate, 0, len(due))
	for _, name := range due {
		if g, _ := ro.Spec.GateNamed(name); g != nil {
			list = append(list, *g)
		}
	}
	vars := gates.Vars{
		Revision:       s.desired.Hash,
		StableRevision: ro.Status.StableRevision,
		Rollout:        ro.Name,
		Namespace:      ro.Namespace,
	}
	s.measurements = map[string]plan.GateResult{}
	for name, res := range r.Gates.MeasureAll(ctx, list, vars) {
		ctrl.LoggerFrom(ctx).V(1).Info("Measured gate", "gate", name, "verdict", res.Verdict, "value", res.Value, "message", res.Message)
		// The reconcile's own clock: the planner schedules the next measurement from it.
		s.measurements[name] = plan.GateResult{Verdict: string(res.Verdict), Value: res.Value, Message: res.Message, At: s.now}
	}
	return ctrl.Result{}, nil
}
