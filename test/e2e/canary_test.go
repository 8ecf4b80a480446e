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
	"testing"
	"time"

	. "github.com/onsi/gomega" //nolint:revive // Gomega's DSL reads best unqualified.
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	cutoverv1alpha1 "github.com/cutover-dev/cutover/api/v1alpha1"
)

const e2eTimeout = 60 * time.Second

// templates remembers every ReplicaSet's pod template by UID and fails if one changes.
type templates map[string]corev1.PodTemplateSpec

func (seen templates) check(w world, name string) {
	for _, rs := range w.replicaSets(name) {
		if old, ok := seen[string(rs.UID)]; ok {
			w.g.Expect(equality.Semantic.DeepEqual(old, rs.Spec.Template)).To(BeTrue(), "the template of %s changed", rs.Name)
			continue
		}
		seen[string(rs.UID)] = rs.Spec.Template
	}
}

// givenHealthy creates a Rollout and waits for its first revision to run 4 Ready pods.
func givenHealthy(t *testing.T, w world, ro *cutoverv1alpha1.Rollout) string {
	t.Helper()
	w.g.Expect(k8sClient.Create(context.Background(), ro)).To(Succeed())
	var stable string
	w.g.Eventually(func(g Gomega) {
		r := world{g, w.ns}.rollout(ro.Name)
		g.Expect(r.Status.Phase).To(Equal(cutoverv1alpha1.PhaseHealthy), r.Status.Message)
		stable = r.Status.StableRevision
		g.Expect(world{g, w.ns}.readyPods(stable)).To(Equal(4))
	}).Should(Succeed())
	return stable
}

// givenShop starts a manager on a fresh namespace and a healthy canary "shop" (image a1,
// standardSteps, then changed by edit if given); it returns the test's Gomega, the namespace,
// its world and the stable revision.
func givenShop(t *testing.T, edit ...func(*cutoverv1alpha1.Rollout)) (*WithT, string, world, string) {
	t.Helper()
	g := NewWithT(t)
	g.SetDefaultEventuallyTimeout(e2eTimeout)
	g.SetDefaultEventuallyPollingInterval(200 * time.Millisecond)
	ns := newNamespace(t)
	startManager(t, ns)
	w := world{g, ns}
	ro := e2eRollout(ns, "shop", image("a1"), standardSteps()...)
	for _, e := range edit {
		e(ro)
	}
	return g, ns, w, givenHealthy(t, w, ro)
}

// canaryOf returns the revision that is not stable.
func canaryOf(g Gomega, w world, name, stable string) string {
	for rev := range w.replicaSets(name) {
		if rev != stable {
			return rev
		}
	}
	g.Expect("no canary ReplicaSet").To(BeEmpty())
	return ""
}

// TestCanaryEndToEnd walks 25% → pause 2s → 50% → pause{} → promote → 100% on the local control
// plane: kube-controller-manager makes the pods, kwok makes them Ready.
func TestCanaryEndToEnd(t *testing.T) {
	g, ns, w, stable := givenShop(t)
	seen := templates{}
	seen.check(w, "shop")

	w.setImage("shop", image("b2"))
	var canary string
	g.Eventually(func(g Gomega) {
		w := world{g, ns}
		canary = canaryOf(g, w, "shop", stable)
		// 25% of 4: one new pod Ready, then the stable revision steps down to 3.
		g.Expect(w.sizes("shop")).To(Equal(map[string]int32{stable: 3, canary: 1}))
		g.Expect(w.readyPods(canary)).To(Equal(1))
	}).Should(Succeed())
	seen.check(w, "shop")

	// After the 2 s pause: 50%, then pause{}.
	g.Eventually(func(g Gomega) {
		w := world{g, ns}
		r := w.rollout("shop")
		g.Expect(r.Status.Phase).To(Equal(cutoverv1alpha1.PhasePaused), r.Status.Message)
		g.Expect(*r.Status.CurrentStepIndex).To(Equal(int32(3)))
		g.Expect(w.sizes("shop")).To(Equal(map[string]int32{stable: 2, canary: 2}))
		g.Expect(w.readyPods(canary)).To(Equal(2))
	}).Should(Succeed())
	seen.check(w, "shop")
	g.Consistently(func(g Gomega) map[string]int32 { return world{g, ns}.sizes("shop") }, 2*time.Second).
		Should(Equal(map[string]int32{stable: 2, canary: 2}))

	w.annotate("shop", cutoverv1alpha1.AnnotationPromote, "true")
	out, err := kubectl(t, "-n", ns, "wait", "--for=condition=Ready", "rollout/shop", "--timeout=60s")
	g.Expect(err).NotTo(HaveOccurred(), out)

	g.Eventually(func(g Gomega) {
		w := world{g, ns}
		r := w.rollout("shop")
		g.Expect(r.Status.Phase).To(Equal(cutoverv1alpha1.PhaseHealthy))
		g.Expect(r.Status.StableRevision).To(Equal(canary))
		g.Expect(w.sizes("shop")).To(Equal(map[string]int32{canary: 4}), "the old ReplicaSet is deleted")
		g.Expect(w.readyPods(canary)).To(Equal(4))
		g.Expect(r.Annotations).NotTo(HaveKey(cutoverv1alpha1.AnnotationPromote))
		g.Expect(r.Status.History).To(HaveLen(2))
		g.Expect(r.Status.History[0]).To(HaveField("Revision", canary))
		g.Expect(r.Status.History[0]).To(HaveField("Outcome", "Promoted"))
		g.Expect(r.Status.History[1]).To(HaveField("Revision", stable))
		g.Expect(r.Status.ObservedGeneration).To(Equal(r.Generation))
		ready := condition(r, cutoverv1alpha1.ReadyCondition)
		g.Expect(ready).NotTo(BeNil())
		g.Expect(ready.Status).To(Equal(metav1.ConditionTrue))
	}).Should(Succeed())
	seen.check(w, "shop")

	out, err = kubectl(t, "-n", ns, "get", "rollouts")
	g.Expect(err).NotTo(HaveOccurred(), out)
	g.Expect(out).To(ContainSubstring("Healthy"))
	t.Logf("kubectl get rollouts:\n%s", out)
}

