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
	"testing"
	"time"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	cutoverv1alpha1 "github.com/cutover-dev/cutover/api/v1alpha1"
)

// The tests of this file drive a canary without a mesh through the action annotations of the
// contract (promote, abort, retry), spec.paused and template changes mid-rollout.

// newWalkG returns a Gomega with the controller tests' Eventually defaults.
func newWalkG(t *testing.T) *WithT {
	g := NewWithT(t)
	g.SetDefaultEventuallyTimeout(waitTimeout)
	g.SetDefaultEventuallyPollingInterval(pollEvery)
	g.SetDefaultConsistentlyPollingInterval(pollEvery)
	return g
}

// manualCanaryRollout is a canary Rollout without a mesh whose pauses both wait for a promote:
// 4 replicas, 25% → pause{} → 50% → pause{}.
func manualCanaryRollout(ns, name, image string) *cutoverv1alpha1.Rollout {
	ro := canaryRollout(ns, name, image, time.Hour)
	ro.Spec.Strategy.Canary.Steps[1] = cutoverv1alpha1.CanaryStep{Pause: &cutoverv1alpha1.PauseStep{}}
	return ro
}

// createStable creates ro, plays the ReplicaSet controller for its first revision and waits
// until it is Healthy; it returns the stable revision.
func createStable(g *WithT, ro *cutoverv1alpha1.Rollout) string {
	ns, name := ro.Namespace, ro.Name
	g.Expect(k8sClient.Create(context.Background(), ro)).To(Succeed())
	var stable string
	g.Eventually(func(g Gomega) {
		s := sizes(g, ns, name)
		g.Expect(s).To(HaveLen(1))
		for rev, n := range s {
			g.Expect(n).To(Equal(ptr.Deref(ro.Spec.Replicas, 1)))
			stable = rev
		}
	}).Should(Succeed())
	g.Eventually(func(g Gomega) {
		markAvailable(g, ns, name)
		r := getRollout(g, ns, name)
		g.Expect(r.Status.Phase).To(Equal(cutoverv1alpha1.PhaseHealthy), r.Status.Message)
		g.Expect(r.Status.StableRevision).To(Equal(stable))
	}).Should(Succeed())
	return stable
}

// startCanary changes the image and waits for the new revision's ReplicaSet; it returns the new
// revision.
func startCanary(g *WithT, ns, name, img string, known ...string) string {
	setImage(g, ns, name, img)
	var canary string
	g.Eventually(func(g Gomega) {
		found := ""
		for rev := range sizes(g, ns, name) {
			isKnown := false
			for _, k := range known {
				isKnown = isKnown || k == rev
			}
			if !isKnown {
				found = rev
			}
		}
		g.Expect(found).NotTo(BeEmpty(), "no ReplicaSet for the new revision yet")
		canary = found
	}).Should(Succeed())
	return canary
}

// stepOf is status.currentStepIndex, -1 when unset.
func stepOf(ro *cutoverv1alpha1.Rollout) int32 {
	return ptr.Deref(ro.Status.CurrentStepIndex, -1)
}

// historyOf lists status.history as "revision:outcome", newest first.
func historyOf(ro *cutoverv1alpha1.Rollout) []string {
	var out []string
	for _, h := range ro.Status.History {
		out = append(out, h.Revision+":"+h.Outcome)
	}
	return out
}

// eventCount counts the occurrences of the Events of type typ and reason about a Rollout,
// series included (the events recorder folds repeats into a series).
func eventCount(g Gomega, ns, name, typ, reason string) int {
	list := &eventsv1.EventList{}
	g.Expect(k8sClient.List(context.Background(), list, client.InNamespace(ns))).To(Succeed())
	n := 0
	for _, e := range list.Items {
		if e.Regarding.Kind != "Rollout" || e.Regarding.Name != name || e.Type != typ || e.Reason != reason {
			continue
		}
		if e.Series != nil {
			n += int(e.Series.Count)
		} else {
			n++
		}
	}
	return n
}

// rsUIDs maps each revision of a Rollout to its ReplicaSet's UID.
func rsUIDs(g Gomega, ns, name string) map[string]types.UID {
	out := map[string]types.UID{}
	for rev, rs := range replicaSets(g, ns, name) {
		out[rev] = rs.UID
	}
	return out
}

