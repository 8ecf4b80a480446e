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

	"github.com/onsi/gomega"
	istioapi "istio.io/api/networking/v1"
	networkingv1 "istio.io/client-go/pkg/apis/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// TestIstioObjectsRoundTrip checks that the Istio CRDs are installed and that the
// istio.io/client-go types the controller uses round-trip route weights and subset labels
// through the real API server.
func TestIstioObjectsRoundTrip(t *testing.T) {
	g := gomega.NewWithT(t)
	ctx := context.Background()
	ns := newNamespace(t)

	vs := &networkingv1.VirtualService{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "checkout"},
		Spec: istioapi.VirtualService{
			Hosts: []string{"checkout"},
			Http: []*istioapi.HTTPRoute{
				{
					Name: "primary",
					Route: []*istioapi.HTTPRouteDestination{
						{Destination: &istioapi.Destination{Host: "checkout", Subset: "stable"}, Weight: 90},
						{Destination: &istioapi.Destination{Host: "checkout", Subset: "canary"}, Weight: 10},
					},
				},
				{
					Name:  "fallback",
					Route: []*istioapi.HTTPRouteDestination{{Destination: &istioapi.Destination{Host: "checkout", Subset: "stable"}}},
				},
			},
		},
	}
	dr := &networkingv1.DestinationRule{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "checkout"},
		Spec: istioapi.DestinationRule{
			Host: "checkout",
			Subsets: []*istioapi.Subset{
				{Name: "stable", Labels: map[string]string{"app": "checkout", "cutover.dev/revision": "7d9f8c6b5d"}},
				{Name: "canary", Labels: map[string]string{"app": "checkout", "cutover.dev/revision": "5c4b8f9d7e"}},
			},
		},
	}
	g.Expect(k8sClient.Create(ctx, vs)).To(gomega.Succeed())
	g.Expect(k8sClient.Create(ctx, dr)).To(gomega.Succeed())

	var gotVS networkingv1.VirtualService
	g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(vs), &gotVS)).To(gomega.Succeed())
	g.Expect(routeWeights(&gotVS)).To(gomega.Equal(map[string]map[string]int32{
		"primary":  {"stable": 90, "canary": 10},
		"fallback": {"stable": 0},
	}))

	var gotDR networkingv1.DestinationRule
	g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(dr), &gotDR)).To(gomega.Succeed())
	g.Expect(gotDR.Spec.GetHost()).To(gomega.Equal("checkout"))
	subsets := map[string]map[string]string{}
	for _, s := range gotDR.Spec.GetSubsets() {
		subsets[s.GetName()] = s.GetLabels()
	}
	g.Expect(subsets).To(gomega.Equal(map[string]map[string]string{
		"stable": {"app": "checkout", "cutover.dev/revision": "7d9f8c6b5d"},
		"canary": {"app": "checkout", "cutover.dev/revision": "5c4b8f9d7e"},
	}))

	// A weight change, as the controller makes it, round-trips too.
	gotVS.Spec.Http[0].Route[0].Weight, gotVS.Spec.Http[0].Route[1].Weight = 50, 50
	g.Expect(k8sClient.Update(ctx, &gotVS)).To(gomega.Succeed())
	var updated networkingv1.VirtualService
	g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(vs), &updated)).To(gomega.Succeed())
	g.Expect(routeWeights(&updated)["primary"]).To(gomega.Equal(map[string]int32{"stable": 50, "canary": 50}))
}

// routeWeights maps each http route's name to its destination subsets' weights.
func routeWeights(vs *networkingv1.VirtualService) map[string]map[string]int32 {
	out := map[string]map[string]int32{}
	for _, r := range vs.Spec.GetHttp() {
		w := map[string]int32{}
		for _, d := range r.GetRoute() {
			w[d.GetDestination().GetSubset()] = d.GetWeight()
		}
		out[r.GetName()] = w
	}
	return out
}
