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
	"fmt"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	istionetv1alpha3 "istio.io/api/networking/v1alpha3"
	networkingv1 "istio.io/client-go/pkg/apis/networking/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	cutoverv1alpha1 "github.com/cutover-dev/cutover/api/v1alpha1"
)

// hostileCase is one hostile input, given to a healthy Istio canary: the Rollout "web" serving
// its first revision through the VirtualService and DestinationRule "checkout" (istioObjects).
// The routing objects are edited first (as a person or a GitOps tool would), then the Rollout,
// which also gets a new image, so that there is something to roll out.
type hostileCase struct {
	name string
	// routing edits the VirtualService and the DestinationRule; ns is the case's namespace.
	routing func(ns string, vs *networkingv1.VirtualService, dr *networkingv1.DestinationRule)
	// edit edits the Rollout, after its image was set to a new one.
	edit func(ns string, ro *cutoverv1alpha1.Rollout)

	// The outcome: exactly one of these.
	//
	// rejected: the API server refuses the Rollout edit; its error contains these substrings,
	// the field path first.
	rejected []string
	// stalled: the edit is accepted and the rollout stalls (Stalled, reason InvalidSpec) with a
	// message containing these substrings, and an InvalidSpec Event; nothing changes.
	stalled []string
	// works: the edit is accepted and carried out; the new revision becomes stable, and every
	// routing seen on the way sums to 100.
	works bool
}

// primary returns the VirtualService's http route "primary".
func primary(vs *networkingv1.VirtualService) *istionetv1alpha3.HTTPRoute {
	for _, r := range vs.Spec.Http {
		if r.Name == "primary" {
			return r
		}
	}
	panic("the VirtualService has no route primary")
}

// setWeights is a canary strategy of one setWeight step per weight.
func setWeights(ro *cutoverv1alpha1.Rollout, weights ...int32) {
	ro.Spec.Strategy.Canary.Steps = nil
	for _, w := range weights {
		ro.Spec.Strategy.Canary.Steps = append(ro.Spec.Strategy.Canary.Steps, cutoverv1alpha1.CanaryStep{SetWeight: ptr.To(w)})
	}
}

// foreignNamespace holds a VirtualService that no Rollout of the table may touch.
var foreignNamespace string

