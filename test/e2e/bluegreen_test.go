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
	"testing"
	"time"

	. "github.com/onsi/gomega" //nolint:revive // Gomega's DSL reads best unqualified.
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	cutoverv1alpha1 "github.com/cutover-dev/cutover/api/v1alpha1"
)

func (w world) selector(name string) string {
	svc := &corev1.Service{}
	w.g.Expect(k8sClient.Get(context.Background(), client.ObjectKey{Namespace: w.ns, Name: name}, svc)).To(Succeed())
	w.g.Expect(svc.Spec.Selector).To(HaveKeyWithValue("app", "shop"), "the user's selector key stays")
	return svc.Spec.Selector[cutoverv1alpha1.LabelRevision]
}

// bgRollout is a blue-green Rollout; with services it switches the active and preview Services.
func bgRollout(ns string, services bool, delay time.Duration) *cutoverv1alpha1.Rollout {
	ro := e2eRollout(ns, "shop", image("a1"))
	bg := &cutoverv1alpha1.BlueGreenStrategy{AutoPromote: ptr.To(true), ScaleDownDelay: &metav1.Duration{Duration: delay}}
	if services {
		bg.ActiveService, bg.PreviewService = "shop", "shop-preview"
	}
	ro.Spec.Strategy = cutoverv1alpha1.RolloutStrategy{BlueGreen: bg}
	return ro
}

// TestBlueGreenServicesEndToEnd: the preview Service moves first; the active Service switches only
// once the new revision's pods are Ready; the old ReplicaSet goes after scaleDownDelay; an abort
// after the switch goes back.
func TestBlueGreenServicesEndToEnd(t *testing.T) {
	g := NewWithT(t)
	g.SetDefaultEventuallyTimeout(e2eTimeout)
	g.SetDefaultEventuallyPollingInterval(100 * time.Millisecond)
	ns := newNamespace(t)
	for _, name := range []string{"shop", "shop-preview"} {
		g.Expect(k8sClient.Create(context.Background(), &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
			Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "shop"},
				Ports: []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromInt32(8080)}}},
		})).To(Succeed())
	}
	startManager(t, ns)
	w := world{g, ns}
	blue := givenHealthy(t, w, bgRollout(ns, true, 3*time.Second))
	g.Expect(w.selector("shop")).To(Equal(blue))

	w.setImage("shop", image("b2"))
	var green string
	g.Eventually(func(g Gomega) {
		w := world{g, ns}
		green = w.rollout("shop").Status.CurrentRevision
		g.Expect(green).NotTo(Equal(blue))
		g.Expect(w.selector("shop-preview")).To(Equal(green))
		active := w.selector("shop")
		if active == green {
			// Switched: only with every new pod Ready.
			g.Expect(w.readyPods(green)).To(Equal(4))
		}
		g.Expect(active).To(Equal(green))
		g.Expect(w.sizes("shop")).To(HaveKey(blue), "the old revision keeps running for scaleDownDelay")
	}).Should(Succeed())
	g.Eventually(func(g Gomega) {
		w := world{g, ns}
		g.Expect(w.rollout("shop").Status.Phase).To(Equal(cutoverv1alpha1.PhaseHealthy))
		g.Expect(w.sizes("shop")).To(Equal(map[string]int32{green: 4}))
	}).Should(Succeed())

	// Abort after the switch, within scaleDownDelay: back to green.
	w.patchRollout("shop", func(ro *cutoverv1alpha1.Rollout) {
		ro.Spec.Strategy.BlueGreen.ScaleDownDelay = &metav1.Duration{Duration: time.Minute}
		ro.Spec.Template.Spec.Containers[0].Image = image("c3")
	})
	g.Eventually(func(g Gomega) string { return world{g, ns}.selector("shop") }).ShouldNot(Equal(green))
	w.annotate("shop", cutoverv1alpha1.AnnotationAbort, "true")
	g.Eventually(func(g Gomega) {
		w := world{g, ns}
		g.Expect(w.selector("shop")).To(Equal(green))
		g.Expect(w.rollout("shop").Status.Phase).To(Equal(cutoverv1alpha1.PhaseAborted))
		g.Expect(w.sizes("shop")).To(Equal(map[string]int32{green: 4}))
	}).Should(Succeed())
}

// TestBlueGreenIstioEndToEnd: with Istio the switch moves the canary weight from 0 to 100 at once,
// after the new revision's pods are Ready.
func TestBlueGreenIstioEndToEnd(t *testing.T) {
	g := NewWithT(t)
	g.SetDefaultEventuallyTimeout(e2eTimeout)
	g.SetDefaultEventuallyPollingInterval(50 * time.Millisecond)
	ns := newNamespace(t)
	createIstioObjects(g, ns)
	startManager(t, ns)
	w := world{g, ns}
	ro := bgRollout(ns, false, time.Second)
	ro.Spec.TrafficRouting = &cutoverv1alpha1.TrafficRouting{Istio: &cutoverv1alpha1.IstioTrafficRouting{
		VirtualService:  &cutoverv1alpha1.IstioVirtualService{Name: "shop"},
		DestinationRule: cutoverv1alpha1.IstioDestinationRule{Name: "shop", StableSubset: "stable", CanarySubset: "canary"},
	}}
	blue := givenHealthy(t, w, ro)
	w.setImage("shop", image("d4"))
	seen := map[int32]bool{}
	g.Eventually(func(g Gomega) {
		w := world{g, ns}
		s, c, _, cr, _ := w.weights()
		seen[c] = true
		g.Expect(s + c).To(Equal(int32(100)))
		if c == 100 {
			g.Expect(w.readyPods(cr)).To(Equal(4))
		}
		r := w.rollout("shop")
		g.Expect(r.Status.StableRevision).NotTo(Equal(blue))
		g.Expect(r.Status.Phase).To(Equal(cutoverv1alpha1.PhaseHealthy))
		g.Expect(w.sizes("shop")).To(HaveLen(1))
	}).Should(Succeed())
	for weight := range seen {
		g.Expect([]int32{0, 100}).To(ContainElement(weight))
	}

	// Abort after the switch, within scaleDownDelay: the weight goes back to the old revision.
	green := w.rollout("shop").Status.StableRevision
	w.patchRollout("shop", func(ro *cutoverv1alpha1.Rollout) {
		ro.Spec.Strategy.BlueGreen.ScaleDownDelay = &metav1.Duration{Duration: time.Minute}
		ro.Spec.Template.Spec.Containers[0].Image = image("e5")
	})
	g.Eventually(func(g Gomega) int32 {
		_, c, _, _, _ := world{g, ns}.weights()
		return c
	}).Should(Equal(int32(100)))
	w.annotate("shop", cutoverv1alpha1.AnnotationAbort, "true")
	g.Eventually(func(g Gomega) {
		w := world{g, ns}
		s, c, sr, _, _ := w.weights()
		g.Expect([]any{s, c, sr}).To(Equal([]any{int32(100), int32(0), green}))
		g.Expect(w.rollout("shop").Status.Phase).To(Equal(cutoverv1alpha1.PhaseAborted))
		g.Expect(w.sizes("shop")).To(Equal(map[string]int32{green: 4}))
	}).Should(Succeed())
}