// TestAbortAndRetryEndToEnd aborts at pause{}, then retries the same revision to the end.
func TestAbortAndRetryEndToEnd(t *testing.T) {
	g, ns, w, stable := givenShop(t)
	w.setImage("shop", image("c3"))
	g.Eventually(func(g Gomega) cutoverv1alpha1.RolloutPhase { return world{g, ns}.rollout("shop").Status.Phase }).
		Should(Equal(cutoverv1alpha1.PhasePaused))
	canary := canaryOf(g, w, "shop", stable)

	w.annotate("shop", cutoverv1alpha1.AnnotationAbort, "true")
	g.Eventually(func(g Gomega) {
		w := world{g, ns}
		r := w.rollout("shop")
		g.Expect(r.Status.Phase).To(Equal(cutoverv1alpha1.PhaseAborted))
		g.Expect(condition(r, cutoverv1alpha1.StalledCondition)).NotTo(BeNil())
		g.Expect(w.sizes("shop")).To(Equal(map[string]int32{stable: 4}))
		g.Expect(w.readyPods(stable)).To(Equal(4))
		g.Expect(r.Annotations).NotTo(HaveKey(cutoverv1alpha1.AnnotationAbort))
		g.Expect(r.Status.History[0]).To(HaveField("Outcome", "Aborted"))
	}).Should(Succeed())

	w.annotate("shop", cutoverv1alpha1.AnnotationRetry, "true")
	g.Eventually(func(g Gomega) {
		w := world{g, ns}
		r := w.rollout("shop")
		g.Expect(r.Status.Phase).To(Equal(cutoverv1alpha1.PhasePaused), r.Status.Message)
		g.Expect(w.sizes("shop")).To(Equal(map[string]int32{stable: 2, canary: 2}))
	}).Should(Succeed())
	w.annotate("shop", cutoverv1alpha1.AnnotationPromote, "full")
	g.Eventually(func(g Gomega) {
		w := world{g, ns}
		g.Expect(w.rollout("shop").Status.Phase).To(Equal(cutoverv1alpha1.PhaseHealthy))
		g.Expect(w.sizes("shop")).To(Equal(map[string]int32{canary: 4}))
	}).Should(Succeed())
}

// TestNewRevisionMidCanaryEndToEnd replaces the revision in flight; the new one starts at step 1
// against the same stable revision.
func TestNewRevisionMidCanaryEndToEnd(t *testing.T) {
	g, ns, w, stable := givenShop(t)
	w.setImage("shop", image("d4"))
	g.Eventually(func(g Gomega) cutoverv1alpha1.RolloutPhase { return world{g, ns}.rollout("shop").Status.Phase }).
		Should(Equal(cutoverv1alpha1.PhasePaused))
	first := canaryOf(g, w, "shop", stable)

	w.setImage("shop", image("e5"))
	g.Eventually(func(g Gomega) {
		w := world{g, ns}
		r := w.rollout("shop")
		g.Expect(r.Status.StableRevision).To(Equal(stable))
		g.Expect(r.Status.CurrentRevision).NotTo(Equal(first))
		g.Expect(w.replicaSets("shop")).NotTo(HaveKey(first), "the superseded ReplicaSet is torn down")
		g.Expect(r.Status.History[0]).To(HaveField("Revision", first))
		g.Expect(r.Status.History[0]).To(HaveField("Outcome", "Superseded"))
		g.Expect(r.Status.Phase).To(Equal(cutoverv1alpha1.PhasePaused), r.Status.Message)
		g.Expect(w.sizes("shop")).To(Equal(map[string]int32{stable: 2, r.Status.CurrentRevision: 2}))
	}).Should(Succeed())
}

