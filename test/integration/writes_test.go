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
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	cutoverv1alpha1 "github.com/cutover-dev/cutover/api/v1alpha1"
	"github.com/cutover-dev/cutover/controllers"
)

// Write budget of a canary step (issue goal): at most 3 API writes and 1 Event per step.
const (
	maxWritesPerStep = 3
	maxEventsPerStep = 1
)

// TestWritesPerCanaryStep counts the manager's requests, at its HTTP transport, while one
// Rollout walks [setWeight 25, pause{}, setWeight 50, pause{}]: the spec change takes it
// through the first two steps, a promote through the last two. The test plays the ReplicaSet
// controller, reporting every ReplicaSet available.
func TestWritesPerCanaryStep(t *testing.T) {
	g := newTestGomega(t)
	ns := newNamespace(t)
	m := startManager(t, ns, nil)
	ctx := context.Background()

	ro := canaryRollout(ns, "web", digestImage(1), 0)
	ro.Spec.Strategy.Canary.Steps[1].Pause.Duration = nil // pause{}
	g.Expect(k8sClient.Create(ctx, ro)).To(Succeed())
	var stable string
	g.Eventually(func(g Gomega) {
		markAvailable(g, ns, "web")
		r := getRollout(g, ns, "web")
		g.Expect(r.Status.Phase).To(Equal(cutoverv1alpha1.PhaseHealthy))
		stable = r.Status.StableRevision
	}).Should(Succeed())

	// Phase 1: a new template, through setWeight 25 to the first pause{}.
	writes, events := m.phase(g, func() {
		setImage(g, ns, "web", digestImage(2))
		g.Eventually(func(g Gomega) {
			markAvailable(g, ns, "web")
			r := getRollout(g, ns, "web")
			g.Expect(r.Status.Phase).To(Equal(cutoverv1alpha1.PhasePaused), r.Status.Message)
			g.Expect(stepOf(r)).To(Equal(int32(1)))
			g.Expect(sizes(g, ns, "web")).To(HaveKeyWithValue(stable, int32(3)))
		}).Should(Succeed())
	}, func(g Gomega) { markAvailable(g, ns, "web") })
	// Create the ReplicaSet, scale the stable one down, and two status writes; RevisionCreated
	// and Paused. The lower bound shows that the counter sees the create, the scale and a
	// status write.
	withinBudget(t, g, "spec change → pause{} at 25%", writes, events, 3)

	// Phase 2: a promote, through setWeight 50 to the second pause{}.
	writes, events = m.phase(g, func() {
		annotate(g, ns, "web", cutoverv1alpha1.AnnotationPromote, cutoverv1alpha1.ValueTrue)
		g.Eventually(func(g Gomega) {
			markAvailable(g, ns, "web")
			r := getRollout(g, ns, "web")
			g.Expect(r.Status.Phase).To(Equal(cutoverv1alpha1.PhasePaused), r.Status.Message)
			g.Expect(stepOf(r)).To(Equal(int32(3)))
			g.Expect(r.Annotations).NotTo(HaveKey(cutoverv1alpha1.AnnotationPromote))
			g.Expect(r.Status.PendingRemoval).To(BeEmpty())
			g.Expect(r.Status.AvailableReplicas).To(Equal(int32(4)))
			g.Expect(sizes(g, ns, "web")).To(HaveKeyWithValue(stable, int32(2)))
		}).Should(Succeed())
	}, func(g Gomega) { markAvailable(g, ns, "web") })
	// Two scales, the status write recording the promote, the annotation's removal, and the
	// status write of the step reached; Promoted and Paused.
	withinBudget(t, g, "promote → pause{} at 50%", writes, events, 4)
}

