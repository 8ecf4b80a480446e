//go:build e2e

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

package e2e

import (
	"context"
	"crypto/tls"
	"net/http"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega" //nolint:revive // Gomega's DSL reads best unqualified.
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	cutoverv1alpha1 "github.com/cutover-dev/cutover/api/v1alpha1"
	"github.com/cutover-dev/cutover/test/utils"
)

// scrape reads the manager's /metrics with a bearer token and parses it.
type scrape struct {
	url, token string
	c          *http.Client
}

// families returns the metric families of one read, which must be allowed.
func (s scrape) families(g Gomega) map[string]*dto.MetricFamily {
	r := getMetrics(g, s.c, s.url, s.token)
	g.Expect(r.code).To(Equal(http.StatusOK), r.body)
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(strings.NewReader(r.body))
	g.Expect(err).NotTo(HaveOccurred())
	return mfs
}

// value returns the value of the first series of metric whose labels include want (a
// histogram's sample count), 0 when there is none.
func value(mfs map[string]*dto.MetricFamily, metric string, want map[string]string) float64 {
	v, _ := lookup(mfs, metric, want)
	return v
}

// lookup returns the value of the first series of metric whose labels include want, and whether
// there is one.
func lookup(mfs map[string]*dto.MetricFamily, metric string, want map[string]string) (float64, bool) {
	mf, ok := mfs[metric]
	if !ok {
		return 0, false
	}
	for _, m := range mf.GetMetric() {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		match := true
		for k, v := range want {
			match = match && labels[k] == v
		}
		if !match {
			continue
		}
		switch {
		case m.GetCounter() != nil:
			return m.GetCounter().GetValue(), true
		case m.GetHistogram() != nil:
			return float64(m.GetHistogram().GetSampleCount()), true
		default:
			return m.GetGauge().GetValue(), true
		}
	}
	return 0, false
}

// expectRollout checks the phase (one series per phase, 0 or 1), step and weight series of a
// Rollout.
func expectRollout(g Gomega, mfs map[string]*dto.MetricFamily, ns, name string, phase cutoverv1alpha1.RolloutPhase, step, weight float64) {
	ro := map[string]string{"namespace": ns, "name": name}
	for _, p := range []cutoverv1alpha1.RolloutPhase{cutoverv1alpha1.PhaseProgressing, cutoverv1alpha1.PhasePaused,
		cutoverv1alpha1.PhaseHealthy, cutoverv1alpha1.PhaseDegraded, cutoverv1alpha1.PhaseAborted} {
		want := 0.0
		if p == phase {
			want = 1
		}
		v, ok := lookup(mfs, "cutover_rollout_phase", map[string]string{"namespace": ns, "name": name, "phase": string(p)})
		g.Expect(ok).To(BeTrue(), "phase %s of %s", p, name)
		g.Expect(v).To(Equal(want), "phase %s of %s", p, name)
	}
	g.Expect(value(mfs, "cutover_rollout_step", ro)).To(Equal(step), "step of %s", name)
	g.Expect(value(mfs, "cutover_rollout_canary_weight_ratio", ro)).To(Equal(weight), "weight of %s", name)
}

// startSecuredMetrics starts a manager on namespace ns whose metrics are served over HTTPS with
// authentication and authorization (controller-runtime's self-signed certificate). It returns
// the metrics URL, the token of a ServiceAccount bound to the shipped metrics-reader
// ClusterRole, the token of one that is not, and a client that accepts the certificate.
func startSecuredMetrics(t *testing.T, g Gomega, ns string) (url, reader, other string, c *http.Client) {
	t.Helper()
	reader = serviceAccountToken(t, g, ns, "metrics-reader")
	other = serviceAccountToken(t, g, ns, "nobody")
	bindMetricsReader(t, g, ns, "metrics-reader")
	addr := utils.FreeAddress(t)
	startManager(t, ns, "--metrics-bind-address="+addr, "--metrics-secure=true")
	c = &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // the default certificate is self-signed
	}}
	return "https://" + addr + "/metrics", reader, other, c
}

