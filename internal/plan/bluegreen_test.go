package plan

import (
	"slices"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	cutoverv1alpha1 "github.com/cutover-dev/cutover/api/v1alpha1"
)

// blueGreenSpec: a blue-green Rollout of n replicas with an active Service; it switches on a
// promote and keeps the old revision for delay after the switch.
func blueGreenSpec(n int32, delay time.Duration) cutoverv1alpha1.RolloutSpec {
	spec := canarySpec(n)
	spec.Strategy = cutoverv1alpha1.RolloutStrategy{BlueGreen: &cutoverv1alpha1.BlueGreenStrategy{
		ActiveService: "web", AutoPromote: ptr(false), ScaleDownDelay: &metav1.Duration{Duration: delay},
	}}
	return spec
}

// bgMesh: blueGreenSpec(n, 1m) whose traffic Istio carries.
func bgMesh(t *testing.T, n int32) *cluster {
	c := newMeshCluster(blueGreenSpec(n, time.Minute), revA)
	c.settle(t, true)
	if c.status.Phase != cutoverv1alpha1.PhaseHealthy {
		t.Fatalf("setup: phase %s, want Healthy", c.status.Phase)
	}
	return c
}

func TestBlueGreenMeshSwitchesOnPromote(t *testing.T) {
	c := bgMesh(t, 4)
	c.desired = revision(revB)
	c.settle(t, true)
	if c.status.Phase != cutoverv1alpha1.PhasePaused || c.router.truth.CanaryWeight != 0 || c.rs[revB].available != 4 {
		t.Fatalf("preview: phase %s, routing %s, ReplicaSets %s; want Paused, all on A, B 4/4",
			c.status.Phase, describeTraffic(c.router.truth), describeRS(c))
	}
	c.actions.Promote = cutoverv1alpha1.ValueTrue
	c.settle(t, true)
	if want := (Traffic{StableRevision: revA, CanaryRevision: revB, CanaryWeight: 100}); c.router.truth != want {
		t.Fatalf("after the promote: routing %s, want %s", describeTraffic(c.router.truth), describeTraffic(want))
	}
	if c.rs[revA] == nil || c.rs[revA].replicas != 4 {
		t.Errorf("A must keep running for scaleDownDelay: ReplicaSets %s", describeRS(c))
	}
	c.now = c.now.Add(time.Minute)
	c.settle(t, true)
	if c.status.Phase != cutoverv1alpha1.PhaseHealthy || c.status.StableRevision != revB || c.rs[revA] != nil {
		t.Errorf("after scaleDownDelay: phase %s, stable %s, ReplicaSets %s; want Healthy on B alone",
			c.status.Phase, c.status.StableRevision, describeRS(c))
	}
}

func TestHeldBlueGreenMeshKeepsTrafficOnReadyPods(t *testing.T) {
	c := bgMesh(t, 4)
	c.desired = revision(revB)
	c.settle(t, true)

	// Held before the switch: the preview gets nothing, and an edit that sends it traffic is
	// put back.
	c.spec.Paused = true
	c.router.truth.CanaryRevision, c.router.truth.CanaryWeight = revB, 30
	out := Compute(c.input())
	if out.Traffic == nil || out.Traffic.CanaryWeight != 0 {
		t.Fatalf("held preview after drift: Traffic %+v, want weight 0", out.Traffic)
	}
	c.apply(out)

	c.spec.Paused = false
	c.actions.Promote = cutoverv1alpha1.ValueTrue
	c.settle(t, true)
	if c.router.truth.CanaryWeight != 100 {
		t.Fatalf("setup: routing %s, want the switch done", describeTraffic(c.router.truth))
	}

	// Held after the switch, B loses half its pods: half the traffic goes back to A, which
	// still runs.
	c.spec.Paused = true
	c.rs[revB].available = 2
	out = Compute(c.input())
	if want := (Split{StableRevision: revA, CanaryRevision: revB, CanaryWeight: 50}); out.Traffic == nil || *out.Traffic != want {
		t.Fatalf("held switch, B 2/4: Traffic %+v, want %+v", out.Traffic, want)
	}
	if out.Scale[revA] != 4 || len(out.Delete) != 0 {
		t.Errorf("held: scale %v delete %v, want A kept at 4 and nothing deleted", out.Scale, out.Delete)
	}
	c.apply(out)

	// An edit back to 100% is put back to what B's pods can serve; pods coming back do not
	// raise the weight during the hold.
	c.router.truth.CanaryWeight = 100
	c.rs[revB].available = 4
	out = Compute(c.input())
	if out.Traffic == nil || out.Traffic.CanaryWeight != 50 {
		t.Errorf("held, drift to 100%%: Traffic %+v, want weight 50", out.Traffic)
	}
	c.apply(out)

	// Released: the switch is whole again.
	c.spec.Paused = false
	c.settle(t, true)
	if c.router.truth.CanaryWeight != 100 || c.router.truth.CanaryRevision != revB {
		t.Errorf("released: routing %s, want 100%% to B", describeTraffic(c.router.truth))
	}
}

