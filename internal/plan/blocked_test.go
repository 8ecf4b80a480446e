package plan

import (
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	cutoverv1alpha1 "github.com/cutover-dev/cutover/api/v1alpha1"
)

// registryDown blocks c as a registry outage does: the new template cannot be pinned.
func registryDown(c *cluster) {
	c.blocked = &Problem{Reason: cutoverv1alpha1.ReasonImageResolutionFailed, Transient: true,
		Message: "resolving image tags (retrying): registry down"}
	c.hideDesired = true
}

func TestBlockedRolloutStillAborts(t *testing.T) {
	c := meshAtPause(t) // B serves 50%
	c.desired = revision(revC)
	registryDown(c)
	c.actions.Abort = cutoverv1alpha1.ValueTrue
	in := c.input()
	out := Compute(in)
	if out.State.Phase != cutoverv1alpha1.PhaseAborted {
		t.Errorf("phase %s, want Aborted: an abort works in every state", out.State.Phase)
	}
	if out.Traffic == nil || out.Traffic.CanaryWeight != 0 || out.Traffic.StableRevision != revA {
		t.Errorf("traffic %+v, want all of it on stable %s", out.Traffic, revA)
	}
	if !slices.Contains(out.RemoveAnnotations, cutoverv1alpha1.AnnotationAbort) {
		t.Errorf("annotations to remove %v, want the abort taken", out.RemoveAnnotations)
	}
	if bad := c.apply(out); len(bad) > 0 {
		t.Fatal(bad)
	}
	c.actions.Abort = ""
	c.settle(t, true)
	if _, ok := c.rs[revB]; ok || c.rs[revA].replicas != 4 || c.router.truth.CanaryWeight != 0 {
		t.Errorf("after the abort: ReplicaSets %s, routing %s; want B torn down and A whole", describeRS(c), describeTraffic(c.router.truth))
	}
	if c.status.History[0].Revision != revB || c.status.History[0].Outcome != OutcomeAborted {
		t.Errorf("history %+v, want B recorded as aborted", c.status.History[0])
	}

	// Once the registry is back, the new template rolls out as usual.
	c.blocked = nil
	c.settle(t, true)
	if c.status.CurrentRevision != revC {
		t.Errorf("current revision %s after the outage, want the new template's", c.status.CurrentRevision)
	}
}

func TestBlockedRolloutLowersAWeightItsPodsCannotServe(t *testing.T) {
	c := meshAtPause(t) // B serves 50% with 2/2 pods of 4
	c.desired = revision(revC)
	registryDown(c)
	c.rs[revB].available = 1
	out := Compute(c.input())
	if out.Traffic == nil || out.Traffic.CanaryWeight != 25 {
		t.Errorf("traffic %+v, want the weight lowered to 25%%, what 1 of 4 pods can serve", out.Traffic)
	}
	if out.Scale[revA] != 4 || out.Scale[revB] != 2 {
		t.Errorf("scale %v: a blocked rollout keeps the sizes as they run", out.Scale)
	}
	if out.State.Phase != cutoverv1alpha1.PhaseProgressing || out.State.Reason != cutoverv1alpha1.ReasonImageResolutionFailed {
		t.Errorf("phase %s reason %s, want Progressing ImageResolutionFailed", out.State.Phase, out.State.Reason)
	}
}

// TestAnInconsistentStatusIsBroughtBackInRange: the status is an input like any other; an
// edited one (found by FuzzCompute) must not crash the planner or route a negative weight.
func TestAnInconsistentStatusIsBroughtBackInRange(t *testing.T) {
	c := meshAtPause(t)
	c.status.CurrentStepIndex = ptr(int32(-1))
	out := Compute(c.input())
	if idx := out.Status.CurrentStepIndex; idx == nil || *idx < 0 {
		t.Errorf("step index %v, want it back in range", idx)
	}
	c = meshAtPause(t)
	c.status.CanaryWeight = -3
	c.spec.Paused = true
	if out := Compute(c.input()); out.Traffic == nil || out.Traffic.CanaryWeight < 0 {
		t.Errorf("traffic %+v during a hold with status.canaryWeight -3, want a weight in 0..100", out.Traffic)
	}
}

