package plan

import (
	"slices"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	cutoverv1alpha1 "github.com/cutover-dev/cutover/api/v1alpha1"
)

// These tests hold the action annotations to what the docs promise when actions meet each other,
// a new revision, or steps passed within one round.

// fullPromotedWaiting: revision B was promoted in full and waits for its pods at 100%; the
// promote annotation is gone, and its record is kept until the wait ends.
func fullPromotedWaiting(t *testing.T) *cluster {
	c := healthy(t)
	c.desired = revision(revB)
	c.apply(Compute(c.input())) // B created; step 1 (25%) waits for its pod
	c.actions.Promote = cutoverv1alpha1.ValueFull
	c.apply(Compute(c.input())) // taken: every step skipped, B waits for 4 pods
	c.apply(Compute(c.input())) // the annotation is gone; the record stays during the wait
	want := []string{cutoverv1alpha1.AnnotationPromote + "=full@" + revB}
	if !slices.Equal(c.status.PendingRemoval, want) || c.status.Phase != cutoverv1alpha1.PhaseProgressing {
		t.Fatalf("setup: phase %s, pendingRemoval %v; want Progressing, %v", c.status.Phase, c.status.PendingRemoval, want)
	}
	return c
}

func TestARecordOfAnOldRevisionDoesNotSwallowAnActionForTheNewOne(t *testing.T) {
	c := fullPromotedWaiting(t)
	c.desired = revision(revC)
	out := Compute(c.input())
	if out.Status.PendingRemoval != nil {
		t.Errorf("pendingRemoval = %v once revision C is desired, want it cleared: it was taken for B", out.Status.PendingRemoval)
	}
	c.apply(out)
	c.actions.Promote = cutoverv1alpha1.ValueFull
	out = Compute(c.input())
	if got := reasons(out.Events); !slices.Contains(got, EventPromoted) {
		t.Errorf("promote=full for C: events %v, want Promoted", got)
	}
	if la := out.Status.LastAction; la == nil || la.Type != ActionPromoteFull || la.Revision != revC {
		t.Errorf("lastAction = %+v, want PromoteFull of %s", la, revC)
	}
	if *out.Status.CurrentStepIndex != int32(len(stdSpec().Strategy.Canary.Steps)) {
		t.Errorf("step = %d, want every step skipped", *out.Status.CurrentStepIndex)
	}
}

func TestAnAnnotationTakenForAnOldRevisionIsRemovedWithAWarning(t *testing.T) {
	// The new template and the same annotation arrive before the record of B's promote is
	// cleared: the annotation may be B's, not yet removed, so it must not skip C's steps; the
	// person who meant it for C is told to annotate again.
	c := fullPromotedWaiting(t)
	c.desired = revision(revC)
	c.actions.Promote = cutoverv1alpha1.ValueFull
	out := Compute(c.input())
	if got := reasons(out.Events); !slices.Contains(got, "!"+EventActionIgnored) || slices.Contains(got, EventPromoted) {
		t.Fatalf("events %v, want an ActionIgnored Warning and no Promoted", got)
	}
	for _, e := range out.Events {
		if e.Reason == EventActionIgnored && (!strings.Contains(e.Message, revB) || !strings.Contains(e.Message, "annotate it again")) {
			t.Errorf("the Warning does not say whose it was and what to do: %q", e.Message)
		}
	}
	if *out.Status.CurrentStepIndex != 0 {
		t.Errorf("step = %d, want 0: C's steps must not be skipped", *out.Status.CurrentStepIndex)
	}
	c.apply(out)
	c.apply(Compute(c.input())) // the annotation is gone: B's record goes, though C waits for pods
	if c.status.PendingRemoval != nil {
		t.Fatalf("pendingRemoval = %v, want B's record gone", c.status.PendingRemoval)
	}
	c.actions.Promote = cutoverv1alpha1.ValueFull
	if got := reasons(Compute(c.input()).Events); !slices.Contains(got, EventPromoted) {
		t.Errorf("promote=full annotated again: events %v, want Promoted", got)
	}
}