// markRevisionAvailable plays the ReplicaSet controller for one revision only.
func markRevisionAvailable(g Gomega, ns, name, rev string) {
	rs, ok := replicaSets(g, ns, name)[rev]
	g.Expect(ok).To(BeTrue(), "no ReplicaSet for revision %s", rev)
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		cur := &appsv1.ReplicaSet{}
		if err := k8sClient.Get(context.Background(), client.ObjectKeyFromObject(&rs), cur); err != nil {
			return err
		}
		want := ptr.Deref(cur.Spec.Replicas, 1)
		if cur.Status.AvailableReplicas == want && cur.Status.ObservedGeneration == cur.Generation {
			return nil
		}
		cur.Status = appsv1.ReplicaSetStatus{Replicas: want, ReadyReplicas: want, AvailableReplicas: want,
			FullyLabeledReplicas: want, ObservedGeneration: cur.Generation}
		return k8sClient.Status().Update(context.Background(), cur)
	})
	g.Expect(client.IgnoreNotFound(err)).To(Succeed())
}

// setSpecPaused sets spec.paused.
func setSpecPaused(g Gomega, ns, name string, paused bool) {
	ro := getRollout(g, ns, name)
	orig := ro.DeepCopy()
	ro.Spec.Paused = paused
	g.Expect(k8sClient.Patch(context.Background(), ro, client.MergeFrom(orig))).To(Succeed())
}

// walkToFirstPause starts a canary with img and walks it to 25% with the canary available: the
// stable revision at 3, the canary at 1, at step 1 (a pause), with every ReplicaSet counting the
// pods of its size.
func walkToFirstPause(g *WithT, ns, name, stable, img string) string {
	canary := startCanary(g, ns, name, img, stable)
	g.Eventually(func(g Gomega) map[string]int32 { return sizes(g, ns, name) }).
		Should(Equal(map[string]int32{stable: 4, canary: 1}))
	g.Eventually(func(g Gomega) {
		markAvailable(g, ns, name)
		g.Expect(sizes(g, ns, name)).To(Equal(map[string]int32{stable: 3, canary: 1}))
		r := getRollout(g, ns, name)
		g.Expect(stepOf(r)).To(Equal(int32(1)))
		g.Expect(r.Status.CanaryWeight).To(Equal(int32(25)))
		g.Expect(r.Status.CurrentRevision).To(Equal(canary))
		expectCountsSettled(g, ns, name)
	}).Should(Succeed())
	return canary
}

// finishCanary plays the ReplicaSet controller until the revision is Healthy and stable.
func finishCanary(g *WithT, ns, name, canary string) {
	g.Eventually(func(g Gomega) {
		markAvailable(g, ns, name)
		g.Expect(sizes(g, ns, name)).To(Equal(map[string]int32{canary: 4}))
		r := getRollout(g, ns, name)
		g.Expect(r.Status.Phase).To(Equal(cutoverv1alpha1.PhaseHealthy), r.Status.Message)
		g.Expect(r.Status.StableRevision).To(Equal(canary))
		g.Expect(r.Status.CurrentRevision).To(Equal(canary))
		g.Expect(r.Status.CurrentStepIndex).To(BeNil())
		g.Expect(r.Status.CanaryWeight).To(Equal(int32(100)))
		g.Expect(condition(r, cutoverv1alpha1.ReadyCondition).Status).To(Equal(metav1.ConditionTrue))
		g.Expect(condition(r, cutoverv1alpha1.StalledCondition)).To(BeNil())
	}).Should(Succeed())
}

