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

	. "github.com/onsi/gomega"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	cutoverv1alpha1 "github.com/cutover-dev/cutover/api/v1alpha1"
)

// allowCrossNamespaceLabel is the namespace label with which an admin lifts the policy.
const allowCrossNamespaceLabel = "cutover.dev/allow-cross-namespace-refs"

// TestCrossNamespacePolicy: the ValidatingAdmissionPolicy of
// config/admission-policy/cross-namespace-refs-policy.yaml refuses a Rollout whose
// virtualService or virtualServices[] names a VirtualService of another namespace, on create
// and on update, with a message naming the field and the reference; a bare name, or the
// Rollout's own namespace written out, passes. In a namespace labelled
// cutover.dev/allow-cross-namespace-refs=true the same Rollouts are accepted.
func TestCrossNamespacePolicy(t *testing.T) {
	g := newTestGomega(t)
	ctx := context.Background()
	plain, allowed := newNamespace(t), newNamespace(t)
	g.Expect(k8sClient.Patch(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: allowed}},
		client.RawPatch(types.MergePatchType, []byte(`{"metadata":{"labels":{"`+allowCrossNamespaceLabel+`":"true"}}}`)))).
		To(Succeed())
	installCrossNamespacePolicy(t, g, plain, allowed)

	single := func(ns, vs string) *cutoverv1alpha1.Rollout {
		ro := validRollout(ns, "single")
		ro.Spec.TrafficRouting.Istio.VirtualService.Name = vs
		return ro
	}
	several := func(ns string, vs ...string) *cutoverv1alpha1.Rollout {
		ro := validRollout(ns, "several")
		ro.Spec.TrafficRouting.Istio.VirtualService = nil
		for _, n := range vs {
			ro.Spec.TrafficRouting.Istio.VirtualServices = append(ro.Spec.TrafficRouting.Istio.VirtualServices,
				cutoverv1alpha1.IstioVirtualService{Name: n})
		}
		return ro
	}

	// The policy takes a moment to be loaded: until it denies, nothing else is judged.
	g.Eventually(func(g Gomega) {
		err := k8sClient.Create(ctx, single(plain, "mesh/checkout"), client.DryRunAll)
		g.Expect(apierrors.IsForbidden(err)).To(BeTrue(), "not Forbidden: %v", err)
		g.Expect(err.Error()).To(ContainSubstring(`spec.trafficRouting.istio.virtualService.name: "mesh/checkout" names a VirtualService of another namespace`))
		g.Expect(err.Error()).To(ContainSubstring(allowCrossNamespaceLabel + "=true"))
	}).Should(Succeed())

	err := k8sClient.Create(ctx, several(plain, "checkout", "mesh/a", plain+"/b", "edge/c"), client.DryRunAll)
	g.Expect(apierrors.IsForbidden(err)).To(BeTrue(), "not Forbidden: %v", err)
	g.Expect(err.Error()).To(ContainSubstring(`spec.trafficRouting.istio.virtualServices[].name: "mesh/a", "edge/c" name VirtualServices of another namespace`))

	// Local references pass: a bare name, or the Rollout's own namespace written out.
	g.Expect(k8sClient.Create(ctx, single(plain, "checkout"), client.DryRunAll)).To(Succeed())
	g.Expect(k8sClient.Create(ctx, single(plain, plain+"/checkout"), client.DryRunAll)).To(Succeed())
	g.Expect(k8sClient.Create(ctx, several(plain, "a", plain+"/b"), client.DryRunAll)).To(Succeed())
	// A namespace whose name merely starts like the Rollout's is another namespace.
	err = k8sClient.Create(ctx, single(plain, plain+"x/checkout"), client.DryRunAll)
	g.Expect(apierrors.IsForbidden(err)).To(BeTrue(), "not Forbidden: %v", err)

	// An update to a cross-namespace reference is refused too.
	local := single(plain, "checkout")
	g.Expect(k8sClient.Create(ctx, local)).To(Succeed())
	patched := local.DeepCopy()
	patched.Spec.TrafficRouting.Istio.VirtualService.Name = "mesh/checkout"
	err = k8sClient.Patch(ctx, patched, client.MergeFrom(local))
	g.Expect(apierrors.IsForbidden(err)).To(BeTrue(), "not Forbidden: %v", err)

	// The labelled namespace takes them.
	g.Expect(k8sClient.Create(ctx, single(allowed, "mesh/checkout"), client.DryRunAll)).To(Succeed())
	g.Expect(k8sClient.Create(ctx, several(allowed, "mesh/a", "edge/c"), client.DryRunAll)).To(Succeed())
}

// installCrossNamespacePolicy creates the policy and its binding from config/admission-policy,
// the binding limited to the given namespaces so that no other test's Rollouts are judged, and
// deletes both when the test ends.
func installCrossNamespacePolicy(t *testing.T, g *WithT, namespaces ...string) {
	t.Helper()
	installPolicyFile(t, g, "cross-namespace-refs-policy.yaml", func(policy *admissionregistrationv1.ValidatingAdmissionPolicy,
		binding *admissionregistrationv1.ValidatingAdmissionPolicyBinding) {
		// Unique names: the shipped ones may be loaded by another test at the same time.
		policy.Name += "-" + namespaces[0]
		binding.Name, binding.Spec.PolicyName = policy.Name, policy.Name
		binding.Spec.MatchResources = &admissionregistrationv1.MatchResources{
			NamespaceSelector: &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{
				Key: corev1.LabelMetadataName, Operator: metav1.LabelSelectorOpIn, Values: namespaces,
			}}},
		}
	})
}
