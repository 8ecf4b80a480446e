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
	"sync"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	cutoverv1alpha1 "github.com/cutover-dev/cutover/api/v1alpha1"
)

// The tests of this file stop the manager at awkward moments and start a new one, as a killed
// and rescheduled operator pod would: everything needed to resume lives in the API (invariant 4).

// resourceVersions maps the Rollout ("rollout") and each of its ReplicaSets (by revision) to
// their resourceVersions.
func resourceVersions(g Gomega, ns, name string) map[string]string {
	out := map[string]string{"rollout": getRollout(g, ns, name).ResourceVersion}
	for rev, rs := range replicaSets(g, ns, name) {
		out[rev] = rs.ResourceVersion
	}
	return out
}

// stepRecorder polls a Rollout's status.currentStepIndex in the background and records every
// distinct value it sees, in order.
type stepRecorder struct {
	mu   sync.Mutex
	seq  []int32
	stop chan struct{}
	done chan struct{}
}

func recordSteps(ns, name string) *stepRecorder {
	s := &stepRecorder{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		stopping := false
		for {
			ro := &cutoverv1alpha1.Rollout{}
			if err := k8sClient.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, ro); err == nil {
				step := stepOf(ro)
				s.mu.Lock()
				if len(s.seq) == 0 || s.seq[len(s.seq)-1] != step {
					s.seq = append(s.seq, step)
				}
				s.mu.Unlock()
			}
			select {
			case <-s.stop:
				// One last read: the caller stops once it saw a step itself, maybe less than a
				// tick after the last read here.
				if stopping {
					return
				}
				stopping = true
			case <-tick.C:
			}
		}
	}()
	return s
}

// Stop ends the recording, after one last read, and returns the sequence.
func (s *stepRecorder) Stop() []int32 {
	close(s.stop)
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]int32(nil), s.seq...)
}

// TestRestartWhilePaused restarts the operator while a canary waits at a pause{}: the new
// instance finds everything where it was and writes nothing; a promote then finishes the walk.
func TestRestartWhilePaused(t *testing.T) {
	g := newWalkG(t)
	ns := newNamespace(t)
	m1 := startManager(t, ns, nil)
	stable := createStable(g, canaryRollout(ns, "web", digestImage(1), 3*time.Second))
	canary := walkToFirstPause(g, ns, "web", stable, digestImage(2))
	g.Eventually(func(g Gomega) {
		markAvailable(g, ns, "web")
		g.Expect(sizes(g, ns, "web")).To(Equal(map[string]int32{stable: 2, canary: 2}))
		r := getRollout(g, ns, "web")
		g.Expect(stepOf(r)).To(Equal(int32(3)))
		g.Expect(r.Status.Phase).To(Equal(cutoverv1alpha1.PhasePaused), r.Status.Message)
		// Settled: the status counts every pod the test made available.
		g.Expect(r.Status.AvailableReplicas).To(Equal(int32(4)))
		g.Expect(r.Status.ReadyReplicas).To(Equal(int32(4)))
	}).Should(Succeed())

	m1.Stop()
	uids := rsUIDs(g, ns, "web")
	rvs := resourceVersions(g, ns, "web")
	before := getRollout(g, ns, "web").Status

	m2 := startManager(t, ns, nil)
	g.Consistently(func(g Gomega) {
		g.Expect(rsUIDs(g, ns, "web")).To(Equal(uids))
		g.Expect(resourceVersions(g, ns, "web")).To(Equal(rvs))
		r := getRollout(g, ns, "web")
		g.Expect(stepOf(r)).To(Equal(int32(3)))
		g.Expect(r.Status.Phase).To(Equal(cutoverv1alpha1.PhasePaused))
	}, 2*time.Second).Should(Succeed())
	g.Expect(getRollout(g, ns, "web").Status).To(Equal(before))
	g.Expect(m2.writes.Load()).To(BeZero(), "a reconcile with nothing to do writes nothing")

	annotate(g, ns, "web", cutoverv1alpha1.AnnotationPromote, "true")
	g.Eventually(func(g Gomega) map[string]int32 { return sizes(g, ns, "web") }).
		Should(Equal(map[string]int32{stable: 2, canary: 4}))
	finishCanary(g, ns, "web", canary)
	r := getRollout(g, ns, "web")
	g.Expect(historyOf(r)).To(Equal([]string{canary + ":Promoted", stable + ":Promoted"}))
}

