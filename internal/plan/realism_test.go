package plan

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	cutoverv1alpha1 "github.com/cutover-dev/cutover/api/v1alpha1"
)

// ---------------------------------------------------------------------------------------------
// ReplicaSets that fall short of the ideal
//
// In a cluster with realism the randomised sequences meet ReplicaSets as the API server shows
// them:
//
//   - The status lags the spec. A scale bumps metadata.generation and leaves the status as the
//     ReplicaSet controller last wrote it (status.observedGeneration behind) until it catches up,
//     some rounds later; a new ReplicaSet starts with an empty status. Pods that become ready
//     or available may also be left out of the status for some rounds. (A pod that is lost is
//     gone from the status at once: a loss nobody has seen yet is beyond what any controller
//     can defend against.)
//   - Scale-downs take time. The available pods a scale-down removes stay for some rounds,
//     and a status that is not up to date counts them: a stale status, or one written by the
//     sync that deleted them, from the pods as they were (availableReplicas above
//     spec.replicas). A scale-up keeps those not deleted yet.
//   - ReplicaSets are deleted slowly. A deleted ReplicaSet keeps its deletion timestamp for
//     some rounds while its pods drain; its name stays taken, so creating the revision again
//     waits (the controller then writes the status and nothing else).
//   - Ready is not Available. A pod is ready some rounds before it is available
//     (minReadySeconds).
//
// The invariants are checked on the truth: weight, the stable revision's floor and the
// blue-green switch count only the available pods that stay.

// rsStatus is a ReplicaSet's status: what the planner is told of its pods.
type rsStatus struct {
	observedGeneration         int64
	replicas, ready, available int32
}

// realism is how a cluster's ReplicaSets fall short of the ideal, as probabilities per round.
type realism struct {
	// catchUp: a lagging status is brought up to date.
	catchUp float64
	// countLeaving: a status brought up to date while pods of a scale-down are still there
	// counts them (the status of the sync that deleted them).
	countLeaving float64
	// lagGain: pods that become ready or available are left out of the status for now.
	lagGain float64
	// minReady: a ready pod becomes available (minReadySeconds has passed).
	minReady float64
	// drain: pods of a scale-down or a deletion go.
	drain float64
}

// newRealism draws a realism, or nil (ideal ReplicaSets) for one sequence in four.
func newRealism(r *rand.Rand) *realism {
	if r.IntN(4) == 0 {
		return nil
	}
	return &realism{
		catchUp:      0.3 + 0.5*r.Float64(),
		countLeaving: 0.5 * r.Float64(),
		lagGain:      0.5 * r.Float64(),
		minReady:     0.2 + 0.6*r.Float64(),
		drain:        0.2 + 0.6*r.Float64(),
	}
}

// report is the status the ReplicaSet controller would write now: the pods that stay (pods
// are created at once), those ready, those available. Pods that are leaving are terminating,
// which a status does not count.
func (r *fakeRS) report() rsStatus {
	if r.deleting {
		return rsStatus{observedGeneration: r.gen}
	}
	return rsStatus{observedGeneration: r.gen, replicas: r.replicas, ready: r.available + r.ready, available: r.available}
}

// observed is the status as the planner reads it: the one last written, without the pods
// that were lost since.
func (r *fakeRS) observed() rsStatus {
	if r.status == nil {
		return r.report()
	}
	st := *r.status
	pods, ready, avail := r.replicas+r.leaving, r.available+r.ready+r.leaving, r.available+r.leaving
	if r.deleting {
		pods, ready, avail = r.leaving, r.leaving, r.leaving
	}
	st.replicas, st.ready, st.available = min(st.replicas, pods), min(st.ready, ready), min(st.available, avail)
	return st
}

// freeze keeps the status as it is, before a change the ReplicaSet controller has not
// reported yet.
func (r *fakeRS) freeze() {
	if r.status == nil {
		st := r.report()
		r.status = &st
	}
}

// atRest reports whether the ReplicaSet has nothing left to catch up with.
func (r *fakeRS) atRest() bool {
	return r.status == nil && r.ready == 0 && r.leaving == 0 && !r.deleting
}

// scale sets spec.replicas. The ReplicaSet controller removes the pods that are not ready
// first, then those not available; without realism the pods removed go at once, with it the
// available ones leave over some rounds, and the status lags.
func (c *cluster) scale(r *fakeRS, n int32) {
	if c.real != nil {
		r.freeze()
		r.gen++
	}
	if n > r.replicas {
		// Pods not deleted yet are kept.
		back := min(r.leaving, n-r.replicas)
		r.leaving -= back
		r.available += back
	}
	keep := min(r.available, n)
	if c.real != nil {
		r.leaving += r.available - keep
	}
	r.available = keep
	r.ready = min(r.ready, n-keep)
	r.replicas = n
}