// TestAbortAndRetry aborts a canary waiting at a pause{}: the stable revision goes back to full
// size before the canary is torn down. A retry then starts the same revision from step 0 in a
// new ReplicaSet of the same name, and promotes take it to Healthy.
func TestAbortAndRetry(t *testing.T) {
	g := newWalkG(t)
	ns := newNamespace(t)
	startManager(t, ns, nil)
	stable := createStable(g, manualCanaryRollout(ns, "web", digestImage(1)))
	canary := walkToFirstPause(g, ns, "web", stable, digestImage(2))
	g.Eventually(func(g Gomega) cutoverv1alpha1.RolloutPhase { return getRollout(g, ns, "web").Status.Phase }).
		Should(Equal(cutoverv1alpha1.PhasePaused))
	firstUID := rsUIDs(g, ns, "web")[canary]

	annotate(g, ns, "web", cutoverv1alpha1.AnnotationAbort, "true")
	g.Eventually(func(g Gomega) {
		r := getRollout(g, ns, "web")
		g.Expect(r.Annotations).NotTo(HaveKey(cutoverv1alpha1.AnnotationAbort))
		g.Expect(r.Status.Phase).To(Equal(cutoverv1alpha1.PhaseAborted), r.Status.Message)
		st := condition(r, cutoverv1alpha1.StalledCondition)
		g.Expect(st).NotTo(BeNil())
		g.Expect(st.Status).To(Equal(metav1.ConditionTrue))
		g.Expect(st.Reason).To(Equal(cutoverv1alpha1.ReasonAborted))
		g.Expect(condition(r, cutoverv1alpha1.ReadyCondition).Status).To(Equal(metav1.ConditionFalse))
		g.Expect(condition(r, cutoverv1alpha1.ReconcilingCondition)).To(BeNil())
		g.Expect(r.Status.CanaryWeight).To(Equal(int32(0)))
		g.Expect(r.Status.StableRevision).To(Equal(stable))
		g.Expect(r.Status.LastAction).NotTo(BeNil())
		g.Expect(r.Status.LastAction.Type).To(Equal("Abort"))
		g.Expect(r.Status.LastAction.Revision).To(Equal(canary))
		g.Expect(historyOf(r)).To(Equal([]string{canary + ":Aborted", stable + ":Promoted"}))
	}).Should(Succeed())
	// The stable revision is scaled back first; the canary keeps its pod until stable is whole.
	g.Eventually(func(g Gomega) map[string]int32 { return sizes(g, ns, "web") }).
		Should(Equal(map[string]int32{stable: 4, canary: 1}))
	g.Consistently(func(g Gomega) map[string]int32 { return sizes(g, ns, "web") }, time.Second).
		Should(Equal(map[string]int32{stable: 4, canary: 1}))
	markRevisionAvailable(g, ns, "web", stable)
	g.Eventually(func(g Gomega) map[string]int32 { return sizes(g, ns, "web") }).
		Should(Equal(map[string]int32{stable: 4}))
	// Aborted stays aborted: nothing brings the canary back by itself.
	g.Consistently(func(g Gomega) {
		g.Expect(sizes(g, ns, "web")).To(Equal(map[string]int32{stable: 4}))
		r := getRollout(g, ns, "web")
		g.Expect(r.Status.Phase).To(Equal(cutoverv1alpha1.PhaseAborted))
		g.Expect(historyOf(r)).To(Equal([]string{canary + ":Aborted", stable + ":Promoted"}))
	}, time.Second).Should(Succeed())
	g.Eventually(func(g Gomega) int { return eventCount(g, ns, "web", "Normal", "Aborted") }).Should(Equal(1))

	// Retry: the same revision, from step 0, in a new ReplicaSet of the same name.
	annotate(g, ns, "web", cutoverv1alpha1.AnnotationRetry, "true")
	g.Eventually(func(g Gomega) {
		g.Expect(sizes(g, ns, "web")).To(Equal(map[string]int32{stable: 4, canary: 1}))
		rs := replicaSets(g, ns, "web")[canary]
		g.Expect(rs.Name).To(Equal("web-" + canary))
		g.Expect(rs.UID).NotTo(Equal(firstUID))
		r := getRollout(g, ns, "web")
		g.Expect(r.Annotations).NotTo(HaveKey(cutoverv1alpha1.AnnotationRetry))
		g.Expect(stepOf(r)).To(Equal(int32(0)))
		g.Expect(r.Status.Phase).To(Equal(cutoverv1alpha1.PhaseProgressing), r.Status.Message)
		g.Expect(r.Status.CurrentRevision).To(Equal(canary))
		g.Expect(r.Status.LastAction.Type).To(Equal("Retry"))
		g.Expect(condition(r, cutoverv1alpha1.StalledCondition)).To(BeNil())
		g.Expect(condition(r, cutoverv1alpha1.ReconcilingCondition).Status).To(Equal(metav1.ConditionTrue))
	}).Should(Succeed())
	g.Eventually(func(g Gomega) []string { return eventReasons(g, ns, "web") }).Should(ContainElement("Retried"))

	// 25% → pause{} → promote → 50% → pause{} → promote → 100%.
	g.Eventually(func(g Gomega) {
		markAvailable(g, ns, "web")
		g.Expect(sizes(g, ns, "web")).To(Equal(map[string]int32{stable: 3, canary: 1}))
		r := getRollout(g, ns, "web")
		g.Expect(stepOf(r)).To(Equal(int32(1)))
		g.Expect(r.Status.Phase).To(Equal(cutoverv1alpha1.PhasePaused))
	}).Should(Succeed())
	annotate(g, ns, "web", cutoverv1alpha1.AnnotationPromote, "true")
	g.Eventually(func(g Gomega) {
		markAvailable(g, ns, "web")
		g.Expect(sizes(g, ns, "web")).To(Equal(map[string]int32{stable: 2, canary: 2}))
		r := getRollout(g, ns, "web")
		g.Expect(stepOf(r)).To(Equal(int32(3)))
		g.Expect(r.Status.Phase).To(Equal(cutoverv1alpha1.PhasePaused))
		g.Expect(r.Annotations).NotTo(HaveKey(cutoverv1alpha1.AnnotationPromote))
	}).Should(Succeed())
	annotate(g, ns, "web", cutoverv1alpha1.AnnotationPromote, "true")
	finishCanary(g, ns, "web", canary)
	r := getRollout(g, ns, "web")
	// The retried revision's record is replaced by its final outcome.
	g.Expect(historyOf(r)).To(Equal([]string{canary + ":Promoted", stable + ":Promoted"}))
	g.Expect(eventCount(g, ns, "web", "Normal", "Aborted")).To(Equal(1))
	g.Eventually(func(g Gomega) []string { return eventReasons(g, ns, "web") }).
		Should(ContainElements("Aborted", "Retried", "Promoted", "Completed"))
}

