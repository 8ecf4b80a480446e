package plan

import (
	"slices"
	"testing"
	"time"

	cutoverv1alpha1 "github.com/cutover-dev/cutover/api/v1alpha1"
)

// TestFollowTakesTheWriteAsObserved: the round that routes a weight cannot see it reached; its
// follow-up, planned from the write, reaches it, enters the pause after it and announces that
// once, in the same status write.
func TestFollowTakesTheWriteAsObserved(t *testing.T) {
	c := meshHealthy(t, canarySpec(4, setWeight(50), pause(time.Minute), setWeight(100)))
	c.desired = revision(revB)
	c.apply(Compute(c.input())) // B created with 2 pods
	c.allAvailable()
	in := c.input()
	first := Compute(in)
	if first.Traffic == nil || first.Traffic.CanaryWeight != 50 || *first.Status.CurrentStepIndex != 0 || len(first.Events) != 0 {
		t.Fatalf("setup: the round routes %v at step %d with Events %v", first.Traffic, *first.Status.CurrentStepIndex, reasons(first.Events))
	}
	out, ok := Follow(in, first)
	if !ok {
		t.Fatal("Follow refused a follow-up that asks for no other routing")
	}
	if *out.Status.CurrentStepIndex != 1 || out.Status.Phase != cutoverv1alpha1.PhaseProgressing {
		t.Errorf("follow-up at step %d (%s), want the pause entered (step 1)", *out.Status.CurrentStepIndex, out.Status.Phase)
	}
	if got := reasons(out.Events); !slices.Equal(got, []string{EventPaused}) {
		t.Errorf("Events %v, want one Paused", got)
	}
	if out.Scale[revB] != 4 {
		t.Errorf("canary scaled to %d in the follow-up, want 4: the pause starts the pods of the next weight", out.Scale[revB])
	}
	if out.Status.CanaryWeight != 50 || out.Traffic == nil || *out.Traffic != *first.Traffic {
		t.Errorf("follow-up weight %d, routing %v; want the written 50%%", out.Status.CanaryWeight, out.Traffic)
	}
	if bad := c.applyFollowed(first, out); len(bad) > 0 {
		t.Fatal(bad)
	}
	c.router.endRound()
	// The next round, with the caches caught up, has nothing to write.
	if in, next := c.input(), Compute(c.input()); noOp(in, next) != "" {
		t.Errorf("the round after the follow-up is not a no-op: %s", noOp(in, next))
	}
}

// TestFollowRefusesAnotherRouting: a follow-up that would move the weight again (two setWeight
// steps in a row whose pods are there) is left to the next round, which reads the routing back.
func TestFollowRefusesAnotherRouting(t *testing.T) {
	c := meshHealthy(t, canarySpec(1, setWeight(20), setWeight(60)))
	c.desired = revision(revB)
	c.apply(Compute(c.input()))
	c.allAvailable()
	in := c.input()
	first := Compute(in)
	if first.Traffic == nil || first.Traffic.CanaryWeight != 20 {
		t.Fatalf("setup: routes %v", first.Traffic)
	}
	if out, ok := Follow(in, first); ok {
		t.Errorf("Follow accepted a follow-up that routes %v after writing %v", out.Traffic, first.Traffic)
	}
	// Without a write to follow, or with a create in the round, there is nothing to follow.
	first.Traffic = nil
	if _, ok := Follow(in, first); ok {
		t.Error("Follow accepted a round without routing")
	}
}
