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
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	cutoverv1alpha1 "github.com/cutover-dev/cutover/api/v1alpha1"
)

// gateServer is a real HTTP server a gate measures. It answers with the status the test sets
// (or hangs while hang is set), and records the revision each request names.
type gateServer struct {
	*httptest.Server
	mu        sync.Mutex
	status    int
	hang      bool
	revisions []string
	stop      chan struct{}
}

func newGateServer(t *testing.T, status int) *gateServer {
	s := &gateServer{status: status, stop: make(chan struct{})}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.revisions = append(s.revisions, r.URL.Query().Get("revision"))
		code, hang := s.status, s.hang
		s.mu.Unlock()
		if hang {
			select {
			case <-r.Context().Done():
			case <-s.stop:
			}
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		_, _ = w.Write([]byte(`{"ok": true}`))
	}))
	t.Cleanup(func() { close(s.stop); s.Close() })
	return s
}

func (s *gateServer) set(status int, hang bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.status, s.hang = status, hang
}

// hits returns the number of requests that named revision rev.
func (s *gateServer) hits(rev string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, r := range s.revisions {
		if r == rev {
			n++
		}
	}
	return n
}

// httpGateRollout is a canary without a mesh, 4 replicas: 25% → gates [smoke] → 50%. The smoke
// gate asks url?revision=${revision} every 300 ms and passes on a 200.
func httpGateRollout(ns, url string, count, failureLimit, errLimit int32) *cutoverv1alpha1.Rollout {
	ro := canaryRollout(ns, "web", digestImage(1), time.Second)
	ro.Spec.Strategy.Canary.Steps = []cutoverv1alpha1.CanaryStep{
		{SetWeight: ptr.To[int32](25)},
		{Gates: []string{"smoke"}},
		{SetWeight: ptr.To[int32](50)},
	}
	ro.Spec.Gates = []cutoverv1alpha1.Gate{{
		Name: "smoke",
		HTTP: &cutoverv1alpha1.HTTPGate{URL: url + "/healthz?revision=${revision}",
			Timeout: &metav1.Duration{Duration: 300 * time.Millisecond}},
		SuccessCondition:      "result.status == 200 && result.json.ok",
		Interval:              &metav1.Duration{Duration: 300 * time.Millisecond},
		Count:                 ptr.To(count),
		FailureLimit:          ptr.To(failureLimit),
		ConsecutiveErrorLimit: ptr.To(errLimit),
	}}
	return ro
}

// startAtGate creates the Rollout, lets revision 1 become stable, changes the image and returns
// the stable and the new revision.
func startAtGate(g Gomega, ns string, ro *cutoverv1alpha1.Rollout) (stable, canary string) {
	g.Expect(k8sClient.Create(context.Background(), ro)).To(Succeed())
	g.Eventually(func(g Gomega) {
		markAvailable(g, ns, ro.Name)
		r := getRollout(g, ns, ro.Name)
		g.Expect(r.Status.Phase).To(Equal(cutoverv1alpha1.PhaseHealthy), r.Status.Message)
		stable = r.Status.StableRevision
	}).Should(Succeed())
	setImage(g, ns, ro.Name, digestImage(2))
	g.Eventually(func(g Gomega) {
		markAvailable(g, ns, ro.Name)
		r := getRollout(g, ns, ro.Name)
		g.Expect(r.Status.CurrentRevision).NotTo(Equal(stable))
		canary = r.Status.CurrentRevision
	}).Should(Succeed())
	return stable, canary
}

func gateStatus(ro *cutoverv1alpha1.Rollout, name string) cutoverv1alpha1.GateStatus {
	i := slices.IndexFunc(ro.Status.Gates, func(g cutoverv1alpha1.GateStatus) bool { return g.Name == name })
	if i < 0 {
		return cutoverv1alpha1.GateStatus{}
	}
	return ro.Status.Gates[i]
}

