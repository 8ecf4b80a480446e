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
	networkingv1 "istio.io/client-go/pkg/apis/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	cutoverv1alpha1 "github.com/cutover-dev/cutover/api/v1alpha1"
)

// healthyIstio creates the Istio objects and a Rollout routed by them, and waits until its first
// revision is stable. It returns the stable revision.
func healthyIstio(t *testing.T, g *WithT, ns string, mutate func(*cutoverv1alpha1.Rollout)) string {
	t.Helper()
	istioObjects(g, ns)
	ro := istioRollout(ns, "web", digestImage(1))
	if mutate != nil {
		mutate(ro)
	}
	g.Expect(k8sClient.Create(context.Background(), ro)).To(Succeed())
	var stable string
	g.Eventually(func(g Gomega) {
		markAvailable(g, ns, "web")
		r := getRollout(g, ns, "web")
		g.Expect(r.Status.Phase).To(Equal(cutoverv1alpha1.PhaseHealthy), r.Status.Message)
		stable = r.Status.StableRevision
		g.Expect(readRouting(g, ns).StableLabel).To(Equal(stable))
	}).Should(Succeed())
	return stable
}

// TestIstioCanaryNeverReady: the new revision's pods never become ready. Its weight never leaves
// 0, and the progress deadline aborts back to stable.
func TestIstioCanaryNeverReady(t *testing.T) {
	g := NewWithT(t)
	g.SetDefaultEventuallyTimeout(waitTimeout)
	g.SetDefaultEventuallyPollingInterval(pollEvery)
	ns := newNamespace(t)
	startManager(t, ns, nil)
	stable := healthyIstio(t, g, ns, func(ro *cutoverv1alpha1.Rollout) { ro.Spec.ProgressDeadlineSeconds = ptr.To[int32](3) })

	setImage(g, ns, "web", digestImage(2))
	maxWeight := int32(0)
	g.Eventually(func(g Gomega) {
		r := readRouting(g, ns)
		maxWeight = max(maxWeight, r.Canary)
		g.Expect(r.Canary).To(BeZero())
		g.Expect(r.Stable).To(Equal(int32(100)))
		ro := getRollout(g, ns, "web")
		g.Expect(ro.Status.Phase).To(Equal(cutoverv1alpha1.PhaseAborted), ro.Status.Message)
		g.Expect(condition(ro, cutoverv1alpha1.StalledCondition).Reason).To(Equal(cutoverv1alpha1.ReasonProgressDeadlineExceeded))
		g.Expect(sizes(g, ns, "web")).To(Equal(map[string]int32{stable: 4}))
	}).Should(Succeed())
	g.Expect(maxWeight).To(BeZero(), "the canary weight never left 0")
	g.Expect(readRouting(g, ns).StableLabel).To(Equal(stable))
}

// TestIstioDriftReverted: an edited weight and an edited subset label are put back with a
// DriftReverted Event; a field Cutover does not own is left alone.
func TestIstioDriftReverted(t *testing.T) {
	g := NewWithT(t)
	g.SetDefaultEventuallyTimeout(waitTimeout)
	g.SetDefaultEventuallyPollingInterval(pollEvery)
	ns := newNamespace(t)
	startManager(t, ns, nil)
	stable := healthyIstio(t, g, ns, nil)
	ctx := context.Background()

	vs := &networkingv1.VirtualService{}
	g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "checkout"}, vs)).To(Succeed())
	vs.Spec.Http[0].Route[0].Weight = 50
	vs.Spec.Http[0].Route[1].Weight = 50
	vs.Spec.Http[0].Retries.Attempts = 7 // not Cutover's: it stays
	g.Expect(k8sClient.Update(ctx, vs, client.FieldOwner("kubectl-edit"))).To(Succeed())
	g.Eventually(func(g Gomega) {
		r := readRouting(g, ns)
		g.Expect(r.Stable).To(Equal(int32(100)))
		g.Expect(r.Canary).To(BeZero())
		g.Expect(r.Retries).To(Equal(int32(7)))
	}).Should(Succeed())

	dr := &networkingv1.DestinationRule{}
	g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "checkout"}, dr)).To(Succeed())
	dr.Spec.Subsets[0].Labels[cutoverv1alpha1.LabelRevision] = "0000000000"
	g.Expect(k8sClient.Update(ctx, dr, client.FieldOwner("kubectl-edit"))).To(Succeed())
	g.Eventually(func(g Gomega) string { return readRouting(g, ns).StableLabel }).Should(Equal(stable))
	g.Eventually(func(g Gomega) []string { return eventReasons(g, ns, "web") }).Should(ContainElement("DriftReverted"))
	g.Consistently(func(g Gomega) int32 { return readRouting(g, ns).Retries }, time.Second).Should(Equal(int32(7)))
}

