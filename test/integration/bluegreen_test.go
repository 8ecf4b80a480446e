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
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	cutoverv1alpha1 "github.com/cutover-dev/cutover/api/v1alpha1"
)

// createService creates a Service selecting app=web, as the user's GitOps tool would.
func createService(g Gomega, ns, name string) {
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Annotations: map[string]string{"team": "shop"}},
		Spec: corev1.ServiceSpec{
			Selector: map[string]string{"app": "web"},
			Ports:    []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromInt32(8080)}},
		},
	}
	g.Expect(k8sClient.Create(context.Background(), svc, client.FieldOwner(gitopsOwner))).To(Succeed())
}

// selectorOf returns a Service's selector.
func selectorOf(g Gomega, ns, name string) map[string]string {
	svc := &corev1.Service{}
	g.Expect(k8sClient.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, svc)).To(Succeed())
	g.Expect(svc.Annotations).To(HaveKeyWithValue("team", "shop"))
	g.Expect(svc.Spec.Ports).To(HaveLen(1))
	return svc.Spec.Selector
}

// blueGreenRollout is a blue-green Rollout switching the active and preview Services.
func blueGreenRollout(ns, img string, autoPromote bool, delay time.Duration) *cutoverv1alpha1.Rollout {
	ro := canaryRollout(ns, "web", img, time.Second)
	ro.Spec.Strategy = cutoverv1alpha1.RolloutStrategy{BlueGreen: &cutoverv1alpha1.BlueGreenStrategy{
		ActiveService: "active", PreviewService: "preview", AutoPromote: ptr.To(autoPromote),
		ScaleDownDelay: &metav1.Duration{Duration: delay},
	}}
	return ro
}

// TestBlueGreenServices: the preview Service moves to the new revision at once; the active one
// switches only after a promote, once the new revision is available; the old ReplicaSet is
// deleted after scaleDownDelay. An abort after the switch, within the delay, switches back.
func TestBlueGreenServices(t *testing.T) {
	g := NewWithT(t)
	g.SetDefaultEventuallyTimeout(waitTimeout)
	g.SetDefaultEventuallyPollingInterval(pollEvery)
	ns := newNamespace(t)
	createService(g, ns, "active")
	createService(g, ns, "preview")
	startManager(t, ns, nil)
	g.Expect(k8sClient.Create(context.Background(), blueGreenRollout(ns, digestImage(1), false, 2*time.Second))).To(Succeed())
	var blue string
	g.Eventually(func(g Gomega) {
		markAvailable(g, ns, "web")
		r := getRollout(g, ns, "web")
		g.Expect(r.Status.Phase).To(Equal(cutoverv1alpha1.PhaseHealthy), r.Status.Message)
		blue = r.Status.StableRevision
		g.Expect(selectorOf(g, ns, "active")).To(Equal(map[string]string{"app": "web", cutoverv1alpha1.LabelRevision: blue}))
		g.Expect(selectorOf(g, ns, "preview")).To(Equal(map[string]string{"app": "web", cutoverv1alpha1.LabelRevision: blue}))
	}).Should(Succeed())

	setImage(g, ns, "web", digestImage(2))
	var green string
	g.Eventually(func(g Gomega) {
		s := sizes(g, ns, "web")
		g.Expect(s).To(HaveLen(2))
		for rev := range s {
			if rev != blue {
				green = rev
			}
		}
		g.Expect(s).To(Equal(map[string]int32{blue: 4, green: 4}), "the new revision runs at full size")
		g.Expect(selectorOf(g, ns, "preview")[cutoverv1alpha1.LabelRevision]).To(Equal(green))
	}).Should(Succeed())
	g.Consistently(func(g Gomega) string { return selectorOf(g, ns, "active")[cutoverv1alpha1.LabelRevision] }, time.Second).
		Should(Equal(blue), "no switch before the new revision is available")

	markAvailable(g, ns, "web")
	g.Eventually(func(g Gomega) cutoverv1alpha1.RolloutPhase { return getRollout(g, ns, "web").Status.Phase }).
		Should(Equal(cutoverv1alpha1.PhasePaused))
	g.Expect(selectorOf(g, ns, "active")[cutoverv1alpha1.LabelRevision]).To(Equal(blue), "autoPromote is false")

	annotate(g, ns, "web", cutoverv1alpha1.AnnotationPromote, "true")
	g.Eventually(func(g Gomega) string { return selectorOf(g, ns, "active")[cutoverv1alpha1.LabelRevision] }).Should(Equal(green))
	g.Expect(sizes(g, ns, "web")).To(HaveKey(blue), "the old revision keeps running for scaleDownDelay")
	g.Eventually(func(g Gomega) {
		r := getRollout(g, ns, "web")
		g.Expect(r.Status.Phase).To(Equal(cutoverv1alpha1.PhaseHealthy), r.Status.Message)
		g.Expect(r.Status.StableRevision).To(Equal(green))
		g.Expect(sizes(g, ns, "web")).To(Equal(map[string]int32{green: 4}))
	}).WithTimeout(10 * time.Second).Should(Succeed())

	// Abort after the switch, within scaleDownDelay: back to the old revision.
	ro := getRollout(g, ns, "web")
	orig := ro.DeepCopy()
	ro.Spec.Strategy.BlueGreen.ScaleDownDelay = &metav1.Duration{Duration: time.Minute}
	ro.Spec.Template.Spec.Containers[0].Image = digestImage(3)
	g.Expect(k8sClient.Patch(context.Background(), ro, client.MergeFrom(orig))).To(Succeed())
	var third string
	g.Eventually(func(g Gomega) {
		markAvailable(g, ns, "web")
		s := sizes(g, ns, "web")
		g.Expect(s).To(HaveLen(2))
		for rev := range s {
			if rev != green {
				third = rev
			}
		}
		g.Expect(getRollout(g, ns, "web").Status.Phase).To(Equal(cutoverv1alpha1.PhasePaused))
	}).Should(Succeed())
	annotate(g, ns, "web", cutoverv1alpha1.AnnotationPromote, "true")
	g.Eventually(func(g Gomega) string { return selectorOf(g, ns, "active")[cutoverv1alpha1.LabelRevision] }).Should(Equal(third))
	annotate(g, ns, "web", cutoverv1alpha1.AnnotationAbort, "true")
	g.Eventually(func(g Gomega) {
		g.Expect(selectorOf(g, ns, "active")[cutoverv1alpha1.LabelRevision]).To(Equal(green))
		r := getRollout(g, ns, "web")
		g.Expect(r.Status.Phase).To(Equal(cutoverv1alpha1.PhaseAborted))
		g.Expect(sizes(g, ns, "web")).To(Equal(map[string]int32{green: 4}))
	}).Should(Succeed())
}

