package plan

import (
	"slices"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"

	cutoverv1alpha1 "github.com/cutover-dev/cutover/api/v1alpha1"
)

// These tests hold the planner's share of the write budget of a canary step: the status changes
// only where the rollout's position changes, and each position makes one Event.

func reasons(evs []Event) []string {
	var out []string
	for _, e := range evs {
		r := e.Reason
		if e.Warning {
			r = "!" + r
		}
		out = append(out, r)
	}
	return out
}

func TestPromoteWithNothingWaitingIsIgnored(t *testing.T) {
	c := healthy(t)
	c.desired = revision(revB)
	c.apply(Compute(c.input())) // B created; step 1 (25%) waits for its pod
	c.actions.Promote = cutoverv1alpha1.ValueTrue

	out := Compute(c.input())
	if got := reasons(out.Events); !slices.Equal(got, []string{"!" + EventActionIgnored}) {
		t.Fatalf("Events = %v, want one Warning ActionIgnored", got)
	}
	if msg := out.Events[0].Message; !strings.Contains(msg, "nothing waits for a promote") || !strings.Contains(msg, revB) {
		t.Errorf("the Warning does not say why and what to do instead: %q", msg)
	}
	if !slices.Equal(out.RemoveAnnotations, []string{cutoverv1alpha1.AnnotationPromote}) {
		t.Errorf("RemoveAnnotations = %v, want the promote annotation consumed", out.RemoveAnnotations)
	}
	if out.Status.LastAction != nil {
		t.Errorf("lastAction = %+v, want none: nothing was promoted", *out.Status.LastAction)
	}
	if *out.Status.CurrentStepIndex != 0 {
		t.Errorf("step = %d, want 0: the promote must not skip the setWeight step", *out.Status.CurrentStepIndex)
	}
}

func TestPendingRemovalClearedWithTheNextPositionChange(t *testing.T) {
	c := atPause(t)
	c.actions.Promote = cutoverv1alpha1.ValueTrue
	c.apply(Compute(c.input())) // promoted: step 3 (50%) waits for B's second pod; annotation removed
	if !slices.Equal(c.status.PendingRemoval, []string{cutoverv1alpha1.AnnotationPromote + "=true@" + revB}) {
		t.Fatalf("setup: pendingRemoval = %v", c.status.PendingRemoval)
	}

	// The annotation is gone, but the step still waits for pods: clearing the record alone
	// would be a status write of its own, so it waits for the next one.
	in := c.input()
	out := Compute(in)
	if !slices.Equal(out.Status.PendingRemoval, in.Status.PendingRemoval) {
		t.Errorf("pendingRemoval = %v while waiting for pods, want it kept", out.Status.PendingRemoval)
	}
	c.apply(out)

	// A promote set again meanwhile is removed unread: it has nothing to act on.
	c.actions.Promote = cutoverv1alpha1.ValueTrue
	out = Compute(c.input())
	if len(out.Events) != 0 || !slices.Equal(out.RemoveAnnotations, []string{cutoverv1alpha1.AnnotationPromote}) ||
		*out.Status.CurrentStepIndex != 2 {
		t.Errorf("promote during the wait: events %v, remove %v, step %d; want it removed, no Event, still step 3",
			reasons(out.Events), out.RemoveAnnotations, *out.Status.CurrentStepIndex)
	}
	c.apply(out)

	// Another value of the same annotation is a new action: a revision hash is kept (and
	// approves), promote=full is acted on.
	c.actions.Promote = revB
	out = Compute(c.input())
	if len(out.RemoveAnnotations) != 0 {
		t.Errorf("promote=<revision> during the wait: remove %v, want it kept", out.RemoveAnnotations)
	}
	full := c.clone()
	full.actions.Promote = cutoverv1alpha1.ValueFull
	out = Compute(full.input())
	if got := reasons(out.Events); !slices.Equal(got, []string{EventPromoted}) || out.Status.LastAction.Type != ActionPromoteFull {
		t.Errorf("promote=full during the wait: events %v, lastAction %+v; want it acted on", got, out.Status.LastAction)
	}
	c.actions.Promote = ""

	// The step is reached: the same status write that records the new position clears it.
	c.allAvailable()
	out = Compute(c.input())
	if out.Status.PendingRemoval != nil {
		t.Errorf("pendingRemoval = %v once the step is reached, want it cleared", out.Status.PendingRemoval)
	}
	if out.Status.Phase != cutoverv1alpha1.PhaseProgressing && out.Status.Phase != cutoverv1alpha1.PhasePaused {
		t.Errorf("phase = %s", out.Status.Phase)
	}
}

func TestPendingRemovalClearedAtOnceWhenNothingElseWillWrite(t *testing.T) {
	c := newCluster(canarySpec(4, setWeight(25), pause(0), pause(0)), revA)
	c.settle(t, true)
	c.desired = revision(revB)
	c.settle(t, true) // at the first pause{}
	c.actions.Promote = cutoverv1alpha1.ValueTrue
	c.apply(Compute(c.input())) // at the second pause{}: nothing else will write the status
	out := Compute(c.input())
	if out.Status.PendingRemoval != nil {
		t.Errorf("pendingRemoval = %v at a pause, want it cleared at once so that the next promote counts", out.Status.PendingRemoval)
	}
	c.apply(out)
	c.actions.Promote = cutoverv1alpha1.ValueTrue
	out = Compute(c.input())
	if got := reasons(out.Events); !slices.Contains(got, EventPromoted) {
		t.Errorf("the next promote: events %v, want Promoted", got)
	}
}