func TestAPauseLeftInTheSameRoundIsNotAnnounced(t *testing.T) {
	// A declarative promote approves the pause{} right after 25% is reached: the round ends at
	// the 50% step, waiting for pods, so the Event is the 25% weight reached, not a pause.
	c := healthy(t)
	c.desired = revision(revB)
	c.apply(Compute(c.input()))
	c.actions.Promote = revB
	c.allAvailable()
	out := Compute(c.input())
	if got := reasons(out.Events); !slices.Equal(got, []string{EventWeightChanged}) {
		t.Fatalf("events %v, want one WeightChanged", got)
	}
	if msg := out.Events[0].Message; !strings.Contains(msg, "25%") {
		t.Errorf("the Event does not say the weight reached: %q", msg)
	}
	if *out.Status.CurrentStepIndex != 2 {
		t.Errorf("step = %d, want 2 (setWeight 50, waiting for pods)", *out.Status.CurrentStepIndex)
	}

	// A pause of 0s behaves the same: passed at once, not announced. Admission refuses it, but
	// the planner does not rely on that.
	zero := cutoverv1alpha1.CanaryStep{Pause: &cutoverv1alpha1.PauseStep{Duration: &metav1.Duration{}}}
	z := newCluster(canarySpec(2, setWeight(50), zero, setWeight(100)), revA)
	z.settle(t, true)
	z.desired = revision(revB)
	z.apply(Compute(z.input()))
	z.allAvailable()
	out = Compute(z.input())
	if *out.Status.CurrentStepIndex != 2 {
		t.Fatalf("setup: step %d, want 2: the 0s pause passed", *out.Status.CurrentStepIndex)
	}
	if got := reasons(out.Events); slices.Contains(got, EventPaused) {
		t.Errorf("events %v: a pause passed within the round must not be announced", got)
	}
}

func TestAPromoteGivenWhileWaitingForPodsDoesNotPassTheNextPause(t *testing.T) {
	// promote=true while step 1 (25%) waits for its pod; the pod becomes available before the
	// reconcile: the step is reached and the pause{} after it is entered, not passed.
	c := healthy(t)
	c.desired = revision(revB)
	c.apply(Compute(c.input()))
	c.actions.Promote = cutoverv1alpha1.ValueTrue
	c.allAvailable()
	out := Compute(c.input())
	if *out.Status.CurrentStepIndex != 1 || out.Status.Phase != cutoverv1alpha1.PhasePaused {
		t.Fatalf("step %d phase %s, want the pause{} at step 1 entered and waiting", *out.Status.CurrentStepIndex, out.Status.Phase)
	}
	if got := reasons(out.Events); !slices.Equal(got, []string{"!" + EventActionIgnored, EventPaused}) {
		t.Fatalf("events %v, want ActionIgnored for the promote and Paused", got)
	}
	if msg := out.Events[0].Message; !strings.Contains(msg, "read before step 2 was reached") {
		t.Errorf("the Warning does not say the promote came before the pause: %q", msg)
	}
	if out.Status.LastAction != nil {
		t.Errorf("lastAction = %+v, want none", *out.Status.LastAction)
	}
}

func TestRetryAndAnUnusedPromoteKeepTheRetryAsLastAction(t *testing.T) {
	c := atPause(t)
	c.actions.Abort = cutoverv1alpha1.ValueTrue
	c.settle(t, true)
	c.actions.Retry = cutoverv1alpha1.ValueTrue
	c.actions.Promote = cutoverv1alpha1.ValueTrue
	out := Compute(c.input())
	if la := out.Status.LastAction; la == nil || la.Type != ActionRetry {
		t.Errorf("lastAction = %+v, want Retry: the promote had nothing to act on", la)
	}
	if got := reasons(out.Events); !slices.Equal(got, []string{EventRetried, "!" + EventActionIgnored}) {
		t.Errorf("events %v, want Retried and an ActionIgnored Warning", got)
	}
}