var hostileCases = []hostileCase{
	// Huge step lists and weights at the limits. (Weights below 0 and above 100 are in
	// TestInvalidRolloutsRejected.)
	{
		name: "65 steps, one more than the maximum",
		edit: func(_ string, ro *cutoverv1alpha1.Rollout) {
			setWeights(ro, make([]int32, 65)...)
		},
		rejected: []string{"spec.strategy.canary.steps", "must have at most 64 items"},
	},
	{
		name: "64 steps, the maximum",
		edit: func(_ string, ro *cutoverv1alpha1.Rollout) {
			w := make([]int32, 64)
			for i := range w {
				w[i] = int32(i + 1)
			}
			setWeights(ro, w...)
		},
		works: true,
	},
	{
		name:  "weights 0, 100, 0 and 100",
		edit:  func(_ string, ro *cutoverv1alpha1.Rollout) { setWeights(ro, 0, 100, 0, 100) },
		works: true,
	},

	// The routes named in the spec.
	{
		name: "duplicate route names",
		edit: func(_ string, ro *cutoverv1alpha1.Rollout) {
			ro.Spec.TrafficRouting.Istio.VirtualService.Routes = []string{"primary", "primary"}
		},
		rejected: []string{"spec.trafficRouting.istio.virtualService.routes[1]", "Duplicate value"},
	},
	{
		name: "an empty route name",
		edit: func(_ string, ro *cutoverv1alpha1.Rollout) {
			ro.Spec.TrafficRouting.Istio.VirtualService.Routes = []string{"primary", ""}
		},
		rejected: []string{"spec.trafficRouting.istio.virtualService.routes[1]", "at least 1 chars long"},
	},
	{
		name: "33 routes, one more than the maximum",
		edit: func(_ string, ro *cutoverv1alpha1.Rollout) {
			routes := []string{"primary"}
			for i := range 32 {
				routes = append(routes, fmt.Sprintf("route-%d", i))
			}
			ro.Spec.TrafficRouting.Istio.VirtualService.Routes = routes
		},
		rejected: []string{"spec.trafficRouting.istio.virtualService.routes", "must have at most 32 items"},
	},
	{
		name: "a unicode route name the VirtualService lacks",
		edit: func(_ string, ro *cutoverv1alpha1.Rollout) {
			ro.Spec.TrafficRouting.Istio.VirtualService.Routes = []string{"primäry"}
		},
		stalled: []string{"spec.trafficRouting.istio", `has no http route named "primäry"`},
	},
	{
		name: "a VirtualService in another namespace",
		edit: func(_ string, ro *cutoverv1alpha1.Rollout) {
			ro.Spec.TrafficRouting.Istio.VirtualService.Name = foreignNamespace + "/checkout"
		},
		stalled: []string{"spec.trafficRouting.istio.virtualService.name", foreignNamespace + "/checkout", "own namespace"},
	},

	// Hostile routing objects.
	{
		name: "a VirtualService without the named route",
		routing: func(_ string, vs *networkingv1.VirtualService, _ *networkingv1.DestinationRule) {
			primary(vs).Name = "main"
		},
		stalled: []string{"spec.trafficRouting.istio", "/checkout: has no http route named \"primary\""},
	},
	{
		name: "a VirtualService with two routes of the managed name",
		routing: func(_ string, vs *networkingv1.VirtualService, _ *networkingv1.DestinationRule) {
			dup := primary(vs).DeepCopy()
			dup.Match = nil
			vs.Spec.Http = append(vs.Spec.Http, dup)
		},
		stalled: []string{"spec.trafficRouting.istio", `has 2 http routes named "primary"`},
	},
	{
		name: "a managed route whose destinations do not match the subsets",
		routing: func(_ string, vs *networkingv1.VirtualService, _ *networkingv1.DestinationRule) {
			primary(vs).Route[1].Destination.Subset = "blue"
		},
		stalled: []string{"spec.trafficRouting.istio", `http route "primary" has no destination with subset "canary"`},
	},
	{
		name: "a DestinationRule without the canary subset",
		routing: func(_ string, _ *networkingv1.VirtualService, dr *networkingv1.DestinationRule) {
			dr.Spec.Subsets[1].Name = "kanärie"
		},
		stalled: []string{"spec.trafficRouting.istio", `/checkout: has no subset "canary"`},
	},
	{
		name: "a DestinationRule whose host differs",
		routing: func(_ string, _ *networkingv1.VirtualService, dr *networkingv1.DestinationRule) {
			dr.Spec.Host = "payments"
		},
		stalled: []string{"spec.trafficRouting.istio", `http route "primary" sends subset "stable" to host "checkout"`, `host "payments"`},
	},
	{
		name: "a DestinationRule host written in full",
		routing: func(ns string, _ *networkingv1.VirtualService, dr *networkingv1.DestinationRule) {
			dr.Spec.Host = "checkout." + ns + ".svc.cluster.local"
		},
		edit:  func(_ string, ro *cutoverv1alpha1.Rollout) { setWeights(ro, 50) },
		works: true,
	},

	// Hostile pod templates.
	{
		name: "a 10,000-character image",
		edit: func(_ string, ro *cutoverv1alpha1.Rollout) {
			ro.Spec.Template.Spec.Containers[0].Image = "registry.example/" + strings.Repeat("a", 10000) + "@" + testDigest
		},
		stalled: []string{"spec.template.spec.containers[0] (app)", "is not a valid image reference"},
	},
	{
		name: "an image reference that does not parse",
		edit: func(_ string, ro *cutoverv1alpha1.Rollout) {
			ro.Spec.Template.Spec.Containers[0].Image = "registry.example/Shop/App:v1 latest"
		},
		stalled: []string{"spec.template.spec.containers[0] (app)", "is not a valid image reference"},
	},
	{
		name: "a unicode container name",
		edit: func(_ string, ro *cutoverv1alpha1.Rollout) {
			ro.Spec.Template.Spec.Containers[0].Name = "äpp"
		},
		stalled: []string{"spec.template.spec.containers[0].name", "äpp"},
	},

	{
		name: "a 10,000-character container name",
		edit: func(_ string, ro *cutoverv1alpha1.Rollout) {
			ro.Spec.Template.Spec.Containers[0].Name = strings.Repeat("a", 10000)
		},
		stalled: []string{"spec.template: the API server refuses the revision's ReplicaSet", "spec.template.spec.containers[0].name"},
	},

	// Blue-green Services.
	{
		name: "the preview Service is the active Service",
		edit: func(_ string, ro *cutoverv1alpha1.Rollout) {
			ro.Spec.Strategy = cutoverv1alpha1.RolloutStrategy{BlueGreen: &cutoverv1alpha1.BlueGreenStrategy{
				ActiveService: "checkout", PreviewService: "checkout",
			}}
		},
		rejected: []string{"spec.strategy.blueGreen.previewService", "must differ from spec.strategy.blueGreen.activeService"},
	},
}

