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
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/duration"
	"k8s.io/utils/ptr"

	cutoverv1alpha1 "github.com/cutover-dev/cutover/api/v1alpha1"
)

// Snapshot is what the plugin knows about one Rollout at one instant: the Rollout, its managed
// ReplicaSets (labelled cutover.dev/rollout=<name>) and the time the snapshot was read. Every
// renderer is a pure function of a Snapshot.
type Snapshot struct {
	Rollout     *cutoverv1alpha1.Rollout
	ReplicaSets []appsv1.ReplicaSet
	Now         time.Time
}

// Role is what a revision is to its Rollout.
type Role string

// The roles of a revision.
const (
	RoleCurrent Role = "current" // status.currentRevision, being rolled out
	RoleStable  Role = "stable"  // status.stableRevision
	RoleOld     Role = "old"     // neither: a ReplicaSet still alive, or a record of status.history
)

// RevisionView is one revision as the plugin shows it.
type RevisionView struct {
	Revision string
	Roles    []Role
	// Weight is the share of traffic (or, without a mesh, of replicas) of the revision.
	Weight int32
	// Images are the revision's pinned images: status.images for the current revision, else
	// the ReplicaSet's cutover.dev/image-pins annotation, else its status.history record.
	Images []cutoverv1alpha1.ContainerImage
	// ReplicaSet is nil once the revision's ReplicaSet is gone.
	ReplicaSet *ReplicaSetView
	CreatedAt  *time.Time
	// Record is the revision's status.history record, if it has one.
	Record *cutoverv1alpha1.RevisionRecord
	// Gates are the gate runs of the revision (only the current revision has any).
	Gates []cutoverv1alpha1.GateStatus
}

// ReplicaSetView is a ReplicaSet's name and pod counts.
type ReplicaSetView struct {
	Name                               string
	Desired, Current, Ready, Available int32
}

// Revisions lists the revisions of a snapshot: the current one first, then the stable one,
// then the others newest first. A revision appears once whatever its sources: the status, a
// live ReplicaSet, or a status.history record.
func Revisions(s Snapshot) []RevisionView {
	ro := s.Rollout
	byRev := map[string]*RevisionView{}
	get := func(rev string) *RevisionView {
		if v, ok := byRev[rev]; ok {
			return v
		}
		v := &RevisionView{Revision: rev}
		byRev[rev] = v
		return v
	}
	cur, stable := ro.Status.CurrentRevision, ro.Status.StableRevision
	for i := range s.ReplicaSets {
		rs := &s.ReplicaSets[i]
		rev := rs.Labels[cutoverv1alpha1.LabelRevision]
		if rev == "" || !rs.DeletionTimestamp.IsZero() {
			continue
		}
		v := get(rev)
		v.ReplicaSet = &ReplicaSetView{Name: rs.Name, Desired: ptr.Deref(rs.Spec.Replicas, 1),
			Current: rs.Status.Replicas, Ready: rs.Status.ReadyReplicas, Available: rs.Status.AvailableReplicas}
		v.Images = pinsOf(rs)
		v.CreatedAt = createdAt(rs)
	}
	for i := range ro.Status.History {
		rec := &ro.Status.History[i]
		if _, seen := byRev[rec.Revision]; !seen && rec.Revision != cur && rec.Revision != stable {
			// A finished revision without a ReplicaSet is history's business, not the tree's.
			continue
		}
		v := get(rec.Revision)
		v.Record = rec
		if len(v.Images) == 0 {
			v.Images = rec.Images
		}
		if v.CreatedAt == nil && rec.CreatedAt != nil {
			v.CreatedAt = &rec.CreatedAt.Time
		}
	}
	if stable != "" {
		get(stable).Roles = append(get(stable).Roles, RoleStable)
	}
	if cur != "" {
		v := get(cur)
		v.Roles = append([]Role{RoleCurrent}, v.Roles...)
		if len(ro.Status.Images) > 0 {
			v.Images = ro.Status.Images
		}
		v.Gates = ro.Status.Gates
	}
	out := make([]RevisionView, 0, len(byRev))
	for _, v := range byRev {
		if len(v.Roles) == 0 {
			v.Roles = []Role{RoleOld}
		}
		v.Weight = weightOf(ro, v.Revision)
		out = append(out, *v)
	}
	slices.SortFunc(out, func(a, b RevisionView) int {
		if c := cmp.Compare(rank(a), rank(b)); c != 0 {
			return c
		}
		if c := timeOf(b).Compare(timeOf(a)); c != 0 {
			return c
		}
		return cmp.Compare(a.Revision, b.Revision)
	})
	return out
}