func TestAUsedPromoteIsTheLastAction(t *testing.T) {
	c := atPause(t)
	c.actions.Promote = cutoverv1alpha1.ValueTrue
	out := Compute(c.input())
	if la := out.Status.LastAction; la == nil || la.Type != ActionPromote || la.Revision != revB {
		t.Errorf("lastAction = %+v, want Promote of %s", la, revB)
	}
}

func TestAnAbortDuringTheWaitAfterARetryIsTaken(t *testing.T) {
	// An abort and a retry in one round: the revision starts again, and waits for pods.
	c := atPause(t)
	c.rs[revB].available = 0
	c.actions.Abort = cutoverv1alpha1.ValueTrue
	c.actions.Retry = cutoverv1alpha1.ValueTrue
	c.apply(Compute(c.input()))
	c.apply(Compute(c.input())) // both annotations are gone; still waiting
	if c.status.Phase != cutoverv1alpha1.PhaseProgressing {
		t.Fatalf("setup: phase %s, want Progressing (waiting for pods)", c.status.Phase)
	}
	c.actions.Abort = cutoverv1alpha1.ValueTrue
	out := Compute(c.input())
	if got := reasons(out.Events); !slices.Contains(got, EventAborted) || out.Status.Phase != cutoverv1alpha1.PhaseAborted {
		t.Errorf("abort during the wait: events %v, phase %s; want it taken", got, out.Status.Phase)
	}
}

func TestABlueGreenPromoteAfterAnEarlyOneSwitches(t *testing.T) {
	c := bgMesh(t, 4)
	c.desired = revision(revB)
	c.apply(Compute(c.input())) // B created; the preview waits for its pods
	c.actions.Promote = cutoverv1alpha1.ValueTrue
	c.apply(Compute(c.input())) // too early: ignored
	c.apply(Compute(c.input())) // the annotation is gone; the preview still waits
	c.allAvailable()
	c.actions.Promote = cutoverv1alpha1.ValueTrue
	out := Compute(c.input())
	if got := reasons(out.Events); !slices.Contains(got, EventPromoted) || out.Status.Progress.SwitchedAt == nil {
		t.Errorf("promote with the preview ready: events %v, switched at %v; want the switch recorded", got, out.Status.Progress.SwitchedAt)
	}
	c.apply(out)
	c.actions.Promote = ""
	// The switch recorded, the next round carries it out.
	if out = Compute(c.input()); out.Traffic == nil || out.Traffic.CanaryWeight != 100 {
		t.Errorf("the round after the promote: Traffic %+v; want the switch", out.Traffic)
	}
}

func TestAPauseAtStepOneOfANewRevisionIsAnnounced(t *testing.T) {
	c := newCluster(canarySpec(4, pause(0), setWeight(50)), revA)
	c.settle(t, true)
	c.desired = revision(revB)
	out := Compute(c.input())
	if got := reasons(out.Events); !slices.Equal(got, []string{EventRevisionCreated, EventPaused}) {
		t.Errorf("new revision at a pause{}: events %v, want RevisionCreated, Paused", got)
	}
}

func TestAnEntryWithoutRevisionCountsAsTheDesiredOnes(t *testing.T) {
	// Written by a version whose entries had no revision; the annotation is still there.
	c := atPause(t)
	c.status.PendingRemoval = []string{cutoverv1alpha1.AnnotationPromote + "=true"}
	c.actions.Promote = cutoverv1alpha1.ValueTrue
	out := Compute(c.input())
	if len(out.Events) != 0 || !slices.Equal(out.RemoveAnnotations, []string{cutoverv1alpha1.AnnotationPromote}) ||
		*out.Status.CurrentStepIndex != 1 {
		t.Errorf("events %v, remove %v, step %d; want the annotation removed unread, without an Event",
			reasons(out.Events), out.RemoveAnnotations, *out.Status.CurrentStepIndex)
	}
}