func TestHeldMeshRolloutWithoutReplicasKeepsItsPlannedWeight(t *testing.T) {
	c := meshAtPause(t)
	c.spec.Replicas = ptr(int32(0))
	c.spec.Paused = true
	c.router.truth.CanaryWeight = 90 // an out-of-band edit
	out := Compute(c.input())
	if out.Traffic == nil || out.Traffic.CanaryWeight != 50 {
		t.Errorf("held with 0 replicas: Traffic %+v, want the planned weight 50 put back", out.Traffic)
	}
}

func TestBlueGreenPreviewSupersededBeforeItsSwitchIsDeleted(t *testing.T) {
	c := bgMesh(t, 4)
	c.desired = revision(revB)
	c.settle(t, true) // B's preview is ready, waiting for a promote
	c.desired = revision(revC)
	c.settle(t, true)
	if c.rs[revB] != nil {
		t.Errorf("ReplicaSets %s: B was superseded before its switch and must go", describeRS(c))
	}
	if c.rs[revA] == nil || c.rs[revC] == nil || c.status.Phase != cutoverv1alpha1.PhasePaused {
		t.Errorf("ReplicaSets %s, phase %s; want A stable and C's preview waiting", describeRS(c), c.status.Phase)
	}
}

func TestBlueGreenMeshSwitchFollowsTheNewPods(t *testing.T) {
	c := bgMesh(t, 4)
	c.desired = revision(revB)
	c.settle(t, true)
	c.actions.Promote = cutoverv1alpha1.ValueTrue
	c.settle(t, true) // switched; A keeps running for a minute
	c.rs[revB].available = 1
	out := Compute(c.input())
	if want := (Split{StableRevision: revA, CanaryRevision: revB, CanaryWeight: 25}); out.Traffic == nil || *out.Traffic != want {
		t.Errorf("B down to 1/4 after the switch: Traffic %+v, want %+v", out.Traffic, want)
	}
	if len(out.Delete) != 0 {
		t.Errorf("deletes %v while B cannot take all the traffic", out.Delete)
	}
	c.apply(out)
	c.now = c.now.Add(time.Minute)
	c.settle(t, false)
	if c.rs[revA] == nil || c.status.Phase == cutoverv1alpha1.PhaseHealthy {
		t.Errorf("after scaleDownDelay with B at 1/4: ReplicaSets %s, phase %s; want A kept until B is whole",
			describeRS(c), c.status.Phase)
	}
	c.allAvailable()
	c.settle(t, true)
	if c.rs[revA] != nil || c.status.StableRevision != revB || c.router.truth.CanaryWeight != 0 {
		t.Errorf("B whole again: ReplicaSets %s, stable %s, routing %s; want B alone and stable",
			describeRS(c), c.status.StableRevision, describeTraffic(c.router.truth))
	}
}

