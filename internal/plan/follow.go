package plan

import (
	"reflect"
	"slices"
)

// Follow plans a round again once the controller has written the routing that first, the plan
// of that round (Compute(in)), asked for. The routing objects and the Rollout are read from
// caches that show the write only later, so a round that moves the weight cannot see the step
// reached: left alone, the next round would find it and write the status again, to enter the
// pause that follows. Follow takes the successful write as the observation instead: it plans
// from first's status, as if written, the routing as written and the ReplicaSets as first
// scaled them. A weight reached and the pause entered after it then cost one status write, and
// a pause gets its pods for the next weight (see runCanary) in the same round.
//
// The follow-up is used only when it asks for nothing first did not already carry out: no
// ReplicaSet to create, the same routing and the same Services. Otherwise ok is false and the
// next round plans it, as without Follow. The controller calls Follow only after the router
// wrote a planned move (not a drift revert); deletions and the status write come after it, as
// in any round.
//
// The result is the follow-up's Output with first's Events before its own (first's position
// Event gives way to the follow-up's) and the annotations both rounds consume.
func Follow(in Input, first Output) (out Output, ok bool) {
	if first.Traffic == nil || first.Create != "" || in.Traffic == nil {
		return first, false
	}
	next := in
	next.Status = *first.Status.DeepCopy()
	written := Traffic{StableRevision: first.Traffic.StableRevision, CanaryRevision: first.Traffic.CanaryRevision,
		CanaryWeight: first.Traffic.CanaryWeight}
	if written.CanaryRevision == "" {
		written.CanaryRevision = in.Traffic.CanaryRevision
	}
	next.Traffic = &written
	next.ReplicaSets = make([]ReplicaSet, len(in.ReplicaSets))
	for i, r := range in.ReplicaSets {
		if want, ok := first.Scale[r.Revision]; ok && want != r.Replicas && !r.Deleting {
			// Scaled this round: its status describes the old size until the ReplicaSet
			// controller catches up.
			r.Replicas, r.Available, r.Stale = want, min(r.Available, want), true
		}
		next.ReplicaSets[i] = r
	}
	// This round's measurements are in first's status already.
	next.Measurements = nil
	out = Compute(next)
	if out.Create != "" || out.Traffic == nil || !splitHolds(written, *out.Traffic) ||
		!reflect.DeepEqual(out.Services, first.Services) {
		return first, false
	}
	events := first.Events
	if first.position != nil && out.position != nil {
		events = events[:len(events)-1] // first's position is its last Event
	}
	out.Events = append(slices.Clone(events), out.Events...)
	out.RemoveAnnotations = append(slices.Clone(first.RemoveAnnotations), out.RemoveAnnotations...)
	slices.Sort(out.RemoveAnnotations)
	out.RemoveAnnotations = slices.Compact(out.RemoveAnnotations)
	out.Notes = append(slices.Clone(first.Notes), out.Notes...)
	return out, true
}

// splitHolds reports whether the routing t already carries the split s.
func splitHolds(t Traffic, s Split) bool {
	return t.StableRevision == s.StableRevision && t.CanaryWeight == s.CanaryWeight &&
		(s.CanaryRevision == "" || t.CanaryRevision == s.CanaryRevision)
}
