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
	"flag"
	"path/filepath"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	cutoverv1alpha1 "github.com/cutover-dev/cutover/api/v1alpha1"
	goldenfile "github.com/cutover-dev/cutover/test/golden"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

// now is the fixed clock of the fixtures.
var now = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func digest(c byte) string { return "sha256:" + strings.Repeat(string(c), 64) }

// fixtureRollout is a canary at step 2 of 4 (pause for a minute at 25%), with a gate run,
// a promote recorded, one revision in history and two live ReplicaSets.
func fixtureRollout() *cutoverv1alpha1.Rollout {
	created := metav1.NewTime(now.Add(-2 * time.Hour))
	return &cutoverv1alpha1.Rollout{
		ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "checkout", Generation: 3, CreationTimestamp: created},
		Spec: cutoverv1alpha1.RolloutSpec{
			Replicas: ptr.To[int32](4),
			Strategy: cutoverv1alpha1.RolloutStrategy{Canary: &cutoverv1alpha1.CanaryStrategy{
				Steps: []cutoverv1alpha1.CanaryStep{
					{SetWeight: ptr.To[int32](25)},
					{Pause: &cutoverv1alpha1.PauseStep{Duration: &metav1.Duration{Duration: time.Minute}}},
					{Gates: []string{"success-rate"}},
					{Pause: &cutoverv1alpha1.PauseStep{}},
				},
			}},
		},
		Status: cutoverv1alpha1.RolloutStatus{
			ObservedGeneration: 3,
			Phase:              cutoverv1alpha1.PhasePaused,
			Message:            "step 2/4: 25% to revision 5c4b8f9d7e, pause 42s left",
			StableRevision:     "7d9f8c6b5d",
			CurrentRevision:    "5c4b8f9d7e",
			CurrentStepIndex:   ptr.To[int32](1),
			CanaryWeight:       25,
			Replicas:           5, ReadyReplicas: 5, AvailableReplicas: 4,
			Images: []cutoverv1alpha1.ContainerImage{
				{Container: "init:migrate", Image: "registry.example/shop/migrate@" + digest('1')},
				{Container: "app", Image: "registry.example/shop/checkout@" + digest('2')},
			},
			Gates: []cutoverv1alpha1.GateStatus{{Name: "success-rate", Phase: cutoverv1alpha1.GateRunning,
				Measurements: 2, Failures: 0, LastValue: "0.997"}},
			LastAction: &cutoverv1alpha1.RolloutAction{Type: "Promote", Revision: "5c4b8f9d7e",
				At: metav1.NewTime(now.Add(-3 * time.Minute))},
			History: []cutoverv1alpha1.RevisionRecord{{
				Revision: "7d9f8c6b5d", Outcome: "Promoted", Reason: "completed every step",
				Images:     []cutoverv1alpha1.ContainerImage{{Container: "app", Image: "registry.example/shop/checkout@" + digest('a')}},
				CreatedAt:  ptr.To(metav1.NewTime(now.Add(-2 * time.Hour))),
				FinishedAt: ptr.To(metav1.NewTime(now.Add(-110 * time.Minute))),
			}, {
				Revision: "0badc0ffee", Outcome: "Aborted", Reason: "gate success-rate failed: 0.91 >= 0.99 is false",
				Images:     []cutoverv1alpha1.ContainerImage{{Container: "app", Image: "registry.example/shop/checkout@" + digest('b')}},
				CreatedAt:  ptr.To(metav1.NewTime(now.Add(-3 * time.Hour))),
				FinishedAt: ptr.To(metav1.NewTime(now.Add(-170 * time.Minute))),
			}},
		},
	}
}