// TestPromoteFull skips the rest of the steps from a timed pause: the canary goes to 100% at
// once, the stable revision keeps what traffic needs until the canary is available.
func TestPromoteFull(t *testing.T) {
	g := newWalkG(t)
	ns := newNamespace(t)
	startManager(t, ns, nil)
	stable := createStable(g, canaryRollout(ns, "web", digestImage(1), time.Hour))
	canary := walkToFirstPause(g, ns, "web", stable, digestImage(2))

	annotate(g, ns, "web", cutoverv1alpha1.AnnotationPromote, "full")
	g.Eventually(func(g Gomega) {
		g.Expect(sizes(g, ns, "web")).To(Equal(map[string]int32{stable: 3, canary: 4}))
		r := getRollout(g, ns, "web")
		g.Expect(r.Annotations).NotTo(HaveKey(cutoverv1alpha1.AnnotationPromote))
		g.Expect(stepOf(r)).To(Equal(int32(4)))
		g.Expect(r.Status.CanaryWeight).To(Equal(int32(100)))
		g.Expect(r.Status.LastAction).NotTo(BeNil())
		g.Expect(r.Status.LastAction.Type).To(Equal("PromoteFull"))
		g.Expect(r.Status.Phase).To(Equal(cutoverv1alpha1.PhaseProgressing))
	}).Should(Succeed())
	// Until the canary's 4 pods are available, the stable revision keeps 3.
	g.Consistently(func(g Gomega) map[string]int32 { return sizes(g, ns, "web") }, time.Second).
		Should(Equal(map[string]int32{stable: 3, canary: 4}))
	finishCanary(g, ns, "web", canary)
	r := getRollout(g, ns, "web")
	g.Expect(historyOf(r)).To(Equal([]string{canary + ":Promoted", stable + ":Promoted"}))
	g.Eventually(func(g Gomega) []string { return eventReasons(g, ns, "web") }).
		Should(ContainElements("Promoted", "Completed"))
}

