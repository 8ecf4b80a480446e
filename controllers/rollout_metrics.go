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
	"github.com/cutover-dev/cutover/internal/metrics"
	"github.com/cutover-dev/cutover/internal/plan"
)

// recordMetrics hands the round to the metrics once its status is written: the status as read
// and as written, and what the round did. routed is true when every phase that writes the
// routing ran.
func (r *RolloutReconciler) recordMetrics(s *rolloutScope, routed bool) {
	if r.Metrics == nil {
		return
	}
	ro := s.rollout
	r.Metrics.Record(metrics.Round{
		Namespace: ro.Namespace, Name: ro.Name,
		Before: &s.base.Status, After: &ro.Status,
		Start: s.now, End: r.Clock.Now(),
		CreatedRevision: s.created, CreatedAt: s.createdAt,
		Reached: routed && trafficReached(s.plan),
	})
}

// trafficReached reports whether the plan's routing carries the traffic its status asks for:
// the planned weight, not one held lower until the canary's pods are available, or the
// blue-green active Service on the current revision. Without a router or Services the
// ReplicaSets' sizes are the weight, and they were written.
func trafficReached(out *plan.Output) bool {
	if out == nil {
		return false
	}
	st := out.Status
	switch {
	case out.Traffic != nil:
		t := out.Traffic
		return t.CanaryWeight == st.CanaryWeight || t.StableRevision == st.CurrentRevision
	case out.Services != nil:
		return out.Services.Active == st.CurrentRevision
	default:
		return true
	}
}
