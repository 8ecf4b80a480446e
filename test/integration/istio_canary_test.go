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
	"encoding/json"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	istionetv1alpha3 "istio.io/api/networking/v1alpha3"
	networkingv1 "istio.io/client-go/pkg/apis/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	cutoverv1alpha1 "github.com/cutover-dev/cutover/api/v1alpha1"
	"github.com/cutover-dev/cutover/controllers"
)

// gitopsOwner is the field manager that plays a GitOps tool writing the user's Istio objects.
const gitopsOwner = "argocd-controller"

// istioObjects creates the user's VirtualService (two http routes: "primary" with a header match
// and a retry policy, and "mirror" that Cutover does not manage) and DestinationRule.
func istioObjects(g Gomega, ns string) {
	ctx := context.Background()
	vs := &networkingv1.VirtualService{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "checkout"},
	}
	vs.Spec.Hosts = []string{"checkout"}
	vs.Spec.Http = []*istionetv1alpha3.HTTPRoute{
		{
			Name:    "primary",
			Match:   []*istionetv1alpha3.HTTPMatchRequest{{Headers: map[string]*istionetv1alpha3.StringMatch{"x-shop": {MatchType: &istionetv1alpha3.StringMatch_Exact{Exact: "eu"}}}}},
			Retries: &istionetv1alpha3.HTTPRetry{Attempts: 3},
			Route: []*istionetv1alpha3.HTTPRouteDestination{
				{Destination: &istionetv1alpha3.Destination{Host: "checkout", Subset: "stable"}, Weight: 100},
				{Destination: &istionetv1alpha3.Destination{Host: "checkout", Subset: "canary"}, Weight: 0},
			},
		},
		{
			Name:  "mirror",
			Route: []*istionetv1alpha3.HTTPRouteDestination{{Destination: &istionetv1alpha3.Destination{Host: "legacy"}}},
		},
	}
	g.Expect(k8sClient.Create(ctx, vs, client.FieldOwner(gitopsOwner))).To(Succeed())
	dr := &networkingv1.DestinationRule{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "checkout"}}
	dr.Spec.Host = "checkout"
	dr.Spec.Subsets = []*istionetv1alpha3.Subset{
		{Name: "stable", Labels: map[string]string{"app": "web"}},
		{Name: "canary", Labels: map[string]string{"app": "web"}},
	}
	g.Expect(k8sClient.Create(ctx, dr, client.FieldOwner(gitopsOwner))).To(Succeed())
}

// istioRollout is a canary Rollout routed by Istio: 10 → 30 → pause{} → 60 → 100.
func istioRollout(ns, name, img string) *cutoverv1alpha1.Rollout {
	ro := canaryRollout(ns, name, img, time.Second)
	ro.Spec.TrafficRouting = &cutoverv1alpha1.TrafficRouting{Istio: &cutoverv1alpha1.IstioTrafficRouting{
		VirtualService:  &cutoverv1alpha1.IstioVirtualService{Name: "checkout", Routes: []string{"primary"}},
		DestinationRule: cutoverv1alpha1.IstioDestinationRule{Name: "checkout", StableSubset: "stable", CanarySubset: "canary"},
	}}
	ro.Spec.Strategy.Canary.Steps = []cutoverv1alpha1.CanaryStep{
		{SetWeight: ptr.To[int32](10)},
		{SetWeight: ptr.To[int32](30)},
		{Pause: &cutoverv1alpha1.PauseStep{}},
		{SetWeight: ptr.To[int32](60)},
	}
	return ro
}

// routing is what the Istio objects say: the primary route's weights by subset, the subsets'
// revision labels, and the mirror route untouched.
type routing struct {
	Stable, Canary             int32
	StableLabel, CanaryLabel   string
	Retries                    int32
	HeaderMatch, MirrorUntouch bool
}

func readRouting(g Gomega, ns string) routing {
	ctx := context.Background()
	vs := &networkingv1.VirtualService{}
	g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "checkout"}, vs)).To(Succeed())
	dr := &networkingv1.DestinationRule{}
	g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "checkout"}, dr)).To(Succeed())
	var r routing
	for _, h := range vs.Spec.Http {
		switch h.Name {
		case "primary":
			for _, d := range h.Route {
				if d.Destination.Subset == "stable" {
					r.Stable = d.Weight
				} else {
					r.Canary = d.Weight
				}
			}
			if h.Retries != nil {
				r.Retries = h.Retries.Attempts
			}
			r.HeaderMatch = len(h.Match) == 1 && h.Match[0].Headers["x-shop"].GetExact() == "eu"
		case "mirror":
			r.MirrorUntouch = len(h.Route) == 1 && h.Route[0].Weight == 0 && h.Route[0].Destination.Host == "legacy"
		}
	}
	for _, s := range dr.Spec.Subsets {
		if s.Name == "stable" {
			r.StableLabel = s.Labels[cutoverv1alpha1.LabelRevision]
		} else {
			r.CanaryLabel = s.Labels[cutoverv1alpha1.LabelRevision]
		}
	}
	return r
}

// ownerOfRetries returns the field managers that own spec.http's retries on the VirtualService.
func managersOf(g Gomega, ns string) map[string]string {
	vs := &networkingv1.VirtualService{}
	g.Expect(k8sClient.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "checkout"}, vs)).To(Succeed())
	out := map[string]string{}
	for _, mf := range vs.ManagedFields {
		var f map[string]any
		g.Expect(json.Unmarshal(mf.FieldsV1.GetRawBytes(), &f)).To(Succeed())
		b, _ := json.Marshal(f)
		out[mf.Manager] += string(b)
	}
	return out
}