// fixtureReplicaSet is a managed ReplicaSet as the operator writes it.
func fixtureReplicaSet(rev string, pins string, desired, ready, available int32, age time.Duration) appsv1.ReplicaSet {
	return appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "checkout-" + rev,
			Labels: map[string]string{cutoverv1alpha1.LabelRollout: "checkout", cutoverv1alpha1.LabelRevision: rev},
			Annotations: map[string]string{
				cutoverv1alpha1.AnnotationImagePins: pins,
				cutoverv1alpha1.AnnotationCreatedAt: now.Add(-age).Format(time.RFC3339),
			}},
		Spec: appsv1.ReplicaSetSpec{Replicas: ptr.To(desired), Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
			Containers: []corev1.Container{{Name: "app", Image: "from-the-template-not-the-pins"}}}}},
		Status: appsv1.ReplicaSetStatus{Replicas: desired, ReadyReplicas: ready, AvailableReplicas: available},
	}
}

func fixtureSnapshot() Snapshot {
	return Snapshot{
		Rollout: fixtureRollout(),
		ReplicaSets: []appsv1.ReplicaSet{
			fixtureReplicaSet("7d9f8c6b5d", `[{"container":"app","image":"registry.example/shop/checkout@`+digest('a')+`"}]`, 3, 3, 3, 2*time.Hour),
			fixtureReplicaSet("5c4b8f9d7e", `[{"container":"app","image":"registry.example/shop/checkout@`+digest('2')+`"}]`, 1, 1, 0, 5*time.Minute),
		},
		Now: now,
	}
}

// golden compares got with testdata/name, or rewrites the file with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	goldenfile.Check(t, filepath.Join("testdata", name), got, *update)
}

func TestRenderTreeGolden(t *testing.T) {
	healthy := fixtureSnapshot()
	ro := healthy.Rollout
	ro.Status.Phase, ro.Status.Message = cutoverv1alpha1.PhaseHealthy, "revision 7d9f8c6b5d is healthy"
	ro.Status.CurrentRevision, ro.Status.CanaryWeight, ro.Status.Gates = ro.Status.StableRevision, 0, nil
	ro.Status.CurrentStepIndex = ptr.To[int32](4)
	ro.Status.Images = ro.Status.History[0].Images
	healthy.ReplicaSets = healthy.ReplicaSets[:1]

	stale := fixtureSnapshot()
	stale.Rollout.Generation = 4
	stale.Rollout.Spec.Paused = true
	stale.Rollout.Annotations = map[string]string{cutoverv1alpha1.AnnotationAbort: "true",
		cutoverv1alpha1.AnnotationPromote: "5c4b8f9d7e", "team": "shop"}

	cases := []struct {
		name string
		snap Snapshot
		st   Style
	}{
		{"tree_terminal.golden", fixtureSnapshot(), Style{Terminal: true}},
		{"tree_piped.golden", fixtureSnapshot(), Style{}},
		{"tree_healthy_piped.golden", healthy, Style{}},
		{"tree_stale_held_piped.golden", stale, Style{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			out := RenderTree(tc.snap, tc.st)
			golden(t, tc.name, out)
			// Digests are shown in full: what was tested is what serves.
			g.Expect(out).To(ContainSubstring("registry.example/shop/checkout@" + digest('a')))
			if tc.st.Terminal {
				g.Expect(out).To(ContainSubstring("└── "))
				g.Expect(out).To(ContainSubstring(ansiYellow + "Paused" + ansiReset))
			} else {
				g.Expect(out).NotTo(ContainSubstring("\x1b["), "the piped form has no escape sequences")
				g.Expect(strings.ToValidUTF8(out, "")).To(MatchRegexp(`^[\x00-\x7f]*$`), "the piped form is ASCII")
			}
		})
	}
}