// TestRestartWhileScaling stops the operator right after it created the new revision's
// ReplicaSet, before its pods are available. The next instance continues from step 0 and skips
// nothing: the timed pause still waits its full duration.
func TestRestartWhileScaling(t *testing.T) {
	const pause = 3 * time.Second
	g := newWalkG(t)
	ns := newNamespace(t)
	m1 := startManager(t, ns, nil)
	stable := createStable(g, canaryRollout(ns, "web", digestImage(1), pause))
	canary := startCanary(g, ns, "web", digestImage(2), stable)
	m1.Stop()
	g.Expect(sizes(g, ns, "web")).To(Equal(map[string]int32{stable: 4, canary: 1}))
	uids := rsUIDs(g, ns, "web")

	startManager(t, ns, nil)
	steps := recordSteps(ns, "web")
	g.Eventually(func(g Gomega) {
		r := getRollout(g, ns, "web")
		g.Expect(r.Status.CurrentRevision).To(Equal(canary))
		g.Expect(r.Status.StableRevision).To(Equal(stable))
		g.Expect(stepOf(r)).To(Equal(int32(0)))
		g.Expect(r.Status.Phase).To(Equal(cutoverv1alpha1.PhaseProgressing), r.Status.Message)
		g.Expect(r.Status.ObservedGeneration).To(Equal(r.Generation))
	}).Should(Succeed())
	g.Consistently(func(g Gomega) {
		g.Expect(rsUIDs(g, ns, "web")).To(Equal(uids))
		g.Expect(sizes(g, ns, "web")).To(Equal(map[string]int32{stable: 4, canary: 1}))
		g.Expect(stepOf(getRollout(g, ns, "web"))).To(Equal(int32(0)))
	}, time.Second).Should(Succeed())

	// 25% available: the stable revision gives up one replica and the timed pause starts.
	var pauseEnd time.Time
	g.Eventually(func(g Gomega) {
		markAvailable(g, ns, "web")
		g.Expect(sizes(g, ns, "web")).To(Equal(map[string]int32{stable: 3, canary: 1}))
		r := getRollout(g, ns, "web")
		g.Expect(stepOf(r)).To(Equal(int32(1)))
		g.Expect(r.Status.Progress).NotTo(BeNil())
		g.Expect(r.Status.Progress.StepStartedAt).NotTo(BeNil())
		pauseEnd = r.Status.Progress.StepStartedAt.Add(pause)
	}).Should(Succeed())
	g.Expect(rsUIDs(g, ns, "web")).To(Equal(uids))
	if wait := time.Until(pauseEnd) - 150*time.Millisecond; wait > 0 {
		g.Consistently(func(g Gomega) {
			g.Expect(sizes(g, ns, "web")).To(Equal(map[string]int32{stable: 3, canary: 1}))
			g.Expect(stepOf(getRollout(g, ns, "web"))).To(Equal(int32(1)))
		}, wait).Should(Succeed())
	}
	g.Eventually(func(g Gomega) map[string]int32 { return sizes(g, ns, "web") }).
		Should(Equal(map[string]int32{stable: 3, canary: 2}))
	g.Expect(time.Now()).To(BeTemporally(">=", pauseEnd), "50%% before the end of the pause")

	g.Eventually(func(g Gomega) {
		markAvailable(g, ns, "web")
		g.Expect(sizes(g, ns, "web")).To(Equal(map[string]int32{stable: 2, canary: 2}))
		r := getRollout(g, ns, "web")
		g.Expect(stepOf(r)).To(Equal(int32(3)))
		g.Expect(r.Status.Phase).To(Equal(cutoverv1alpha1.PhasePaused))
	}).Should(Succeed())
	seq := steps.Stop()
	g.Expect(seq).To(ContainElements(int32(0), int32(1), int32(3)))
	for i := 1; i < len(seq); i++ {
		g.Expect(seq[i]).To(BeNumerically(">", seq[i-1]), "step sequence %v goes back", seq)
		g.Expect(seq[i]).To(BeNumerically("<=", 3), "step sequence %v passes the pause{}", seq)
	}
	g.Expect(seq[0]).To(BeNumerically("<=", 0), "step sequence %v", seq)

	annotate(g, ns, "web", cutoverv1alpha1.AnnotationPromote, "true")
	finishCanary(g, ns, "web", canary)
	g.Expect(historyOf(getRollout(g, ns, "web"))).To(Equal([]string{canary + ":Promoted", stable + ":Promoted"}))
}

