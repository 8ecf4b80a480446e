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

package integration

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	dto "github.com/prometheus/client_model/go"
	"go.uber.org/zap/zapcore"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	cutoverv1alpha1 "github.com/cutover-dev/cutover/api/v1alpha1"
)

// lockedBuffer is a log sink that several goroutines write.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// lines parses the JSON lines written so far.
func (b *lockedBuffer) lines(g Gomega) []map[string]any {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(b.buf.Bytes()))
	sc.Buffer(make([]byte, 0, 1<<20), 1<<20)
	for sc.Scan() {
		line := map[string]any{}
		g.Expect(json.Unmarshal(sc.Bytes(), &line)).To(Succeed(), "a log line that is not JSON: %s", sc.Text())
		out = append(out, line)
	}
	return out
}

// TestReconcileLogLinesCarryRolloutAndReconcileID runs a manager with the production (JSON)
// encoder at debug level through a rollout: every line a reconcile writes names the Rollout
// and the reconcile's ID, the controller's own lines among them.
func TestReconcileLogLinesCarryRolloutAndReconcileID(t *testing.T) {
	g := newTestGomega(t)
	ns := newNamespace(t)
	sink := &lockedBuffer{}
	startManagerLogging(t, []string{ns}, nil, nil, zap.New(zap.WriteTo(sink), zap.Level(zapcore.DebugLevel)))

	g.Expect(k8sClient.Create(context.Background(), canaryRollout(ns, "web", digestImage(1), time.Second))).To(Succeed())
	waitHealthy(g, ns, "web", onlyRevision(g, ns, "web"))
	// v2 scales ReplicaSets at each step: more of the controller's own lines.
	setImage(g, ns, "web", digestImage(2))
	g.Eventually(func(g Gomega) {
		markAvailable(g, ns, "web")
		g.Expect(getRollout(g, ns, "web").Status.Phase).To(Equal(cutoverv1alpha1.PhasePaused))
	}).Should(Succeed())

	own := map[string]int{}
	for _, l := range sink.lines(g) {
		msg, _ := l["msg"].(string)
		if msg == "Created ReplicaSet" || msg == "Scaled ReplicaSet" {
			own[msg]++
			g.Expect(l).To(HaveKey("reconcileID"), "%v", l)
		}
		if l["reconcileID"] == nil {
			continue
		}
		g.Expect(l["reconcileID"]).To(MatchRegexp(`^[0-9a-f-]{36}$`), "%v", l)
		g.Expect(l["Rollout"]).To(Equal(map[string]any{"name": "web", "namespace": ns}), "%v", l)
		g.Expect(l["controller"]).To(Equal("rollout"), "%v", l)
	}
	g.Expect(own).To(HaveKeyWithValue("Created ReplicaSet", 2))
	g.Expect(own).To(HaveKey("Scaled ReplicaSet"))
}

// onlyRevision waits for a Rollout's first ReplicaSet and returns its revision.
func onlyRevision(g *WithT, ns, name string) string {
	var rev string
	g.Eventually(func(g Gomega) {
		rss := replicaSets(g, ns, name)
		g.Expect(rss).To(HaveLen(1))
		for r := range rss {
			rev = r
		}
	}).Should(Succeed())
	return rev
}