// TestUnknownActionValueIsLeftAlone annotates promote=yes at a pause{}: one Warning Event, the
// annotation stays, nothing moves. A valid promote afterwards still works.
func TestUnknownActionValueIsLeftAlone(t *testing.T) {
	g := newWalkG(t)
	ns := newNamespace(t)
	startManager(t, ns, nil)
	stable := createStable(g, manualCanaryRollout(ns, "web", digestImage(1)))
	canary := walkToFirstPause(g, ns, "web", stable, digestImage(2))
	g.Eventually(func(g Gomega) cutoverv1alpha1.RolloutPhase { return getRollout(g, ns, "web").Status.Phase }).
		Should(Equal(cutoverv1alpha1.PhasePaused))

	annotate(g, ns, "web", cutoverv1alpha1.AnnotationPromote, "yes")
	g.Eventually(func(g Gomega) int { return eventCount(g, ns, "web", "Warning", "ActionIgnored") }).Should(Equal(1))
	// Touch the ReplicaSets so that the controller reconciles again: still one Event.
	markAvailable(g, ns, "web")
	annotate(g, ns, "web", "example.com/unrelated", "x")
	g.Consistently(func(g Gomega) {
		r := getRollout(g, ns, "web")
		g.Expect(r.Annotations).To(HaveKeyWithValue(cutoverv1alpha1.AnnotationPromote, "yes"))
		g.Expect(r.Status.Phase).To(Equal(cutoverv1alpha1.PhasePaused))
		g.Expect(stepOf(r)).To(Equal(int32(1)))
		g.Expect(r.Status.LastAction).To(BeNil())
		g.Expect(sizes(g, ns, "web")).To(Equal(map[string]int32{stable: 3, canary: 1}))
		g.Expect(eventCount(g, ns, "web", "Warning", "ActionIgnored")).To(Equal(1))
	}, 2*time.Second).Should(Succeed())

	annotate(g, ns, "web", cutoverv1alpha1.AnnotationPromote, "true")
	g.Eventually(func(g Gomega) {
		g.Expect(sizes(g, ns, "web")).To(Equal(map[string]int32{stable: 3, canary: 2}))
		r := getRollout(g, ns, "web")
		g.Expect(r.Annotations).NotTo(HaveKey(cutoverv1alpha1.AnnotationPromote))
		g.Expect(stepOf(r)).To(Equal(int32(2)))
	}).Should(Succeed())
	g.Expect(eventCount(g, ns, "web", "Warning", "ActionIgnored")).To(Equal(1))
}

// TestDeclarativePromote approves a revision by its hash: a stale hash (another revision) does
// nothing; the current revision's hash passes every pause{} of it and stays on the object; it
// goes stale by itself when a newer revision comes.
func TestDeclarativePromote(t *testing.T) {
	g := newWalkG(t)
	ns := newNamespace(t)
	startManager(t, ns, nil)
	stable := createStable(g, manualCanaryRollout(ns, "web", digestImage(1)))
	canary := walkToFirstPause(g, ns, "web", stable, digestImage(2))
	g.Eventually(func(g Gomega) cutoverv1alpha1.RolloutPhase { return getRollout(g, ns, "web").Status.Phase }).
		Should(Equal(cutoverv1alpha1.PhasePaused))

	// The stable revision's hash approves nothing of the canary.
	annotate(g, ns, "web", cutoverv1alpha1.AnnotationPromote, stable)
	g.Consistently(func(g Gomega) {
		r := getRollout(g, ns, "web")
		g.Expect(r.Annotations).To(HaveKeyWithValue(cutoverv1alpha1.AnnotationPromote, stable))
		g.Expect(r.Status.Phase).To(Equal(cutoverv1alpha1.PhasePaused))
		g.Expect(stepOf(r)).To(Equal(int32(1)))
		g.Expect(sizes(g, ns, "web")).To(Equal(map[string]int32{stable: 3, canary: 1}))
	}, time.Second).Should(Succeed())

	// The canary's hash passes both pause{} steps and is kept.
	annotate(g, ns, "web", cutoverv1alpha1.AnnotationPromote, canary)
	g.Eventually(func(g Gomega) {
		g.Expect(sizes(g, ns, "web")).To(Equal(map[string]int32{stable: 3, canary: 2}))
		r := getRollout(g, ns, "web")
		g.Expect(stepOf(r)).To(Equal(int32(2)))
		g.Expect(r.Annotations).To(HaveKeyWithValue(cutoverv1alpha1.AnnotationPromote, canary))
	}).Should(Succeed())
	markAvailable(g, ns, "web")
	g.Eventually(func(g Gomega) map[string]int32 { return sizes(g, ns, "web") }).
		Should(Equal(map[string]int32{stable: 2, canary: 4}))
	finishCanary(g, ns, "web", canary)
	r := getRollout(g, ns, "web")
	g.Expect(r.Annotations).To(HaveKeyWithValue(cutoverv1alpha1.AnnotationPromote, canary))
	g.Expect(historyOf(r)).To(Equal([]string{canary + ":Promoted", stable + ":Promoted"}))
	g.Expect(eventCount(g, ns, "web", "Warning", "ActionIgnored")).To(Equal(0))

	// A newer revision: the kept approval is stale and the new revision waits at its pause{}.
	next := walkToFirstPause(g, ns, "web", canary, digestImage(3))
	g.Eventually(func(g Gomega) cutoverv1alpha1.RolloutPhase { return getRollout(g, ns, "web").Status.Phase }).
		Should(Equal(cutoverv1alpha1.PhasePaused))
	g.Consistently(func(g Gomega) {
		r := getRollout(g, ns, "web")
		g.Expect(r.Annotations).To(HaveKeyWithValue(cutoverv1alpha1.AnnotationPromote, canary))
		g.Expect(stepOf(r)).To(Equal(int32(1)))
		g.Expect(sizes(g, ns, "web")).To(Equal(map[string]int32{canary: 3, next: 1}))
	}, time.Second).Should(Succeed())
	g.Expect(eventCount(g, ns, "web", "Warning", "ActionIgnored")).To(Equal(0))
}

