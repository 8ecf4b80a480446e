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
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega" //nolint:revive // Gomega's DSL reads best unqualified.
	istionetv1alpha3 "istio.io/api/networking/v1alpha3"
	networkingv1 "istio.io/client-go/pkg/apis/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	cutoverv1alpha1 "github.com/cutover-dev/cutover/api/v1alpha1"
	"github.com/cutover-dev/cutover/test/utils"
)

func init() {
	utilruntime.Must(networkingv1.AddToScheme(scheme))
}

// createIstioObjects creates a VirtualService with one managed http route and a DestinationRule.
func createIstioObjects(g Gomega, ns string) {
	vs := &networkingv1.VirtualService{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "shop"}}
	vs.Spec.Hosts = []string{"shop"}
	vs.Spec.Http = []*istionetv1alpha3.HTTPRoute{{
		Name:    "primary",
		Retries: &istionetv1alpha3.HTTPRetry{Attempts: 2},
		Route: []*istionetv1alpha3.HTTPRouteDestination{
			{Destination: &istionetv1alpha3.Destination{Host: "shop", Subset: "stable"}, Weight: 100},
			{Destination: &istionetv1alpha3.Destination{Host: "shop", Subset: "canary"}},
		},
	}}
	g.Expect(k8sClient.Create(context.Background(), vs)).To(Succeed())
	dr := &networkingv1.DestinationRule{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "shop"}}
	dr.Spec.Host = "shop"
	dr.Spec.Subsets = []*istionetv1alpha3.Subset{{Name: "stable"}, {Name: "canary"}}
	g.Expect(k8sClient.Create(context.Background(), dr)).To(Succeed())
}

// weights reads the managed route's weights and the subsets' revision labels.
func (w world) weights() (stable, canary int32, stableRev, canaryRev, vsVersion string) {
	vs := &networkingv1.VirtualService{}
	w.g.Expect(k8sClient.Get(context.Background(), client.ObjectKey{Namespace: w.ns, Name: "shop"}, vs)).To(Succeed())
	for _, d := range vs.Spec.Http[0].Route {
		if d.Destination.Subset == "stable" {
			stable = d.Weight
		} else {
			canary = d.Weight
		}
	}
	dr := &networkingv1.DestinationRule{}
	w.g.Expect(k8sClient.Get(context.Background(), client.ObjectKey{Namespace: w.ns, Name: "shop"}, dr)).To(Succeed())
	for _, s := range dr.Spec.Subsets {
		if s.Name == "stable" {
			stableRev = s.Labels[cutoverv1alpha1.LabelRevision]
		} else {
			canaryRev = s.Labels[cutoverv1alpha1.LabelRevision]
		}
	}
	return stable, canary, stableRev, canaryRev, vs.ResourceVersion
}