// TestProgressDeadlineEndToEnd: the new revision's pods can never be scheduled, so they never
// become Ready; the progress deadline aborts back to stable.
func TestProgressDeadlineEndToEnd(t *testing.T) {
	g, ns, w, stable := givenShop(t, func(ro *cutoverv1alpha1.Rollout) { ro.Spec.ProgressDeadlineSeconds = ptrInt32(5) })
	w.patchRollout("shop", func(ro *cutoverv1alpha1.Rollout) {
		ro.Spec.Template.Spec.Containers[0].Image = image("f6")
		ro.Spec.Template.Spec.NodeSelector["no-such-node"] = "true"
	})
	g.Eventually(func(g Gomega) {
		w := world{g, ns}
		r := w.rollout("shop")
		g.Expect(r.Status.Phase).To(Equal(cutoverv1alpha1.PhaseAborted), r.Status.Message)
		stalled := condition(r, cutoverv1alpha1.StalledCondition)
		g.Expect(stalled).NotTo(BeNil())
		g.Expect(stalled.Reason).To(Equal(cutoverv1alpha1.ReasonProgressDeadlineExceeded))
		g.Expect(w.sizes("shop")).To(Equal(map[string]int32{stable: 4}))
		g.Expect(w.readyPods(stable)).To(Equal(4))
	}).Should(Succeed())
}

// TestRestartEndToEnd kills the manager while paused, and again right after a scale, and checks
// that a new one continues with no extra ReplicaSet and no skipped step.
func TestRestartEndToEnd(t *testing.T) {
	g := NewWithT(t)
	g.SetDefaultEventuallyTimeout(e2eTimeout)
	g.SetDefaultEventuallyPollingInterval(200 * time.Millisecond)
	ns := newNamespace(t)
	m := startManager(t, ns)
	w := world{g, ns}
	stable := givenHealthy(t, w, e2eRollout(ns, "shop", image("a1"), standardSteps()...))
	w.setImage("shop", image("a7"))
	g.Eventually(func(g Gomega) cutoverv1alpha1.RolloutPhase { return world{g, ns}.rollout("shop").Status.Phase }).
		Should(Equal(cutoverv1alpha1.PhasePaused))
	canary := canaryOf(g, w, "shop", stable)
	uids := map[string]string{}
	for rev, rs := range w.replicaSets("shop") {
		uids[rev] = string(rs.UID)
	}

	m.Kill()
	m = startManager(t, ns)
	g.Consistently(func(g Gomega) {
		w := world{g, ns}
		r := w.rollout("shop")
		g.Expect(r.Status.Phase).To(Equal(cutoverv1alpha1.PhasePaused))
		g.Expect(*r.Status.CurrentStepIndex).To(Equal(int32(3)))
		got := map[string]string{}
		for rev, rs := range w.replicaSets("shop") {
			got[rev] = string(rs.UID)
		}
		g.Expect(got).To(Equal(uids), "no ReplicaSet is created or replaced")
	}, 3*time.Second, 200*time.Millisecond).Should(Succeed())

	// Promote, and kill the manager as soon as it has scaled up; the next one finishes.
	w.annotate("shop", cutoverv1alpha1.AnnotationPromote, "true")
	g.Eventually(func(g Gomega) int32 { return world{g, ns}.sizes("shop")[canary] }).Should(Equal(int32(4)))
	m.Kill()
	startManager(t, ns)
	g.Eventually(func(g Gomega) {
		w := world{g, ns}
		r := w.rollout("shop")
		g.Expect(r.Status.Phase).To(Equal(cutoverv1alpha1.PhaseHealthy))
		g.Expect(w.sizes("shop")).To(Equal(map[string]int32{canary: 4}))
		g.Expect(r.Status.History).To(HaveLen(2))
	}).Should(Succeed())
}

func condition(ro *cutoverv1alpha1.Rollout, typ string) *metav1.Condition {
	for i := range ro.Status.Conditions {
		if ro.Status.Conditions[i].Type == typ {
			return &ro.Status.Conditions[i]
		}
	}
	return nil
}

func ptrInt32(v int32) *int32 { return &v }