// TestNewRevisionMidCanary changes the template while a canary is at 25%: the in-flight revision
// is superseded (its ReplicaSet deleted once the stable one is whole again) and the newest one
// starts at step 0 against the same stable revision.
func TestNewRevisionMidCanary(t *testing.T) {
	g := newWalkG(t)
	ns := newNamespace(t)
	startManager(t, ns, nil)
	stable := createStable(g, canaryRollout(ns, "web", digestImage(1), time.Hour))
	first := walkToFirstPause(g, ns, "web", stable, digestImage(2))

	second := startCanary(g, ns, "web", digestImage(3), stable, first)
	g.Eventually(func(g Gomega) {
		g.Expect(sizes(g, ns, "web")).To(Equal(map[string]int32{stable: 4, first: 1, second: 1}))
		r := getRollout(g, ns, "web")
		g.Expect(r.Status.StableRevision).To(Equal(stable))
		g.Expect(r.Status.CurrentRevision).To(Equal(second))
		g.Expect(stepOf(r)).To(Equal(int32(0)))
		g.Expect(r.Status.Phase).To(Equal(cutoverv1alpha1.PhaseProgressing))
		g.Expect(historyOf(r)).To(Equal([]string{first + ":Superseded", stable + ":Promoted"}))
	}).Should(Succeed())
	// The superseded ReplicaSet keeps its pod until the stable revision is whole.
	g.Consistently(func(g Gomega) map[string]int32 { return sizes(g, ns, "web") }, time.Second).
		Should(Equal(map[string]int32{stable: 4, first: 1, second: 1}))

	g.Eventually(func(g Gomega) {
		markAvailable(g, ns, "web")
		g.Expect(sizes(g, ns, "web")).To(Equal(map[string]int32{stable: 3, second: 1}))
		r := getRollout(g, ns, "web")
		g.Expect(stepOf(r)).To(Equal(int32(1)))
		g.Expect(r.Status.CanaryWeight).To(Equal(int32(25)))
		g.Expect(r.Status.StableRevision).To(Equal(stable))
	}).Should(Succeed())

	annotate(g, ns, "web", cutoverv1alpha1.AnnotationPromote, "full")
	finishCanary(g, ns, "web", second)
	r := getRollout(g, ns, "web")
	g.Expect(historyOf(r)).To(Equal([]string{second + ":Promoted", first + ":Superseded", stable + ":Promoted"}))
}