func TestBlueGreenKeepsTheOldRevisionUntilTheNewOneIsWhole(t *testing.T) {
	c := newCluster(withDeadline(blueGreenSpec(4, time.Minute), 300), revA)
	c.settle(t, true)
	c.desired = revision(revB)
	c.settle(t, true)
	c.actions.Promote = cutoverv1alpha1.ValueTrue
	c.settle(t, true) // switched
	c.rs[revB].available = 2
	c.now = c.now.Add(2 * time.Minute) // past scaleDownDelay
	out := Compute(c.input())
	if slices.Contains(out.Delete, revA) || out.Status.Phase != cutoverv1alpha1.PhaseProgressing ||
		!strings.Contains(out.Status.Message, "2/4 pods available") {
		t.Fatalf("B at 2/4 after scaleDownDelay: delete %v, phase %s, message %q; want A kept and the wait explained",
			out.Delete, out.Status.Phase, out.Status.Message)
	}
	c.apply(out)
	// No progress for the deadline: the switch is aborted, the active Service back on A.
	c.now = c.now.Add(301 * time.Second)
	out = Compute(c.input())
	if out.Status.Phase != cutoverv1alpha1.PhaseAborted || out.Services == nil || out.Services.Active != revA {
		t.Errorf("deadline passed: phase %s, Services %+v; want Aborted with the active Service on A", out.Status.Phase, out.Services)
	}
}

// bgServices: a blue-green Rollout of 4 replicas switched by Services; the old revision runs
// for scaleDownDelay after the switch, and the progress deadline is 600s.
func bgServices(t *testing.T, delay time.Duration) *cluster {
	c := newCluster(withDeadline(blueGreenSpec(4, delay), 600), revA)
	c.settle(t, true)
	if c.activeService != revA {
		t.Fatalf("setup: the active Service selects %q, want A", c.activeService)
	}
	return c
}

func TestBlueGreenRevisionLeavesOnlyAfterTheActiveServiceDoes(t *testing.T) {
	c := bgServices(t, time.Minute)
	c.desired = revision(revB)
	c.settle(t, true)
	c.actions.Promote = cutoverv1alpha1.ValueTrue
	c.settle(t, true)
	if c.activeService != revB {
		t.Fatalf("setup: the active Service selects %q, want B after the switch", c.activeService)
	}
	// C replaces B within scaleDownDelay: traffic goes back to stable A, and B may go only
	// once the Service is seen on A (the controller deletes before it points Services).
	c.desired = revision(revC)
	out := Compute(c.input())
	if slices.Contains(out.Delete, revB) || out.Services == nil || out.Services.Active != revA {
		t.Fatalf("C supersedes switched B: delete %v, Services %+v; want B kept and the active Service back on A", out.Delete, out.Services)
	}
	c.apply(out)
	c.settle(t, true)
	if c.rs[revB] != nil {
		t.Errorf("ReplicaSets %s: B must go once the Service is on A", describeRS(c))
	}
}

func TestBlueGreenWithoutDelayKeepsTheOldRevisionUntilTheServiceMoves(t *testing.T) {
	c := bgServices(t, 0)
	c.desired = revision(revB)
	c.settle(t, true)
	c.actions.Promote = cutoverv1alpha1.ValueTrue
	c.apply(Compute(c.input())) // the switch is recorded
	c.actions.Promote = ""
	out := Compute(c.input()) // and carried out
	if slices.Contains(out.Delete, revA) || out.Services == nil || out.Services.Active != revB {
		t.Fatalf("switch with scaleDownDelay 0: delete %v, Services %+v; want A kept this round, the Service on B", out.Delete, out.Services)
	}
	c.apply(out)
	c.settle(t, true)
	if c.rs[revA] != nil || c.status.Phase != cutoverv1alpha1.PhaseHealthy {
		t.Errorf("ReplicaSets %s, phase %s; want B alone and Healthy", describeRS(c), c.status.Phase)
	}
}

func TestBlueGreenDeadlineAfterTheSwitchCountsFromTheEndOfTheDelay(t *testing.T) {
	c := bgServices(t, 30*time.Minute)
	c.desired = revision(revB)
	c.apply(Compute(c.input()))
	c.rs[revB].available = 3 // last seen at 3/4 before the preview is whole
	c.apply(Compute(c.input()))
	c.allAvailable()
	c.actions.Promote = cutoverv1alpha1.ValueTrue
	c.settle(t, true) // switched
	c.now = c.now.Add(29 * time.Minute)
	c.rs[revB].available = 3
	c.apply(Compute(c.input()))
	c.now = c.now.Add(time.Minute) // the delay is over, one minute after the pod was lost
	out := Compute(c.input())
	if out.Status.Phase == cutoverv1alpha1.PhaseAborted {
		t.Fatalf("aborted as the delay ended, one minute after B lost a pod; the deadline is 600s")
	}
	c.apply(out)
	c.now = c.now.Add(601 * time.Second)
	if out = Compute(c.input()); out.Status.Phase != cutoverv1alpha1.PhaseAborted {
		t.Errorf("no progress for the deadline after the delay: phase %s, want Aborted", out.Status.Phase)
	}
}