// TestWritesPerIstioCanaryStep counts the manager's writes while one Istio canary (2 replicas;
// setWeight 20, pause 1s, setWeight 50, pause 1s, as in the scale benchmark) goes from a new
// template to Healthy, the old ReplicaSet deleted: at most 3 writes per step, one Event per
// step, none refused. The test plays the ReplicaSet controller, reporting every ReplicaSet
// available.
func TestWritesPerIstioCanaryStep(t *testing.T) {
	g := newTestGomega(t)
	ns := newNamespace(t)
	m := startManager(t, ns, nil)
	second := &metav1.Duration{Duration: time.Second}
	stable := healthyIstio(t, g, ns, func(ro *cutoverv1alpha1.Rollout) {
		ro.Spec.Replicas = ptr.To[int32](2)
		ro.Spec.Strategy.Canary.Steps = []cutoverv1alpha1.CanaryStep{
			{SetWeight: ptr.To[int32](20)}, {Pause: &cutoverv1alpha1.PauseStep{Duration: second}},
			{SetWeight: ptr.To[int32](50)}, {Pause: &cutoverv1alpha1.PauseStep{Duration: second}},
		}
	})

	writes, events := m.phase(g, func() {
		setImage(g, ns, "web", digestImage(2))
		g.Eventually(func(g Gomega) {
			markAvailable(g, ns, "web")
			r := getRollout(g, ns, "web")
			g.Expect(r.Status.Phase).To(Equal(cutoverv1alpha1.PhaseHealthy), r.Status.Message)
			g.Expect(r.Status.StableRevision).NotTo(Equal(stable))
			g.Expect(sizes(g, ns, "web")).NotTo(HaveKey(stable))
		}).Should(Succeed())
	}, func(g Gomega) { markAvailable(g, ns, "web") })
	const steps = 4
	t.Logf("new template → Healthy over %d steps: %d writes and %d Events", steps, writes, events)
	// The ReplicaSet's create and delete, two weights and the switch's VirtualService patch,
	// the DestinationRule's two labels, and a status write: what the counter must see at least.
	g.Expect(writes).To(BeNumerically(">=", 9))
	g.Expect(writes).To(BeNumerically("<=", steps*maxWritesPerStep), "writes for 4 Istio canary steps")
	g.Expect(events).To(Equal(int64(steps*maxEventsPerStep)), "Events: RevisionCreated, Paused twice, Completed")
	g.Expect(m.refused.Load()).To(BeZero(), "writes refused")
}

// withinBudget checks the writes and Events of a phase of two canary steps against the budget:
// at most 3 writes per step, and exactly one Event per step. atLeast is the number of writes
// the phase cannot do without.
func withinBudget(t *testing.T, g *WithT, what string, writes, events, atLeast int64) {
	t.Helper()
	t.Logf("%s: %d writes and %d Events for 2 steps", what, writes, events)
	g.Expect(writes).To(BeNumerically(">=", atLeast), what)
	g.Expect(writes).To(BeNumerically("<=", 2*maxWritesPerStep), what)
	// Each of the two steps announces itself exactly once: fewer would leave a step unsaid.
	g.Expect(events).To(Equal(int64(2*maxEventsPerStep)), what)
}

// phase runs fn and returns the writes (other than Events) and the Event writes the manager
// made from its start until the manager has been quiet for a second, with settle run meanwhile
// (the ReplicaSet controller's part).
func (m *runningManager) phase(g *WithT, fn func(), settle func(Gomega)) (writes, events int64) {
	quiet := func() {
		g.Eventually(func(g Gomega) {
			n := m.writes.Load()
			g.Consistently(func(g Gomega) int64 {
				settle(g)
				return m.writes.Load()
			}, time.Second, pollEvery).Should(Equal(n))
		}).Should(Succeed())
	}
	quiet()
	w0, e0 := m.writes.Load(), m.events.Load()
	fn()
	quiet()
	e := m.events.Load() - e0
	return m.writes.Load() - w0 - e, e
}