// remove deletes a ReplicaSet: at once without realism; with it, it stays with a deletion
// timestamp while its pods drain, and serves nothing.
func (c *cluster) remove(rev string) {
	r := c.rs[rev]
	if c.real == nil {
		delete(c.rs, rev)
		return
	}
	r.freeze()
	r.deleting = true
	r.leaving += r.available
	r.available, r.ready = 0, 0
}

// catchUp moves the ReplicaSet controller and the garbage collector on by one round: a
// lagging status may be brought up to date, leaving pods may go, a deleted ReplicaSet whose
// pods are gone may go too.
func (s *sim) catchUp(rev string, rs *fakeRS) {
	c, r, real := s.c, s.r, s.c.real
	p := func(x float64) bool { return r.Float64() < x }
	if rs.leaving > 0 && p(real.drain) {
		gone := 1 + r.Int32N(rs.leaving)
		rs.leaving -= gone
		s.logf("  world: %d pods of %s gone, %d leaving", gone, rev, rs.leaving)
	}
	if rs.deleting && rs.leaving == 0 && p(real.drain) {
		delete(c.rs, rev)
		s.logf("  world: ReplicaSet of %s gone", rev)
		return
	}
	if rs.status != nil && p(real.catchUp) {
		rs.status = nil
		if rs.leaving > 0 && !rs.deleting && p(real.countLeaving) {
			// Written by the sync that deleted them, from the pods as they were.
			st := rs.report()
			st.replicas, st.ready, st.available = st.replicas+rs.leaving, st.ready+rs.leaving, st.available+rs.leaving
			rs.status = &st
		}
		s.logf("  world: status of %s caught up: %s", rev, describeFake(rs))
	}
}

// podsProgress makes pods of a live ReplicaSet ready, and ready pods available.
func (s *sim) podsProgress(rev string, rs *fakeRS) {
	r, real := s.r, s.c.real
	p := func(x float64) bool { return r.Float64() < x }
	gain := func() {
		if p(real.lagGain) {
			rs.freeze()
		}
	}
	if rs.ready > 0 && p(real.minReady) {
		gain()
		k := 1 + r.Int32N(rs.ready)
		rs.ready -= k
		rs.available += k
	}
	if pending := rs.replicas - rs.available - rs.ready; pending > 0 && p(0.5) {
		gain()
		k := 1 + r.Int32N(pending)
		if p(real.minReady / 2) {
			rs.available += k // minReadySeconds passed within the round
		} else {
			rs.ready += k
		}
	}
}

// realismStats counts, for one round's input, what realism showed the planner.
func (s *sim) realismStats(in Input) {
	if s.stats == nil || s.c.real == nil {
		return
	}
	seen := map[string]bool{}
	for _, r := range in.ReplicaSets {
		switch {
		case r.Deleting:
			seen["deleting ReplicaSet"] = true
		case r.Stale:
			seen["stale status"] = true
		case r.Available > r.Replicas:
			seen["available above spec.replicas"] = true
		}
		if r.Ready > r.Available && !r.Deleting {
			seen["ready but not available"] = true
		}
		if fr := s.c.rs[r.Revision]; fr != nil && fr.status != nil && !r.Stale {
			seen["status behind the pods"] = true
		}
		if fr := s.c.rs[r.Revision]; fr != nil && fr.leaving > 0 && !fr.deleting {
			seen["scale-down in progress"] = true
		}
	}
	if slices.ContainsFunc(in.ReplicaSets, func(r ReplicaSet) bool { return r.Revision == in.Desired.Hash && r.Deleting }) {
		seen["create waits for a deleted ReplicaSet"] = true
	}
	for k := range seen {
		s.stats[k]++
	}
	s.stats["realistic round"]++
}

// realismSeen lists what realism must have shown the planner over a run of sequences.
var realismSeen = []string{
	"realistic round", "deleting ReplicaSet", "stale status", "available above spec.replicas",
	"ready but not available", "status behind the pods", "scale-down in progress",
	"create waits for a deleted ReplicaSet",
}

// checkRealismSeen fails t when a run of sequences did not go through every fault of realism:
// a fault injection that silently stopped working would leave the invariants checked on less
// than they claim.
func checkRealismSeen(t *testing.T, stats map[string]int, extra ...string) {
	t.Helper()
	for _, k := range append(realismSeen, extra...) {
		if stats[k] == 0 {
			t.Errorf("no sequence went through %q", k)
		}
	}
}