// expectGateAbort waits for the revision to be aborted by gate name, with all pods back on the
// stable revision, and checks the conditions and Events.
func expectGateAbort(g Gomega, ns, name, stable, gate string) *cutoverv1alpha1.Rollout {
	var r *cutoverv1alpha1.Rollout
	g.Eventually(func(g Gomega) {
		markAvailable(g, ns, name)
		r = getRollout(g, ns, name)
		g.Expect(r.Status.Phase).To(Equal(cutoverv1alpha1.PhaseAborted), r.Status.Message)
		g.Expect(sizes(g, ns, name)).To(Equal(map[string]int32{stable: 4}), "the new revision is torn down")
	}).Should(Succeed())
	stalled := condition(r, cutoverv1alpha1.StalledCondition)
	g.Expect(stalled).NotTo(BeNil())
	g.Expect(stalled.Status).To(Equal(metav1.ConditionTrue))
	g.Expect(stalled.Reason).To(Equal(cutoverv1alpha1.ReasonGateFailed))
	gp := condition(r, cutoverv1alpha1.GatesPassedCondition)
	g.Expect(gp.Status).To(Equal(metav1.ConditionFalse))
	g.Expect(gp.Message).To(ContainSubstring(gate))
	g.Expect(gateStatus(r, gate).Phase).To(Equal(cutoverv1alpha1.GateFailed))
	g.Eventually(func(g Gomega) []string { return eventReasons(g, ns, name) }).Should(ContainElements("GateFailed", "Aborted"))
	return r
}

func TestHTTPGatePasses(t *testing.T) {
	g := newTestGomega(t)
	ns := newNamespace(t)
	srv := newGateServer(t, http.StatusOK)
	startManager(t, ns, nil)
	stable, canary := startAtGate(g, ns, httpGateRollout(ns, srv.URL, 3, 0, 4))

	// At the gates step: 25% of the pods, measuring.
	g.Eventually(func(g Gomega) {
		markAvailable(g, ns, "web")
		r := getRollout(g, ns, "web")
		g.Expect(r.Status.CurrentStepIndex).To(HaveValue(Equal(int32(1))))
		g.Expect(gateStatus(r, "smoke").Measurements).To(BeNumerically(">=", 1))
		g.Expect(condition(r, cutoverv1alpha1.GatesPassedCondition).Status).To(Equal(metav1.ConditionUnknown))
		g.Expect(sizes(g, ns, "web")).To(Equal(map[string]int32{stable: 3, canary: 1}))
	}).Should(Succeed())
	g.Eventually(func(g Gomega) {
		markAvailable(g, ns, "web")
		r := getRollout(g, ns, "web")
		g.Expect(r.Status.Phase).To(Equal(cutoverv1alpha1.PhaseHealthy), r.Status.Message)
		g.Expect(r.Status.StableRevision).To(Equal(canary))
		g.Expect(sizes(g, ns, "web")).To(Equal(map[string]int32{canary: 4}))
	}).Should(Succeed())
	g.Expect(eventReasons(g, ns, "web")).To(ContainElement("GatePassed"))
	g.Expect(srv.hits(canary)).To(Equal(3), "count measurements, each naming the revision under test")
	g.Expect(srv.hits("")).To(BeZero())
}

func TestHTTPGateFailsWithinFailureLimit(t *testing.T) {
	g := newTestGomega(t)
	ns := newNamespace(t)
	srv := newGateServer(t, http.StatusInternalServerError)
	startManager(t, ns, nil)
	stable, canary := startAtGate(g, ns, httpGateRollout(ns, srv.URL, 5, 1, 4))
	r := expectGateAbort(g, ns, "web", stable, "smoke")
	gs := gateStatus(r, "smoke")
	g.Expect(gs.Failures).To(Equal(int32(2)), "failureLimit 1: the second failure fails the gate")
	g.Expect(gs.Measurements).To(Equal(int32(2)))
	g.Expect(gs.LastValue).To(ContainSubstring("500"))
	g.Expect(srv.hits(canary)).To(Equal(2), "failureLimit+1 measurements, no more")
	g.Expect(r.Status.CanaryWeight).To(BeZero())
}

