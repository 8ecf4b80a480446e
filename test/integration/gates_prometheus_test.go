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
	"strconv"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	cutoverv1alpha1 "github.com/cutover-dev/cutover/api/v1alpha1"
	"github.com/cutover-dev/cutover/test/utils"
)

// The queries of the worked example in docs/gates.md: the share of the revision's requests
// that did not fail, and the share that did (0 when there is no 5xx series at all).
const (
	successRateQuery = `sum(rate(http_requests_total{revision="${revision}",code!~"5.."}[5s])) / sum(rate(http_requests_total{revision="${revision}"}[5s]))`
	errorRateQuery   = `(sum(rate(http_requests_total{revision="${revision}",code=~"5.."}[5s])) or vector(0)) / sum(rate(http_requests_total{revision="${revision}"}[5s]))`
)

// promGateRollout is an Istio canary, 4 replicas: 20% → gates [success-rate] → 50% → pause{},
// with the background gate error-rate, both measured by the Prometheus at address.
func promGateRollout(ns, address string) *cutoverv1alpha1.Rollout {
	ro := istioRollout(ns, "web", digestImage(1))
	ro.Spec.Strategy.Canary.Steps = []cutoverv1alpha1.CanaryStep{
		{SetWeight: ptr.To[int32](20)},
		{Gates: []string{"success-rate"}},
		{SetWeight: ptr.To[int32](50)},
		{Pause: &cutoverv1alpha1.PauseStep{}},
	}
	ro.Spec.Strategy.Canary.BackgroundGates = []string{"error-rate"}
	every := &metav1.Duration{Duration: time.Second}
	ro.Spec.Gates = []cutoverv1alpha1.Gate{
		{
			Name:             "success-rate",
			Prometheus:       &cutoverv1alpha1.PrometheusGate{Address: address, Query: successRateQuery},
			SuccessCondition: "result >= 0.95",
			Interval:         every, Count: ptr.To[int32](3), FailureLimit: ptr.To[int32](1),
			// Until Prometheus has two samples of the new revision the query is empty: an error.
			ConsecutiveErrorLimit: ptr.To[int32](30),
		},
		{
			Name:                  "error-rate",
			Prometheus:            &cutoverv1alpha1.PrometheusGate{Address: address, Query: errorRateQuery},
			SuccessCondition:      "result < 0.05",
			Interval:              every,
			ConsecutiveErrorLimit: ptr.To[int32](30),
		},
	}
	return ro
}

// startPromCanary starts a manager on a fresh namespace with the Istio objects, creates
// promGateRollout, lets its first revision become stable and changes its image; the new
// revision's requests all succeed, 100 a scrape.
func startPromCanary(t *testing.T, exp *utils.Exporter, prom *utils.Prometheus) (g *WithT, ns, stable, canary string) {
	g = newTestGomega(t)
	g.SetDefaultEventuallyTimeout(60 * time.Second)
	ns = newNamespace(t)
	istioObjects(g, ns)
	startManager(t, ns, nil)
	stable, canary = startAtGate(g, ns, promGateRollout(ns, prom.URL()))
	exp.SetRate(canary, "200", 100)
	return g, ns, stable, canary
}

// TestPrometheusGates runs Istio canaries gated by a real Prometheus that scrapes an exporter
// whose request counters the test drives per revision.
func TestPrometheusGates(t *testing.T) {
	exp := utils.NewExporter(t)
	prom := utils.StartPrometheus(t, exp.Target())

	t.Run("a healthy canary passes its gate step and background gate and completes", func(t *testing.T) {
		g, ns, stable, canary := startPromCanary(t, exp, prom)

		// At the gates step the canary serves 20% and success-rate measures it.
		g.Eventually(func(g Gomega) {
			markAvailable(g, ns, "web")
			r := getRollout(g, ns, "web")
			g.Expect(r.Status.CurrentStepIndex).To(HaveValue(Equal(int32(1))))
			g.Expect(readRouting(g, ns).Canary).To(Equal(int32(20)))
			g.Expect(gateStatus(r, "success-rate").Measurements).To(BeNumerically(">=", 1))
			g.Expect(gateStatus(r, "error-rate").Phase).To(Equal(cutoverv1alpha1.GateRunning))
		}).Should(Succeed())
		// It passes and the canary goes on to 50%, where it waits for a promote.
		g.Eventually(func(g Gomega) {
			markAvailable(g, ns, "web")
			r := getRollout(g, ns, "web")
			g.Expect(r.Status.Phase).To(Equal(cutoverv1alpha1.PhasePaused), r.Status.Message)
			g.Expect(readRouting(g, ns).Canary).To(Equal(int32(50)))
			g.Expect(sizes(g, ns, "web")).To(Equal(map[string]int32{stable: 4, canary: 2}))
			g.Expect(gateStatus(r, "error-rate").LastValue).To(Equal("0"))
		}).Should(Succeed())
		g.Expect(eventReasons(g, ns, "web")).To(ContainElement("GatePassed"))
		annotate(g, ns, "web", cutoverv1alpha1.AnnotationPromote, "true")
		g.Eventually(func(g Gomega) {
			markAvailable(g, ns, "web")
			r := getRollout(g, ns, "web")
			g.Expect(r.Status.Phase).To(Equal(cutoverv1alpha1.PhaseHealthy), r.Status.Message)
			g.Expect(r.Status.StableRevision).To(Equal(canary))
			g.Expect(sizes(g, ns, "web")).To(Equal(map[string]int32{canary: 4}))
			g.Expect(readRouting(g, ns)).To(HaveField("Stable", int32(100)))
			g.Expect(condition(r, cutoverv1alpha1.GatesPassedCondition).Status).To(Equal(metav1.ConditionTrue))
			g.Expect(gateStatus(r, "error-rate").Phase).To(Equal(cutoverv1alpha1.GatePassed))
		}).Should(Succeed())
	})

	t.Run("a rising error rate rolls the canary back mid-step", func(t *testing.T) {
		g, ns, stable, canary := startPromCanary(t, exp, prom)
		g.Eventually(func(g Gomega) {
			markAvailable(g, ns, "web")
			r := getRollout(g, ns, "web")
			g.Expect(r.Status.Phase).To(Equal(cutoverv1alpha1.PhasePaused), r.Status.Message)
			g.Expect(readRouting(g, ns).Canary).To(Equal(int32(50)))
		}).Should(Succeed())

		// Half the canary's requests now fail: the background gate aborts at the pause.
		exp.SetRate(canary, "500", 100)
		g.Eventually(func(g Gomega) {
			markAvailable(g, ns, "web")
			g.Expect(readRouting(g, ns)).To(HaveField("Canary", int32(0)))
		}).Should(Succeed())
		r := expectGateAbort(g, ns, "web", stable, "error-rate")
		gs := gateStatus(r, "error-rate")
		g.Expect(gs.Failures).To(Equal(int32(1)))
		// The first value over the limit fails the gate: the 5 s window fills with the failing
		// requests, so it lies between the limit and one half.
		v, err := strconv.ParseFloat(gs.LastValue, 64)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(v).To(And(BeNumerically(">=", 0.05), BeNumerically("<=", 0.51)), "the measured error rate")
		g.Expect(r.Status.CanaryWeight).To(BeZero())
		g.Expect(r.Status.StableRevision).To(Equal(stable))
	})
}