// TestRevertToStableRollsBack puts spec.template back to the stable template mid-canary: the
// rollout rolls back at once, without a new ReplicaSet.
func TestRevertToStableRollsBack(t *testing.T) {
	g := newWalkG(t)
	ns := newNamespace(t)
	startManager(t, ns, nil)
	stable := createStable(g, canaryRollout(ns, "web", digestImage(1), time.Hour))
	stableUID := rsUIDs(g, ns, "web")[stable]
	canary := walkToFirstPause(g, ns, "web", stable, digestImage(2))

	setImage(g, ns, "web", digestImage(1))
	g.Eventually(func(g Gomega) {
		g.Expect(sizes(g, ns, "web")).To(Equal(map[string]int32{stable: 4, canary: 1}))
		r := getRollout(g, ns, "web")
		g.Expect(r.Status.CurrentRevision).To(Equal(stable))
		g.Expect(r.Status.CurrentStepIndex).To(BeNil())
		g.Expect(historyOf(r)).To(Equal([]string{canary + ":Superseded", stable + ":Promoted"}))
	}).Should(Succeed())
	g.Eventually(func(g Gomega) []string { return eventReasons(g, ns, "web") }).Should(ContainElement("RolledBack"))

	markAvailable(g, ns, "web")
	g.Eventually(func(g Gomega) {
		g.Expect(sizes(g, ns, "web")).To(Equal(map[string]int32{stable: 4}))
		r := getRollout(g, ns, "web")
		g.Expect(r.Status.Phase).To(Equal(cutoverv1alpha1.PhaseHealthy), r.Status.Message)
		g.Expect(r.Status.StableRevision).To(Equal(stable))
		g.Expect(r.Status.CanaryWeight).To(Equal(int32(100)))
		g.Expect(condition(r, cutoverv1alpha1.ReadyCondition).Status).To(Equal(metav1.ConditionTrue))
		g.Expect(r.Status.ObservedGeneration).To(Equal(r.Generation))
	}).Should(Succeed())
	g.Expect(rsUIDs(g, ns, "web")[stable]).To(Equal(stableUID))
	g.Expect(eventCount(g, ns, "web", "Normal", "RolledBack")).To(Equal(1))
}

// TestSpecPausedHolds sets spec.paused while the canary's pod is about to become available, the
// moment the stable revision would be scaled down: nothing moves until it is unset.
func TestSpecPausedHolds(t *testing.T) {
	g := newWalkG(t)
	ns := newNamespace(t)
	startManager(t, ns, nil)
	stable := createStable(g, canaryRollout(ns, "web", digestImage(1), time.Hour))
	canary := startCanary(g, ns, "web", digestImage(2), stable)
	g.Eventually(func(g Gomega) map[string]int32 { return sizes(g, ns, "web") }).
		Should(Equal(map[string]int32{stable: 4, canary: 1}))
	// The status records the first step before the hold begins (the round that created the
	// ReplicaSet may have lost its status write; a hold then records nothing new).
	g.Eventually(func(g Gomega) int32 { return stepOf(getRollout(g, ns, "web")) }).Should(Equal(int32(0)))

	setSpecPaused(g, ns, "web", true)
	g.Eventually(func(g Gomega) {
		r := getRollout(g, ns, "web")
		g.Expect(r.Status.ObservedGeneration).To(Equal(r.Generation))
		g.Expect(r.Status.Phase).To(Equal(cutoverv1alpha1.PhasePaused))
		rc := condition(r, cutoverv1alpha1.ReconcilingCondition)
		g.Expect(rc).NotTo(BeNil())
		g.Expect(rc.Status).To(Equal(metav1.ConditionTrue))
		g.Expect(rc.Reason).To(Equal(cutoverv1alpha1.ReasonPaused))
	}).Should(Succeed())
	markAvailable(g, ns, "web")
	g.Consistently(func(g Gomega) {
		g.Expect(sizes(g, ns, "web")).To(Equal(map[string]int32{stable: 4, canary: 1}))
		r := getRollout(g, ns, "web")
		g.Expect(r.Status.Phase).To(Equal(cutoverv1alpha1.PhasePaused))
		g.Expect(stepOf(r)).To(Equal(int32(0)))
	}, 2*time.Second).Should(Succeed())
	g.Eventually(func(g Gomega) []string { return eventReasons(g, ns, "web") }).Should(ContainElement("Paused"))

	setSpecPaused(g, ns, "web", false)
	g.Eventually(func(g Gomega) {
		g.Expect(sizes(g, ns, "web")).To(Equal(map[string]int32{stable: 3, canary: 1}))
		r := getRollout(g, ns, "web")
		g.Expect(stepOf(r)).To(Equal(int32(1)))
		g.Expect(r.Status.Phase).To(Equal(cutoverv1alpha1.PhaseProgressing), r.Status.Message)
		g.Expect(r.Status.Progress).NotTo(BeNil())
		g.Expect(r.Status.Progress.HeldSince).To(BeNil())
	}).Should(Succeed())
}