// TestHostileInputs gives hostile Rollouts and routing objects to healthy Istio canaries, one
// namespace per case and one manager for all of them. Each input is either refused at
// admission with an error naming the field, carried out safely, or stalls the rollout with
// InvalidSpec and a message naming the field or object, with an Event; then nothing changes:
// the routing objects are not written, no ReplicaSet is created, scaled or deleted, and the
// stable revision keeps all the traffic.
func TestHostileInputs(t *testing.T) {
	namespaces := make([]string, len(hostileCases))
	for i := range hostileCases {
		namespaces[i] = newNamespace(t)
	}
	foreignNamespace = newNamespace(t)
	startManagerOn(t, append(namespaces, foreignNamespace), nil, nil)
	foreign := newTestGomega(t)
	istioObjects(foreign, foreignNamespace)
	foreignVS := resourceVersionOf(foreign, &networkingv1.VirtualService{}, foreignNamespace)

	for i, tc := range hostileCases {
		ns := namespaces[i]
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			g := newTestGomega(t)
			stable := healthyIstio(t, g, ns, nil)
			// All traffic on the stable revision: while the routing objects are not written,
			// it stays there.
			g.Expect(readRouting(g, ns)).To(And(HaveField("Stable", Equal(int32(100))), HaveField("Canary", BeZero())))
			rsBefore := rsUIDs(g, ns, "web")
			if tc.routing != nil {
				editRouting(g, ns, tc.routing)
			}
			vsVersion := resourceVersionOf(g, &networkingv1.VirtualService{}, ns)
			drVersion := resourceVersionOf(g, &networkingv1.DestinationRule{}, ns)

			ro := getRollout(g, ns, "web")
			orig := ro.DeepCopy()
			ro.Spec.Template.Spec.Containers[0].Image = digestImage(2)
			if tc.edit != nil {
				tc.edit(ns, ro)
			}
			err := k8sClient.Patch(context.Background(), ro, client.MergeFrom(orig))
			switch {
			case tc.rejected != nil:
				g.Expect(err).To(HaveOccurred(), "the API server accepted the hostile Rollout")
				for _, w := range tc.rejected {
					g.Expect(err.Error()).To(ContainSubstring(w))
				}
			case tc.works:
				g.Expect(err).NotTo(HaveOccurred())
				expectRolledOut(g, ns, stable)
				return
			default:
				g.Expect(err).NotTo(HaveOccurred())
				g.Eventually(func(g Gomega) {
					r := getRollout(g, ns, "web")
					g.Expect(r.Status.ObservedGeneration).To(Equal(r.Generation))
					stalled := condition(r, cutoverv1alpha1.StalledCondition)
					g.Expect(stalled).NotTo(BeNil(), "%s", r.Status.Message)
					g.Expect(stalled.Reason).To(Equal(cutoverv1alpha1.ReasonInvalidSpec))
					for _, w := range tc.stalled {
						g.Expect(stalled.Message).To(ContainSubstring(w))
					}
				}).Should(Succeed())
				g.Eventually(func(g Gomega) []string { return eventReasons(g, ns, "web") }).Should(ContainElement(cutoverv1alpha1.ReasonInvalidSpec))
			}

			// Nothing changes: no routing write, no ReplicaSet created, scaled or deleted, and
			// the stable revision keeps serving.
			g.Consistently(func(g Gomega) {
				g.Expect(resourceVersionOf(g, &networkingv1.VirtualService{}, ns)).To(Equal(vsVersion), "the VirtualService was written")
				g.Expect(resourceVersionOf(g, &networkingv1.DestinationRule{}, ns)).To(Equal(drVersion), "the DestinationRule was written")
				g.Expect(rsUIDs(g, ns, "web")).To(Equal(rsBefore))
				g.Expect(sizes(g, ns, "web")).To(Equal(map[string]int32{stable: 4}))
				g.Expect(getRollout(g, ns, "web").Status.StableRevision).To(Equal(stable))
			}, time.Second).Should(Succeed())
		})
	}
	t.Cleanup(func() {
		g := newTestGomega(t)
		g.Expect(resourceVersionOf(g, &networkingv1.VirtualService{}, foreignNamespace)).To(Equal(foreignVS),
			"a Rollout changed the routing of another namespace")
	})
}

