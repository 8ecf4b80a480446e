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

package metrics

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	cutoverv1alpha1 "github.com/cutover-dev/cutover/api/v1alpha1"
	"github.com/cutover-dev/cutover/internal/plan"
)

// Round is what one reconcile of a Rollout did, as the metrics need it.
type Round struct {
	// Namespace and Name are the Rollout's.
	Namespace, Name string
	// Before is the status as read; After the status as written (the same when nothing
	// changed).
	Before, After *cutoverv1alpha1.RolloutStatus
	// Start is the round's clock when it began; End is the clock after its writes.
	Start, End time.Time
	// CreatedRevision is the revision whose ReplicaSet this round created, "" when none;
	// CreatedAt is when the create returned.
	CreatedRevision string
	CreatedAt       time.Time
	// Reached is true when this round wrote, or found already in place, the traffic After asks
	// for: the canary weight on the routing objects (without a router, the ReplicaSets scaled
	// to it), or the blue-green switch.
	Reached bool
}

// The bounded label values.
var (
	phases = []string{string(cutoverv1alpha1.PhaseProgressing), string(cutoverv1alpha1.PhasePaused),
		string(cutoverv1alpha1.PhaseHealthy), string(cutoverv1alpha1.PhaseDegraded), string(cutoverv1alpha1.PhaseAborted)}
	strategies = []string{"Canary", "BlueGreen"}
	// abortReasons are the contract's reasons of an abort; any other is counted as Other.
	abortReasons = []string{cutoverv1alpha1.ReasonAborted, cutoverv1alpha1.ReasonGateFailed,
		cutoverv1alpha1.ReasonProgressDeadlineExceeded}
	results = []string{plan.VerdictPassed, plan.VerdictFailed, plan.VerdictError}
)

const otherReason = "Other"

// gauges are the per-Rollout gauge values of one status.
type gauges struct {
	phase                     string
	step, weight              float64
	strategy, stable, current string
}

// gaugesOf derives the gauges from a status.
func gaugesOf(st *cutoverv1alpha1.RolloutStatus) gauges {
	g := gauges{phase: string(st.Phase), step: -1, weight: float64(st.CanaryWeight) / 100,
		strategy: st.Strategy, stable: st.StableRevision, current: st.CurrentRevision}
	if st.CurrentStepIndex != nil {
		g.step = float64(*st.CurrentStepIndex)
	}
	if g.strategy == "" {
		g.strategy = strategies[0]
	}
	return g
}

// changes are what the counters count between two statuses.
type changes struct {
	// completed: the phase became Healthy from another phase (what the Completed Event says).
	completed bool
	// abortReason is the reason of an abort this change records, "" when none.
	abortReason string
	// measurements are the gate measurements taken, by result.
	measurements map[string]int32
}

// changesOf derives what happened between the status as read and as written. Equal statuses
// give no change, so a round that writes nothing counts nothing, and a round whose status write
// failed is counted by the round that writes it.
func changesOf(before, after *cutoverv1alpha1.RolloutStatus) changes {
	var c changes
	if before == nil {
		before = &cutoverv1alpha1.RolloutStatus{}
	}
	c.completed = after.Phase == cutoverv1alpha1.PhaseHealthy &&
		before.Phase != cutoverv1alpha1.PhaseHealthy && before.Phase != ""
	if ap := after.Progress; ap != nil && ap.Aborted {
		bp := before.Progress
		if bp == nil || !bp.Aborted || bp.Revision != ap.Revision {
			c.abortReason = boundedReason(ap.AbortReason)
		}
	}
	c.measurements = measurementsBetween(before.Gates, after.Gates)
	return c
}

// boundedReason maps an abort reason onto the bounded set of label values.
func boundedReason(reason string) string {
	if reason == "" {
		return cutoverv1alpha1.ReasonAborted
	}
	for _, r := range abortReasons {
		if r == reason {
			return reason
		}
	}
	return otherReason
}

// measurementsBetween counts the gate measurements recorded in after and not in before. A gate
// run is the same when its name and start time are; a new run counts from zero.
func measurementsBetween(before, after []cutoverv1alpha1.GateStatus) map[string]int32 {
	out := map[string]int32{}
	for _, a := range after {
		var b cutoverv1alpha1.GateStatus
		for _, x := range before {
			if x.Name == a.Name && sameTime(x.StartedAt, a.StartedAt) {
				b = x
			}
		}
		values := a.Measurements - b.Measurements
		failed := a.Failures - b.Failures
		errs := a.Errors - b.Errors
		if values < 0 || failed < 0 || errs < 0 {
			continue // not the same run after all
		}
		add(out, plan.VerdictPassed, values-failed)
		add(out, plan.VerdictFailed, failed)
		add(out, plan.VerdictError, errs)
	}
	return out
}

func sameTime(a, b *metav1.Time) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Equal(b)
}

func add(m map[string]int32, k string, n int32) {
	if n > 0 {
		m[k] += n
	}
}

// revisionLatency is the time from the round that first saw the created revision to its
// ReplicaSet's creation. That round recorded the revision's start in status.progress; when it
// is this round, the round's own clock is more precise than the status's whole seconds.
func (rd Round) revisionLatency() (time.Duration, bool) {
	if rd.CreatedRevision == "" {
		return 0, false
	}
	start := rd.Start
	if rd.Before != nil {
		if p := rd.Before.Progress; p != nil && p.Revision == rd.CreatedRevision && p.StepStartedAt != nil && p.StepStartedAt.Time.Before(start) {
			start = p.StepStartedAt.Time
		}
	}
	return max(rd.CreatedAt.Sub(start), 0), true
}

// lastPromote returns the status's last action when it is a promote of its current revision.
func lastPromote(st *cutoverv1alpha1.RolloutStatus) *cutoverv1alpha1.RolloutAction {
	a := st.LastAction
	if a == nil || a.Type != plan.ActionPromote && a.Type != plan.ActionPromoteFull || a.Revision != st.CurrentRevision {
		return nil
	}
	return a
}

// promoteTaken reports whether after records a promote that before did not.
func promoteTaken(before, after *cutoverv1alpha1.RolloutStatus) bool {
	a := lastPromote(after)
	if a == nil {
		return false
	}
	b := before.LastAction
	return b == nil || b.Type != a.Type || b.Revision != a.Revision || !b.At.Equal(&a.At)
}
