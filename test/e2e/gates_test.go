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
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	. "github.com/onsi/gomega" //nolint:revive // Gomega's DSL reads best unqualified.
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	cutoverv1alpha1 "github.com/cutover-dev/cutover/api/v1alpha1"
	"github.com/cutover-dev/cutover/test/utils"
)

// gatesSample loads config/samples/cutover_v1alpha1_rollout_gates.yaml as a user would apply
// it, changing only what a test on one machine must: the namespace, the addresses of the smoke
// endpoint and of Prometheus (servers on 127.0.0.1), the pods' nodes (kwok), and the time
// scale: intervals of 1 s instead of 30 s and 1 m, query windows of 5 s, and the final pause
// given instead of 10 m. The test exporter serves one app, so the app="search" matcher goes. The
// steps, gates, conditions, counts and limits are the sample's.
func gatesSample(t *testing.T, ns, smokeURL, prometheus string, pause time.Duration) *cutoverv1alpha1.Rollout {
	t.Helper()
	raw, err := os.ReadFile("../../config/samples/cutover_v1alpha1_rollout_gates.yaml")
	if err != nil {
		t.Fatal(err)
	}
	ro := &cutoverv1alpha1.Rollout{}
	if err := yaml.UnmarshalStrict(raw, ro); err != nil {
		t.Fatalf("the gates sample does not parse: %v", err)
	}
	ro.Namespace = ns
	onFakeNodes(&ro.Spec.Template.Spec)
	second := &metav1.Duration{Duration: time.Second}
	for i := range ro.Spec.Gates {
		g := &ro.Spec.Gates[i]
		g.Interval = second
		if g.HTTP != nil {
			g.HTTP.URL = smokeURL + "/healthz"
		}
		if g.Prometheus != nil {
			g.Prometheus.Address = prometheus
			q := strings.NewReplacer(`app="search",`, "", "[1m]", "[5s]", "[5m]", "[5s]").Replace(g.Prometheus.Query)
			g.Prometheus.Query = q
		}
		// Until Prometheus has two samples of the new revision its queries are empty: errors.
		g.ConsecutiveErrorLimit = ptrInt32(30)
	}
	for _, s := range ro.Spec.Strategy.Canary.Steps {
		if s.Pause != nil && s.Pause.Duration != nil {
			s.Pause.Duration = &metav1.Duration{Duration: pause}
		}
	}
	return ro
}

// smokeServer answers the smoke gate with 200 and counts the requests that name a revision in
// the sample's X-Cutover-Revision header.
func smokeServer(t *testing.T) (*httptest.Server, *atomic.Int32) {
	var named atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if len(r.Header.Get("X-Cutover-Revision")) == 10 {
			named.Add(1)
		}
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(srv.Close)
	return srv, &named
}