// TestMetricsFollowRollouts: the cutover_ series on controller-runtime's registry follow a
// canary through a pause and a promote to completion, and a second one to an abort; the
// counters grow by what happened; a deleted Rollout's series go.
func TestMetricsFollowRollouts(t *testing.T) {
	g := newTestGomega(t)
	ns := newNamespace(t)
	startManager(t, ns, nil)
	ctx := context.Background()
	completions := counterValue(g, "cutover_rollout_completions_total", "strategy", "Canary")
	aborts := counterValue(g, "cutover_rollout_aborts_total", "reason", cutoverv1alpha1.ReasonAborted)
	promotes := histogramCount(g, "cutover_promote_to_weight_duration_seconds")
	creates := histogramCount(g, "cutover_revision_to_replicaset_duration_seconds")

	for _, name := range []string{"web", "api"} {
		g.Expect(k8sClient.Create(ctx, canaryRollout(ns, name, digestImage(1), time.Second))).To(Succeed())
		v1 := onlyRevision(g, ns, name)
		waitHealthy(g, ns, name, v1)
		g.Eventually(func(g Gomega) {
			expectRolloutSeries(g, ns, name, cutoverv1alpha1.PhaseHealthy, -1, 1)
			g.Expect(rolloutSeries(g, "cutover_rollout_info", ns, name)).To(HaveKeyWithValue(
				`current_revision="`+v1+`",stable_revision="`+v1+`",strategy="Canary"`, 1.0))
		}).Should(Succeed())

		// v2 waits at the last step, pause{}, at 50%.
		setImage(g, ns, name, digestImage(2))
		g.Eventually(func(g Gomega) {
			markAvailable(g, ns, name)
			r := getRollout(g, ns, name)
			g.Expect(r.Status.Phase).To(Equal(cutoverv1alpha1.PhasePaused))
			g.Expect(r.Status.CurrentStepIndex).To(HaveValue(BeEquivalentTo(3)))
			expectRolloutSeries(g, ns, name, cutoverv1alpha1.PhasePaused, 3, 0.5)
			g.Expect(rolloutSeries(g, "cutover_rollout_info", ns, name)).To(HaveKeyWithValue(
				`current_revision="`+r.Status.CurrentRevision+`",stable_revision="`+v1+`",strategy="Canary"`, 1.0))
		}).Should(Succeed())
	}

	annotate(g, ns, "web", cutoverv1alpha1.AnnotationPromote, cutoverv1alpha1.ValueTrue)
	annotate(g, ns, "api", cutoverv1alpha1.AnnotationAbort, cutoverv1alpha1.ValueTrue)
	g.Eventually(func(g Gomega) {
		markAvailable(g, ns, "web")
		expectRolloutSeries(g, ns, "web", cutoverv1alpha1.PhaseHealthy, -1, 1)
		expectRolloutSeries(g, ns, "api", cutoverv1alpha1.PhaseAborted, 3, 0)
	}).Should(Succeed())
	// Each Completed Event is one completion: the first revisions and web's v2.
	g.Expect(counterValue(g, "cutover_rollout_completions_total", "strategy", "Canary") - completions).
		To(BeEquivalentTo(countOf(eventReasons(g, ns, "web"), "Completed") + countOf(eventReasons(g, ns, "api"), "Completed")))
	g.Expect(countOf(eventReasons(g, ns, "web"), "Completed")).To(Equal(2))
	g.Expect(counterValue(g, "cutover_rollout_aborts_total", "reason", cutoverv1alpha1.ReasonAborted) - aborts).To(BeEquivalentTo(1))
	g.Expect(histogramCount(g, "cutover_promote_to_weight_duration_seconds") - promotes).To(BeEquivalentTo(1))
	g.Expect(histogramCount(g, "cutover_revision_to_replicaset_duration_seconds") - creates).To(BeEquivalentTo(4))

	g.Expect(k8sClient.Delete(ctx, getRollout(g, ns, "web"))).To(Succeed())
	g.Eventually(func(g Gomega) {
		for _, m := range []string{"cutover_rollout_phase", "cutover_rollout_step", "cutover_rollout_canary_weight_ratio", "cutover_rollout_info"} {
			g.Expect(rolloutSeries(g, m, ns, "web")).To(BeEmpty(), m)
			g.Expect(rolloutSeries(g, m, ns, "api")).NotTo(BeEmpty(), m)
		}
	}).Should(Succeed())
}

// expectRolloutSeries checks a Rollout's phase, step and weight series.
func expectRolloutSeries(g Gomega, ns, name string, phase cutoverv1alpha1.RolloutPhase, step, weight float64) {
	phases := rolloutSeries(g, "cutover_rollout_phase", ns, name)
	g.Expect(phases).To(HaveLen(5))
	for labels, v := range phases {
		want := 0.0
		if labels == `phase="`+string(phase)+`"` {
			want = 1
		}
		g.Expect(v).To(Equal(want), labels)
	}
	g.Expect(rolloutSeries(g, "cutover_rollout_step", ns, name)).To(Equal(map[string]float64{"": step}))
	g.Expect(rolloutSeries(g, "cutover_rollout_canary_weight_ratio", ns, name)).To(Equal(map[string]float64{"": weight}))
}

// rolloutSeries returns the gauge series of one Rollout in the registry, by their other labels
// (name="value" pairs in label order, joined by commas).
func rolloutSeries(g Gomega, metric, ns, name string) map[string]float64 {
	out := map[string]float64{}
	for _, m := range family(g, metric) {
		labels := map[string]string{}
		var rest []byte
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
			if l.GetName() != "namespace" && l.GetName() != "name" {
				if len(rest) > 0 {
					rest = append(rest, ',')
				}
				rest = append(rest, l.GetName()+`="`+l.GetValue()+`"`...)
			}
		}
		if labels["namespace"] == ns && labels["name"] == name {
			out[string(rest)] = m.GetGauge().GetValue()
		}
	}
	return out
}

// counterValue returns the value of a counter series with one label.
func counterValue(g Gomega, metric, label, value string) float64 {
	for _, m := range family(g, metric) {
		for _, l := range m.GetLabel() {
			if l.GetName() == label && l.GetValue() == value {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

func histogramCount(g Gomega, metric string) uint64 {
	ms := family(g, metric)
	g.Expect(ms).To(HaveLen(1))
	return ms[0].GetHistogram().GetSampleCount()
}

// family gathers one metric family from controller-runtime's registry.
func family(g Gomega, name string) []*dto.Metric {
	mfs, err := ctrlmetrics.Registry.Gather()
	g.Expect(err).NotTo(HaveOccurred())
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf.GetMetric()
		}
	}
	return nil
}

func countOf(list []string, s string) int {
	n := 0
	for _, x := range list {
		if x == s {
			n++
		}
	}
	return n
}
