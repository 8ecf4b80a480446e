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
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	cutoverv1alpha1 "github.com/cutover-dev/cutover/api/v1alpha1"
)

// templateWatch remembers the pod template of every ReplicaSet it has seen, by UID, and fails if
// one ever changes: the operator never edits a ReplicaSet's template.
type templateWatch map[string]corev1.PodTemplateSpec

func (w templateWatch) check(g Gomega, ns, name string) {
	for _, rs := range replicaSets(g, ns, name) {
		if old, ok := w[string(rs.UID)]; ok {
			g.Expect(equality.Semantic.DeepEqual(old, rs.Spec.Template)).To(BeTrue(), "template of %s changed", rs.Name)
			continue
		}
		w[string(rs.UID)] = rs.Spec.Template
	}
}

// TestCanaryWalk walks a canary without a mesh through 25% → pause 2s → 50% → pause{} → promote
// → 100% on the real API server, playing the ReplicaSet controller by hand.
func TestCanaryWalk(t *testing.T) {
	g := NewWithT(t)
	g.SetDefaultEventuallyTimeout(waitTimeout)
	g.SetDefaultEventuallyPollingInterval(pollEvery)
	ns := newNamespace(t)
	startManager(t, ns, nil)
	seen := templateWatch{}
	ctx := context.Background()

	ro := canaryRollout(ns, "web", digestImage(1), 2*time.Second)
	g.Expect(k8sClient.Create(ctx, ro)).To(Succeed())

	// The first revision goes straight to full size and becomes stable.
	var stable string
	g.Eventually(func(g Gomega) {
		s := sizes(g, ns, "web")
		g.Expect(s).To(HaveLen(1))
		for rev, n := range s {
			g.Expect(n).To(Equal(int32(4)))
			stable = rev
		}
	}).Should(Succeed())
	g.Expect(replicaSets(g, ns, "web")[stable].Name).To(Equal("web-" + stable))
	markAvailable(g, ns, "web")
	g.Eventually(func(g Gomega) {
		r := getRollout(g, ns, "web")
		g.Expect(r.Status.Phase).To(Equal(cutoverv1alpha1.PhaseHealthy), r.Status.Message)
		g.Expect(condition(r, cutoverv1alpha1.ReadyCondition).Status).To(Equal(metav1.ConditionTrue))
		g.Expect(r.Status.StableRevision).To(Equal(stable))
		g.Expect(r.Status.ObservedGeneration).To(Equal(r.Generation))
	}).Should(Succeed())
	seen.check(g, ns, "web")

	// A new template: a new ReplicaSet at 25% (1 of 4); the stable one stays at 4 until it is available.
	setImage(g, ns, "web", digestImage(2))
	var canary string
	g.Eventually(func(g Gomega) {
		s := sizes(g, ns, "web")
		g.Expect(s).To(HaveLen(2))
		for rev := range s {
			if rev != stable {
				canary = rev
			}
		}
		g.Expect(s).To(Equal(map[string]int32{stable: 4, canary: 1}))
	}).Should(Succeed())
	seen.check(g, ns, "web")
	g.Expect(getRollout(g, ns, "web").Status.StableRevision).To(Equal(stable))

	markAvailable(g, ns, "web")
	g.Eventually(func(g Gomega) map[string]int32 { return sizes(g, ns, "web") }).
		Should(Equal(map[string]int32{stable: 3, canary: 1}))
	g.Eventually(func(g Gomega) int32 { return *getRollout(g, ns, "web").Status.CurrentStepIndex }).Should(Equal(int32(1)))

	// After the 2s pause: 50%.
	g.Eventually(func(g Gomega) map[string]int32 { return sizes(g, ns, "web") }).
		Should(Equal(map[string]int32{stable: 3, canary: 2}))
	seen.check(g, ns, "web")
	markAvailable(g, ns, "web")
	g.Eventually(func(g Gomega) map[string]int32 { return sizes(g, ns, "web") }).
		Should(Equal(map[string]int32{stable: 2, canary: 2}))

	// pause{} waits for a promote.
	g.Eventually(func(g Gomega) {
		r := getRollout(g, ns, "web")
		g.Expect(r.Status.Phase).To(Equal(cutoverv1alpha1.PhasePaused))
		g.Expect(*r.Status.CurrentStepIndex).To(Equal(int32(3)))
		g.Expect(r.Status.CanaryWeight).To(Equal(int32(50)))
		g.Expect(condition(r, cutoverv1alpha1.ReconcilingCondition).Status).To(Equal(metav1.ConditionTrue))
	}).Should(Succeed())
	g.Consistently(func(g Gomega) map[string]int32 { return sizes(g, ns, "web") }, time.Second).
		Should(Equal(map[string]int32{stable: 2, canary: 2}))

	annotate(g, ns, "web", cutoverv1alpha1.AnnotationPromote, "true")
	g.Eventually(func(g Gomega) map[string]int32 { return sizes(g, ns, "web") }).
		Should(Equal(map[string]int32{stable: 2, canary: 4}))
	g.Eventually(func(g Gomega) {
		r := getRollout(g, ns, "web")
		g.Expect(r.Annotations).NotTo(HaveKey(cutoverv1alpha1.AnnotationPromote))
		g.Expect(r.Status.LastAction).NotTo(BeNil())
		g.Expect(r.Status.LastAction.Type).To(Equal("Promote"))
	}).Should(Succeed())
	seen.check(g, ns, "web")

	// Fully available: the old ReplicaSet is deleted, the new revision is stable.
	markAvailable(g, ns, "web")
	g.Eventually(func(g Gomega) map[string]int32 { return sizes(g, ns, "web") }).
		Should(Equal(map[string]int32{canary: 4}))
	g.Eventually(func(g Gomega) {
		r := getRollout(g, ns, "web")
		g.Expect(r.Status.Phase).To(Equal(cutoverv1alpha1.PhaseHealthy))
		g.Expect(r.Status.StableRevision).To(Equal(canary))
		g.Expect(r.Status.CurrentRevision).To(Equal(canary))
		g.Expect(condition(r, cutoverv1alpha1.ReadyCondition).Status).To(Equal(metav1.ConditionTrue))
		g.Expect(r.Status.History).To(HaveLen(2))
		g.Expect(r.Status.History[0].Revision).To(Equal(canary))
		g.Expect(r.Status.History[0].Outcome).To(Equal("Promoted"))
		g.Expect(r.Status.History[1].Revision).To(Equal(stable))
	}).Should(Succeed())
	seen.check(g, ns, "web")
	// One Event per position: each weight is reached together with the pause after it, so the
	// pause's Event names the weight and no WeightChanged is emitted on its own.
	g.Eventually(func(g Gomega) []string { return eventReasons(g, ns, "web") }).
		Should(ConsistOf("RevisionCreated", "Completed", "RevisionCreated", "Paused", "Paused", "Promoted", "Completed"))
}
