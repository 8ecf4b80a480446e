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
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	cutoverv1alpha1 "github.com/cutover-dev/cutover/api/v1alpha1"
)

// idleWindow is how long the write counter must stay still after the idle reconciles.
const idleWindow = 3 * time.Second

// TestIdleReconcileWritesNothing: invariant 6. A Healthy Rollout reconciled with nothing to do
// (a ReplicaSet label, an unrelated annotation) makes no write to the API server; a real change
// afterwards does, which shows the counter counts.
func TestIdleReconcileWritesNothing(t *testing.T) {
	g := newTestGomega(t)
	ns := newNamespace(t)
	m := startManager(t, ns, nil)
	ctx := context.Background()

	g.Expect(k8sClient.Create(ctx, canaryRollout(ns, "web", digestImage(1), time.Minute))).To(Succeed())
	var rev string
	g.Eventually(func(g Gomega) {
		rss := replicaSets(g, ns, "web")
		g.Expect(rss).To(HaveLen(1))
		for r := range rss {
			rev = r
		}
	}).Should(Succeed())
	waitHealthy(g, ns, "web", rev)

	expectIdle(g, m, ns, "web", rev)

	// Control: a real change is written, and the counter sees it.
	w := m.writes.Load()
	setReplicas(g, ns, "web", 5)
	g.Eventually(func(g Gomega) map[string]int32 { return sizes(g, ns, "web") }).Should(Equal(map[string]int32{rev: 5}))
	g.Expect(m.writes.Load()).To(BeNumerically(">", w))
}

// TestIdleReconcileWritesNothingWhilePaused: the same while a canary waits at a pause{} step for
// a promote.
func TestIdleReconcileWritesNothingWhilePaused(t *testing.T) {
	g := newTestGomega(t)
	ns := newNamespace(t)
	m := startManager(t, ns, nil)
	ctx := context.Background()

	g.Expect(k8sClient.Create(ctx, canaryRollout(ns, "web", digestImage(1), time.Second))).To(Succeed())
	var stable string
	g.Eventually(func(g Gomega) {
		rss := replicaSets(g, ns, "web")
		g.Expect(rss).To(HaveLen(1))
		for r := range rss {
			stable = r
		}
	}).Should(Succeed())
	waitHealthy(g, ns, "web", stable)

	// A new template runs through 25% and the 1s pause to 50%, where pause{} waits.
	setImage(g, ns, "web", digestImage(2))
	var canary string
	g.Eventually(func(g Gomega) {
		markAvailable(g, ns, "web")
		r := getRollout(g, ns, "web")
		g.Expect(r.Status.Phase).To(Equal(cutoverv1alpha1.PhasePaused), r.Status.Message)
		g.Expect(r.Status.CurrentStepIndex).To(HaveValue(Equal(int32(3))))
		g.Expect(r.Status.CanaryWeight).To(Equal(int32(50)))
		g.Expect(r.Status.ObservedGeneration).To(Equal(r.Generation))
		canary = r.Status.CurrentRevision
		g.Expect(canary).NotTo(Equal(stable))
		g.Expect(sizes(g, ns, "web")).To(Equal(map[string]int32{stable: 2, canary: 2}))
	}).Should(Succeed())
	// Every ReplicaSet reports its pods available, so nothing is left to wait for but a promote.
	markAvailable(g, ns, "web")

	expectIdle(g, m, ns, "web", canary)
	g.Expect(getRollout(g, ns, "web").Status.Phase).To(Equal(cutoverv1alpha1.PhasePaused))

	// Control: a promote is acted on and written.
	w := m.writes.Load()
	annotate(g, ns, "web", cutoverv1alpha1.AnnotationPromote, "true")
	g.Eventually(func(g Gomega) map[string]int32 { return sizes(g, ns, "web") }).
		Should(Equal(map[string]int32{stable: 2, canary: 4}))
	g.Expect(m.writes.Load()).To(BeNumerically(">", w))
}

// expectIdle waits until the manager has stopped writing, then makes it reconcile the Rollout
// twice without changing anything it acts on (a label on the ReplicaSet of revision rev, an
// unrelated annotation on the Rollout), and expects no write at all.
func expectIdle(g *WithT, m *runningManager, ns, name, rev string) {
	// Settled: the last status write and Events are out, and no requeue writes anything.
	g.Eventually(func(g Gomega) {
		n := m.writes.Load()
		g.Consistently(m.writes.Load, time.Second, pollEvery).Should(Equal(n))
	}).Should(Succeed())
	before := m.writes.Load()
	status := getRollout(g, ns, name).Status

	// The Owns watch fires on a ReplicaSet label change.
	n := reconciles(g)
	rs := replicaSets(g, ns, name)[rev]
	g.Expect(rs.Name).NotTo(BeEmpty(), "no ReplicaSet for revision %s", rev)
	orig := rs.DeepCopy()
	rs.Labels["example.com/touched"] = "true"
	g.Expect(k8sClient.Patch(context.Background(), &rs, client.MergeFrom(orig))).To(Succeed())
	g.Eventually(func(g Gomega) float64 { return reconciles(g) }).Should(BeNumerically(">", n))

	// The Rollout's AnnotationChangedPredicate fires on an unrelated annotation.
	n = reconciles(g)
	annotate(g, ns, name, "example.com/note", "touched")
	g.Eventually(func(g Gomega) float64 { return reconciles(g) }).Should(BeNumerically(">", n))

	g.Consistently(m.writes.Load, idleWindow, pollEvery).Should(Equal(before),
		"the manager wrote to the API server during idle reconciles")
	after := getRollout(g, ns, name)
	g.Expect(after.Status).To(Equal(status))
	g.Expect(after.Annotations).To(HaveKeyWithValue("example.com/note", "touched"))
	cur := &appsv1.ReplicaSet{}
	g.Expect(k8sClient.Get(context.Background(), client.ObjectKeyFromObject(&rs), cur)).To(Succeed())
	g.Expect(cur.UID).To(Equal(rs.UID))
}

// reconciles is how many reconciles the "rollout" controllers of this process have finished.
// Tests don't run in parallel, so only the current test's manager moves it.
func reconciles(g Gomega) float64 {
	families, err := metrics.Registry.Gather()
	g.Expect(err).NotTo(HaveOccurred())
	total := 0.0
	for _, f := range families {
		if f.GetName() != "controller_runtime_reconcile_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "controller" && l.GetValue() == "rollout" {
					total += m.GetCounter().GetValue()
				}
			}
		}
	}
	return total
}

// setReplicas sets a Rollout's spec.replicas.
func setReplicas(g Gomega, ns, name string, n int32) {
	ro := getRollout(g, ns, name)
	orig := ro.DeepCopy()
	ro.Spec.Replicas = ptr.To(n)
	g.Expect(k8sClient.Patch(context.Background(), ro, client.MergeFrom(orig))).To(Succeed())
}
