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
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	cutoverv1alpha1 "github.com/cutover-dev/cutover/api/v1alpha1"
)

// orphanedRevision creates a Rollout, lets it become Healthy, then deletes it leaving its
// ReplicaSet behind without an owner, as `kubectl delete --cascade=orphan` does (envtest runs no
// garbage collector, so the test removes the owner reference itself). It returns the orphan.
func orphanedRevision(g *WithT, ns string) appsv1.ReplicaSet {
	ctx := context.Background()
	ro := canaryRollout(ns, "web", digestImage(1), time.Second)
	g.Expect(k8sClient.Create(ctx, ro)).To(Succeed())
	var rev string
	g.Eventually(func(g Gomega) {
		markAvailable(g, ns, "web")
		r := getRollout(g, ns, "web")
		g.Expect(r.Status.Phase).To(Equal(cutoverv1alpha1.PhaseHealthy), r.Status.Message)
		rev = r.Status.StableRevision
	}).Should(Succeed())
	g.Expect(k8sClient.Delete(ctx, getRollout(g, ns, "web"))).To(Succeed())
	g.Eventually(func() bool {
		err := k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "web"}, &cutoverv1alpha1.Rollout{})
		return client.IgnoreNotFound(err) == nil && err != nil
	}).Should(BeTrue())
	rs := replicaSets(g, ns, "web")[rev]
	orig := rs.DeepCopy()
	rs.OwnerReferences = nil
	g.Expect(k8sClient.Patch(ctx, &rs, client.MergeFrom(orig))).To(Succeed())
	return rs
}

// TestReapplyAfterOrphaningDeleteAdopts: re-applying the Rollout adopts the orphan of its
// revision: the same ReplicaSet, at the same size, so no new pod starts.
func TestReapplyAfterOrphaningDeleteAdopts(t *testing.T) {
	g := newTestGomega(t)
	ns := newNamespace(t)
	startManager(t, ns, nil)
	orphan := orphanedRevision(g, ns)

	ro := canaryRollout(ns, "web", digestImage(1), time.Second)
	g.Expect(k8sClient.Create(context.Background(), ro)).To(Succeed())
	g.Eventually(func(g Gomega) {
		r := getRollout(g, ns, "web")
		g.Expect(r.Status.Phase).To(Equal(cutoverv1alpha1.PhaseHealthy), r.Status.Message)
		rss := replicaSets(g, ns, "web")
		g.Expect(rss).To(HaveLen(1))
		rs := rss[r.Status.StableRevision]
		g.Expect(rs.UID).To(Equal(orphan.UID), "the orphan itself, not a new ReplicaSet")
		g.Expect(ptr.Deref(rs.Spec.Replicas, 0)).To(Equal(int32(4)))
		g.Expect(metav1.GetControllerOf(&rs)).NotTo(BeNil())
		g.Expect(metav1.GetControllerOf(&rs).UID).To(Equal(r.UID))
		g.Expect(rs.Spec.Template).To(Equal(orphan.Spec.Template))
	}).Should(Succeed())
}

// TestForeignReplicaSetWithTheRevisionsNameIsLeftAlone: a ReplicaSet with the revision's name
// but another template is not the Rollout's: it stalls with NameConflict naming it, and the
// ReplicaSet is never adopted, changed or deleted.
func TestForeignReplicaSetWithTheRevisionsNameIsLeftAlone(t *testing.T) {
	g := newTestGomega(t)
	ns := newNamespace(t)
	startManager(t, ns, nil)
	orphan := orphanedRevision(g, ns)
	ctx := context.Background()
	// Someone edits the orphan's template: it is no longer the revision's.
	edited := orphan.DeepCopy()
	edited.Spec.Template.Spec.Containers[0].Image = digestImage(9)
	g.Expect(k8sClient.Patch(ctx, edited, client.MergeFrom(&orphan))).To(Succeed())
	before := replicaSets(g, ns, "web")[orphan.Labels[cutoverv1alpha1.LabelRevision]]

	g.Expect(k8sClient.Create(ctx, canaryRollout(ns, "web", digestImage(1), time.Second))).To(Succeed())
	g.Eventually(func(g Gomega) {
		r := getRollout(g, ns, "web")
		stalled := condition(r, cutoverv1alpha1.StalledCondition)
		g.Expect(stalled).NotTo(BeNil())
		g.Expect(stalled.Reason).To(Equal(cutoverv1alpha1.ReasonNameConflict))
		g.Expect(stalled.Message).To(ContainSubstring(ns + "/" + orphan.Name))
	}).Should(Succeed())
	g.Eventually(func(g Gomega) []string { return eventReasons(g, ns, "web") }).Should(ContainElement(cutoverv1alpha1.ReasonNameConflict))
	g.Consistently(func(g Gomega) {
		rs := replicaSets(g, ns, "web")[orphan.Labels[cutoverv1alpha1.LabelRevision]]
		g.Expect(rs.UID).To(Equal(before.UID))
		g.Expect(rs.ResourceVersion).To(Equal(before.ResourceVersion), "changed")
		g.Expect(rs.OwnerReferences).To(BeEmpty())
	}, time.Second, pollEvery).Should(Succeed())
}