// TestBlueGreenIstio: with Istio the switch moves the weights from 0 to 100 in one patch.
func TestBlueGreenIstio(t *testing.T) {
	g := NewWithT(t)
	g.SetDefaultEventuallyTimeout(waitTimeout)
	g.SetDefaultEventuallyPollingInterval(pollEvery)
	ns := newNamespace(t)
	istioObjects(g, ns)
	startManager(t, ns, nil)
	ro := blueGreenRollout(ns, digestImage(1), true, time.Second)
	ro.Spec.Strategy.BlueGreen.ActiveService, ro.Spec.Strategy.BlueGreen.PreviewService = "", ""
	ro.Spec.TrafficRouting = istioRollout(ns, "web", "").Spec.TrafficRouting
	g.Expect(k8sClient.Create(context.Background(), ro)).To(Succeed())
	var blue string
	g.Eventually(func(g Gomega) {
		markAvailable(g, ns, "web")
		r := getRollout(g, ns, "web")
		g.Expect(r.Status.Phase).To(Equal(cutoverv1alpha1.PhaseHealthy), r.Status.Message)
		blue = r.Status.StableRevision
	}).Should(Succeed())

	setImage(g, ns, "web", digestImage(2))
	seen := map[int32]bool{}
	g.Eventually(func(g Gomega) {
		rt := readRouting(g, ns)
		seen[rt.Canary] = true
		g.Expect(rt.Stable + rt.Canary).To(Equal(int32(100)))
		markAvailable(g, ns, "web")
		r := getRollout(g, ns, "web")
		g.Expect(r.Status.StableRevision).NotTo(Equal(blue))
		g.Expect(r.Status.Phase).To(Equal(cutoverv1alpha1.PhaseHealthy))
	}).Should(Succeed())
	for w := range seen {
		g.Expect([]int32{0, 100}).To(ContainElement(w), "the switch is 0 → 100 at once")
	}
	r := getRollout(g, ns, "web")
	g.Expect(readRouting(g, ns)).To(Equal(routing{Stable: 100, StableLabel: r.Status.StableRevision, CanaryLabel: r.Status.StableRevision,
		Retries: 3, HeaderMatch: true, MirrorUntouch: true}))
	g.Expect(sizes(g, ns, "web")).To(Equal(map[string]int32{r.Status.StableRevision: 4}))
}