// TestIstioMissingObject: a missing VirtualService gives a clear condition; no ReplicaSet is
// created or deleted and nothing is routed. Creating it later lets the rollout go on.
func TestIstioMissingObject(t *testing.T) {
	g := NewWithT(t)
	g.SetDefaultEventuallyTimeout(waitTimeout)
	g.SetDefaultEventuallyPollingInterval(pollEvery)
	ns := newNamespace(t)
	startManager(t, ns, nil)
	stable := healthyIstio(t, g, ns, nil)
	ctx := context.Background()

	// The VirtualService goes away; a new template must not move anything.
	g.Expect(k8sClient.Delete(ctx, &networkingv1.VirtualService{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "checkout"}})).To(Succeed())
	setImage(g, ns, "web", digestImage(3))
	g.Eventually(func(g Gomega) {
		r := getRollout(g, ns, "web")
		c := condition(r, cutoverv1alpha1.ReadyCondition)
		g.Expect(c.Reason).To(Equal(cutoverv1alpha1.ReasonReferenceNotFound))
		g.Expect(c.Message).To(ContainSubstring("checkout"))
		g.Expect(condition(r, cutoverv1alpha1.TrafficRoutedCondition).Status).To(Equal(metav1.ConditionFalse))
	}).Should(Succeed())
	g.Consistently(func(g Gomega) map[string]int32 { return sizes(g, ns, "web") }, time.Second).
		Should(Equal(map[string]int32{stable: 4}))
	g.Eventually(func(g Gomega) []string { return eventReasons(g, ns, "web") }).Should(ContainElement("ReferenceNotFound"))

	// Created again (as the user's GitOps tool would): the rollout goes on.
	vs := &networkingv1.VirtualService{}
	err := k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "checkout"}, vs)
	g.Expect(apierrors.IsNotFound(err)).To(BeTrue())
	dr := &networkingv1.DestinationRule{}
	g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "checkout"}, dr)).To(Succeed())
	g.Expect(k8sClient.Delete(ctx, dr)).To(Succeed())
	istioObjects(g, ns)
	g.Eventually(func(g Gomega) {
		markAvailable(g, ns, "web")
		g.Expect(sizes(g, ns, "web")).To(HaveLen(2))
		g.Expect(readRouting(g, ns).Canary).To(BeNumerically(">=", 10))
	}).Should(Succeed())
}

// TestIstioDeleteRolloutRoutesToStable: deleting a Rollout mid-canary leaves the routing on the
// stable revision, with weight 100 on the stable subset.
func TestIstioDeleteRolloutRoutesToStable(t *testing.T) {
	g := NewWithT(t)
	g.SetDefaultEventuallyTimeout(waitTimeout)
	g.SetDefaultEventuallyPollingInterval(pollEvery)
	ns := newNamespace(t)
	startManager(t, ns, nil)
	stable := healthyIstio(t, g, ns, nil)
	setImage(g, ns, "web", digestImage(4))
	g.Eventually(func(g Gomega) int32 {
		markAvailable(g, ns, "web")
		return readRouting(g, ns).Canary
	}).Should(Equal(int32(30)))

	g.Expect(k8sClient.Delete(context.Background(), getRollout(g, ns, "web"))).To(Succeed())
	g.Eventually(func(g Gomega) {
		err := k8sClient.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "web"}, &cutoverv1alpha1.Rollout{})
		g.Expect(apierrors.IsNotFound(err)).To(BeTrue(), "the finalizer is released")
		r := readRouting(g, ns)
		g.Expect(r.Stable).To(Equal(int32(100)))
		g.Expect(r.Canary).To(BeZero())
		g.Expect(r.StableLabel).To(Equal(stable))
	}).Should(Succeed())
}

