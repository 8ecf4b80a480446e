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
	"strings"
	"testing"

	"github.com/onsi/gomega"
	"sigs.k8s.io/controller-runtime/pkg/client"

	cutoverv1alpha1 "github.com/cutover-dev/cutover/api/v1alpha1"
)

// TestKubectlGetRollouts checks the printer columns of `kubectl get rollouts`.
func TestKubectlGetRollouts(t *testing.T) {
	g := gomega.NewWithT(t)
	ns := newNamespace(t)
	g.Expect(k8sClient.Create(context.Background(), validRollout(ns, "checkout"))).To(gomega.Succeed())

	out := kubectl(t, "get", "rollouts", "--namespace", ns)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	g.Expect(lines).To(gomega.HaveLen(2), "kubectl output:\n%s", out)
	g.Expect(strings.Fields(lines[0])).To(gomega.Equal([]string{
		"NAME", "DESIRED", "READY", "STRATEGY", "STEP", "WEIGHT", "PHASE", "STABLE", "CURRENT", "AGE",
	}))
	g.Expect(strings.Fields(lines[1])).To(gomega.HaveExactElements("checkout", "4", gomega.Not(gomega.BeEmpty())),
		"kubectl output:\n%s", out) // name, desired, age: status columns are empty before a reconcile

	// The short name works too.
	g.Expect(kubectl(t, "get", "ro", "--namespace", ns, "-o", "name")).To(gomega.Equal("rollout.cutover.dev/checkout\n"))
}

// TestKubectlScaleRollout checks the scale subresource: `kubectl scale` (as an HPA would)
// changes spec.replicas.
func TestKubectlScaleRollout(t *testing.T) {
	g := gomega.NewWithT(t)
	ns := newNamespace(t)
	r := validRollout(ns, "checkout")
	g.Expect(k8sClient.Create(context.Background(), r)).To(gomega.Succeed())

	kubectl(t, "scale", "rollout/checkout", "--replicas=5", "--namespace", ns)

	var got cutoverv1alpha1.Rollout
	g.Expect(k8sClient.Get(context.Background(), client.ObjectKeyFromObject(r), &got)).To(gomega.Succeed())
	g.Expect(got.Spec.Replicas).To(gomega.HaveValue(gomega.BeEquivalentTo(5)))
	g.Expect(got.Generation).To(gomega.BeNumerically(">", r.Generation), "a scale is a spec change")
}