// TestRestartWithAbortAnnotation sets abort=true around a restart of the operator: while it is
// down, racing its reconcile (stopped at once), and stopped just after the status recorded the
// abort, before the annotation may be removed. The next instance ends Aborted exactly once: one
// history record, the annotation removed, and no second abort if the first instance acted.
func TestRestartWithAbortAnnotation(t *testing.T) {
	for _, when := range []string{"while-down", "at-once", "after-status-write"} {
		t.Run(when, func(t *testing.T) {
			g := newWalkG(t)
			ns := newNamespace(t)
			m1 := startManager(t, ns, nil)
			stable := createStable(g, canaryRollout(ns, "web", digestImage(1), time.Hour))
			canary := walkToFirstPause(g, ns, "web", stable, digestImage(2))

			switch when {
			case "while-down":
				m1.Stop()
				annotate(g, ns, "web", cutoverv1alpha1.AnnotationAbort, "true")
			case "at-once":
				annotate(g, ns, "web", cutoverv1alpha1.AnnotationAbort, "true")
				m1.Stop()
			case "after-status-write":
				annotate(g, ns, "web", cutoverv1alpha1.AnnotationAbort, "true")
				g.Eventually(func(g Gomega) *cutoverv1alpha1.RolloutAction {
					return getRollout(g, ns, "web").Status.LastAction
				}).WithPolling(time.Millisecond).ShouldNot(BeNil())
				m1.Stop()
			}
			mid := getRollout(g, ns, "web")
			var firstAction *metav1.Time
			if mid.Status.LastAction != nil && mid.Status.LastAction.Type == "Abort" {
				firstAction = mid.Status.LastAction.At.DeepCopy()
			}
			t.Logf("after the first instance: phase %s, abort annotation present %t, pendingRemoval %v",
				mid.Status.Phase, mid.Annotations[cutoverv1alpha1.AnnotationAbort] != "", mid.Status.PendingRemoval)

			startManager(t, ns, nil)
			check := func(g Gomega) {
				r := getRollout(g, ns, "web")
				g.Expect(r.Annotations).NotTo(HaveKey(cutoverv1alpha1.AnnotationAbort))
				g.Expect(r.Status.Phase).To(Equal(cutoverv1alpha1.PhaseAborted), r.Status.Message)
				g.Expect(condition(r, cutoverv1alpha1.StalledCondition).Reason).To(Equal(cutoverv1alpha1.ReasonAborted))
				g.Expect(historyOf(r)).To(Equal([]string{canary + ":Aborted", stable + ":Promoted"}))
				g.Expect(r.Status.LastAction).NotTo(BeNil())
				g.Expect(r.Status.LastAction.Type).To(Equal("Abort"))
				if firstAction != nil {
					g.Expect(r.Status.LastAction.At.Time).To(BeTemporally("==", firstAction.Time), "the abort was taken again")
				}
				g.Expect(r.Status.PendingRemoval).To(BeEmpty())
			}
			g.Eventually(check).Should(Succeed())
			g.Eventually(func(g Gomega) map[string]int32 {
				markRevisionAvailable(g, ns, "web", stable)
				return sizes(g, ns, "web")
			}).Should(Equal(map[string]int32{stable: 4}))
			g.Consistently(func(g Gomega) {
				check(g)
				g.Expect(sizes(g, ns, "web")).To(Equal(map[string]int32{stable: 4}))
				g.Expect(eventCount(g, ns, "web", "Normal", "Aborted")).To(BeNumerically("<=", 1))
			}, time.Second).Should(Succeed())
		})
	}
}

// TestRestartWithPromoteAnnotation stops the operator just after the status recorded a
// promote=true at a pause{}, before the annotation may be removed: the next instance must not
// take the same promote again at the pause{} that follows.
func TestRestartWithPromoteAnnotation(t *testing.T) {
	g := newWalkG(t)
	ns := newNamespace(t)
	m1 := startManager(t, ns, nil)
	ro := manualCanaryRollout(ns, "web", digestImage(1))
	// 25% → pause{} → pause{} → 50%
	ro.Spec.Strategy.Canary.Steps = []cutoverv1alpha1.CanaryStep{
		ro.Spec.Strategy.Canary.Steps[0], ro.Spec.Strategy.Canary.Steps[1], ro.Spec.Strategy.Canary.Steps[1],
		ro.Spec.Strategy.Canary.Steps[2],
	}
	stable := createStable(g, ro)
	canary := walkToFirstPause(g, ns, "web", stable, digestImage(2))
	g.Eventually(func(g Gomega) cutoverv1alpha1.RolloutPhase { return getRollout(g, ns, "web").Status.Phase }).
		Should(Equal(cutoverv1alpha1.PhasePaused))

	annotate(g, ns, "web", cutoverv1alpha1.AnnotationPromote, "true")
	g.Eventually(func(g Gomega) *cutoverv1alpha1.RolloutAction {
		return getRollout(g, ns, "web").Status.LastAction
	}).WithPolling(time.Millisecond).ShouldNot(BeNil())
	m1.Stop()
	mid := getRollout(g, ns, "web")
	t.Logf("after the first instance: step %d, promote annotation present %t, pendingRemoval %v",
		stepOf(mid), mid.Annotations[cutoverv1alpha1.AnnotationPromote] != "", mid.Status.PendingRemoval)
	g.Expect(stepOf(mid)).To(Equal(int32(2)))

	startManager(t, ns, nil)
	check := func(g Gomega) {
		g.Expect(sizes(g, ns, "web")).To(Equal(map[string]int32{stable: 3, canary: 1}))
		r := getRollout(g, ns, "web")
		g.Expect(r.Annotations).NotTo(HaveKey(cutoverv1alpha1.AnnotationPromote))
		g.Expect(stepOf(r)).To(Equal(int32(2)), "the promote was taken again")
		g.Expect(r.Status.Phase).To(Equal(cutoverv1alpha1.PhasePaused), r.Status.Message)
		g.Expect(r.Status.PendingRemoval).To(BeEmpty())
	}
	g.Eventually(check).Should(Succeed())
	g.Consistently(check, time.Second).Should(Succeed())

	annotate(g, ns, "web", cutoverv1alpha1.AnnotationPromote, "true")
	g.Eventually(func(g Gomega) map[string]int32 { return sizes(g, ns, "web") }).
		Should(Equal(map[string]int32{stable: 3, canary: 2}))
	finishCanary(g, ns, "web", canary)
}