// TestIstioHeldRoutingStaysSafe: spec.paused holds a canary at 30% (2 of 4 pods), but not
// against safety. A weight edited out of band is put back, and when the canary loses pods its
// weight drops to what the rest can serve; nothing is scaled meanwhile.
func TestIstioHeldRoutingStaysSafe(t *testing.T) {
	g := NewWithT(t)
	g.SetDefaultEventuallyTimeout(waitTimeout)
	g.SetDefaultEventuallyPollingInterval(pollEvery)
	ns := newNamespace(t)
	startManager(t, ns, nil)
	stable := healthyIstio(t, g, ns, nil)
	ctx := context.Background()

	setImage(g, ns, "web", digestImage(2))
	var canary string
	g.Eventually(func(g Gomega) {
		markAvailable(g, ns, "web")
		r := getRollout(g, ns, "web")
		g.Expect(r.Status.Phase).To(Equal(cutoverv1alpha1.PhasePaused), r.Status.Message)
		g.Expect(readRouting(g, ns).Canary).To(Equal(int32(30)))
		canary = r.Status.CurrentRevision
	}).Should(Succeed())
	setSpecPaused(g, ns, "web", true)
	g.Eventually(func(g Gomega) string { return getRollout(g, ns, "web").Status.Message }).
		Should(ContainSubstring("held by spec.paused"))

	vs := &networkingv1.VirtualService{}
	g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "checkout"}, vs)).To(Succeed())
	vs.Spec.Http[0].Route[0].Weight = 50
	vs.Spec.Http[0].Route[1].Weight = 50
	g.Expect(k8sClient.Update(ctx, vs, client.FieldOwner("kubectl-edit"))).To(Succeed())
	g.Eventually(func(g Gomega) int32 { return readRouting(g, ns).Canary }).Should(Equal(int32(30)))

	// One of the canary's two pods stops being available: 1 of 4 pods serves 25%.
	setAvailable(g, ns, "web", canary, 1)
	g.Eventually(func(g Gomega) routing { return readRouting(g, ns) }).Should(And(
		HaveField("Canary", Equal(int32(25))), HaveField("Stable", Equal(int32(75)))))
	setAvailable(g, ns, "web", canary, 0)
	g.Eventually(func(g Gomega) routing { return readRouting(g, ns) }).Should(And(
		HaveField("Canary", Equal(int32(0))), HaveField("Stable", Equal(int32(100)))))
	// Held: the pods coming back raise nothing, and nothing was scaled.
	setAvailable(g, ns, "web", canary, 2)
	g.Consistently(func(g Gomega) int32 { return readRouting(g, ns).Canary }, time.Second, pollEvery).Should(BeZero())
	g.Expect(sizes(g, ns, "web")).To(Equal(map[string]int32{stable: 4, canary: 2}))
	g.Expect(getRollout(g, ns, "web").Status.CurrentStepIndex).To(HaveValue(Equal(int32(2))))
}

// setAvailable plays the ReplicaSet controller for one revision: n of its pods are ready and
// available.
func setAvailable(g Gomega, ns, name, rev string, n int32) {
	rs := replicaSets(g, ns, name)[rev]
	g.Expect(rs.Name).NotTo(BeEmpty(), "no ReplicaSet for revision %s", rev)
	rs.Status.ReadyReplicas, rs.Status.AvailableReplicas = n, n
	rs.Status.ObservedGeneration = rs.Generation
	g.Expect(k8sClient.Status().Update(context.Background(), &rs)).To(Succeed())
}