// TestTheFirstRevisionTakesOverRoutingOnlyWhenWhole: routing objects whose stable subset
// selects no revision yet (taken over from a Deployment, say) keep selecting what they select
// until the first revision has all its pods; found by the crash-matrix history check.
func TestTheFirstRevisionTakesOverRoutingOnlyWhenWhole(t *testing.T) {
	c := newMeshCluster(canarySpec(4, setWeight(50)), revA)
	c.router.truth = Traffic{}
	out := Compute(c.input())
	if out.Traffic != nil {
		t.Errorf("traffic %+v before revision A has a pod, want the routing left as it is", out.Traffic)
	}
	c.apply(out)
	c.allAvailable()
	if out := Compute(c.input()); out.Traffic == nil || out.Traffic.StableRevision != revA {
		t.Errorf("traffic %+v once A is whole, want the stable subset on A", out.Traffic)
	}
}

// TestPinsAreAnnouncedWithTheStatusThatRecordsThem: ImageResolved follows the status change
// that records new pins, so a round whose status write is lost announces them again, once.
func TestPinsAreAnnouncedWithTheStatusThatRecordsThem(t *testing.T) {
	c := healthy(t)
	c.spec.Template.Spec.Containers = []corev1.Container{{Name: "app", Image: "registry.example/checkout:1.5"}}
	c.desired = revision(revB)
	c.desired.TemplateHash = "tmpl-b"
	count := func(out Output) int {
		n := 0
		for _, e := range out.Events {
			if e.Reason == EventImageResolved && strings.Contains(e.Message, "registry.example/checkout:1.5 pinned to registry.example/checkout@sha256:"+revB) {
				n++
			}
		}
		return n
	}
	saved := *c.status.DeepCopy()
	if n := count(Compute(c.input())); n != 1 {
		t.Fatalf("%d ImageResolved Events for new pins, want 1", n)
	}
	c.apply(Compute(c.input()))
	c.status = saved // the status write was lost
	out := Compute(c.input())
	if n := count(out); n != 1 {
		t.Fatalf("%d ImageResolved Events in the round that records the pins again, want 1", n)
	}
	c.apply(out)
	if n := count(Compute(c.input())); n != 0 {
		t.Errorf("%d ImageResolved Events once the pins are recorded, want none", n)
	}
}

// TestBlockedAbortKeepsTheDesiredRevision: while blocked, an abort tears down the revision in
// flight, and only it: the template meanwhile went back to another live revision (the desired
// one, which a registry outage may even hide), whose ReplicaSet a blocked rollout keeps as it
// runs.
func TestBlockedAbortKeepsTheDesiredRevision(t *testing.T) {
	t.Run("desired known", func(t *testing.T) { testBlockedAbortKeepsTheDesiredRevision(t, false) })
	t.Run("registry down", func(t *testing.T) { testBlockedAbortKeepsTheDesiredRevision(t, true) })
}

func testBlockedAbortKeepsTheDesiredRevision(t *testing.T, hidden bool) {
	spec := blueGreenSpec(4, time.Minute)
	spec.Paused = true
	at := metav1.NewTime(t0)
	in := Input{
		Now:     t0.Add(time.Minute),
		Spec:    spec,
		Desired: revision(revB),
		Status: cutoverv1alpha1.RolloutStatus{
			StableRevision: revA, CurrentRevision: revC, Phase: cutoverv1alpha1.PhasePaused,
			Progress: &cutoverv1alpha1.RolloutProgress{Revision: revC, StepStartedAt: &at, LastProgressAt: &at, HeldSince: &at},
		},
		ActiveService: revA,
		ReplicaSets: []ReplicaSet{
			{Revision: revA, Replicas: 4, Available: 4, Ready: 4, Current: 4},
			{Revision: revB, Replicas: 4, Available: 4, Ready: 4, Current: 4},
			{Revision: revC, Replicas: 4, Available: 4, Ready: 4, Current: 4},
		},
		Actions: Actions{Abort: cutoverv1alpha1.ValueTrue},
		Blocked: &Problem{Reason: cutoverv1alpha1.ReasonReferenceNotFound, Message: "spec.strategy.blueGreen.activeService: Service web not found"},
	}
	if hidden {
		in.Desired = Revision{}
		in.Blocked = &Problem{Reason: cutoverv1alpha1.ReasonImageResolutionFailed, Transient: true, Message: "registry down"}
	}
	out := Compute(in)
	if out.State.Phase != cutoverv1alpha1.PhaseAborted || !slices.Contains(out.Delete, revC) {
		t.Fatalf("phase %s, deletes %v: want %s aborted and torn down", out.State.Phase, out.Delete, revC)
	}
	if slices.Contains(out.Delete, revB) || out.Scale[revB] != 4 {
		t.Errorf("deletes %v, scale %v: the desired revision %s is torn down with the aborted one", out.Delete, out.Scale, revB)
	}
}