// TestIstioCanaryEndToEnd walks 10 → 30 → pause{} → promote → 60 → 100 with kwok pods, checking
// weights, subset labels and ReplicaSet sizes, and kills the manager at the pause: the next one
// changes no weight the plan did not call for.
func TestIstioCanaryEndToEnd(t *testing.T) {
	g := NewWithT(t)
	g.SetDefaultEventuallyTimeout(e2eTimeout)
	g.SetDefaultEventuallyPollingInterval(100 * time.Millisecond)
	ns := newNamespace(t)
	createIstioObjects(g, ns)
	h := utils.RecordRollouts(t, restConfig, scheme, ns)
	m := startManager(t, ns)
	w := world{g, ns}
	ro := e2eRollout(ns, "shop", image("a1"),
		cutoverv1alpha1.CanaryStep{SetWeight: ptr.To[int32](10)},
		cutoverv1alpha1.CanaryStep{SetWeight: ptr.To[int32](30)},
		cutoverv1alpha1.CanaryStep{Pause: &cutoverv1alpha1.PauseStep{}},
		cutoverv1alpha1.CanaryStep{SetWeight: ptr.To[int32](60)},
	)
	ro.Spec.TrafficRouting = &cutoverv1alpha1.TrafficRouting{Istio: &cutoverv1alpha1.IstioTrafficRouting{
		VirtualService:  &cutoverv1alpha1.IstioVirtualService{Name: "shop"},
		DestinationRule: cutoverv1alpha1.IstioDestinationRule{Name: "shop", StableSubset: "stable", CanarySubset: "canary"},
	}}
	stable := givenHealthy(t, w, ro)
	w.setImage("shop", image("b2"))

	// Every observation: weights sum to 100; a positive canary weight has the Ready pods it needs;
	// the stable ReplicaSet stays at 4.
	check := func(g Gomega) (int32, string) {
		w := world{g, ns}
		s, c, sr, cr, _ := w.weights()
		g.Expect(s + c).To(Equal(int32(100)))
		g.Expect(sr).To(Equal(stable))
		canary := ""
		for rev := range w.replicaSets("shop") {
			if rev != stable {
				canary = rev
			}
		}
		if c > 0 {
			g.Expect(cr).To(Equal(canary))
			g.Expect(w.readyPods(canary)).To(BeNumerically(">=", (4*int(c)+99)/100))
		}
		g.Expect(w.sizes("shop")[stable]).To(Equal(int32(4)))
		return c, canary
	}
	// 10% then 30%; every observation on the way satisfies check.
	g.Eventually(func(g Gomega) {
		c, canary := check(g)
		g.Expect(c).To(Equal(int32(30)))
		g.Expect(world{g, ns}.sizes("shop")[canary]).To(Equal(int32(2)))
	}).Should(Succeed())
	g.Eventually(func(g Gomega) cutoverv1alpha1.RolloutPhase { return world{g, ns}.rollout("shop").Status.Phase }).
		Should(Equal(cutoverv1alpha1.PhasePaused))

	// Kill the manager at the pause; the next one changes nothing on the VirtualService.
	_, _, _, _, version := w.weights()
	m.Kill()
	startManager(t, ns)
	g.Consistently(func(g Gomega) string {
		c, _ := check(g)
		g.Expect(c).To(Equal(int32(30)))
		_, _, _, _, v := world{g, ns}.weights()
		return v
	}, 3*time.Second, 200*time.Millisecond).Should(Equal(version))

	w.annotate("shop", cutoverv1alpha1.AnnotationPromote, "true")
	g.Eventually(func(g Gomega) {
		if (world{g, ns}).rollout("shop").Status.StableRevision != stable {
			return // already complete: checked below
		}
		c, _ := check(g)
		g.Expect(c).To(BeNumerically(">=", 60))
	}).Should(Succeed())
	g.Eventually(func(g Gomega) {
		w := world{g, ns}
		r := w.rollout("shop")
		g.Expect(r.Status.Phase).To(Equal(cutoverv1alpha1.PhaseHealthy), r.Status.Message)
		s, c, sr, cr, _ := w.weights()
		g.Expect([]any{s, c, sr, cr}).To(Equal([]any{int32(100), int32(0), r.Status.StableRevision, r.Status.StableRevision}))
		g.Expect(w.sizes("shop")).To(Equal(map[string]int32{r.Status.StableRevision: 4}), "the old ReplicaSet is deleted")
	}).Should(Succeed())

	// The checks above poll, and Eventually retries past a violation. The watched history has
	// every version: check the invariants on each, and the weights in the order they were set.
	g.Eventually(func() bool { return historyEndsHealthy(h, stable) }).Should(BeTrue())
	versions := h.Ordered()
	if bad := utils.CheckIstioHistory(versions, shopRoute, 4); len(bad) > 0 {
		t.Errorf("invariants broken on the recorded history:\n%s", strings.Join(bad, "\n"))
	}
	// The completion relabels the stable subset first (both subsets then select the new
	// revision) and puts the weights back to 100/0: no 100% on the canary subset in between.
	g.Expect(utils.WeightChanges(versions, "shop", shopRoute)).To(Equal([]int32{0, 10, 30, 60, 0}),
		"the canary weights, in the order the VirtualService took them")
}

// historyEndsHealthy tells whether the watch has delivered a Rollout that completed a revision
// other than stable: the history of the walk is then complete.
func historyEndsHealthy(h *utils.History, stable string) bool {
	for _, o := range h.Ordered() {
		if r, ok := o.(*cutoverv1alpha1.Rollout); ok && r.Status.Phase == cutoverv1alpha1.PhaseHealthy &&
			r.Status.StableRevision != stable && r.Status.StableRevision != "" {
			return true
		}
	}
	return false
}
