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

// Package metrics holds Cutover's own Prometheus metrics, all under the cutover_ prefix and in
// base units (seconds, ratios). The controller calls Recorder.Record once per reconcile, after
// the status write, with the status as read and as written: every value is derived from those
// two statuses (pure functions in derive.go), so the metrics say what the API says, and a
// restarted manager carries on from the stored status without counting anything twice.
// docs/metrics.md describes each metric.
package metrics

import (
	"maps"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
)

// Label names.
const (
	labelNamespace = "namespace"
	labelName      = "name"
	labelPhase     = "phase"
	labelStrategy  = "strategy"
	labelStable    = "stable_revision"
	labelCurrent   = "current_revision"
	labelReason    = "reason"
	labelResult    = "result"
)

// latencyBuckets spans a fast reconcile (tens of milliseconds) to a revision waiting minutes
// for a registry or for a ReplicaSet of the same name to go.
var latencyBuckets = []float64{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300}

// Recorder holds the collectors. Its methods are safe for concurrent use, and a nil *Recorder
// records nothing.
type Recorder struct {
	phase, step, weight, info             *prometheus.GaugeVec
	completions, aborts, measurements     *prometheus.CounterVec
	revisionToReplicaSet, promoteToWeight prometheus.Histogram

	mu sync.Mutex
	// infoLabels are the labels of each Rollout's info series, to delete the old series when
	// a revision changes.
	infoLabels map[key]prometheus.Labels
	// promotes are the promotes whose weight was not written yet in the round that took them,
	// by Rollout: the time each was taken (see Round.Reached).
	promotes map[key]pendingPromote
}

// pendingPromote is a promote waiting for its traffic: status.lastAction.at, and when the
// round that took it started.
type pendingPromote struct{ at, start time.Time }

type key struct{ namespace, name string }

// Default is the Recorder registered with controller-runtime's registry, which the manager
// serves on its metrics endpoint.
var Default = New()

func init() { ctrlmetrics.Registry.MustRegister(Default.Collectors()...) }

// New returns a Recorder with its collectors, not registered anywhere. The counters start at
// zero for every label value they can take, so a rate is defined from the first scrape.
func New() *Recorder {
	rollout := []string{labelNamespace, labelName}
	r := &Recorder{
		phase: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "cutover_rollout_phase",
			Help: "1 for the Rollout's current status.phase, 0 for the others."}, append(rollout, labelPhase)),
		step: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "cutover_rollout_step",
			Help: "status.currentStepIndex (0-based); -1 when no canary step is in progress."}, rollout),
		weight: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "cutover_rollout_canary_weight_ratio",
			Help: "status.canaryWeight as a ratio (0 to 1): the share of traffic planned for the current revision."}, rollout),
		info: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "cutover_rollout_info",
			Help: "Always 1; the labels name the Rollout's strategy, stable revision and current revision."},
			append(rollout, labelStrategy, labelStable, labelCurrent)),
		completions: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "cutover_rollout_completions_total",
			Help: "Rollouts that became Healthy (the Completed Event), by strategy."}, []string{labelStrategy}),
		aborts: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "cutover_rollout_aborts_total",
			Help: "Revisions aborted, by the reason of the abort."}, []string{labelReason}),
		measurements: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "cutover_gate_measurements_total",
			Help: "Gate measurements taken, by result: Passed, Failed (a value that missed the success condition) or Error (no value)."},
			[]string{labelResult}),
		revisionToReplicaSet: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "cutover_revision_to_replicaset_duration_seconds",
			Help:    "Seconds from the reconcile that first saw a new revision (status.progress.stepStartedAt) to its ReplicaSet created.",
			Buckets: latencyBuckets}),
		promoteToWeight: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "cutover_promote_to_weight_duration_seconds",
			Help:    "Seconds from the reconcile that took a promote (status.lastAction.at) to the end of the reconcile that wrote the traffic it asked for.",
			Buckets: latencyBuckets}),
		infoLabels: map[key]prometheus.Labels{},
		promotes:   map[key]pendingPromote{},
	}
	for _, s := range strategies {
		r.completions.WithLabelValues(s)
	}
	for _, reason := range abortReasons {
		r.aborts.WithLabelValues(reason)
	}
	r.aborts.WithLabelValues(otherReason)
	for _, res := range results {
		r.measurements.WithLabelValues(res)
	}
	return r
}