// weightOf is the share of traffic a revision carries: status.canaryWeight on the current
// revision, the rest on the stable one, and nothing on any other.
func weightOf(ro *cutoverv1alpha1.Rollout, rev string) int32 {
	cur, stable := ro.Status.CurrentRevision, ro.Status.StableRevision
	switch {
	case rev == stable && (cur == "" || cur == stable):
		return 100
	case rev == cur:
		return ro.Status.CanaryWeight
	case rev == stable:
		return 100 - ro.Status.CanaryWeight
	default:
		return 0
	}
}

func rank(v RevisionView) int {
	switch v.Roles[0] {
	case RoleCurrent:
		return 0
	case RoleStable:
		return 1
	default:
		return 2
	}
}

func timeOf(v RevisionView) time.Time {
	if v.CreatedAt == nil {
		return time.Time{}
	}
	return *v.CreatedAt
}

// pinsOf reads a ReplicaSet's cutover.dev/image-pins annotation, falling back to the images of
// its pod template, which the operator writes pinned.
func pinsOf(rs *appsv1.ReplicaSet) []cutoverv1alpha1.ContainerImage {
	var pins []cutoverv1alpha1.ContainerImage
	if err := json.Unmarshal([]byte(rs.Annotations[cutoverv1alpha1.AnnotationImagePins]), &pins); err == nil && len(pins) > 0 {
		return pins
	}
	spec := rs.Spec.Template.Spec
	for _, c := range spec.InitContainers {
		pins = append(pins, cutoverv1alpha1.ContainerImage{Container: "init:" + c.Name, Image: c.Image})
	}
	for _, c := range spec.Containers {
		pins = append(pins, cutoverv1alpha1.ContainerImage{Container: c.Name, Image: c.Image})
	}
	return pins
}

// createdAt is a ReplicaSet's cutover.dev/created-at annotation, else its creation time.
func createdAt(rs *appsv1.ReplicaSet) *time.Time {
	if t, err := time.Parse(time.RFC3339, rs.Annotations[cutoverv1alpha1.AnnotationCreatedAt]); err == nil {
		return &t
	}
	if rs.CreationTimestamp.IsZero() {
		return nil
	}
	t := rs.CreationTimestamp.Time
	return &t
}

// StepText says where a Rollout stands in its strategy: for a canary, "3/5: pause (until
// promoted)"; for blue-green, whether traffic has switched; "-" when nothing is known.
func StepText(ro *cutoverv1alpha1.Rollout) string {
	if bg := ro.Spec.Strategy.BlueGreen; bg != nil {
		p := ro.Status.Progress
		switch {
		case ro.Status.CurrentRevision == "" || ro.Status.CurrentRevision == ro.Status.StableRevision:
			return "-"
		case p != nil && p.Revision == ro.Status.CurrentRevision && p.SwitchedAt != nil:
			return "switched"
		default:
			return "preview"
		}
	}
	steps := stepsOf(ro)
	if ro.Status.CurrentStepIndex == nil || len(steps) == 0 {
		return "-"
	}
	idx := int(*ro.Status.CurrentStepIndex)
	if idx < 0 {
		return "-"
	}
	if idx >= len(steps) {
		return fmt.Sprintf("%d/%d: complete", len(steps), len(steps))
	}
	return fmt.Sprintf("%d/%d: %s", idx+1, len(steps), describeStep(steps[idx]))
}

// StepShort is StepText without the step's description: "3/5", or "-".
func StepShort(ro *cutoverv1alpha1.Rollout) string {
	steps := stepsOf(ro)
	if ro.Spec.Strategy.BlueGreen != nil || ro.Status.CurrentStepIndex == nil || len(steps) == 0 || *ro.Status.CurrentStepIndex < 0 {
		return StepText(ro)
	}
	return fmt.Sprintf("%d/%d", min(int(*ro.Status.CurrentStepIndex)+1, len(steps)), len(steps))
}

func stepsOf(ro *cutoverv1alpha1.Rollout) []cutoverv1alpha1.CanaryStep {
	if ro.Spec.Strategy.Canary == nil {
		return nil
	}
	return ro.Spec.Strategy.Canary.Steps
}

func describeStep(s cutoverv1alpha1.CanaryStep) string {
	switch {
	case s.SetWeight != nil:
		return fmt.Sprintf("setWeight %d", *s.SetWeight)
	case s.Pause != nil && s.Pause.Duration != nil:
		return "pause " + s.Pause.Duration.Duration.String()
	case s.Pause != nil:
		return "pause (until promoted)"
	case len(s.Gates) > 0:
		return fmt.Sprintf("gates %v", s.Gates)
	default:
		return "?"
	}
}

// ago is a time relative to now, as kubectl prints ages ("42s", "3m", "2d").
func ago(now time.Time, t *metav1.Time) string {
	if t == nil || t.IsZero() {
		return "-"
	}
	return duration.HumanDuration(now.Sub(t.Time))
}
