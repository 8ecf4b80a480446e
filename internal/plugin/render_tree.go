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

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	cutoverv1alpha1 "github.com/cutover-dev/cutover/api/v1alpha1"
)

// Style is how a tree is drawn: for a terminal (box-drawing characters and colour) or for a
// pipe (ASCII only, no escape sequences, so the output can be grepped and diffed).
type Style struct {
	Terminal bool
}

// glyphs are the branches of a tree: a child that has siblings after it, the last child, and
// the indentation under each.
type glyphs struct{ mid, last, pipe, space string }

func (st Style) glyphs() glyphs {
	if st.Terminal {
		return glyphs{mid: "├── ", last: "└── ", pipe: "│   ", space: "    "}
	}
	return glyphs{mid: "|-- ", last: "`-- ", pipe: "|   ", space: "    "}
}

// ANSI colours for phases and gate results on a terminal.
const (
	ansiReset  = "\x1b[0m"
	ansiRed    = "\x1b[31m"
	ansiGreen  = "\x1b[32m"
	ansiYellow = "\x1b[33m"
	ansiBlue   = "\x1b[34m"
)

// paint colours s on a terminal according to the phase or gate result it names.
func (st Style) paint(s string) string {
	if !st.Terminal {
		return s
	}
	var c string
	switch s {
	case string(cutoverv1alpha1.PhaseHealthy), cutoverv1alpha1.GatePassed:
		c = ansiGreen
	case string(cutoverv1alpha1.PhasePaused), cutoverv1alpha1.GatePending:
		c = ansiYellow
	case string(cutoverv1alpha1.PhaseProgressing), cutoverv1alpha1.GateRunning:
		c = ansiBlue
	case string(cutoverv1alpha1.PhaseAborted), string(cutoverv1alpha1.PhaseDegraded), cutoverv1alpha1.GateFailed:
		c = ansiRed
	default:
		return s
	}
	return c + s + ansiReset
}

// node is one line of a tree and its children.
type node struct {
	text     string
	children []*node
}

func (n *node) add(format string, args ...any) *node {
	c := &node{text: fmt.Sprintf(format, args...)}
	n.children = append(n.children, c)
	return c
}

// RenderTree draws a Rollout as a tree: a header with its phase, message, strategy, step,
// weight, replicas and last action, then one branch per revision with its role and weight, its
// pinned images, its ReplicaSet's pod counts and its gates.
func RenderTree(s Snapshot, st Style) string {
	ro := s.Rollout
	var b strings.Builder
	revs := Revisions(s)
	phase := string(ro.Status.Phase)
	if phase == "" {
		phase = "Unknown"
	}
	fmt.Fprintf(&b, "Rollout %s/%s  %s\n", ro.Namespace, ro.Name, st.paint(phase))
	header := []struct{ key, value string }{
		{"Message", orDash(ro.Status.Message)},
		{"Strategy", ro.Spec.Strategy.StrategyName()},
		{"Step", StepText(ro)},
		{"Traffic", trafficText(revs)},
		{"Replicas", fmt.Sprintf("desired %d, current %d, ready %d, available %d",
			ro.GetReplicas(), ro.Status.Replicas, ro.Status.ReadyReplicas, ro.Status.AvailableReplicas)},
		{"Generation", generationText(ro)},
		{"Last action", lastActionText(s)},
	}
	if a := actionAnnotations(ro); a != "" {
		header = append(header, struct{ key, value string }{"Actions", a})
	}
	if ro.Spec.Paused {
		header = append(header, struct{ key, value string }{"Held", "spec.paused is true: nothing advances"})
	}
	for _, h := range header {
		fmt.Fprintf(&b, "  %-12s %s\n", h.key+":", h.value)
	}
	root := &node{}
	for _, v := range revs {
		revisionNode(root, v, s, st)
	}
	g := st.glyphs()
	for i, c := range root.children {
		draw(&b, c, "", i == len(root.children)-1, g)
	}
	return b.String()
}

// revisionNode adds the branch of one revision under root.
func revisionNode(root *node, v RevisionView, s Snapshot, st Style) {
	roles := make([]string, len(v.Roles))
	for i, r := range v.Roles {
		roles[i] = string(r)
	}
	n := root.add("revision %s  %s  weight %d", v.Revision, strings.Join(roles, ","), v.Weight)
	if v.Record != nil {
		n.text += "  " + v.Record.Outcome
	}
	if v.CreatedAt != nil {
		n.text += "  created " + ago(s.Now, &metav1.Time{Time: *v.CreatedAt}) + " ago"
	}
	for _, img := range v.Images {
		n.add("image %s: %s", img.Container, img.Image)
	}
	if rs := v.ReplicaSet; rs != nil {
		n.add("replicaset %s  desired %d, current %d, ready %d, available %d",
			rs.Name, rs.Desired, rs.Current, rs.Ready, rs.Available)
	} else {
		n.add("replicaset (none)")
	}
	if v.Record != nil && v.Record.Reason != "" {
		n.add("reason: %s", v.Record.Reason)
	}
	if len(v.Gates) > 0 {
		gn := n.add("gates")
		for _, gs := range v.Gates {
			gn.add("%s  %s  measurements %d, failures %d, errors %d, last value %s",
				gs.Name, st.paint(orDash(gs.Phase)), gs.Measurements, gs.Failures, gs.Errors, orDash(gs.LastValue))
		}
	}
}

// draw writes n and its children with the tree's branches.
func draw(b *strings.Builder, n *node, prefix string, last bool, g glyphs) {
	branch, indent := g.mid, g.pipe
	if last {
		branch, indent = g.last, g.space
	}
	b.WriteString(prefix + branch + n.text + "\n")
	for i, c := range n.children {
		draw(b, c, prefix+indent, i == len(n.children)-1, g)
	}
}

// trafficText is the split of traffic between revisions: "25% to a, 75% to b".
func trafficText(revs []RevisionView) string {
	var parts []string
	for _, v := range revs {
		if v.Weight > 0 {
			parts = append(parts, fmt.Sprintf("%d%% to %s", v.Weight, v.Revision))
		}
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, ", ")
}

func generationText(ro *cutoverv1alpha1.Rollout) string {
	if ro.Status.ObservedGeneration >= ro.Generation {
		return fmt.Sprintf("%d (observed)", ro.Generation)
	}
	return fmt.Sprintf("%d (status is of generation %d: the controller has not seen the latest spec yet)",
		ro.Generation, ro.Status.ObservedGeneration)
}

func lastActionText(s Snapshot) string {
	a := s.Rollout.Status.LastAction
	if a == nil {
		return "-"
	}
	t := a.Type
	if a.Revision != "" {
		t += " of revision " + a.Revision
	}
	return t + ", " + ago(s.Now, &a.At) + " ago"
}

// actionAnnotations lists the action annotations of the contract present on a Rollout. A
// one-shot value is removed once acted on, so one that stays says the operator has not (yet)
// taken it; a revision approval stays by design.
func actionAnnotations(ro *cutoverv1alpha1.Rollout) string {
	var out []string
	for _, k := range []string{cutoverv1alpha1.AnnotationPromote, cutoverv1alpha1.AnnotationAbort, cutoverv1alpha1.AnnotationRetry} {
		v, ok := ro.Annotations[k]
		switch {
		case !ok:
		case revisionPattern.MatchString(v):
			out = append(out, k+"="+v+" (approval, kept)")
		default:
			out = append(out, k+"="+v+" (not acted on yet)")
		}
	}
	return strings.Join(out, ", ")
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
