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
	"net/http"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	cutoverv1alpha1 "github.com/cutover-dev/cutover/api/v1alpha1"
)

// gatedBlueGreen is a blue-green Rollout (autoPromote, scaleDownDelay 0s) whose pre- or
// post-promotion gate "smoke" asks the test server, failing at the first bad answer.
func gatedBlueGreen(ns, url string, pre bool) *cutoverv1alpha1.Rollout {
	ro := blueGreenRollout(ns, digestImage(1), true, 0)
	ro.Spec.Gates = httpGateRollout(ns, url, 2, 0, 4).Spec.Gates
	if pre {
		ro.Spec.Strategy.BlueGreen.PrePromotionGates = []string{"smoke"}
	} else {
		ro.Spec.Strategy.BlueGreen.PostPromotionGates = []string{"smoke"}
	}
	return ro
}

// blueGreenAtNewRevision creates the Rollout, lets revision 1 become stable on the active
// Service, and changes the image; it returns the two revisions.
func blueGreenAtNewRevision(g Gomega, ns string, ro *cutoverv1alpha1.Rollout) (blue, green string) {
	g.Expect(k8sClient.Create(context.Background(), ro)).To(Succeed())
	g.Eventually(func(g Gomega) {
		markAvailable(g, ns, "web")
		r := getRollout(g, ns, "web")
		g.Expect(r.Status.Phase).To(Equal(cutoverv1alpha1.PhaseHealthy), r.Status.Message)
		blue = r.Status.StableRevision
		g.Expect(selectorOf(g, ns, "active")[cutoverv1alpha1.LabelRevision]).To(Equal(blue))
	}).Should(Succeed())
	setImage(g, ns, "web", digestImage(2))
	g.Eventually(func(g Gomega) {
		r := getRollout(g, ns, "web")
		g.Expect(r.Status.CurrentRevision).NotTo(Equal(blue))
		green = r.Status.CurrentRevision
	}).Should(Succeed())
	return blue, green
}

func TestBlueGreenPrePromotionGateFailureNeverSwitches(t *testing.T) {
	g := newTestGomega(t)
	ns := newNamespace(t)
	createService(g, ns, "active")
	createService(g, ns, "preview")
	srv := newGateServer(t, http.StatusServiceUnavailable)
	startManager(t, ns, nil)
	blue, green := blueGreenAtNewRevision(g, ns, gatedBlueGreen(ns, srv.URL, true))
	g.Eventually(func(g Gomega) {
		// On every look, before and after the abort, the active Service stays on blue.
		g.Expect(selectorOf(g, ns, "active")[cutoverv1alpha1.LabelRevision]).To(Equal(blue))
		markAvailable(g, ns, "web")
		g.Expect(getRollout(g, ns, "web").Status.Phase).To(Equal(cutoverv1alpha1.PhaseAborted))
	}).Should(Succeed())
	expectGateAbort(g, ns, "web", blue, "smoke")
	g.Expect(srv.hits(green)).To(Equal(1), "the preview was measured, once: failureLimit 0")
	g.Expect(selectorOf(g, ns, "active")[cutoverv1alpha1.LabelRevision]).To(Equal(blue))
	g.Expect(getRollout(g, ns, "web").Status.Progress.SwitchedAt).To(BeNil())
}

func TestBlueGreenPostPromotionGateFailureSwitchesBack(t *testing.T) {
	g := newTestGomega(t)
	ns := newNamespace(t)
	createService(g, ns, "active")
	createService(g, ns, "preview")
	srv := newGateServer(t, http.StatusOK)
	startManager(t, ns, nil)
	ro := gatedBlueGreen(ns, srv.URL, false)
	// Slow enough for the test to see the switch before the first measurement.
	ro.Spec.Gates[0].InitialDelay = &metav1.Duration{Duration: 2 * time.Second}
	ro.Spec.Gates[0].Count = ptr.To[int32](5)
	blue, green := blueGreenAtNewRevision(g, ns, ro)
	g.Eventually(func(g Gomega) {
		markAvailable(g, ns, "web")
		g.Expect(selectorOf(g, ns, "active")[cutoverv1alpha1.LabelRevision]).To(Equal(green))
	}).Should(Succeed())
	// scaleDownDelay is 0s, yet blue stays while the post-promotion gate runs.
	g.Consistently(func(g Gomega) map[string]int32 { return sizes(g, ns, "web") }, time.Second).
		Should(Equal(map[string]int32{blue: 4, green: 4}))
	srv.set(http.StatusInternalServerError, false)
	g.Eventually(func(g Gomega) {
		g.Expect(selectorOf(g, ns, "active")[cutoverv1alpha1.LabelRevision]).To(Equal(blue))
	}).Should(Succeed())
	expectGateAbort(g, ns, "web", blue, "smoke")
	g.Expect(srv.hits(green)).To(BeNumerically(">=", 1))
}
