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
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	cutoverv1alpha1 "github.com/cutover-dev/cutover/api/v1alpha1"
	"github.com/cutover-dev/cutover/internal/plan"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func at(d time.Duration) *metav1.Time { return &metav1.Time{Time: t0.Add(d)} }

// newTestRecorder returns a Recorder registered on a registry of its own.
func newTestRecorder(t *testing.T) (*Recorder, *prometheus.Registry) {
	t.Helper()
	r := New()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(r.Collectors()...)
	return r, reg
}

func paused(step, weight int32) *cutoverv1alpha1.RolloutStatus {
	return &cutoverv1alpha1.RolloutStatus{Phase: cutoverv1alpha1.PhasePaused, Strategy: "Canary",
		StableRevision: "aaa", CurrentRevision: "bbb", CurrentStepIndex: ptr.To(step), CanaryWeight: weight,
		Progress: &cutoverv1alpha1.RolloutProgress{Revision: "bbb", StepStartedAt: at(0)}}
}

func TestGaugesFollowTheStatus(t *testing.T) {
	r, reg := newTestRecorder(t)
	st := paused(1, 25)
	r.Record(Round{Namespace: "shop", Name: "checkout", Before: st, After: st, Start: t0, End: t0})
	want := `
# HELP cutover_rollout_canary_weight_ratio status.canaryWeight as a ratio (0 to 1): the share of traffic planned for the current revision.
# TYPE cutover_rollout_canary_weight_ratio gauge
cutover_rollout_canary_weight_ratio{name="checkout",namespace="shop"} 0.25
# HELP cutover_rollout_info Always 1; the labels name the Rollout's strategy, stable revision and current revision.
# TYPE cutover_rollout_info gauge
cutover_rollout_info{current_revision="bbb",name="checkout",namespace="shop",stable_revision="aaa",strategy="Canary"} 1
# HELP cutover_rollout_phase 1 for the Rollout's current status.phase, 0 for the others.
# TYPE cutover_rollout_phase gauge
cutover_rollout_phase{name="checkout",namespace="shop",phase="Aborted"} 0
cutover_rollout_phase{name="checkout",namespace="shop",phase="Degraded"} 0
cutover_rollout_phase{name="checkout",namespace="shop",phase="Healthy"} 0
cutover_rollout_phase{name="checkout",namespace="shop",phase="Paused"} 1
cutover_rollout_phase{name="checkout",namespace="shop",phase="Progressing"} 0
# HELP cutover_rollout_step status.currentStepIndex (0-based); -1 when no canary step is in progress.
# TYPE cutover_rollout_step gauge
cutover_rollout_step{name="checkout",namespace="shop"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "cutover_rollout_phase", "cutover_rollout_step",
		"cutover_rollout_canary_weight_ratio", "cutover_rollout_info"); err != nil {
		t.Fatal(err)
	}

	// Completed: the info series moves to the new revisions, the old one goes.
	healthy := &cutoverv1alpha1.RolloutStatus{Phase: cutoverv1alpha1.PhaseHealthy, Strategy: "Canary",
		StableRevision: "bbb", CurrentRevision: "bbb", CanaryWeight: 100}
	r.Record(Round{Namespace: "shop", Name: "checkout", Before: st, After: healthy, Start: t0, End: t0})
	if got := testutil.ToFloat64(r.weight.WithLabelValues("shop", "checkout")); got != 1 {
		t.Errorf("weight %v, want 1", got)
	}
	if got := testutil.ToFloat64(r.step.WithLabelValues("shop", "checkout")); got != -1 {
		t.Errorf("step %v, want -1", got)
	}
	if n := testutil.CollectAndCount(r.info); n != 1 {
		t.Errorf("%d info series, want 1", n)
	}
	if got := testutil.ToFloat64(r.info.WithLabelValues("shop", "checkout", "Canary", "bbb", "bbb")); got != 1 {
		t.Errorf("info %v, want 1", got)
	}
	if got := testutil.ToFloat64(r.completions.WithLabelValues("Canary")); got != 1 {
		t.Errorf("completions %v, want 1", got)
	}
}

func TestForgetRemovesTheRolloutsSeries(t *testing.T) {
	r, _ := newTestRecorder(t)
	st := paused(0, 10)
	r.Record(Round{Namespace: "shop", Name: "checkout", Before: st, After: st})
	r.Record(Round{Namespace: "shop", Name: "cart", Before: st, After: st})
	r.Forget("shop", "checkout")
	for name, c := range map[string]prometheus.Collector{"phase": r.phase, "step": r.step, "weight": r.weight, "info": r.info} {
		want := 1
		if name == "phase" {
			want = len(phases)
		}
		if n := testutil.CollectAndCount(c); n != want {
			t.Errorf("%s: %d series after Forget, want %d (those of shop/cart)", name, n, want)
		}
	}
	// Counters have no Rollout labels and are kept.
	if n := testutil.CollectAndCount(r.aborts); n != len(abortReasons)+1 {
		t.Errorf("%d abort series, want %d", n, len(abortReasons)+1)
	}
	var nilRecorder *Recorder
	nilRecorder.Forget("shop", "cart")
	nilRecorder.Record(Round{After: st})
}

func TestChangesOf(t *testing.T) {
	aborted := func(rev, reason string) *cutoverv1alpha1.RolloutStatus {
		st := paused(2, 0)
		st.Phase = cutoverv1alpha1.PhaseAborted
		st.Progress = &cutoverv1alpha1.RolloutProgress{Revision: rev, Aborted: true, AbortReason: reason}
		return st
	}
	gate := func(started time.Duration, values, failures, errs int32) cutoverv1alpha1.GateStatus {
		return cutoverv1alpha1.GateStatus{Name: "success-rate", StartedAt: at(started), Measurements: values, Failures: failures, Errors: errs}
	}
	withGates := func(g ...cutoverv1alpha1.GateStatus) *cutoverv1alpha1.RolloutStatus {
		st := paused(2, 50)
		st.Gates = g
		return st
	}
	healthy := &cutoverv1alpha1.RolloutStatus{Phase: cutoverv1alpha1.PhaseHealthy}
	tests := []struct {
		name          string
		before, after *cutoverv1alpha1.RolloutStatus
		want          changes
	}{
		{"nothing changed", paused(1, 25), paused(1, 25), changes{}},
		{"completed", paused(3, 50), healthy, changes{completed: true}},
		{"a first status is not a completion", &cutoverv1alpha1.RolloutStatus{}, healthy, changes{}},
		{"still healthy", healthy, healthy, changes{}},
		{"aborted by a gate", paused(2, 50), aborted("bbb", cutoverv1alpha1.ReasonGateFailed),
			changes{abortReason: cutoverv1alpha1.ReasonGateFailed}},
		{"aborted by the deadline", paused(2, 50), aborted("bbb", cutoverv1alpha1.ReasonProgressDeadlineExceeded),
			changes{abortReason: cutoverv1alpha1.ReasonProgressDeadlineExceeded}},
		{"an abort stays counted once", aborted("bbb", "Aborted"), aborted("bbb", "Aborted"), changes{}},
		{"another revision aborted", aborted("bbb", "Aborted"), aborted("ccc", "Aborted"), changes{abortReason: "Aborted"}},
		{"an unknown reason is bounded", paused(2, 50), aborted("bbb", "SomethingNew"), changes{abortReason: otherReason}},
		{"measurements of the same run", withGates(gate(0, 1, 0, 0)), withGates(gate(0, 3, 1, 2)),
			changes{measurements: map[string]int32{plan.VerdictPassed: 1, plan.VerdictFailed: 1, plan.VerdictError: 2}}},
		{"a new run counts from zero", withGates(gate(0, 4, 0, 0)), withGates(gate(time.Minute, 1, 0, 0)),
			changes{measurements: map[string]int32{plan.VerdictPassed: 1}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := changesOf(tc.before, tc.after)
			if len(got.measurements) == 0 {
				got.measurements = nil
			}
			if got.completed != tc.want.completed || got.abortReason != tc.want.abortReason || !equalCounts(got.measurements, tc.want.measurements) {
				t.Errorf("changesOf = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func equalCounts(a, b map[string]int32) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestRevisionLatency(t *testing.T) {
	seen := paused(0, 0)
	tests := []struct {
		name string
		rd   Round
		want time.Duration
		ok   bool
	}{
		{"nothing created", Round{Before: seen, After: seen, Start: t0}, 0, false},
		{"created in the round that saw it", Round{Before: &cutoverv1alpha1.RolloutStatus{}, Start: t0.Add(time.Minute),
			CreatedRevision: "bbb", CreatedAt: t0.Add(time.Minute + 300*time.Millisecond)}, 300 * time.Millisecond, true},
		{"seen by an earlier round (or process)", Round{Before: seen, Start: t0.Add(time.Minute),
			CreatedRevision: "bbb", CreatedAt: t0.Add(90 * time.Second)}, 90 * time.Second, true},
		{"an earlier round saw another revision", Round{Before: seen, Start: t0.Add(time.Minute),
			CreatedRevision: "ccc", CreatedAt: t0.Add(61 * time.Second)}, time.Second, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := tc.rd.revisionLatency()
			if got != tc.want || ok != tc.ok {
				t.Errorf("revisionLatency = %v, %v; want %v, %v", got, ok, tc.want, tc.ok)
			}
		})
	}
}

// TestPromoteLatency: observed once, when the traffic the promote asked for is written, in the
// round that took it or a later one; not for the next weight change.
func TestPromoteLatency(t *testing.T) {
	r, _ := newTestRecorder(t)
	before := paused(1, 25)
	promoted := paused(2, 50)
	promoted.LastAction = &cutoverv1alpha1.RolloutAction{Type: plan.ActionPromote, Revision: "bbb", At: *at(time.Minute)}
	k := func(rd Round) Round { rd.Namespace, rd.Name = "shop", "checkout"; return rd }

	// Taken, but the canary's pods are not there yet for 50%.
	r.Record(k(Round{Before: before, After: promoted, Start: t0.Add(time.Minute), End: t0.Add(time.Minute + 100*time.Millisecond)}))
	if n := testutil.CollectAndCount(r.promoteToWeight); n != 1 || histogramCount(t, r) != 0 {
		t.Fatalf("observed before the weight was written")
	}
	// Two seconds later the weight is written.
	r.Record(k(Round{Before: promoted, After: promoted, Start: t0.Add(62 * time.Second), End: t0.Add(62*time.Second + 500*time.Millisecond), Reached: true}))
	if got := histogramCount(t, r); got != 1 {
		t.Fatalf("%d observations, want 1", got)
	}
	if got := histogramSum(t, r); got != 2.5 {
		t.Errorf("observed %vs, want 2.5s", got)
	}
	// Later rounds at the same status observe nothing more.
	r.Record(k(Round{Before: promoted, After: promoted, Start: t0.Add(2 * time.Minute), End: t0.Add(2 * time.Minute), Reached: true}))
	if got := histogramCount(t, r); got != 1 {
		t.Errorf("%d observations after a later round, want 1", got)
	}
	// A promote taken and written in one round.
	again := paused(3, 50)
	again.LastAction = &cutoverv1alpha1.RolloutAction{Type: plan.ActionPromoteFull, Revision: "bbb", At: *at(3 * time.Minute)}
	r.Record(k(Round{Before: promoted, After: again, Start: t0.Add(3 * time.Minute), End: t0.Add(3*time.Minute + 200*time.Millisecond), Reached: true}))
	if got := histogramCount(t, r); got != 2 {
		t.Errorf("%d observations, want 2", got)
	}
}

func histogramCount(t *testing.T, r *Recorder) uint64 {
	t.Helper()
	return histogram(t, r).GetSampleCount()
}

func histogramSum(t *testing.T, r *Recorder) float64 {
	t.Helper()
	return histogram(t, r).GetSampleSum()
}

func histogram(t *testing.T, r *Recorder) interface {
	GetSampleCount() uint64
	GetSampleSum() float64
} {
	t.Helper()
	reg := prometheus.NewRegistry()
	reg.MustRegister(r.promoteToWeight)
	mfs, err := reg.Gather()
	if err != nil || len(mfs) != 1 {
		t.Fatalf("gathering: %v (%d families)", err, len(mfs))
	}
	return mfs[0].GetMetric()[0].GetHistogram()
}
