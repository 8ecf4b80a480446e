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
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	cutoverv1alpha1 "github.com/cutover-dev/cutover/api/v1alpha1"
	"github.com/cutover-dev/cutover/test/utils"
)

// TestReplicaSetWithoutItsRolloutLabelIsStillManaged: the owner reference, not the
// cutover.dev/rollout label, makes a ReplicaSet the Rollout's. With the label removed out of
// band (the admission policy forbids it, but it may not be installed), the Rollout neither
// loses the ReplicaSet nor creates a second one for the same revision, and a canary still
// scales it.
func TestReplicaSetWithoutItsRolloutLabelIsStillManaged(t *testing.T) {
	g := newTestGomega(t)
	ns := newNamespace(t)
	startManager(t, ns, nil)
	ctx := context.Background()

	g.Expect(k8sClient.Create(ctx, canaryRollout(ns, "web", digestImage(1), time.Minute))).To(Succeed())
	var stable string
	g.Eventually(func(g Gomega) {
		markAllAvailable(g, ns)
		r := getRollout(g, ns, "web")
		g.Expect(r.Status.Phase).To(Equal(cutoverv1alpha1.PhaseHealthy))
		stable = r.Status.StableRevision
	}).Should(Succeed())
	orig := replicaSets(g, ns, "web")[stable]
	unlabelled := orig.DeepCopy()
	delete(unlabelled.Labels, cutoverv1alpha1.LabelRollout)
	g.Expect(k8sClient.Patch(ctx, unlabelled, client.MergeFrom(&orig))).To(Succeed())

	g.Consistently(func(g Gomega) {
		all := allReplicaSets(g, ns)
		g.Expect(all).To(HaveLen(1), "a second ReplicaSet for the same revision")
		g.Expect(all).To(HaveKey(orig.UID))
		g.Expect(getRollout(g, ns, "web").Status.Phase).To(Equal(cutoverv1alpha1.PhaseHealthy))
	}, 2*time.Second, pollEvery).Should(Succeed())

	// A new revision: the unlabelled stable ReplicaSet is scaled to its share, 3 of 4.
	setImage(g, ns, "web", digestImage(2))
	g.Eventually(func(g Gomega) {
		markAllAvailable(g, ns)
		all := allReplicaSets(g, ns)
		g.Expect(all).To(HaveLen(2))
		g.Expect(all).To(HaveKey(orig.UID))
		g.Expect(ptr.Deref(all[orig.UID].Spec.Replicas, 0)).To(Equal(int32(3)))
		r := getRollout(g, ns, "web")
		g.Expect(r.Status.Phase).To(Equal(cutoverv1alpha1.PhaseProgressing), r.Status.Message)
		g.Expect(stepOf(r)).To(Equal(int32(1)))
	}).Should(Succeed())
}

// allReplicaSets lists every live ReplicaSet of a namespace by UID, whatever its labels.
func allReplicaSets(g Gomega, ns string) map[types.UID]appsv1.ReplicaSet {
	list := &appsv1.ReplicaSetList{}
	g.Expect(k8sClient.List(context.Background(), list, client.InNamespace(ns))).To(Succeed())
	out := map[types.UID]appsv1.ReplicaSet{}
	for _, rs := range list.Items {
		if rs.DeletionTimestamp.IsZero() {
			out[rs.UID] = rs
		}
	}
	return out
}

// markAllAvailable plays the ReplicaSet controller for every ReplicaSet of a namespace.
func markAllAvailable(g Gomega, ns string) {
	for _, rs := range allReplicaSets(g, ns) {
		err := utils.MarkAvailable(context.Background(), k8sClient, client.ObjectKeyFromObject(&rs))
		g.Expect(client.IgnoreNotFound(err)).To(Succeed())
	}
}