// editRouting applies edit to the VirtualService and the DestinationRule "checkout" of ns, as a
// GitOps tool would, retrying on conflicts with the controller's writes.
func editRouting(g *WithT, ns string, edit func(string, *networkingv1.VirtualService, *networkingv1.DestinationRule)) {
	g.Eventually(func(g Gomega) {
		ctx := context.Background()
		key := types.NamespacedName{Namespace: ns, Name: "checkout"}
		vs, dr := &networkingv1.VirtualService{}, &networkingv1.DestinationRule{}
		g.Expect(k8sClient.Get(ctx, key, vs)).To(Succeed())
		g.Expect(k8sClient.Get(ctx, key, dr)).To(Succeed())
		vs0, dr0 := vs.DeepCopy(), dr.DeepCopy()
		edit(ns, vs, dr)
		g.Expect(k8sClient.Patch(ctx, vs, client.MergeFromWithOptions(vs0, client.MergeFromWithOptimisticLock{}), client.FieldOwner(gitopsOwner))).To(Succeed())
		g.Expect(k8sClient.Patch(ctx, dr, client.MergeFromWithOptions(dr0, client.MergeFromWithOptimisticLock{}), client.FieldOwner(gitopsOwner))).To(Succeed())
	}).Should(Succeed())
}

// resourceVersionOf returns the resourceVersion of the routing object "checkout" of ns.
func resourceVersionOf(g Gomega, obj client.Object, ns string) string {
	g.Expect(k8sClient.Get(context.Background(), types.NamespacedName{Namespace: ns, Name: "checkout"}, obj)).To(Succeed())
	return obj.GetResourceVersion()
}

// expectRolledOut plays the ReplicaSet controller until the Rollout's new revision is stable
// and the old one is gone, checking on every poll that the routing sums to 100.
func expectRolledOut(g *WithT, ns, old string) {
	g.Eventually(func(g Gomega) {
		markAvailable(g, ns, "web")
		rt := readRouting(g, ns)
		g.Expect(rt.Stable+rt.Canary).To(Equal(int32(100)), "the weights of the managed route sum to 100")
		r := getRollout(g, ns, "web")
		g.Expect(r.Status.Phase).To(Equal(cutoverv1alpha1.PhaseHealthy), "%s", r.Status.Message)
		g.Expect(r.Status.StableRevision).NotTo(Equal(old))
		g.Expect(r.Status.ObservedGeneration).To(Equal(r.Generation))
		g.Expect(rt.StableLabel).To(Equal(r.Status.StableRevision))
		g.Expect(rt.Canary).To(BeZero())
		g.Expect(sizes(g, ns, "web")).To(Equal(map[string]int32{r.Status.StableRevision: 4}))
	}).Should(Succeed())
}