// TestMetricsCutoverEndToEnd reads the cutover_ metrics from the manager's authenticated
// endpoint while one canary completes and another is aborted: a token bound to the shipped
// metrics-reader ClusterRole reads them (200), another is refused (403). The per-Rollout series
// say the phase, step, weight and revisions; the counters count the completion and the abort;
// a deleted Rollout's series are gone.
func TestMetricsCutoverEndToEnd(t *testing.T) {
	g := NewWithT(t)
	g.SetDefaultEventuallyTimeout(e2eTimeout)
	g.SetDefaultEventuallyPollingInterval(300 * time.Millisecond)
	ns := newNamespace(t)
	url, reader, other, insecure := startSecuredMetrics(t, g, ns)
	s := scrape{url: url, token: reader, c: insecure}
	w := world{g, ns}

	// The authorizer may take a moment to see the new binding.
	var start map[string]*dto.MetricFamily
	g.Eventually(func(g Gomega) { start = s.families(g) }).Should(Succeed())
	r := getMetrics(g, insecure, url, other)
	g.Expect(r.code).To(Equal(http.StatusForbidden), r.body)
	g.Expect(r.body).NotTo(ContainSubstring("cutover_"))
	// One manager per test, its own process: the counters start at zero.
	for _, c := range []struct{ metric, label, value string }{
		{"cutover_rollout_completions_total", "strategy", "Canary"},
		{"cutover_rollout_aborts_total", "reason", cutoverv1alpha1.ReasonAborted},
		{"cutover_rollout_aborts_total", "reason", cutoverv1alpha1.ReasonGateFailed},
		{"cutover_gate_measurements_total", "result", "Passed"},
	} {
		g.Expect(value(start, c.metric, map[string]string{c.label: c.value})).To(BeZero(), c.metric)
	}

	stable := map[string]string{}
	for _, name := range []string{"shop", "cart"} {
		stable[name] = givenHealthy(t, w, e2eRollout(ns, name, image("a"), standardSteps()...))
		w.setImage(name, image("b"))
	}
	// Both wait at pause{} with 50% on v2.
	canary := map[string]string{}
	g.Eventually(func(g Gomega) {
		mfs := s.families(g)
		for _, name := range []string{"shop", "cart"} {
			ro := world{g, ns}.rollout(name)
			g.Expect(ro.Status.Phase).To(Equal(cutoverv1alpha1.PhasePaused), ro.Status.Message)
			canary[name] = ro.Status.CurrentRevision
			expectRollout(g, mfs, ns, name, cutoverv1alpha1.PhasePaused, 3, 0.5)
			g.Expect(value(mfs, "cutover_rollout_info", map[string]string{"namespace": ns, "name": name, "strategy": "Canary",
				"stable_revision": stable[name], "current_revision": canary[name]})).To(Equal(1.0))
		}
	}).Should(Succeed())

	w.annotate("shop", cutoverv1alpha1.AnnotationPromote, cutoverv1alpha1.ValueTrue)
	w.annotate("cart", cutoverv1alpha1.AnnotationAbort, cutoverv1alpha1.ValueTrue)
	var mfs map[string]*dto.MetricFamily
	g.Eventually(func(g Gomega) {
		mfs = s.families(g)
		expectRollout(g, mfs, ns, "shop", cutoverv1alpha1.PhaseHealthy, -1, 1)
		expectRollout(g, mfs, ns, "cart", cutoverv1alpha1.PhaseAborted, 3, 0)
		g.Expect(value(mfs, "cutover_rollout_info", map[string]string{"namespace": ns, "name": "shop",
			"stable_revision": canary["shop"], "current_revision": canary["shop"]})).To(Equal(1.0))
	}).Should(Succeed())
	// The first revisions completed too (Progressing, then Healthy): three completions.
	g.Expect(value(mfs, "cutover_rollout_completions_total", map[string]string{"strategy": "Canary"})).To(Equal(3.0))
	g.Expect(value(mfs, "cutover_rollout_aborts_total", map[string]string{"reason": cutoverv1alpha1.ReasonAborted})).To(Equal(1.0))
	g.Expect(value(mfs, "cutover_rollout_aborts_total", map[string]string{"reason": cutoverv1alpha1.ReasonGateFailed})).To(BeZero())
	g.Expect(value(mfs, "cutover_promote_to_weight_duration_seconds", nil)).To(Equal(1.0))
	g.Expect(value(mfs, "cutover_revision_to_replicaset_duration_seconds", nil)).To(Equal(4.0))
	g.Expect(mfs["cutover_rollout_info"].GetMetric()).To(HaveLen(2), "one info series per Rollout")

	g.Expect(k8sClient.Delete(context.Background(), w.rollout("shop"))).To(Succeed())
	g.Eventually(func(g Gomega) {
		mfs := s.families(g)
		for _, m := range []string{"cutover_rollout_phase", "cutover_rollout_step", "cutover_rollout_canary_weight_ratio", "cutover_rollout_info"} {
			_, found := lookup(mfs, m, map[string]string{"namespace": ns, "name": "shop"})
			g.Expect(found).To(BeFalse(), "%s of the deleted Rollout", m)
			_, found = lookup(mfs, m, map[string]string{"namespace": ns, "name": "cart"})
			g.Expect(found).To(BeTrue(), "%s of the Rollout that stays", m)
		}
		// Counters keep what happened.
		g.Expect(value(mfs, "cutover_rollout_completions_total", map[string]string{"strategy": "Canary"})).To(Equal(3.0))
	}).Should(Succeed())
}
