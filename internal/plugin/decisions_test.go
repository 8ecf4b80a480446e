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

package plugin

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"

	. "github.com/onsi/gomega"
	jsonpatch "gopkg.in/evanphx/json-patch.v4"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	cutoverv1alpha1 "github.com/cutover-dev/cutover/api/v1alpha1"
)

func TestEvaluate(t *testing.T) {
	stalled := []metav1.Condition{{Type: cutoverv1alpha1.StalledCondition, Status: metav1.ConditionTrue, Reason: "GateFailed"}}
	cases := []struct {
		name       string
		phase      cutoverv1alpha1.RolloutPhase
		generation int64
		observed   int64
		conditions []metav1.Condition
		done       bool
		code       int
		reason     string
	}{
		{"healthy", cutoverv1alpha1.PhaseHealthy, 2, 2, nil, true, ExitOK, "is Healthy"},
		{"healthy from an old generation waits", cutoverv1alpha1.PhaseHealthy, 3, 2, nil, false, 0, "waiting for the controller to observe generation 3"},
		{"aborted", cutoverv1alpha1.PhaseAborted, 2, 2, stalled, true, ExitAborted, "is Aborted (GateFailed)"},
		{"aborted from an old generation waits", cutoverv1alpha1.PhaseAborted, 3, 2, stalled, false, 0, "waiting"},
		{"degraded", cutoverv1alpha1.PhaseDegraded, 2, 2, nil, true, ExitDegraded, "is Degraded"},
		{"paused waits", cutoverv1alpha1.PhasePaused, 2, 2, nil, false, 0, "is Paused"},
		{"progressing waits", cutoverv1alpha1.PhaseProgressing, 2, 2, nil, false, 0, "is Progressing"},
		{"fresh object waits", "", 1, -1, nil, false, 0, "waiting"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			ro := fixtureRollout()
			ro.Generation, ro.Status.ObservedGeneration = tc.generation, tc.observed
			ro.Status.Phase, ro.Status.Conditions = tc.phase, tc.conditions
			v := Evaluate(ro)
			g.Expect(v.Done).To(Equal(tc.done))
			g.Expect(v.Code).To(Equal(tc.code))
			g.Expect(v.Reason).To(ContainSubstring(tc.reason))
			g.Expect(v.Reason).To(ContainSubstring("shop/checkout"))
		})
	}
}

func TestExitCode(t *testing.T) {
	g := NewWithT(t)
	g.Expect(ExitCode(nil)).To(Equal(ExitOK))
	g.Expect(ExitCode(errors.New("boom"))).To(Equal(ExitError))
	g.Expect(ExitCode(fmt.Errorf("wrapped: %w", &CodeError{Code: ExitTimeout, Err: errors.New("late")}))).To(Equal(ExitTimeout))
}

func TestActionPatchesWriteOnlyTheAnnotation(t *testing.T) {
	approve, err := ApproveAction("5c4b8f9d7e")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		a          Action
		key, value string
	}{
		{ActionPromote, "cutover.dev/promote", "true"},
		{ActionPromoteFull, "cutover.dev/promote", "full"},
		{ActionAbort, "cutover.dev/abort", "true"},
		{ActionRetry, "cutover.dev/retry", "true"},
		{approve, "cutover.dev/promote", "5c4b8f9d7e"},
	}
	for _, tc := range cases {
		g := NewWithT(t)
		var patch map[string]any
		g.Expect(json.Unmarshal(tc.a.MergePatch(), &patch)).To(Succeed())
		g.Expect(patch).To(Equal(map[string]any{"metadata": map[string]any{"annotations": map[string]any{tc.key: tc.value}}}))
		g.Expect(tc.a.Describe("shop", "checkout")).To(ContainSubstring("rollout shop/checkout annotated " + tc.key + "=" + tc.value))
	}
}

func TestApproveActionRefusesWhatIsNotARevision(t *testing.T) {
	for _, bad := range []string{"", "true", "full", "5C4B8F9D7E", "5c4b8f9d7", "5c4b8f9d7e0", "zzzzzzzzzz"} {
		_, err := ApproveAction(bad)
		if err == nil {
			t.Errorf("ApproveAction(%q) succeeded; want an error", bad)
		}
	}
}

func TestParseImageChanges(t *testing.T) {
	g := NewWithT(t)
	got, err := ParseImageChanges([]string{"app=registry.example/app:2", "init:migrate=registry.example/m@" + digest('3')})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(got).To(Equal([]ImageChange{{"app", "registry.example/app:2"}, {"init:migrate", "registry.example/m@" + digest('3')}}))
	for _, bad := range [][]string{nil, {"app"}, {"=img"}, {"app="}, {"app=a", "app=b"}} {
		_, err := ParseImageChanges(bad)
		g.Expect(err).To(HaveOccurred(), "%v", bad)
	}
}

func TestImagePatchChangesOnlyTheNamedContainers(t *testing.T) {
	g := NewWithT(t)
	ro := fixtureRollout()
	ro.Spec.Template.Spec = corev1.PodSpec{
		InitContainers: []corev1.Container{{Name: "migrate", Image: "m:1"}},
		Containers:     []corev1.Container{{Name: "app", Image: "app:1"}, {Name: "proxy", Image: "proxy:1"}},
	}
	patch, previous, err := ImagePatch(&ro.Spec.Template.Spec, []ImageChange{{"proxy", "proxy:2"}, {"init:migrate", "m:2"}})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(previous).To(Equal([]string{"proxy:1", "m:1"}))

	doc, err := json.Marshal(ro)
	g.Expect(err).NotTo(HaveOccurred())
	p, err := jsonpatch.DecodePatch(patch)
	g.Expect(err).NotTo(HaveOccurred())
	out, err := p.Apply(doc)
	g.Expect(err).NotTo(HaveOccurred())
	after := &cutoverv1alpha1.Rollout{}
	g.Expect(json.Unmarshal(out, after)).To(Succeed())
	g.Expect(after.Spec.Template.Spec.Containers[0].Image).To(Equal("app:1"))
	g.Expect(after.Spec.Template.Spec.Containers[1].Image).To(Equal("proxy:2"))
	g.Expect(after.Spec.Template.Spec.InitContainers[0].Image).To(Equal("m:2"))

	// A template reordered since it was read fails the patch instead of changing another container.
	ro.Spec.Template.Spec.Containers[0], ro.Spec.Template.Spec.Containers[1] =
		ro.Spec.Template.Spec.Containers[1], ro.Spec.Template.Spec.Containers[0]
	doc, err = json.Marshal(ro)
	g.Expect(err).NotTo(HaveOccurred())
	_, err = p.Apply(doc)
	g.Expect(err).To(HaveOccurred())
}

func TestImagePatchNamesAnUnknownContainer(t *testing.T) {
	g := NewWithT(t)
	spec := &corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "app:1"}},
		InitContainers: []corev1.Container{{Name: "migrate"}}}
	_, _, err := ImagePatch(spec, []ImageChange{{"web", "web:2"}})
	g.Expect(err).To(MatchError(`container "web" not found in spec.template: the template has "app", "migrate" (init)`))
}
