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
	"sigs.k8s.io/controller-runtime/pkg/client"

	cutoverv1alpha1 "github.com/cutover-dev/cutover/api/v1alpha1"
)

// TestStatusDefaults checks the CRD defaults a controller relies on: a Rollout no controller
// has seen yet reads back with status.observedGeneration -1, and the spec defaults are applied.
func TestStatusDefaults(t *testing.T) {
	g := gomega.NewWithT(t)
	ctx := context.Background()
	ns := newNamespace(t)

	r := validRollout(ns, "fresh")
	r.Spec.Replicas = nil
	r.Spec.Gates[1].HTTP.Method = ""
	g.Expect(k8sClient.Create(ctx, r)).To(gomega.Succeed())
	g.Expect(r.Status.ObservedGeneration).To(gomega.BeEquivalentTo(-1), "in the create response")

	var got cutoverv1alpha1.Rollout
	g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(r), &got)).To(gomega.Succeed())
	g.Expect(got.Status.ObservedGeneration).To(gomega.BeEquivalentTo(-1), "read back")

	spec := got.Spec
	g.Expect(spec.Replicas).To(gomega.HaveValue(gomega.BeEquivalentTo(1)))
	g.Expect(spec.ProgressDeadlineSeconds).To(gomega.HaveValue(gomega.BeEquivalentTo(600)))
	g.Expect(spec.RevisionHistoryLimit).To(gomega.HaveValue(gomega.BeEquivalentTo(10)))
	g.Expect(spec.ImagePolicy.ResolveTags).To(gomega.HaveValue(gomega.BeTrue()))
	g.Expect(spec.TrafficRouting.Istio.DestinationRule.StableSubset).To(gomega.Equal("stable"))
	g.Expect(spec.Gates[1].HTTP.Method).To(gomega.Equal("GET"))
	g.Expect(spec.Gates[1].HTTP.Timeout).NotTo(gomega.BeNil())
	g.Expect(spec.Gates[1].Interval).NotTo(gomega.BeNil())
	g.Expect(spec.Gates[1].Count).To(gomega.HaveValue(gomega.BeEquivalentTo(1)))

	// The status subresource keeps -1 until a controller writes a real generation.
	got.Status.Phase = cutoverv1alpha1.PhaseProgressing
	g.Expect(k8sClient.Status().Update(ctx, &got)).To(gomega.Succeed())
	var again cutoverv1alpha1.Rollout
	g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(r), &again)).To(gomega.Succeed())
	g.Expect(again.Status.ObservedGeneration).To(gomega.BeEquivalentTo(-1))
	g.Expect(again.Status.Phase).To(gomega.Equal(cutoverv1alpha1.PhaseProgressing))
}