// Collectors returns every collector of the Recorder, to register.
func (r *Recorder) Collectors() []prometheus.Collector {
	return []prometheus.Collector{r.phase, r.step, r.weight, r.info, r.completions, r.aborts, r.measurements,
		r.revisionToReplicaSet, r.promoteToWeight}
}

// Record records one reconcile of a Rollout whose status write succeeded (or had nothing to
// write): the gauges from the status as written, the counters from what changed since the
// status as read, and the latencies of what the round did.
func (r *Recorder) Record(rd Round) {
	if r == nil || rd.After == nil {
		return
	}
	k := key{rd.Namespace, rd.Name}
	g := gaugesOf(rd.After)
	for _, p := range phases {
		v := 0.0
		if p == g.phase {
			v = 1
		}
		r.phase.WithLabelValues(k.namespace, k.name, p).Set(v)
	}
	r.step.WithLabelValues(k.namespace, k.name).Set(g.step)
	r.weight.WithLabelValues(k.namespace, k.name).Set(g.weight)
	r.setInfo(k, g)

	c := changesOf(rd.Before, rd.After)
	if c.completed {
		r.completions.WithLabelValues(g.strategy).Inc()
	}
	if c.abortReason != "" {
		r.aborts.WithLabelValues(c.abortReason).Inc()
	}
	for res, n := range c.measurements {
		r.measurements.WithLabelValues(res).Add(float64(n))
	}
	if d, ok := rd.revisionLatency(); ok {
		r.revisionToReplicaSet.Observe(d.Seconds())
	}
	r.recordPromote(k, rd)
}

// setInfo sets the info series, deleting the previous one when a label changed.
func (r *Recorder) setInfo(k key, g gauges) {
	l := prometheus.Labels{labelNamespace: k.namespace, labelName: k.name,
		labelStrategy: g.strategy, labelStable: g.stable, labelCurrent: g.current}
	r.mu.Lock()
	defer r.mu.Unlock()
	if old, ok := r.infoLabels[k]; ok && !maps.Equal(old, l) {
		r.info.Delete(old)
	}
	r.infoLabels[k] = l
	r.info.With(l).Set(1)
}

// recordPromote observes the promote latency once the traffic a promote asked for is written:
// in the round that took the promote, or in a later round of the same process. A promote still
// waiting for its traffic when the manager restarts is not observed: the new process cannot
// tell whether the old one wrote it.
func (r *Recorder) recordPromote(k key, rd Round) {
	r.mu.Lock()
	defer r.mu.Unlock()
	p := lastPromote(rd.After)
	var start time.Time
	switch pending, ok := r.promotes[k]; {
	case p == nil:
		delete(r.promotes, k)
		return
	case promoteTaken(rd.Before, rd.After):
		// This round's own clock: status.lastAction.at holds whole seconds.
		start = rd.Start
	case ok && p.At.Time.Equal(pending.at):
		start = pending.start
	default:
		delete(r.promotes, k)
		return
	}
	if !rd.Reached {
		r.promotes[k] = pendingPromote{at: p.At.Time, start: start}
		return
	}
	delete(r.promotes, k)
	r.promoteToWeight.Observe(rd.End.Sub(start).Seconds())
}

// Forget deletes every series of a Rollout that is gone.
func (r *Recorder) Forget(namespace, name string) {
	if r == nil {
		return
	}
	l := prometheus.Labels{labelNamespace: namespace, labelName: name}
	for _, v := range []*prometheus.GaugeVec{r.phase, r.step, r.weight, r.info} {
		v.DeletePartialMatch(l)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.infoLabels, key{namespace, name})
	delete(r.promotes, key{namespace, name})
}