func TestRevisionsOrderAndSources(t *testing.T) {
	g := NewWithT(t)
	revs := Revisions(fixtureSnapshot())
	g.Expect(revs).To(HaveLen(2), "the aborted revision has no ReplicaSet: it is history's, not the tree's")
	cur, stable := revs[0], revs[1]
	g.Expect(cur.Revision).To(Equal("5c4b8f9d7e"))
	g.Expect(cur.Roles).To(Equal([]Role{RoleCurrent}))
	g.Expect(cur.Weight).To(BeEquivalentTo(25))
	g.Expect(cur.Images).To(HaveLen(2), "the current revision's images come from status.images, init containers too")
	g.Expect(cur.ReplicaSet).To(Equal(&ReplicaSetView{Name: "checkout-5c4b8f9d7e", Desired: 1, Current: 1, Ready: 1}))
	g.Expect(stable.Revision).To(Equal("7d9f8c6b5d"))
	g.Expect(stable.Weight).To(BeEquivalentTo(75))
	g.Expect(stable.Images[0].Image).To(HaveSuffix(digest('a')), "from the ReplicaSet's image-pins annotation")
}

func TestRenderListGolden(t *testing.T) {
	a := fixtureRollout()
	b := fixtureRollout()
	b.Namespace, b.Name = "pay", "ledger"
	b.Spec.Strategy = cutoverv1alpha1.RolloutStrategy{BlueGreen: &cutoverv1alpha1.BlueGreenStrategy{ActiveService: "ledger"}}
	b.Status.Phase, b.Status.CurrentRevision, b.Status.CanaryWeight = cutoverv1alpha1.PhaseHealthy, b.Status.StableRevision, 0
	golden(t, "list_all_namespaces.golden", RenderList([]cutoverv1alpha1.Rollout{*a, *b}, true, now))
	golden(t, "list.golden", RenderList([]cutoverv1alpha1.Rollout{*a}, false, now))
}

func TestRenderHistoryGolden(t *testing.T) {
	g := NewWithT(t)
	s := fixtureSnapshot()
	out := RenderHistory(s)
	golden(t, "history.golden", out)
	entries := History(s)
	g.Expect(entries).To(HaveLen(3))
	g.Expect(entries[0]).To(HaveField("Outcome", "InFlight (Paused)"))
	g.Expect(entries[1]).To(HaveField("ReplicaSet", "checkout-7d9f8c6b5d"))
	g.Expect(entries[2]).To(HaveField("Reason", ContainSubstring("gate success-rate failed")))
}

func TestStepText(t *testing.T) {
	ro := fixtureRollout()
	cases := []struct {
		idx  *int32
		want string
	}{
		{nil, "-"},
		{ptr.To[int32](0), "1/4: setWeight 25"},
		{ptr.To[int32](1), "2/4: pause 1m0s"},
		{ptr.To[int32](2), "3/4: gates [success-rate]"},
		{ptr.To[int32](3), "4/4: pause (until promoted)"},
		{ptr.To[int32](4), "4/4: complete"},
	}
	for _, tc := range cases {
		ro.Status.CurrentStepIndex = tc.idx
		if got := StepText(ro); got != tc.want {
			t.Errorf("StepText at %v = %q, want %q", tc.idx, got, tc.want)
		}
	}
}

func TestWatchDrawerRedrawsOnlyOnChange(t *testing.T) {
	for _, terminal := range []bool{false, true} {
		g := NewWithT(t)
		var out strings.Builder
		draw := treeDrawer(&out, Style{Terminal: terminal}, "shop", "checkout")
		s := fixtureSnapshot()
		_, _ = draw(s)
		_, _ = draw(s) // nothing changed: nothing drawn
		s2 := fixtureSnapshot()
		s2.Rollout.Status.CanaryWeight = 50
		_, _ = draw(s2)
		blocks := strings.Count(out.String(), "Rollout shop/checkout")
		g.Expect(blocks).To(Equal(2))
		if terminal {
			g.Expect(strings.Count(out.String(), clearScreen)).To(Equal(2), "a terminal is redrawn in place")
		} else {
			g.Expect(out.String()).NotTo(ContainSubstring("\x1b["))
			g.Expect(out.String()).To(ContainSubstring("\n\nRollout shop/checkout"), "blocks are separated by a blank line")
		}
	}
}
