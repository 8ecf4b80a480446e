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
	"slices"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	cutoverv1alpha1 "github.com/cutover-dev/cutover/api/v1alpha1"
)

// TestEditedTemplateIsReverted: an out-of-band edit of a managed ReplicaSet's pod template is
// drift. The ReplicaSet is replaced by a new one made from the revision's template (its pods
// orphaned, for the new one to adopt), with a DriftReverted Warning Event. A label edit is not
// drift.
func TestEditedTemplateIsReverted(t *testing.T) {
	g := newTestGomega(t)
	ns := newNamespace(t)
	startManager(t, ns, nil)
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
	orig := replicaSets(g, ns, "web")[rev]
	key := client.ObjectKeyFromObject(&orig)

	// A label on the ReplicaSet is not drift.
	rs := orig.DeepCopy()
	rs.Labels["example.com/team"] = "shop"
	g.Expect(k8sClient.Patch(ctx, rs, client.MergeFrom(&orig))).To(Succeed())
	g.Consistently(func(g Gomega) {
		cur := &appsv1.ReplicaSet{}
		g.Expect(k8sClient.Get(ctx, key, cur)).To(Succeed())
		g.Expect(cur.UID).To(Equal(orig.UID))
		g.Expect(cur.DeletionTimestamp).To(BeNil())
		g.Expect(rolloutEvents(g, ns, "web", "DriftReverted")).To(BeEmpty())
		g.Expect(getRollout(g, ns, "web").Status.Phase).To(Equal(cutoverv1alpha1.PhaseHealthy))
	}, 2*time.Second).Should(Succeed())

	// A user edits the template, as kubectl patch or kubectl edit would.
	rs = &appsv1.ReplicaSet{}
	g.Expect(k8sClient.Get(ctx, key, rs)).To(Succeed())
	before := rs.DeepCopy()
	rs.Spec.Template.Spec.Containers[0].Env = append(rs.Spec.Template.Spec.Containers[0].Env,
		corev1.EnvVar{Name: "DEBUG", Value: "1"})
	g.Expect(k8sClient.Patch(ctx, rs, client.StrategicMergeFrom(before))).To(Succeed())

	// The edited ReplicaSet is deleted with its pods orphaned; the test plays the garbage
	// collector that envtest lacks. A new ReplicaSet of the same name takes its place, with the
	// revision's template.
	orphaned := false
	g.Eventually(func(g Gomega) {
		orphaned = releaseOrphans(g, ns, "web") || orphaned
		rss := replicaSets(g, ns, "web")
		g.Expect(rss).To(HaveLen(1))
		g.Expect(rss).To(HaveKey(rev))
		cur := rss[rev]
		g.Expect(cur.Name).To(Equal("web-" + rev))
		g.Expect(cur.UID).NotTo(Equal(orig.UID))
		g.Expect(cur.Spec.Template.Spec.Containers[0].Env).To(BeEmpty())
		g.Expect(equality.Semantic.DeepEqual(cur.Spec.Template, orig.Spec.Template)).To(BeTrue(),
			"the replacement's template differs from the revision's")
		g.Expect(cur.Spec.Replicas).To(HaveValue(Equal(int32(4))))
	}).Should(Succeed())
	g.Expect(orphaned).To(BeTrue(), "the drifted ReplicaSet was not deleted with propagationPolicy=Orphan")

	g.Eventually(func(g Gomega) []eventsv1.Event { return rolloutEvents(g, ns, "web", "DriftReverted") }).
		Should(ContainElement(And(
			HaveField("Type", corev1.EventTypeWarning),
			HaveField("Note", ContainSubstring("web-"+rev)))))

	// Once its pods are available again the Rollout is Healthy on the same revision.
	waitHealthy(g, ns, "web", rev)
	replaced := replicaSets(g, ns, "web")[rev]
	g.Consistently(func(g Gomega) {
		rss := replicaSets(g, ns, "web")
		g.Expect(rss).To(HaveLen(1))
		g.Expect(rss[rev].UID).To(Equal(replaced.UID))
	}, time.Second).Should(Succeed())
}

// releaseOrphans plays the garbage collector for the Rollout's ReplicaSets deleted with
// propagationPolicy=Orphan: it removes the orphan finalizer (there are no pods to orphan in
// envtest) so that the deletion completes. It reports whether it released one.
func releaseOrphans(g Gomega, ns, name string) bool {
	list := &appsv1.ReplicaSetList{}
	g.Expect(k8sClient.List(context.Background(), list, client.InNamespace(ns),
		client.MatchingLabels{cutoverv1alpha1.LabelRollout: name})).To(Succeed())
	released := false
	for i := range list.Items {
		rs := &list.Items[i]
		if rs.DeletionTimestamp.IsZero() || !slices.Contains(rs.Finalizers, metav1.FinalizerOrphanDependents) {
			continue
		}
		orig := rs.DeepCopy()
		rs.Finalizers = slices.DeleteFunc(rs.Finalizers, func(f string) bool { return f == metav1.FinalizerOrphanDependents })
		err := k8sClient.Patch(context.Background(), rs, client.MergeFromWithOptions(orig, client.MergeFromWithOptimisticLock{}))
		g.Expect(client.IgnoreNotFound(err)).To(Succeed())
		released = true
	}
	return released
}
