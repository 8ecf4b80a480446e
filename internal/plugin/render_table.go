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
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	cutoverv1alpha1 "github.com/cutover-dev/cutover/api/v1alpha1"
)

// RenderList writes one line per Rollout: its phase, strategy, step, weight, ready pods and
// its stable and current revisions. allNamespaces adds a NAMESPACE column.
func RenderList(rollouts []cutoverv1alpha1.Rollout, allNamespaces bool, now time.Time) string {
	var b strings.Builder
	w := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	head := "NAME\tPHASE\tSTRATEGY\tSTEP\tWEIGHT\tREADY\tSTABLE\tCURRENT\tAGE"
	if allNamespaces {
		head = "NAMESPACE\t" + head
	}
	_, _ = fmt.Fprintln(w, head) // a strings.Builder never fails
	for i := range rollouts {
		ro := &rollouts[i]
		row := fmt.Sprintf("%s\t%s\t%s\t%s\t%d\t%d/%d\t%s\t%s\t%s", ro.Name, orDash(string(ro.Status.Phase)),
			ro.Spec.Strategy.StrategyName(), StepShort(ro), ro.Status.CanaryWeight, ro.Status.ReadyReplicas,
			ro.GetReplicas(), orDash(ro.Status.StableRevision), orDash(ro.Status.CurrentRevision),
			ago(now, &ro.CreationTimestamp))
		if allNamespaces {
			row = ro.Namespace + "\t" + row
		}
		_, _ = fmt.Fprintln(w, row)
	}
	_ = w.Flush()
	return b.String()
}

// HistoryEntry is one revision in the history of a Rollout.
type HistoryEntry struct {
	Revision   string
	Outcome    string
	Reason     string
	CreatedAt  *time.Time
	FinishedAt *time.Time
	Images     []cutoverv1alpha1.ContainerImage
	// ReplicaSet names the revision's ReplicaSet while it exists.
	ReplicaSet string
}

// History lists the revisions of a Rollout, newest first: the revision in flight (when it has
// no record yet, its outcome is the Rollout's phase), then status.history, then any ReplicaSet
// of a revision that has neither. Images come from the record, else from the ReplicaSet's
// cutover.dev/image-pins annotation, else from status.images.
func History(s Snapshot) []HistoryEntry {
	ro := s.Rollout
	views := map[string]RevisionView{}
	for _, v := range Revisions(s) {
		views[v.Revision] = v
	}
	seen := map[string]bool{}
	var out []HistoryEntry
	addView := func(v RevisionView, outcome, reason string) {
		e := HistoryEntry{Revision: v.Revision, Outcome: outcome, Reason: reason, CreatedAt: v.CreatedAt, Images: v.Images}
		if v.ReplicaSet != nil {
			e.ReplicaSet = v.ReplicaSet.Name
		}
		out = append(out, e)
		seen[v.Revision] = true
	}
	if cur := ro.Status.CurrentRevision; cur != "" && !inHistory(ro, cur) {
		addView(views[cur], "InFlight ("+orDash(string(ro.Status.Phase))+")", ro.Status.Message)
	}
	for _, rec := range ro.Status.History {
		if seen[rec.Revision] {
			continue
		}
		e := HistoryEntry{Revision: rec.Revision, Outcome: rec.Outcome, Reason: rec.Reason, Images: rec.Images}
		if rec.CreatedAt != nil {
			e.CreatedAt = &rec.CreatedAt.Time
		}
		if rec.FinishedAt != nil {
			e.FinishedAt = &rec.FinishedAt.Time
		}
		if v, ok := views[rec.Revision]; ok {
			if len(e.Images) == 0 {
				e.Images = v.Images
			}
			if v.ReplicaSet != nil {
				e.ReplicaSet = v.ReplicaSet.Name
			}
		}
		out = append(out, e)
		seen[rec.Revision] = true
	}
	for _, v := range Revisions(s) {
		if !seen[v.Revision] {
			addView(v, "-", "")
		}
	}
	return out
}

func inHistory(ro *cutoverv1alpha1.Rollout, rev string) bool {
	for _, h := range ro.Status.History {
		if h.Revision == rev {
			return true
		}
	}
	return false
}

// RenderHistory writes History as one block per revision: the revision, its outcome and
// times, the reason, its ReplicaSet and its pinned images.
func RenderHistory(s Snapshot) string {
	var b strings.Builder
	entries := History(s)
	if len(entries) == 0 {
		return fmt.Sprintf("rollout %s/%s has no revision yet\n", s.Rollout.Namespace, s.Rollout.Name)
	}
	for i, e := range entries {
		if i > 0 {
			b.WriteString("\n")
		}
		fmt.Fprintf(&b, "%s  %s\n", e.Revision, e.Outcome)
		fmt.Fprintf(&b, "  created:    %s\n", timeText(e.CreatedAt))
		fmt.Fprintf(&b, "  finished:   %s\n", timeText(e.FinishedAt))
		fmt.Fprintf(&b, "  reason:     %s\n", orDash(e.Reason))
		fmt.Fprintf(&b, "  replicaset: %s\n", orDash(e.ReplicaSet))
		for _, img := range e.Images {
			fmt.Fprintf(&b, "  image %s: %s\n", img.Container, img.Image)
		}
	}
	return b.String()
}

func timeText(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}