// TestIstioCanary walks 10 → 30 → pause{} → promote → 60 → 100 with Istio, checking the weights
// on the managed route (summing to 100), the subset labels and the ReplicaSet sizes at every
// step; the user's other fields survive with their owner.
func TestIstioCanary(t *testing.T) {
	g := NewWithT(t)
	g.SetDefaultEventuallyTimeout(waitTimeout)
	g.SetDefaultEventuallyPollingInterval(pollEvery)
	ns := newNamespace(t)
	istioObjects(g, ns)
	startManager(t, ns, nil)
	ctx := context.Background()
	g.Expect(k8sClient.Create(ctx, istioRollout(ns, "web", digestImage(1)))).To(Succeed())

	var stable string
	g.Eventually(func(g Gomega) {
		markAvailable(g, ns, "web")
		r := getRollout(g, ns, "web")
		g.Expect(r.Status.Phase).To(Equal(cutoverv1alpha1.PhaseHealthy), r.Status.Message)
		stable = r.Status.StableRevision
		g.Expect(readRouting(g, ns)).To(Equal(routing{Stable: 100, Canary: 0, StableLabel: stable, Retries: 3, HeaderMatch: true, MirrorUntouch: true}))
		g.Expect(r.Finalizers).To(ContainElement(controllers.TrafficFinalizer))
	}).Should(Succeed())

	setImage(g, ns, "web", digestImage(2))
	var canary string
	// 10% of 4 needs 1 pod: the canary RS is scaled to 1 first, the weight stays 0 until it is
	// available, and the stable RS stays at 4.
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
	g.Consistently(func(g Gomega) int32 { return readRouting(g, ns).Canary }, 500*time.Millisecond).Should(BeZero())

	// Walk the steps, playing the ReplicaSet controller once per poll and reading the routing
	// before each play, so every weight the controller sets is seen. On every observation: the
	// weights sum to 100, the stable subset and ReplicaSet are untouched, and a positive canary
	// weight goes to the canary subset labelled with the new revision.
	seen := map[int32]bool{}
	observe := func(g Gomega) routing {
		r := readRouting(g, ns)
		seen[r.Canary] = true
		g.Expect(r.Stable + r.Canary).To(Equal(int32(100)))
		g.Expect(r.Retries).To(Equal(int32(3)))
		g.Expect(r.HeaderMatch && r.MirrorUntouch).To(BeTrue())
		if getRollout(g, ns, "web").Status.StableRevision == stable {
			g.Expect(r.StableLabel).To(Equal(stable))
			g.Expect(sizes(g, ns, "web")[stable]).To(Equal(int32(4)))
			if r.Canary > 0 {
				g.Expect(r.CanaryLabel).To(Equal(canary))
			}
		}
		return r
	}
	g.Eventually(func(g Gomega) {
		r := observe(g)
		markAvailable(g, ns, "web")
		g.Expect(r.Canary).To(Equal(int32(30)))
		g.Expect(getRollout(g, ns, "web").Status.Phase).To(Equal(cutoverv1alpha1.PhasePaused))
		g.Expect(sizes(g, ns, "web")).To(Equal(map[string]int32{stable: 4, canary: 2}))
	}).WithPolling(100 * time.Millisecond).Should(Succeed())
	g.Expect(seen).To(HaveKey(int32(10)))
	g.Consistently(func(g Gomega) int32 { return observe(g).Canary }, time.Second).Should(Equal(int32(30)))

	annotate(g, ns, "web", cutoverv1alpha1.AnnotationPromote, "true")
	g.Eventually(func(g Gomega) {
		observe(g)
		markAvailable(g, ns, "web")
		g.Expect(getRollout(g, ns, "web").Status.StableRevision).To(Equal(canary))
	}).WithPolling(100 * time.Millisecond).Should(Succeed())
	g.Expect(seen).To(HaveKey(int32(60)))
	// 100 on the canary subset lasts one reconcile: the next one completes the switch.
	for w := range seen {
		g.Expect([]int32{0, 10, 30, 60, 100}).To(ContainElement(w), "only the steps' weights are ever set")
	}

	// Done: both subsets select the new revision, the stable subset takes all traffic, and the
	// old ReplicaSet is deleted.
	g.Eventually(func(g Gomega) {
		markAvailable(g, ns, "web")
		r := getRollout(g, ns, "web")
		g.Expect(r.Status.Phase).To(Equal(cutoverv1alpha1.PhaseHealthy), r.Status.Message)
		g.Expect(r.Status.StableRevision).To(Equal(canary))
		g.Expect(sizes(g, ns, "web")).To(Equal(map[string]int32{canary: 4}))
		g.Expect(readRouting(g, ns)).To(Equal(routing{Stable: 100, Canary: 0, StableLabel: canary, CanaryLabel: canary,
			Retries: 3, HeaderMatch: true, MirrorUntouch: true}))
	}).Should(Succeed())

	// The GitOps tool keeps every field outside spec.http. Istio's CRD declares spec.http an
	// atomic list (no x-kubernetes-list-type), so the API server records any write inside it,
	// even of one weight, as owning the whole list: that is the best a writer can do there.
	m := managersOf(g, ns)
	g.Expect(m[gitopsOwner]).To(ContainSubstring("f:hosts"))
	g.Expect(m).To(HaveKey(controllers.FieldOwner))
	g.Expect(m[controllers.FieldOwner]).To(ContainSubstring("f:http"))
	g.Expect(m[controllers.FieldOwner]).NotTo(ContainSubstring("f:hosts"))
}