func TestHTTPGateTimeoutsAbort(t *testing.T) {
	g := newTestGomega(t)
	ns := newNamespace(t)
	srv := newGateServer(t, http.StatusOK)
	srv.set(0, true)
	startManager(t, ns, nil)
	stable, _ := startAtGate(g, ns, httpGateRollout(ns, srv.URL, 3, 5, 2))
	r := expectGateAbort(g, ns, "web", stable, "smoke")
	gs := gateStatus(r, "smoke")
	g.Expect(gs.Errors).To(Equal(int32(3)), "consecutiveErrorLimit 2: the third error in a row fails the gate")
	g.Expect(gs.ConsecutiveErrors).To(Equal(int32(3)))
	g.Expect(gs.Measurements).To(BeZero(), "a timeout is an error, not a measurement")
	g.Expect(gs.Message).To(MatchRegexp(`(?i)timed out|timeout|deadline`))
}

func TestInvalidSuccessConditionChangesNothing(t *testing.T) {
	g := newTestGomega(t)
	ns := newNamespace(t)
	srv := newGateServer(t, http.StatusOK)
	startManager(t, ns, nil)
	ro := httpGateRollout(ns, srv.URL, 1, 0, 4)
	g.Expect(k8sClient.Create(context.Background(), ro)).To(Succeed())
	var stable string
	g.Eventually(func(g Gomega) {
		markAvailable(g, ns, "web")
		r := getRollout(g, ns, "web")
		g.Expect(r.Status.Phase).To(Equal(cutoverv1alpha1.PhaseHealthy), r.Status.Message)
		stable = r.Status.StableRevision
	}).Should(Succeed())

	// A new image and a condition that does not compile, in one edit.
	cur := getRollout(g, ns, "web")
	orig := cur.DeepCopy()
	cur.Spec.Template.Spec.Containers[0].Image = digestImage(2)
	cur.Spec.Gates[0].SuccessCondition = "result.status >= "
	g.Expect(k8sClient.Patch(context.Background(), cur, client.MergeFrom(orig))).To(Succeed())
	g.Eventually(func(g Gomega) {
		r := getRollout(g, ns, "web")
		g.Expect(r.Status.ObservedGeneration).To(Equal(r.Generation))
		stalled := condition(r, cutoverv1alpha1.StalledCondition)
		g.Expect(stalled).NotTo(BeNil())
		g.Expect(stalled.Reason).To(Equal(cutoverv1alpha1.ReasonInvalidSpec))
		g.Expect(stalled.Message).To(ContainSubstring("spec.gates[0].successCondition"))
		g.Expect(stalled.Message).To(ContainSubstring("Syntax error"), "the compiler's message")
	}).Should(Succeed())
	g.Eventually(func(g Gomega) []string { return eventReasons(g, ns, "web") }).Should(ContainElement("InvalidSpec"))
	g.Consistently(func(g Gomega) map[string]int32 { return sizes(g, ns, "web") }, time.Second).
		Should(Equal(map[string]int32{stable: 4}), "no new ReplicaSet, nothing scaled")
	g.Expect(srv.hits("")+srv.hits(stable)).To(BeZero(), "nothing measured")
}

// TestGateResumesAfterRestart: a manager stopped mid-measurement is replaced by a new one,
// which goes on from the counts in status.gates: together they take exactly count
// measurements.
func TestGateResumesAfterRestart(t *testing.T) {
	g := newTestGomega(t)
	ns := newNamespace(t)
	srv := newGateServer(t, http.StatusOK)
	m := startManager(t, ns, nil)
	ro := httpGateRollout(ns, srv.URL, 8, 0, 4)
	_, canary := startAtGate(g, ns, ro)
	g.Eventually(func(g Gomega) int32 {
		markAvailable(g, ns, "web")
		return gateStatus(getRollout(g, ns, "web"), "smoke").Measurements
	}).Should(BeNumerically(">=", 2))
	m.Stop()
	counted := gateStatus(getRollout(g, ns, "web"), "smoke").Measurements
	hitsBefore := srv.hits(canary)
	g.Expect(counted).To(BeNumerically("<", 8))

	startManager(t, ns, nil)
	g.Eventually(func(g Gomega) {
		markAvailable(g, ns, "web")
		r := getRollout(g, ns, "web")
		g.Expect(r.Status.Phase).To(Equal(cutoverv1alpha1.PhaseHealthy), r.Status.Message)
	}).Should(Succeed())
	g.Expect(srv.hits(canary)-hitsBefore).To(Equal(int(8-counted)), "the new manager takes only the measurements left")
}