// TestNewIstioRolloutDoesNotConflictWithItself creates an Istio canary Rollout and walks it
// through a new revision to its manual pause: no write of the manager may be refused with 409,
// and no status patch may carry metadata.
// The first reconcile adds the traffic finalizer and then writes the status; the status patch
// must carry the resourceVersion of that finalizer write, not of the read before it.
func TestNewIstioRolloutDoesNotConflictWithItself(t *testing.T) {
	g := newTestGomega(t)
	ns := newNamespace(t)
	istioObjects(g, ns)
	// A status patch carries the status only: metadata the reconcile's earlier write changed
	// (the finalizer's resourceVersion, managedFields) must not ride along.
	var withMetadata atomic.Int64
	m := startManagerWithFaults(t, ns, nil, func(req *http.Request) int {
		if req.Method == http.MethodPatch && strings.HasSuffix(req.URL.Path, "/status") && req.GetBody != nil {
			if body, err := req.GetBody(); err == nil {
				raw, _ := io.ReadAll(body)
				if bytes.Contains(raw, []byte(`"managedFields"`)) || bytes.Contains(raw, []byte(`"finalizers"`)) {
					withMetadata.Add(1)
				}
			}
		}
		return 0
	})
	ctx := context.Background()
	g.Expect(k8sClient.Create(ctx, istioRollout(ns, "web", digestImage(1)))).To(Succeed())
	g.Eventually(func(g Gomega) {
		markAvailable(g, ns, "web")
		r := getRollout(g, ns, "web")
		g.Expect(r.Status.Phase).To(Equal(cutoverv1alpha1.PhaseHealthy), r.Status.Message)
		g.Expect(r.Finalizers).To(ContainElement(controllers.TrafficFinalizer))
	}).Should(Succeed())
	g.Expect(m.refused.Load()).To(BeZero(), "writes refused with 409 while a new Istio Rollout became Healthy")

	setImage(g, ns, "web", digestImage(2))
	g.Eventually(func(g Gomega) {
		markAvailable(g, ns, "web")
		r := getRollout(g, ns, "web")
		g.Expect(r.Status.Phase).To(Equal(cutoverv1alpha1.PhasePaused), r.Status.Message)
		g.Expect(r.Status.CanaryWeight).To(Equal(int32(30)))
	}).Should(Succeed())
	g.Expect(m.refused.Load()).To(BeZero(), "writes refused with 409 while the canary walked to its pause")
	g.Expect(withMetadata.Load()).To(BeZero(), "status patches that carried metadata")
}

// TestCompletionsMakeNoRefusedWrites walks an Istio canary to completion three times (a new
// revision, 50%, the swap of the subsets, the old ReplicaSet deleted): no write of the manager
// may be refused. In particular the reconcile that follows a deletion may run before the cache
// sees the ReplicaSet go, and must not delete it again (404); the benchmark's trace showed that
// race, which this test does not force (TestOwnDeletions covers the memory that prevents it).
func TestCompletionsMakeNoRefusedWrites(t *testing.T) {
	g := newTestGomega(t)
	ns := newNamespace(t)
	istioObjects(g, ns)
	m := startManager(t, ns, nil)
	ctx := context.Background()
	ro := istioRollout(ns, "web", digestImage(1))
	ro.Spec.Strategy.Canary.Steps = []cutoverv1alpha1.CanaryStep{{SetWeight: ptr.To[int32](50)}}
	g.Expect(k8sClient.Create(ctx, ro)).To(Succeed())
	for seed := byte(1); seed <= 4; seed++ {
		if seed > 1 {
			setImage(g, ns, "web", digestImage(seed))
		}
		g.Eventually(func(g Gomega) {
			markAvailable(g, ns, "web")
			r := getRollout(g, ns, "web")
			g.Expect(r.Status.Phase).To(Equal(cutoverv1alpha1.PhaseHealthy), r.Status.Message)
			g.Expect(r.Status.ObservedGeneration).To(Equal(r.Generation))
			g.Expect(sizes(g, ns, "web")).To(HaveLen(1), "the old revision's ReplicaSet is gone")
		}).Should(Succeed())
	}
	// Let trailing reconciles run: a second deletion would come right after the first.
	_, _ = m.phase(g, func() {}, func(g Gomega) {})
	g.Expect(m.refused.Load()).To(BeZero(), "writes refused by the API server (a ReplicaSet deleted twice answers 404)")
}
