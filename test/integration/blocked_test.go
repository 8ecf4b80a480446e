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

	cutoverv1alpha1 "github.com/cutover-dev/cutover/api/v1alpha1"
)

// TestAbortWhileTheRegistryIsDown: a canary serves 30% when a new template arrives whose
// registry cannot be reached. The rollout is blocked (it retries the registry), and an abort
// still takes all traffic back to the stable revision and tears the canary down.
func TestAbortWhileTheRegistryIsDown(t *testing.T) {
	g := newTestGomega(t)
	ns := newNamespace(t)
	istioObjects(g, ns)
	startManager(t, ns, nil)
	g.Expect(k8sClient.Create(context.Background(), istioRollout(ns, "web", digestImage(1)))).To(Succeed())
	var stable string
	g.Eventually(func(g Gomega) {
		markAvailable(g, ns, "web")
		r := getRollout(g, ns, "web")
		g.Expect(r.Status.Phase).To(Equal(cutoverv1alpha1.PhaseHealthy), r.Status.Message)
		stable = r.Status.StableRevision
	}).Should(Succeed())
	setImage(g, ns, "web", digestImage(2))
	g.Eventually(func(g Gomega) {
		markAvailable(g, ns, "web")
		g.Expect(getRollout(g, ns, "web").Status.Phase).To(Equal(cutoverv1alpha1.PhasePaused))
		g.Expect(readRouting(g, ns).Canary).To(Equal(int32(30)))
	}).Should(Succeed())

	// A tag on a registry nobody listens on.
	setImage(g, ns, "web", "127.0.0.1:1/app:v3")
	g.Eventually(func(g Gomega) {
		r := getRollout(g, ns, "web")
		g.Expect(condition(r, cutoverv1alpha1.ReadyCondition).Reason).To(Equal(cutoverv1alpha1.ReasonImageResolutionFailed))
	}).Should(Succeed())
	g.Expect(readRouting(g, ns).Canary).To(Equal(int32(30)), "a blocked rollout changes no traffic by itself")

	annotate(g, ns, "web", cutoverv1alpha1.AnnotationAbort, "true")
	g.Eventually(func(g Gomega) {
		markAvailable(g, ns, "web")
		r := getRollout(g, ns, "web")
		g.Expect(r.Status.Phase).To(Equal(cutoverv1alpha1.PhaseAborted), r.Status.Message)
		g.Expect(readRouting(g, ns).Canary).To(BeZero())
		g.Expect(sizes(g, ns, "web")).To(Equal(map[string]int32{stable: 4}))
		g.Expect(r.Annotations).NotTo(HaveKey(cutoverv1alpha1.AnnotationAbort))
	}).Should(Succeed())
	g.Expect(eventReasons(g, ns, "web")).To(ContainElement("Aborted"))
}
