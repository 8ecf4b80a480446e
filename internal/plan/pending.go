package plan

import (
	"fmt"
	"strings"

	cutoverv1alpha1 "github.com/cutover-dev/cutover/api/v1alpha1"
)

// pendingEntry is one entry of status.pendingRemoval, written key=value@revision: the one-shot
// action annotation key had value when it was taken, for revision.
type pendingEntry struct{ key, val, rev string }

func parsePending(s string) pendingEntry {
	key, rest, _ := strings.Cut(s, "=")
	val, rev, _ := strings.Cut(rest, "@")
	return pendingEntry{key: key, val: val, rev: rev}
}

func (e pendingEntry) String() string { return e.key + "=" + e.val + "@" + e.rev }

// skipPending hides the action annotations that were already taken and whose removal is recorded
// in status.pendingRemoval: they are removed again, never acted on twice. The same key with
// another value (promote=full after promote=true) is a new action.
//
// An entry taken for another revision than the desired one is honoured too: the annotation
// must not act on a revision nobody meant it for (a promote=full for the old revision would skip
// every step of the new one). As the same annotation may have been set again for the new
// revision, that removal gets a Warning that says so.
func (p *planner) skipPending() {
	p.skipped = map[string]pendingEntry{}
	for _, s := range p.in.Status.PendingRemoval {
		e := parsePending(s)
		v := p.in.Actions.get(e.key)
		if v == nil || *v == "" || *v != e.val {
			continue
		}
		*v = ""
		p.consume(e.key)
		p.skipped[e.key] = e
		// An entry without a revision was written before entries had one: it is taken to be
		// the desired revision's.
		if d := p.in.Desired.Hash; d != "" && e.rev != "" && e.rev != d {
			p.event(true, EventActionIgnored, fmt.Sprintf("%s=%s removed without acting on revision %s: it was taken for revision %s; annotate it again to act on %s",
				e.key, e.val, d, e.rev, d))
		}
	}
}

// recordPending records the annotations being removed, so a restart before their removal does
// not act on them again: an annotation taken now is recorded for the desired revision, one
// removed unread keeps the entry that hid it. Once the annotations are gone the record is
// cleared. One entry waits instead: a canary's promote, while the rollout waits for pods of the
// revision it was taken for. The status is written again when the wait ends, and clearing the
// record then saves a write. Meanwhile the same promote set again is removed unread; it would
// have nothing to act on during such a wait anyway (a promote=true is for the step the round
// starts at, and a setWeight step takes none). An abort or a retry, and a blue-green promote
// (which switches as soon as the preview is ready), are never kept that way: a new one during
// the wait is a new action.
func (p *planner) recordPending() {
	var rec []string
	for _, key := range p.out.RemoveAnnotations {
		if e, ok := p.skipped[key]; ok {
			rec = append(rec, e.String())
		} else if v := p.orig.get(key); v != nil {
			rec = append(rec, pendingEntry{key: key, val: *v, rev: p.in.Desired.Hash}.String())
		}
	}
	if len(rec) == 0 && p.out.State.Reason == cutoverv1alpha1.ReasonWaitingForAvailability && p.blueGreen() == nil {
		for _, s := range p.in.Status.PendingRemoval {
			if e := parsePending(s); e.key == cutoverv1alpha1.AnnotationPromote && e.rev == p.in.Desired.Hash {
				rec = append(rec, s)
			}
		}
	}
	p.st.PendingRemoval = rec
}