func TestOneEventPerPosition(t *testing.T) {
	c := atPause(t)
	c.actions.Promote = cutoverv1alpha1.ValueTrue
	out := Compute(c.input())
	if got := reasons(out.Events); !slices.Equal(got, []string{EventPromoted}) {
		t.Errorf("promote: events %v, want only Promoted (the 50%% weight is not reached yet)", got)
	}
	c.apply(out)
	c.allAvailable()
	out = Compute(c.input()) // 50% reached, then the pause of 1m entered
	if got := reasons(out.Events); !slices.Equal(got, []string{EventPaused}) {
		t.Fatalf("50%% reached and pause entered: events %v, want one Paused", got)
	}
	if msg := out.Events[0].Message; !strings.Contains(msg, "50% to revision "+revB) {
		t.Errorf("the Paused Event does not say the weight reached: %q", msg)
	}
}

func TestCountsLeaveOutAScaleDownInProgress(t *testing.T) {
	c := atPause(t)
	c.actions.Promote = cutoverv1alpha1.ValueTrue
	step(t, c) // B 2/2
	in := c.input()
	out := Compute(in) // scales A 3→2
	if out.Scale[revA] != 2 {
		t.Fatalf("setup: scale %v, want A to 2", out.Scale)
	}
	st := out.Status
	if st.Replicas != 4 || st.ReadyReplicas != 4 || st.AvailableReplicas != 4 {
		t.Errorf("counts %d/%d/%d, want 4/4/4: A's third pod is being removed", st.Replicas, st.ReadyReplicas, st.AvailableReplicas)
	}
	c.apply(out)
	c.allAvailable()
	// Once the ReplicaSet controller has caught up, nothing is left to write.
	next(t, c, expect{
		scale: map[string]int32{revA: 2, revB: 2}, phase: cutoverv1alpha1.PhaseProgressing,
		step: ptr(int32(3)), noOp: true, requeue: out.RequeueAfter,
	})
}

// TestMeshCanaryWritesWithFollow plays the controller with Follow on the benchmark's Istio
// canary (2 replicas; setWeight 20, pause 1s, setWeight 50, pause 1s), pods available as soon as
// they are asked for, and counts the writes of one revision from its template to Healthy: at
// most 3 per step (12) and one Event per step. The ideal world leaves only the writes the
// rollout cannot do without: the ReplicaSet's create, the DestinationRule's canary label and the
// weight with the status of the step reached (the pause entered), the next weight with the
// canary's pods for the end, then the relabelled subsets, the status and the old ReplicaSet's
// deletion.
func TestMeshCanaryWritesWithFollow(t *testing.T) {
	steps := []cutoverv1alpha1.CanaryStep{setWeight(20), pause(time.Second), setWeight(50), pause(time.Second)}
	c := meshHealthy(t, canarySpec(2, steps...))
	c.desired = revision(revB)
	writes, kinds := 0, map[string]int{}
	count := func(kind string, n int) { writes += n; kinds[kind] += n }
	var events []string
	for round := 0; round < 20; round++ {
		in := c.input()
		out := Compute(in)
		if noOp(in, out) == "" {
			if c.status.Phase == cutoverv1alpha1.PhaseHealthy {
				break
			}
			c.now = c.now.Add(out.RequeueAfter) // a pause runs out
			continue
		}
		before := c.router.truth
		final := out
		if f, ok := Follow(in, out); ok && !splitHolds(*in.Traffic, *out.Traffic) {
			final = f
			if bad := c.applyFollowed(out, f); len(bad) > 0 {
				t.Fatalf("round %d: %v", round, bad)
			}
		} else if bad := c.apply(out); len(bad) > 0 {
			t.Fatalf("round %d: %v", round, bad)
		}
		if out.Create != "" {
			count("create", 1)
		}
		for rev, n := range final.Scale {
			if r := scaledFrom(in, rev); r >= 0 && r != n {
				count("scale", 1)
			}
		}
		if !equality.Semantic.DeepEqual(in.Status, final.Status) {
			count("status", 1)
		}
		now := c.router.truth
		if now.StableRevision != before.StableRevision || now.CanaryRevision != before.CanaryRevision {
			count("DestinationRule", 1)
		}
		if now.CanaryWeight != before.CanaryWeight {
			count("VirtualService", 1)
		}
		count("delete", len(final.Delete))
		events = append(events, reasons(final.Events)...)
		c.allAvailable()
		c.router.endRound()
	}
	if c.status.Phase != cutoverv1alpha1.PhaseHealthy || c.status.StableRevision != revB {
		t.Fatalf("not completed: %s %s", c.status.Phase, c.status.Message)
	}
	t.Logf("writes %d %v, Events %v", writes, kinds, events)
	if writes > 3*len(steps) {
		t.Errorf("%d writes for %d steps (%v), want at most %d", writes, len(steps), kinds, 3*len(steps))
	}
	want := []string{EventRevisionCreated, EventPaused, EventPaused, EventCompleted}
	if !slices.Equal(events, want) {
		t.Errorf("Events %v, want %v", events, want)
	}
}

// scaledFrom is the replicas of rev's live ReplicaSet in in, -1 when it has none.
func scaledFrom(in Input, rev string) int32 {
	for _, r := range in.ReplicaSets {
		if r.Revision == rev && !r.Deleting {
			return r.Replicas
		}
	}
	return -1
}