// TestBlueGreenSwitchSurvivesACrashBeforeItsStatusWrite: the controller crashes after the
// writes of the switch round but before its status write, and the preview then loses a pod.
// The restarted controller must not point the active Service back and forth: the switch is
// recorded in the status before any Service moves.
func TestBlueGreenSwitchSurvivesACrashBeforeItsStatusWrite(t *testing.T) {
	c := bgServices(t, time.Minute)
	c.desired = revision(revB)
	c.settle(t, true)
	c.actions.Promote = cutoverv1alpha1.ValueTrue
	saved := *c.status.DeepCopy()
	c.apply(Compute(c.input()))
	c.status = saved // the crash: the round's status write never happened
	afterCrash := c.activeService
	c.rs[revB].available--
	for range 3 {
		out := Compute(c.input())
		if out.Services != nil && out.Services.Active != afterCrash {
			t.Fatalf("the active Service selects %s after the crash and is pointed at %s: a switch undone", afterCrash, out.Services.Active)
		}
		c.apply(out)
		c.actions.Promote = ""
	}
	// With the switch recorded (no crash this time), it is carried out and kept while the
	// preview is short of a pod.
	c.allAvailable()
	c.actions.Promote = cutoverv1alpha1.ValueTrue
	c.apply(Compute(c.input()))
	c.actions.Promote = ""
	c.apply(Compute(c.input()))
	if c.activeService != revB {
		t.Fatalf("active Service on %s after a recorded switch, want %s", c.activeService, revB)
	}
	c.rs[revB].available--
	if out := Compute(c.input()); out.Services == nil || out.Services.Active != revB {
		t.Errorf("Services %+v after the preview lost a pod, want the switch kept", out.Services)
	}
}

// TestRecordedSwitchWaitingForPodsLeavesTheCanarySubset: a blue-green switch through a router
// is recorded, and the new revision loses pods before it is carried out; meanwhile the canary
// subset was edited out of band. While the switch waits, the routing is put back with all
// traffic on the stable revision, and the canary subset is not moved to the new revision,
// which is short of pods (it moves only with weight or with all the pods it needs).
func TestRecordedSwitchWaitingForPodsLeavesTheCanarySubset(t *testing.T) {
	spec := meshSpec(blueGreenSpec(4, time.Minute))
	at := metav1.NewTime(t0)
	in := Input{
		Now:     t0.Add(time.Minute),
		Spec:    spec,
		Desired: revision(revB),
		Status: cutoverv1alpha1.RolloutStatus{
			StableRevision: revA, CurrentRevision: revB, Phase: cutoverv1alpha1.PhaseProgressing,
			Progress: &cutoverv1alpha1.RolloutProgress{Revision: revB, SwitchedAt: &at, PreviousStable: revA,
				StepStartedAt: &at, LastProgressAt: &at, AvailableAt: &at},
		},
		ActiveService: revA,
		ReplicaSets: []ReplicaSet{
			{Revision: revA, Replicas: 4, Available: 4, Ready: 4, Current: 4},
			{Revision: revB, Replicas: 4, Available: 1, Ready: 1, Current: 4},
		},
		Traffic: &Traffic{StableRevision: revB, CanaryRevision: revA, CanaryWeight: 5}, // drifted
	}
	out := Compute(in)
	if out.Traffic == nil || out.Traffic.StableRevision != revA || out.Traffic.CanaryWeight != 0 {
		t.Fatalf("traffic %+v, want all of it on stable %s", out.Traffic, revA)
	}
	if out.Traffic.CanaryRevision == revB {
		t.Errorf("the canary subset is moved to %s, which has 1/4 pods available, without weight", revB)
	}
}
