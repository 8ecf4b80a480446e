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
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	cutoverv1alpha1 "github.com/cutover-dev/cutover/api/v1alpha1"
)

// TestProgressDeadlineAborts runs a new revision whose pods never become available: once
// spec.progressDeadlineSeconds has passed it is aborted and torn down. Waiting at a pause{} for a
// person does not count against the deadline.
func TestProgressDeadlineAborts(t *testing.T) {
	ns := newNamespace(t)
	startManager(t, ns, nil)

	t.Run("unavailable canary", func(t *testing.T) {
		g := newWalkG(t)
		ro := canaryRollout(ns, "stuck", digestImage(1), time.Hour)
		ro.Spec.ProgressDeadlineSeconds = ptr.To[int32](3)
		stable := createStable(g, ro)

		canary := startCanary(g, ns, "stuck", digestImage(2), stable)
		created := time.Now()
		g.Expect(sizes(g, ns, "stuck")).To(Equal(map[string]int32{stable: 4, canary: 1}))
		// Only the stable revision's pods are ever available.
		g.Eventually(func(g Gomega) {
			markRevisionAvailable(g, ns, "stuck", stable)
			r := getRollout(g, ns, "stuck")
			g.Expect(r.Status.Phase).To(Equal(cutoverv1alpha1.PhaseAborted), r.Status.Message)
		}).Should(Succeed())
		// The stamps of the status have second precision, so the deadline may count from up to a
		// second before the ReplicaSet was seen.
		g.Expect(time.Since(created)).To(BeNumerically(">=", 2*time.Second))

		g.Eventually(func(g Gomega) {
			g.Expect(sizes(g, ns, "stuck")).To(Equal(map[string]int32{stable: 4}))
			r := getRollout(g, ns, "stuck")
			g.Expect(r.Status.Phase).To(Equal(cutoverv1alpha1.PhaseAborted))
			st := condition(r, cutoverv1alpha1.StalledCondition)
			g.Expect(st).NotTo(BeNil())
			g.Expect(st.Status).To(Equal(metav1.ConditionTrue))
			g.Expect(st.Reason).To(Equal(cutoverv1alpha1.ReasonProgressDeadlineExceeded))
			g.Expect(condition(r, cutoverv1alpha1.ReadyCondition).Status).To(Equal(metav1.ConditionFalse))
			g.Expect(r.Status.StableRevision).To(Equal(stable))
			g.Expect(r.Status.CanaryWeight).To(Equal(int32(0)))
			g.Expect(historyOf(r)).To(Equal([]string{canary + ":Aborted", stable + ":Promoted"}))
			g.Expect(r.Status.LastAction).To(BeNil())
		}).Should(Succeed())
		g.Eventually(func(g Gomega) int { return eventCount(g, ns, "stuck", "Warning", "Aborted") }).Should(Equal(1))
		// It stays aborted; the canary is not recreated.
		g.Consistently(func(g Gomega) {
			g.Expect(sizes(g, ns, "stuck")).To(Equal(map[string]int32{stable: 4}))
			g.Expect(getRollout(g, ns, "stuck").Status.Phase).To(Equal(cutoverv1alpha1.PhaseAborted))
		}, time.Second).Should(Succeed())
		g.Expect(eventCount(g, ns, "stuck", "Warning", "Aborted")).To(Equal(1))
	})

	t.Run("pause does not count", func(t *testing.T) {
		g := newWalkG(t)
		ro := canaryRollout(ns, "held", digestImage(1), time.Hour)
		ro.Spec.ProgressDeadlineSeconds = ptr.To[int32](2)
		ro.Spec.Strategy.Canary.Steps = []cutoverv1alpha1.CanaryStep{
			{Pause: &cutoverv1alpha1.PauseStep{}},
			{SetWeight: ptr.To[int32](50)},
		}
		stable := createStable(g, ro)

		canary := startCanary(g, ns, "held", digestImage(2), stable)
		g.Eventually(func(g Gomega) {
			g.Expect(sizes(g, ns, "held")).To(Equal(map[string]int32{stable: 4, canary: 0}))
			r := getRollout(g, ns, "held")
			g.Expect(r.Status.Phase).To(Equal(cutoverv1alpha1.PhasePaused), r.Status.Message)
			g.Expect(stepOf(r)).To(Equal(int32(0)))
		}).Should(Succeed())
		g.Consistently(func(g Gomega) {
			g.Expect(sizes(g, ns, "held")).To(Equal(map[string]int32{stable: 4, canary: 0}))
			r := getRollout(g, ns, "held")
			g.Expect(r.Status.Phase).To(Equal(cutoverv1alpha1.PhasePaused), r.Status.Message)
			g.Expect(condition(r, cutoverv1alpha1.StalledCondition)).To(BeNil())
		}, 4*time.Second).Should(Succeed())

		// After the promote the deadline counts from the new step: pods available in time finish it.
		annotate(g, ns, "held", cutoverv1alpha1.AnnotationPromote, "true")
		finishCanary(g, ns, "held", canary)
		r := getRollout(g, ns, "held")
		g.Expect(historyOf(r)).To(Equal([]string{canary + ":Promoted", stable + ":Promoted"}))
		g.Expect(eventCount(g, ns, "held", "Warning", "Aborted")).To(Equal(0))
	})
}