// checkSwitch is the blue-green invariant, checked after the Output was applied (the
// controller points the Services after it scaled and deleted the ReplicaSets): the active
// Service is moved to a new revision only when that revision runs every pod, all of them
// available, on the truth (pods merely ready, pods of a scale-down leaving, and a ReplicaSet
// being deleted count nothing), whatever its status says.
func (s *sim) checkSwitch(in Input, out Output) []string {
	if in.Spec.Strategy.BlueGreen == nil || out.Services == nil || out.Services.Active == in.ActiveService || s.c.createWaited {
		return nil
	}
	to := out.Services.Active
	if to == in.Status.StableRevision || to == out.Status.StableRevision && in.ActiveService == "" {
		return nil // back to the stable revision (an abort, a rollback), or the first revision
	}
	n := replicasOf(in.Spec)
	if r := s.c.live(to); r != nil && r.replicas == n && r.available >= n {
		s.count("switch")
		return nil
	}
	have := "no live ReplicaSet"
	if r := s.c.rs[to]; r != nil {
		have = describeFake(r)
	}
	return []string{fmt.Sprintf("the active Service moves from %q to %s, which is not fully available: %s", in.ActiveService, to, have)}
}

// TestNoCreateWhileTheRevisionsReplicaSetIsBeingDeleted: a revision torn down is wanted again
// (retried after an abort, or gone back to after a newer one) while its old ReplicaSet still
// has a deletion timestamp (its pods drain). Creating it would fail until that one is gone, and
// the failed create stops the controller's round: nothing else would be scaled, routed or
// deleted meanwhile. The planner waits for the name instead and carries out the rest; the
// revision is created when the old ReplicaSet is gone, and announced once.
func TestNoCreateWhileTheRevisionsReplicaSetIsBeingDeleted(t *testing.T) {
	for _, tc := range []struct {
		name string
		// again makes revision B wanted again, once its ReplicaSet is being deleted.
		again func(c *cluster)
		// announced is how often RevisionCreated is wanted: a retry does not announce the
		// ReplicaSet it creates again, a new revision (going back to B) does.
		announced int
	}{
		{"retry after an abort", func(c *cluster) {
			c.actions.Abort = cutoverv1alpha1.ValueTrue
			c.settle(t, true)
			c.actions.Retry = cutoverv1alpha1.ValueTrue
		}, 0},
		{"back to a superseded revision", func(c *cluster) {
			c.desired = revision(revC)
			c.settle(t, true)
			c.desired = revision(revB)
		}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := meshAtPause(t)
			c.real = &realism{} // a deleted ReplicaSet stays, with a deletion timestamp, until removed here
			tc.again(c)
			if r := c.rs[revB]; r == nil || !r.deleting {
				t.Fatalf("setup: ReplicaSets %s", describeRS(c))
			}
			var created []Event
			for i := 0; i < 3; i++ {
				out := Compute(c.input())
				if out.Create != "" {
					t.Fatalf("round %d: creates %s while its ReplicaSet is still being deleted", i, out.Create)
				}
				if out.RequeueAfter <= 0 {
					t.Errorf("round %d: no requeue while waiting for the old ReplicaSet to go", i)
				}
				if bad := c.apply(out); len(bad) > 0 {
					t.Fatalf("round %d: %v", i, bad)
				}
				created = append(created, eventsOf(out, EventRevisionCreated)...)
			}
			if c.status.CurrentRevision != revB || c.status.Phase == cutoverv1alpha1.PhaseAborted {
				t.Errorf("revision B was not taken up: phase %s, current %s", c.status.Phase, c.status.CurrentRevision)
			}
			if c.router.truth.StableRevision != revA || c.router.truth.CanaryWeight != 0 {
				t.Errorf("routing %s while B has no pods", describeTraffic(c.router.truth))
			}
			delete(c.rs, revB) // its pods are gone, and it with them
			out := Compute(c.input())
			if out.Create != revB {
				t.Fatalf("Create %q once the old ReplicaSet is gone, want %s", out.Create, revB)
			}
			created = append(created, eventsOf(out, EventRevisionCreated)...)
			if len(created) != tc.announced {
				t.Errorf("RevisionCreated %d times, want %d: %v", len(created), tc.announced, created)
			}
		})
	}
}

func eventsOf(out Output, reason string) []Event {
	var evs []Event
	for _, e := range out.Events {
		if e.Reason == reason {
			evs = append(evs, e)
		}
	}
	return evs
}
