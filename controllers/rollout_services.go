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

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	cutoverv1alpha1 "github.com/cutover-dev/cutover/api/v1alpha1"
	"github.com/cutover-dev/cutover/internal/plan"
	"github.com/cutover-dev/cutover/internal/traffic"
)

// serviceRef is one blue-green Service and its role.
type serviceRef struct{ role, name string }

// blueGreenServices lists the Services a blue-green Rollout points.
func blueGreenServices(ro *cutoverv1alpha1.Rollout) []serviceRef {
	bg := ro.Spec.Strategy.BlueGreen
	if bg == nil {
		return nil
	}
	var out []serviceRef
	if bg.ActiveService != "" {
		out = append(out, serviceRef{"activeService", bg.ActiveService})
	}
	if bg.PreviewService != "" {
		out = append(out, serviceRef{"previewService", bg.PreviewService})
	}
	return out
}

// observeServices checks that the blue-green Services exist; a missing one blocks the rollout.
// They are read even when the rollout is blocked for another reason (see observeTraffic).
func (r *RolloutReconciler) observeServices(ctx context.Context, s *rolloutScope) error {
	if r.Services == nil {
		return nil
	}
	for _, ref := range blueGreenServices(s.rollout) {
		rev, version, err := r.Services.Observe(ctx, s.rollout.Namespace, ref.name)
		if err == nil {
			s.routingVersions = append(s.routingVersions, version)
			if ref.role == "activeService" {
				s.activeService = rev
			}
		}
		switch {
		case errors.Is(err, traffic.ErrReferenceNotFound):
			s.block(&plan.Problem{Reason: cutoverv1alpha1.ReasonReferenceNotFound, Transient: true,
				Message: fmt.Sprintf("spec.trafficRouting: spec.strategy.blueGreen.%s: %v", ref.role, err)})
			return nil
		case err != nil:
			return fmt.Errorf("reading Service %s: %w", ref.name, err)
		}
	}
	return nil
}

// reconcileServices points the active and preview Services at the planned revisions, by their
// cutover.dev/revision selector key only.
func (r *RolloutReconciler) reconcileServices(ctx context.Context, s *rolloutScope) (ctrl.Result, error) {
	targets := s.plan.Services
	if targets == nil || r.Services == nil {
		return ctrl.Result{}, nil
	}
	var changed []string
	for _, ref := range blueGreenServices(s.rollout) {
		rev := targets.Active
		if ref.role == "previewService" {
			rev = targets.Preview
		}
		if rev == "" {
			continue
		}
		replaced, err := r.Services.Point(ctx, s.rollout.Namespace, ref.name, rev)
		if err != nil {
			return ctrl.Result{}, fmt.Errorf("pointing Service %s at revision %s: %w", ref.name, rev, err)
		}
		if replaced != "" {
			r.ownRouting.replaced(client.ObjectKeyFromObject(s.rollout), replaced)
			changed = append(changed, fmt.Sprintf("Service %s/%s selector", s.rollout.Namespace, ref.name))
		}
	}
	return routingWritten(s, changed), nil
}