// TestGatesSampleEndToEnd applies the gates sample on the local control plane with a real
// Prometheus scraping an exporter the test drives, and checks that it does what its comment
// says: a healthy canary passes the smoke test at 20% and the success rate at 40%, and
// completes; a canary whose error rate rises is aborted by the background gate, with all
// traffic back on the stable revision.
func TestGatesSampleEndToEnd(t *testing.T) {
	exp := utils.NewExporter(t)
	prom := utils.StartPrometheus(t, exp.Target())
	smoke, named := smokeServer(t)

	t.Run("healthy", func(t *testing.T) {
		g := NewWithT(t)
		g.SetDefaultEventuallyTimeout(90 * time.Second)
		g.SetDefaultEventuallyPollingInterval(200 * time.Millisecond)
		ns := newNamespace(t)
		startManager(t, ns)
		w := world{g, ns}
		ro := gatesSample(t, ns, smoke.URL, prom.URL(), 2*time.Second)
		stable := givenSampleHealthy(t, w, ro)
		w.setImage("search", image("b2"))
		canary := sampleCanary(g, ns, stable)
		exp.SetRate(canary, "200", 100)

		// At 40% the success rate needs 4 measurements, a second apart: the canary runs 2 of 5
		// pods meanwhile.
		g.Eventually(func(g Gomega) {
			w := world{g, ns}
			r := w.rollout("search")
			g.Expect(r.Status.CurrentStepIndex).To(HaveValue(Equal(int32(3))))
			g.Expect(w.sizes("search")).To(Equal(map[string]int32{stable: 3, canary: 2}))
			g.Expect(w.readyPods(canary)).To(Equal(2))
		}).Should(Succeed())
		g.Eventually(func(g Gomega) {
			w := world{g, ns}
			r := w.rollout("search")
			g.Expect(r.Status.Phase).To(Equal(cutoverv1alpha1.PhaseHealthy), r.Status.Message)
			g.Expect(r.Status.StableRevision).To(Equal(canary))
			g.Expect(w.sizes("search")).To(Equal(map[string]int32{canary: 5}))
			g.Expect(w.readyPods(canary)).To(Equal(5))
			gp := condition(r, cutoverv1alpha1.GatesPassedCondition)
			g.Expect(gp).NotTo(BeNil())
			g.Expect(gp.Status).To(Equal(metav1.ConditionTrue))
		}).Should(Succeed())
		g.Expect(named.Load()).To(BeNumerically(">=", 1), "the smoke test named the revision")
		passed := eventsOf(g, ns, "search", "GatePassed")
		g.Expect(passed).To(ContainElement(ContainSubstring("gate smoke passed")))
		g.Expect(passed).To(ContainElement(ContainSubstring("gate success-rate passed: 4 measurements")))
	})

	t.Run("error rate rises", func(t *testing.T) {
		g := NewWithT(t)
		g.SetDefaultEventuallyTimeout(90 * time.Second)
		g.SetDefaultEventuallyPollingInterval(200 * time.Millisecond)
		ns := newNamespace(t)
		startManager(t, ns)
		w := world{g, ns}
		ro := gatesSample(t, ns, smoke.URL, prom.URL(), time.Hour)
		stable := givenSampleHealthy(t, w, ro)
		w.setImage("search", image("c3"))
		canary := sampleCanary(g, ns, stable)
		// Healthy through both gate steps; in the last pause, at 80%, 1 request in 11 fails:
		// above the 1% error budget.
		exp.SetRate(canary, "200", 100)
		g.Eventually(func(g Gomega) {
			w := world{g, ns}
			r := w.rollout("search")
			g.Expect(r.Status.CurrentStepIndex).To(HaveValue(Equal(int32(5))))
			g.Expect(w.sizes("search")).To(HaveKeyWithValue(canary, int32(4)))
			g.Expect(w.readyPods(canary)).To(Equal(4))
		}).Should(Succeed())
		exp.SetRate(canary, "500", 10)
		g.Eventually(func(g Gomega) {
			w := world{g, ns}
			r := w.rollout("search")
			g.Expect(r.Status.Phase).To(Equal(cutoverv1alpha1.PhaseAborted), r.Status.Message)
			g.Expect(w.sizes("search")).To(Equal(map[string]int32{stable: 5}))
			g.Expect(w.readyPods(stable)).To(Equal(5))
			stalled := condition(r, cutoverv1alpha1.StalledCondition)
			g.Expect(stalled).NotTo(BeNil())
			g.Expect(stalled.Reason).To(Equal(cutoverv1alpha1.ReasonGateFailed))
			i := slices.IndexFunc(r.Status.Gates, func(s cutoverv1alpha1.GateStatus) bool { return s.Name == "error-budget" })
			g.Expect(i).To(BeNumerically(">=", 0))
			g.Expect(r.Status.Gates[i].Phase).To(Equal(cutoverv1alpha1.GateFailed))
			g.Expect(r.Status.Gates[i].Failures).To(Equal(int32(3)), "failureLimit 2")
		}).Should(Succeed())
		g.Expect(eventsOf(g, ns, "search", "GateFailed")).To(ContainElement(ContainSubstring("gate error-budget failed")))
	})
}

// givenSampleHealthy creates the sample Rollout and waits for its first revision's 5 pods.
func givenSampleHealthy(t *testing.T, w world, ro *cutoverv1alpha1.Rollout) string {
	t.Helper()
	w.g.Expect(k8sClient.Create(context.Background(), ro)).To(Succeed())
	var stable string
	w.g.Eventually(func(g Gomega) {
		r := world{g, w.ns}.rollout(ro.Name)
		g.Expect(r.Status.Phase).To(Equal(cutoverv1alpha1.PhaseHealthy), r.Status.Message)
		stable = r.Status.StableRevision
		g.Expect(world{g, w.ns}.readyPods(stable)).To(Equal(5))
	}).Should(Succeed())
	return stable
}

func sampleCanary(g Gomega, ns, stable string) string {
	var canary string
	g.Eventually(func(g Gomega) {
		canary = canaryOf(g, world{g, ns}, "search", stable)
	}).Should(Succeed())
	return canary
}

func listEvents(g Gomega, ns string) []corev1.Event {
	var list corev1.EventList
	g.Expect(k8sClient.List(context.Background(), &list, client.InNamespace(ns))).To(Succeed())
	return list.Items
}

// eventsOf returns the messages of the Events with reason about a Rollout.
func eventsOf(g Gomega, ns, name, reason string) []string {
	var out []string
	for _, e := range listEvents(g, ns) {
		if e.InvolvedObject.Name == name && e.Reason == reason {
			out = append(out, e.Message)
		}
	}
	return out
}
