package plan

import (
	"reflect"
	"slices"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/diff"

	cutoverv1alpha1 "github.com/cutover-dev/cutover/api/v1alpha1"
)

// ---------------------------------------------------------------------------------------------
// Builders

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

const (
	revA = "aaaaaaaaaa"
	revB = "bbbbbbbbbb"
	revC = "cccccccccc"
)

func setWeight(w int32) cutoverv1alpha1.CanaryStep {
	return cutoverv1alpha1.CanaryStep{SetWeight: ptr(w)}
}

// pause is pause{duration: d}, or pause{} when d is 0.
func pause(d time.Duration) cutoverv1alpha1.CanaryStep {
	if d == 0 {
		return cutoverv1alpha1.CanaryStep{Pause: &cutoverv1alpha1.PauseStep{}}
	}
	return cutoverv1alpha1.CanaryStep{Pause: &cutoverv1alpha1.PauseStep{Duration: &metav1.Duration{Duration: d}}}
}

func gates(names ...string) cutoverv1alpha1.CanaryStep {
	return cutoverv1alpha1.CanaryStep{Gates: names}
}

func canarySpec(n int32, steps ...cutoverv1alpha1.CanaryStep) cutoverv1alpha1.RolloutSpec {
	labels := map[string]string{"app": "checkout"}
	spec := cutoverv1alpha1.RolloutSpec{
		Replicas: ptr(n),
		Selector: &cutoverv1alpha1.LabelSelector{MatchLabels: labels},
		Strategy: cutoverv1alpha1.RolloutStrategy{Canary: &cutoverv1alpha1.CanaryStrategy{Steps: steps}},
	}
	spec.Template.Labels = labels
	return spec
}

func withDeadline(spec cutoverv1alpha1.RolloutSpec, seconds int32) cutoverv1alpha1.RolloutSpec {
	spec.ProgressDeadlineSeconds = ptr(seconds)
	return spec
}

func revision(hash string) Revision {
	return Revision{Hash: hash, TemplateHash: hash, Images: []cutoverv1alpha1.ContainerImage{
		{Container: "app", Image: "registry.example/checkout@sha256:" + hash},
	}}
}

// stdSpec: 0 setWeight 25, 1 pause{}, 2 setWeight 50, 3 pause 1m, 4 setWeight 75.
func stdSpec() cutoverv1alpha1.RolloutSpec {
	return canarySpec(4, setWeight(25), pause(0), setWeight(50), pause(time.Minute), setWeight(75))
}

// healthy: revision A runs 4/4 and is stable.
func healthy(t *testing.T) *cluster {
	c := newCluster(stdSpec(), revA)
	c.settle(t, true)
	if c.status.Phase != cutoverv1alpha1.PhaseHealthy {
		t.Fatalf("setup: phase %s, want Healthy", c.status.Phase)
	}
	return c
}

// atPause: revision B is at step 1 (pause{}) with 1/1 pods; stable A runs 3/3.
func atPause(t *testing.T) *cluster {
	c := healthy(t)
	c.desired = revision(revB)
	c.settle(t, true)
	if c.status.Phase != cutoverv1alpha1.PhasePaused || *c.status.CurrentStepIndex != 1 {
		t.Fatalf("setup: phase %s step %v, want Paused at step 1", c.status.Phase, c.status.CurrentStepIndex)
	}
	return c
}

// meshHealthy: a mesh Rollout whose revision A runs N/N and is stable, all traffic on the stable
// subset.
func meshHealthy(t *testing.T, spec cutoverv1alpha1.RolloutSpec) *cluster {
	c := newMeshCluster(spec, revA)
	c.settle(t, true)
	if want := (Traffic{StableRevision: revA}); c.status.Phase != cutoverv1alpha1.PhaseHealthy || c.router.truth != want {
		t.Fatalf("setup: phase %s, routing %s", c.status.Phase, describeTraffic(c.router.truth))
	}
	return c
}

// meshAtPause: N=4, steps [setWeight 50, pause{}]; revision B is at the pause with 2/2 pods and
// the router carries 50% to it; stable A runs 4/4.
func meshAtPause(t *testing.T) *cluster {
	c := meshHealthy(t, canarySpec(4, setWeight(50), pause(0)))
	c.desired = revision(revB)
	c.settle(t, true)
	want := Traffic{StableRevision: revA, CanaryRevision: revB, CanaryWeight: 50}
	if c.status.Phase != cutoverv1alpha1.PhasePaused || *c.status.CurrentStepIndex != 1 || c.router.truth != want {
		t.Fatalf("setup: phase %s step %v, routing %s", c.status.Phase, c.status.CurrentStepIndex, describeTraffic(c.router.truth))
	}
	return c
}

// next runs one Compute, checks it and applies it.
func next(t *testing.T, c *cluster, w expect) {
	t.Helper()
	in := c.input()
	out := Compute(in)
	checkOutput(t, in, out, w)
	if bad := c.apply(out); len(bad) > 0 {
		t.Errorf("Output breaks an invariant: %v", bad)
	}
}

// step applies one Compute and makes every pod available.
func step(t *testing.T, c *cluster) {
	t.Helper()
	if bad := c.apply(Compute(c.input())); len(bad) > 0 {
		t.Fatalf("setup: %v", bad)
	}
	c.allAvailable()
}

// ---------------------------------------------------------------------------------------------
// Compute, one decision at a time

// expect is what one Compute must return. Create, Scale, Delete, RemoveAnnotations, Events and
// the phase are always checked; the other fields when set.
type expect struct {
	create         string
	createReplicas int32
	scale          map[string]int32
	delete         []string
	remove         []string
	events         []string // reasons; a leading "!" marks a Warning
	phase          cutoverv1alpha1.RolloutPhase
	reason         string
	stable         string
	current        string
	step           *int32
	stepNil        bool
	weight         *int32
	history        []string // "revision:Outcome", newest first
	lastAction     string
	requeue        time.Duration
	noOp           bool   // the Output must change nothing at all
	traffic        *Split // the split the router must carry (mesh)
}

func TestCompute(t *testing.T) {
	const (
		promote = cutoverv1alpha1.AnnotationPromote
		abort   = cutoverv1alpha1.AnnotationAbort
		retry   = cutoverv1alpha1.AnnotationRetry
	)
	tests := []struct {
		name  string
		setup func(t *testing.T) *cluster
		want  expect
		after func(t *testing.T, c *cluster) // optional: checks after applying the Output
	}{
		{
			name:  "first revision is created at full size and is stable at once",
			setup: func(t *testing.T) *cluster { return newCluster(stdSpec(), revA) },
			want: expect{
				create: revA, createReplicas: 4, scale: map[string]int32{},
				events: []string{EventRevisionCreated}, phase: cutoverv1alpha1.PhaseProgressing,
				reason: cutoverv1alpha1.ReasonWaitingForAvailability,
				stable: revA, current: revA, stepNil: true, weight: ptr(int32(100)),
				history: []string{revA + ":Promoted"},
			},
		},
		{
			name: "first revision becomes Healthy when all its pods are available",
			setup: func(t *testing.T) *cluster {
				c := newCluster(stdSpec(), revA)
				step(t, c)
				return c
			},
			want: expect{
				scale: map[string]int32{revA: 4}, events: []string{EventCompleted},
				phase: cutoverv1alpha1.PhaseHealthy, reason: cutoverv1alpha1.ReasonSucceeded,
				stable: revA, current: revA, history: []string{revA + ":Promoted"},
			},
		},
		{
			name: "new revision starts at ceil(25% of 4) = 1 pod and stable stays at 4",
			setup: func(t *testing.T) *cluster {
				c := healthy(t)
				c.desired = revision(revB)
				return c
			},
			want: expect{
				create: revB, createReplicas: 1, scale: map[string]int32{revA: 4},
				events: []string{EventRevisionCreated}, phase: cutoverv1alpha1.PhaseProgressing,
				stable: revA, current: revB, step: ptr(int32(0)), weight: ptr(int32(25)),
				history: []string{revA + ":Promoted"},
			},
		},
		{
			name: "stable drops by one only when the canary pod is available, and the step is reached with it",
			setup: func(t *testing.T) *cluster {
				c := healthy(t)
				c.desired = revision(revB)
				step(t, c) // B created with 1 replica, now available
				return c
			},
			want: expect{
				scale: map[string]int32{revA: 3, revB: 1}, events: []string{EventPaused},
				phase: cutoverv1alpha1.PhasePaused, reason: cutoverv1alpha1.ReasonPaused,
				stable: revA, current: revB, step: ptr(int32(1)),
			},
		},
		{
			name: "canary pod not yet available: stable keeps all 4",
			setup: func(t *testing.T) *cluster {
				c := healthy(t)
				c.desired = revision(revB)
				c.apply(Compute(c.input()))
				return c
			},
			want: expect{
				scale: map[string]int32{revA: 4, revB: 1}, phase: cutoverv1alpha1.PhaseProgressing,
				reason: cutoverv1alpha1.ReasonWaitingForAvailability, step: ptr(int32(0)),
				requeue: 10 * time.Minute,
			},
		},
		{
			name: "once the stable is at N-want the rollout stays at pause{}",
			setup: func(t *testing.T) *cluster {
				c := healthy(t)
				c.desired = revision(revB)
				step(t, c)
				step(t, c) // A scaled to 3
				return c
			},
			want: expect{
				scale: map[string]int32{revA: 3, revB: 1},
				phase: cutoverv1alpha1.PhasePaused, reason: cutoverv1alpha1.ReasonPaused, step: ptr(int32(1)),
			},
		},
		{
			name: "pause{} holds however long it waits",
			setup: func(t *testing.T) *cluster {
				c := atPause(t)
				c.now = c.now.Add(72 * time.Hour)
				return c
			},
			want: expect{
				scale: map[string]int32{revA: 3, revB: 1}, phase: cutoverv1alpha1.PhasePaused,
				step: ptr(int32(1)), noOp: true,
			},
		},
		{
			name: "promote=true leaves pause{} and is consumed",
			setup: func(t *testing.T) *cluster {
				c := atPause(t)
				c.actions.Promote = cutoverv1alpha1.ValueTrue
				return c
			},
			want: expect{
				scale: map[string]int32{revA: 3, revB: 2}, remove: []string{promote},
				events: []string{EventPromoted}, phase: cutoverv1alpha1.PhaseProgressing,
				step: ptr(int32(2)), weight: ptr(int32(50)), lastAction: ActionPromote,
			},
		},
		{
			name: "promote=full skips to the end; stable still drops only as pods become available",
			setup: func(t *testing.T) *cluster {
				c := atPause(t)
				c.actions.Promote = cutoverv1alpha1.ValueFull
				return c
			},
			want: expect{
				scale: map[string]int32{revA: 3, revB: 4}, remove: []string{promote},
				events: []string{EventPromoted}, phase: cutoverv1alpha1.PhaseProgressing,
				step: ptr(int32(5)), weight: ptr(int32(100)), lastAction: ActionPromoteFull,
			},
		},
		{
			name: "all steps done and all pods available: the new revision becomes stable, the old one is deleted",
			setup: func(t *testing.T) *cluster {
				c := atPause(t)
				c.actions.Promote = cutoverv1alpha1.ValueFull
				step(t, c)
				return c
			},
			want: expect{
				scale: map[string]int32{revB: 4}, delete: []string{revA}, events: []string{EventCompleted},
				phase: cutoverv1alpha1.PhaseHealthy, stable: revB, current: revB, stepNil: true,
				weight: ptr(int32(100)), history: []string{revB + ":Promoted", revA + ":Promoted"},
			},
		},
		{
			name: "abort sends everything back to stable; the canary stays until stable is whole",
			setup: func(t *testing.T) *cluster {
				c := atPause(t)
				c.actions.Abort = cutoverv1alpha1.ValueTrue
				return c
			},
			want: expect{
				scale: map[string]int32{revA: 4, revB: 1}, remove: []string{abort}, events: []string{EventAborted},
				phase: cutoverv1alpha1.PhaseAborted, reason: cutoverv1alpha1.ReasonAborted,
				stable: revA, current: revB, weight: ptr(int32(0)), lastAction: ActionAbort,
				history: []string{revB + ":Aborted", revA + ":Promoted"},
			},
		},
		{
			name: "an aborted canary is deleted once stable is whole",
			setup: func(t *testing.T) *cluster {
				c := atPause(t)
				c.actions.Abort = cutoverv1alpha1.ValueTrue
				step(t, c)
				return c
			},
			want: expect{
				scale: map[string]int32{revA: 4}, delete: []string{revB},
				phase: cutoverv1alpha1.PhaseAborted, stable: revA, current: revB,
				history: []string{revB + ":Aborted", revA + ":Promoted"},
			},
			after: func(t *testing.T, c *cluster) {
				// One more write records the deletion in the status; then nothing.
				if err := fixpoint(c); err != nil {
					t.Error(err)
				}
				if c.status.Phase != cutoverv1alpha1.PhaseAborted || len(c.rs) != 1 {
					t.Errorf("after settling: phase %s, ReplicaSets %s", c.status.Phase, describeRS(c))
				}
			},
		},
		{
			name: "retry starts the aborted revision again from step 0",
			setup: func(t *testing.T) *cluster {
				c := atPause(t)
				c.actions.Abort = cutoverv1alpha1.ValueTrue
				c.settle(t, true)
				c.actions.Retry = cutoverv1alpha1.ValueTrue
				return c
			},
			want: expect{
				create: revB, createReplicas: 1, scale: map[string]int32{revA: 4}, remove: []string{retry},
				events: []string{EventRetried}, phase: cutoverv1alpha1.PhaseProgressing,
				step: ptr(int32(0)), weight: ptr(int32(25)), lastAction: ActionRetry,
			},
		},
		{
			name: "retry without an abort is consumed with a warning",
			setup: func(t *testing.T) *cluster {
				c := atPause(t)
				c.actions.Retry = cutoverv1alpha1.ValueTrue
				return c
			},
			want: expect{
				scale: map[string]int32{revA: 3, revB: 1}, remove: []string{retry},
				events: []string{"!" + EventActionIgnored}, phase: cutoverv1alpha1.PhasePaused, step: ptr(int32(1)),
			},
		},
		{
			name: "promote and abort with nothing in flight are consumed with warnings",
			setup: func(t *testing.T) *cluster {
				c := healthy(t)
				c.actions = Actions{Promote: cutoverv1alpha1.ValueTrue, Abort: cutoverv1alpha1.ValueTrue}
				return c
			},
			want: expect{
				scale: map[string]int32{revA: 4}, remove: []string{abort, promote},
				events: []string{"!" + EventActionIgnored, "!" + EventActionIgnored}, phase: cutoverv1alpha1.PhaseHealthy,
			},
		},
		{
			name: "an unknown promote value gets one warning and is left alone",
			setup: func(t *testing.T) *cluster {
				c := atPause(t)
				c.actions.Promote = "yes"
				return c
			},
			want: expect{
				scale: map[string]int32{revA: 3, revB: 1}, events: []string{"!" + EventActionIgnored},
				phase: cutoverv1alpha1.PhasePaused, step: ptr(int32(1)),
			},
			after: func(t *testing.T, c *cluster) {
				if c.actions.Promote != "yes" {
					t.Errorf("annotation removed")
				}
				in := c.input()
				if why := noOp(in, Compute(in)); why != "" {
					t.Errorf("second reconcile with the same unknown value is not a no-op: %s", why)
				}
			},
		},
		{
			name: "promote=<another revision's hash> is a stale approval: a no-op, kept",
			setup: func(t *testing.T) *cluster {
				c := atPause(t)
				c.actions.Promote = revC
				return c
			},
			want: expect{
				scale: map[string]int32{revA: 3, revB: 1}, phase: cutoverv1alpha1.PhasePaused,
				step: ptr(int32(1)), noOp: true,
			},
		},
		{
			name: "promote=<desired hash> approves the pause and is kept",
			setup: func(t *testing.T) *cluster {
				c := atPause(t)
				c.actions.Promote = revB
				return c
			},
			want: expect{
				scale: map[string]int32{revA: 3, revB: 2},
				phase: cutoverv1alpha1.PhaseProgressing, step: ptr(int32(2)), weight: ptr(int32(50)),
			},
			after: func(t *testing.T, c *cluster) {
				// It approves every later pause too (pause 1m is passed without waiting).
				c.allAvailable()
				c.settle(t, true)
				if c.status.Phase != cutoverv1alpha1.PhaseHealthy || c.status.StableRevision != revB {
					t.Errorf("declarative approval did not carry %s to the end: phase %s, stable %s",
						revB, c.status.Phase, c.status.StableRevision)
				}
				if c.actions.Promote != revB {
					t.Errorf("revision-hash approval was removed")
				}
			},
		},
		{
			name: "spec.paused holds everything, even a step that could advance",
			setup: func(t *testing.T) *cluster {
				c := healthy(t)
				c.desired = revision(revB)
				step(t, c) // B 1/1: stable could drop to 3
				c.spec.Paused = true
				return c
			},
			want: expect{
				scale: map[string]int32{revA: 4, revB: 1}, events: []string{EventPaused},
				phase: cutoverv1alpha1.PhasePaused, reason: cutoverv1alpha1.ReasonPaused, step: ptr(int32(0)),
			},
			after: func(t *testing.T, c *cluster) {
				in := c.input()
				if why := noOp(in, Compute(in)); why != "" {
					t.Errorf("held, but the next reconcile is not a no-op: %s", why)
				}
			},
		},
		{
			name: "spec.paused does not even create a new revision",
			setup: func(t *testing.T) *cluster {
				c := healthy(t)
				c.spec.Paused = true
				c.desired = revision(revB)
				c.actions.Promote = cutoverv1alpha1.ValueTrue
				return c
			},
			want: expect{
				scale: map[string]int32{revA: 4}, events: []string{EventPaused},
				phase: cutoverv1alpha1.PhasePaused, stable: revA, current: revA,
			},
		},
		{
			name: "one second before the progress deadline it still waits",
			setup: func(t *testing.T) *cluster {
				c := healthy(t)
				c.desired = revision(revB)
				c.apply(Compute(c.input()))
				c.now = c.now.Add(599 * time.Second)
				return c
			},
			want: expect{
				scale: map[string]int32{revA: 4, revB: 1}, phase: cutoverv1alpha1.PhaseProgressing,
				reason: cutoverv1alpha1.ReasonWaitingForAvailability, requeue: time.Second,
			},
		},
		{
			name: "the progress deadline aborts a canary that makes no progress",
			setup: func(t *testing.T) *cluster {
				c := healthy(t)
				c.desired = revision(revB)
				c.apply(Compute(c.input()))
				c.now = c.now.Add(600 * time.Second)
				return c
			},
			want: expect{
				// Stable is still whole (it never dropped), so the canary goes at once.
				scale: map[string]int32{revA: 4}, delete: []string{revB}, events: []string{"!" + EventAborted},
				phase: cutoverv1alpha1.PhaseAborted, reason: cutoverv1alpha1.ReasonProgressDeadlineExceeded,
				weight: ptr(int32(0)), history: []string{revB + ":Aborted", revA + ":Promoted"},
			},
		},
		{
			name: "the deadline counts from the last progress, not from the start",
			setup: func(t *testing.T) *cluster {
				c := healthy(t)
				c.spec = withDeadline(canarySpec(4, setWeight(50)), 60)
				c.desired = revision(revB)
				c.apply(Compute(c.input()))
				c.now = c.now.Add(50 * time.Second)
				c.rs[revB].available = 1 // progress
				c.apply(Compute(c.input()))
				c.now = c.now.Add(50 * time.Second) // 100s since start, 50s since progress
				return c
			},
			want: expect{
				scale: map[string]int32{revA: 3, revB: 2}, phase: cutoverv1alpha1.PhaseProgressing,
				reason: cutoverv1alpha1.ReasonWaitingForAvailability, requeue: 10 * time.Second,
			},
		},
		{
			name: "reverting spec.template to the stable revision rolls back at once",
			setup: func(t *testing.T) *cluster {
				c := atPause(t)
				c.desired = revision(revA)
				return c
			},
			want: expect{
				scale: map[string]int32{revA: 4, revB: 1}, events: []string{EventRolledBack},
				phase: cutoverv1alpha1.PhaseProgressing, stable: revA, current: revA, stepNil: true,
				weight: ptr(int32(100)), history: []string{revB + ":Superseded", revA + ":Promoted"},
			},
		},
		{
			name: "after a rollback the canary is deleted once stable is whole",
			setup: func(t *testing.T) *cluster {
				c := atPause(t)
				c.desired = revision(revA)
				step(t, c)
				return c
			},
			want: expect{
				scale: map[string]int32{revA: 4}, delete: []string{revB}, events: []string{EventCompleted},
				phase: cutoverv1alpha1.PhaseHealthy, stable: revA, current: revA,
			},
		},
		{
			name: "a new revision mid-canary supersedes the one in flight and starts at step 0",
			setup: func(t *testing.T) *cluster {
				c := atPause(t)
				c.desired = revision(revC)
				return c
			},
			want: expect{
				create: revC, createReplicas: 1, scale: map[string]int32{revA: 4, revB: 1},
				events: []string{EventRevisionCreated}, phase: cutoverv1alpha1.PhaseProgressing,
				stable: revA, current: revC, step: ptr(int32(0)), weight: ptr(int32(25)),
				history: []string{revB + ":Superseded", revA + ":Promoted"},
			},
			after: func(t *testing.T, c *cluster) {
				c.allAvailable()
				c.settle(t, true)
				if _, ok := c.rs[revB]; ok {
					t.Errorf("superseded revision %s still runs: %s", revB, describeRS(c))
				}
			},
		},
		{
			name: "an aborted revision superseded by a new one keeps its Aborted record",
			setup: func(t *testing.T) *cluster {
				c := atPause(t)
				c.actions.Abort = cutoverv1alpha1.ValueTrue
				c.settle(t, true)
				c.desired = revision(revC)
				return c
			},
			want: expect{
				create: revC, createReplicas: 1, scale: map[string]int32{revA: 4},
				events: []string{EventRevisionCreated}, phase: cutoverv1alpha1.PhaseProgressing,
				current: revC, step: ptr(int32(0)),
				history: []string{revB + ":Aborted", revA + ":Promoted"},
			},
		},
		{
			name: "reverting to stable after an abort keeps the Aborted record and is no rollback",
			setup: func(t *testing.T) *cluster {
				c := atPause(t)
				c.actions.Abort = cutoverv1alpha1.ValueTrue
				c.apply(Compute(c.input())) // A scaled to 4, not yet available: B still runs
				c.desired = revision(revA)
				return c
			},
			want: expect{
				scale: map[string]int32{revA: 4, revB: 1}, phase: cutoverv1alpha1.PhaseProgressing,
				current: revA, history: []string{revB + ":Aborted", revA + ":Promoted"},
			},
		},

		// ---- with a traffic router (spec.trafficRouting.istio) ----
		{
			name: "mesh: setWeight 10 with N=4 scales the canary to 1 and routes 0 until its pod is available, then 10",
			setup: func(t *testing.T) *cluster {
				c := meshHealthy(t, canarySpec(4, setWeight(10), pause(0)))
				c.desired = revision(revB)
				return c
			},
			want: expect{
				create: revB, createReplicas: 1, scale: map[string]int32{revA: 4}, events: []string{EventRevisionCreated},
				phase: cutoverv1alpha1.PhaseProgressing, stable: revA, current: revB, step: ptr(int32(0)), weight: ptr(int32(0)),
				traffic: &Split{StableRevision: revA, CanaryWeight: 0},
			},
			after: func(t *testing.T, c *cluster) {
				// The pod exists but is not available: still no weight, the stable stays whole.
				next(t, c, expect{
					scale: map[string]int32{revA: 4, revB: 1}, phase: cutoverv1alpha1.PhaseProgressing, step: ptr(int32(0)),
					weight: ptr(int32(0)), traffic: &Split{StableRevision: revA, CanaryWeight: 0},
				})
				c.rs[revB].available = 1
				// Available: 10% to B; the step is reached only once the router carries it.
				next(t, c, expect{
					scale: map[string]int32{revA: 4, revB: 1}, phase: cutoverv1alpha1.PhaseProgressing, step: ptr(int32(0)),
					weight: ptr(int32(10)), traffic: &Split{StableRevision: revA, CanaryRevision: revB, CanaryWeight: 10},
				})
				next(t, c, expect{
					scale: map[string]int32{revA: 4, revB: 1}, events: []string{EventPaused},
					phase: cutoverv1alpha1.PhasePaused, step: ptr(int32(1)), weight: ptr(int32(10)),
					traffic: &Split{StableRevision: revA, CanaryRevision: revB, CanaryWeight: 10},
				})
			},
		},
		{
			name: "mesh: the weight is held back to what the available pods serve, and restored when they are back",
			setup: func(t *testing.T) *cluster {
				c := meshAtPause(t)
				c.rs[revB].available = 1 // 50% needs 2 of 4 pods
				return c
			},
			want: expect{
				scale: map[string]int32{revA: 4, revB: 2}, phase: cutoverv1alpha1.PhasePaused, step: ptr(int32(1)),
				weight: ptr(int32(25)), traffic: &Split{StableRevision: revA, CanaryRevision: revB, CanaryWeight: 25},
			},
			after: func(t *testing.T, c *cluster) {
				c.rs[revB].available = 0
				next(t, c, expect{
					scale: map[string]int32{revA: 4, revB: 2}, phase: cutoverv1alpha1.PhasePaused, step: ptr(int32(1)),
					weight: ptr(int32(0)), traffic: &Split{StableRevision: revA, CanaryWeight: 0},
				})
				c.rs[revB].available = 2
				next(t, c, expect{
					scale: map[string]int32{revA: 4, revB: 2}, phase: cutoverv1alpha1.PhasePaused, step: ptr(int32(1)),
					weight: ptr(int32(50)), traffic: &Split{StableRevision: revA, CanaryRevision: revB, CanaryWeight: 50},
				})
			},
		},
		{
			name: "mesh: completion labels both subsets with the new revision and deletes the old ReplicaSet in one round",
			setup: func(t *testing.T) *cluster {
				c := meshAtPause(t)
				c.actions.Promote = cutoverv1alpha1.ValueTrue
				step(t, c) // B scaled to 4, now all available; the router still carries 50%
				return c
			},
			// No round of 100% on the canary subset first: the DestinationRule written first
			// sends every route to B, and A goes once that write and the status write succeeded.
			want: expect{
				scale: map[string]int32{revB: 4}, delete: []string{revA}, events: []string{EventCompleted},
				phase: cutoverv1alpha1.PhaseHealthy, stable: revB, current: revB, stepNil: true,
				traffic: &Split{StableRevision: revB, CanaryRevision: revB, CanaryWeight: 0},
			},
			after: func(t *testing.T, c *cluster) {
				if want := (Traffic{StableRevision: revB, CanaryRevision: revB}); c.router.truth != want || len(c.rs) != 1 {
					t.Errorf("after the round: routing %s, ReplicaSets %s", describeTraffic(c.router.truth), describeRS(c))
				}
				if err := fixpoint(c); err != nil {
					t.Error(err)
				}
			},
		},
		{
			name: "mesh: a completion whose routing write fails keeps the old ReplicaSet until the routing leaves it",
			setup: func(t *testing.T) *cluster {
				c := meshAtPause(t)
				c.actions.Promote = cutoverv1alpha1.ValueTrue
				step(t, c)
				c.router.dropWrite = true
				return c
			},
			want: expect{
				scale: map[string]int32{revB: 4}, delete: []string{revA}, events: []string{EventCompleted},
				phase: cutoverv1alpha1.PhaseHealthy, stable: revB, current: revB, stepNil: true,
				traffic: &Split{StableRevision: revB, CanaryRevision: revB, CanaryWeight: 0},
			},
			after: func(t *testing.T, c *cluster) {
				// The controller deleted nothing: the write failed. The next round routes again
				// and deletes A only once the router is seen off it.
				if c.live(revA) == nil {
					t.Fatalf("A deleted although the routing write failed")
				}
				c.router.endRound()
				next(t, c, expect{
					scale: map[string]int32{revA: 4, revB: 4}, phase: cutoverv1alpha1.PhaseHealthy, stable: revB, current: revB,
					stepNil: true, traffic: &Split{StableRevision: revB, CanaryWeight: 0},
				})
				c.router.endRound()
				next(t, c, expect{
					scale: map[string]int32{revB: 4}, delete: []string{revA}, phase: cutoverv1alpha1.PhaseHealthy,
					stable: revB, current: revB, stepNil: true, traffic: &Split{StableRevision: revB, CanaryWeight: 0},
				})
				if err := fixpoint(c); err != nil {
					t.Error(err)
				}
			},
		},
		{
			name: "mesh: abort routes 0 and deletes the canary only once the router carries none to it",
			setup: func(t *testing.T) *cluster {
				c := meshAtPause(t)
				c.actions.Abort = cutoverv1alpha1.ValueTrue
				return c
			},
			want: expect{
				scale: map[string]int32{revA: 4, revB: 2}, remove: []string{abort}, events: []string{EventAborted},
				phase: cutoverv1alpha1.PhaseAborted, stable: revA, current: revB, weight: ptr(int32(0)),
				traffic: &Split{StableRevision: revA, CanaryWeight: 0},
			},
			after: func(t *testing.T, c *cluster) {
				// The router still reports 25% to B (the write did not land): B stays.
				c.router.truth.CanaryWeight = 25
				next(t, c, expect{
					scale: map[string]int32{revA: 4, revB: 2}, phase: cutoverv1alpha1.PhaseAborted,
					traffic: &Split{StableRevision: revA, CanaryWeight: 0},
				})
				next(t, c, expect{
					scale: map[string]int32{revA: 4}, delete: []string{revB}, phase: cutoverv1alpha1.PhaseAborted,
					traffic: &Split{StableRevision: revA, CanaryWeight: 0},
				})
			},
		},
		{
			name: "mesh: a step to a lower weight moves the traffic before it scales the canary down",
			setup: func(t *testing.T) *cluster {
				c := meshHealthy(t, canarySpec(10, setWeight(60), setWeight(20), pause(0)))
				c.desired = revision(revB)
				step(t, c) // B created with 6 pods, all available
				step(t, c) // 60% to B
				if want := (Traffic{StableRevision: revA, CanaryRevision: revB, CanaryWeight: 60}); c.router.truth != want {
					t.Fatalf("setup: routing %s", describeTraffic(c.router.truth))
				}
				return c
			},
			want: expect{
				// The ReplicaSets are scaled before the routing is written: B keeps the 6 pods
				// that 60% needs until the router reports 20%.
				scale: map[string]int32{revA: 10, revB: 6}, events: []string{EventWeightChanged},
				phase: cutoverv1alpha1.PhaseProgressing, step: ptr(int32(1)), weight: ptr(int32(20)),
				traffic: &Split{StableRevision: revA, CanaryRevision: revB, CanaryWeight: 20},
			},
			after: func(t *testing.T, c *cluster) {
				next(t, c, expect{
					scale: map[string]int32{revA: 10, revB: 2}, phase: cutoverv1alpha1.PhaseProgressing, step: ptr(int32(1)),
					traffic: &Split{StableRevision: revA, CanaryRevision: revB, CanaryWeight: 20},
				})
				next(t, c, expect{
					scale: map[string]int32{revA: 10, revB: 2}, events: []string{EventPaused},
					phase: cutoverv1alpha1.PhasePaused, step: ptr(int32(2)),
					traffic: &Split{StableRevision: revA, CanaryRevision: revB, CanaryWeight: 20},
				})
			},
		},
		{
			name: "mesh: a cache that has not seen the last weight change does not let the canary go",
			setup: func(t *testing.T) *cluster {
				c := meshHealthy(t, canarySpec(4, setWeight(50), pause(0)))
				c.desired = revision(revB)
				step(t, c) // B created with 2 pods, all available
				step(t, c) // 50% to B
				// The informer cache still holds the routing from before that write.
				c.router.prevEnd = Traffic{StableRevision: revA}
				c.router.stale = true
				c.actions.Abort = cutoverv1alpha1.ValueTrue
				return c
			},
			want: expect{
				scale: map[string]int32{revA: 4, revB: 2}, remove: []string{abort}, events: []string{EventAborted},
				phase: cutoverv1alpha1.PhaseAborted, weight: ptr(int32(0)),
				traffic: &Split{StableRevision: revA, CanaryWeight: 0},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.setup(t)
			in := c.input()
			out := Compute(in)
			checkOutput(t, in, out, tc.want)
			if bad := c.apply(out); len(bad) > 0 {
				t.Errorf("Output breaks an invariant: %v", bad)
			}
			if tc.after != nil {
				tc.after(t, c)
			}
		})
	}
}

func checkOutput(t *testing.T, in Input, out Output, w expect) {
	t.Helper()
	if out.Create != w.create || out.CreateReplicas != w.createReplicas {
		t.Errorf("Create = %q×%d, want %q×%d", out.Create, out.CreateReplicas, w.create, w.createReplicas)
	}
	if !reflect.DeepEqual(out.Scale, w.scale) {
		t.Errorf("Scale = %v, want %v", out.Scale, w.scale)
	}
	if !slices.Equal(out.Delete, w.delete) {
		t.Errorf("Delete = %v, want %v", out.Delete, w.delete)
	}
	gotRemove := slices.Sorted(slices.Values(out.RemoveAnnotations))
	if !slices.Equal(gotRemove, w.remove) {
		t.Errorf("RemoveAnnotations = %v, want %v", gotRemove, w.remove)
	}
	var events []string
	for _, e := range out.Events {
		r := e.Reason
		if e.Warning {
			r = "!" + r
		}
		events = append(events, r)
	}
	if !slices.Equal(events, w.events) {
		t.Errorf("Events = %v, want %v (%v)", events, w.events, out.Events)
	}
	st := out.Status
	if st.Phase != w.phase || out.State.Phase != w.phase {
		t.Errorf("phase = %s (state %s), want %s: %s", st.Phase, out.State.Phase, w.phase, st.Message)
	}
	if w.reason != "" && out.State.Reason != w.reason {
		t.Errorf("reason = %s, want %s", out.State.Reason, w.reason)
	}
	if w.stable != "" && st.StableRevision != w.stable {
		t.Errorf("stableRevision = %s, want %s", st.StableRevision, w.stable)
	}
	if w.current != "" && st.CurrentRevision != w.current {
		t.Errorf("currentRevision = %s, want %s", st.CurrentRevision, w.current)
	}
	if w.stepNil && st.CurrentStepIndex != nil {
		t.Errorf("currentStepIndex = %d, want unset", *st.CurrentStepIndex)
	}
	if w.step != nil && (st.CurrentStepIndex == nil || *st.CurrentStepIndex != *w.step) {
		t.Errorf("currentStepIndex = %v, want %d", st.CurrentStepIndex, *w.step)
	}
	if w.weight != nil && st.CanaryWeight != *w.weight {
		t.Errorf("canaryWeight = %d, want %d", st.CanaryWeight, *w.weight)
	}
	if w.history != nil {
		var h []string
		for _, r := range st.History {
			h = append(h, r.Revision+":"+r.Outcome)
		}
		if !slices.Equal(h, w.history) {
			t.Errorf("history = %v, want %v", h, w.history)
		}
	}
	if w.lastAction != "" && (st.LastAction == nil || st.LastAction.Type != w.lastAction) {
		t.Errorf("lastAction = %+v, want %s", st.LastAction, w.lastAction)
	}
	if w.requeue != 0 && out.RequeueAfter != w.requeue {
		t.Errorf("RequeueAfter = %s, want %s", out.RequeueAfter, w.requeue)
	}
	if w.traffic != nil && (out.Traffic == nil || *out.Traffic != *w.traffic) {
		got := "none"
		if out.Traffic != nil {
			got = describeSplit(*out.Traffic)
		}
		t.Errorf("Traffic = %s, want %s", got, describeSplit(*w.traffic))
	}
	if w.noOp {
		if why := noOp(in, out); why != "" {
			t.Errorf("not a no-op: %s", why)
		}
	}
}

// ---------------------------------------------------------------------------------------------
// setWeight arithmetic

func TestCanaryReplicas(t *testing.T) {
	tests := []struct{ n, weight, want int32 }{
		{4, 25, 1},
		{3, 10, 1},
		{5, 50, 3},
		{4, 50, 2},
		{3, 33, 1},
		{3, 34, 2},
		{10, 1, 1},
		{1, 1, 1},
		{1, 99, 1},
		{7, 0, 0},
		{7, 100, 7},
		{0, 50, 0},
		{1000, 99, 990},
	}
	for _, tc := range tests {
		if got := CanaryReplicas(tc.n, tc.weight); got != tc.want {
			t.Errorf("CanaryReplicas(%d, %d%%) = %d, want %d", tc.n, tc.weight, got, tc.want)
		}
	}
}

func TestComputeSetWeightMath(t *testing.T) {
	tests := []struct {
		n, weight  int32
		wantCanary int32
		wantStable int32 // once the canary pods are available
	}{
		{4, 25, 1, 3},
		{3, 10, 1, 2},
		{5, 50, 3, 2},
		{2, 100, 2, 0},
	}
	for _, tc := range tests {
		c := newCluster(canarySpec(tc.n, setWeight(tc.weight), pause(0)), revA)
		c.settle(t, true)
		c.desired = revision(revB)
		out := Compute(c.input())
		if out.Create != revB || out.CreateReplicas != tc.wantCanary {
			t.Errorf("N=%d setWeight %d: Create %s×%d, want %s×%d", tc.n, tc.weight, out.Create, out.CreateReplicas, revB, tc.wantCanary)
		}
		if out.Scale[revA] != tc.n {
			t.Errorf("N=%d setWeight %d: stable scaled to %d before any canary pod is available", tc.n, tc.weight, out.Scale[revA])
		}
		c.apply(out)
		c.allAvailable()
		if got := Compute(c.input()).Scale[revA]; got != tc.wantStable {
			t.Errorf("N=%d setWeight %d: stable scaled to %d, want %d", tc.n, tc.weight, got, tc.wantStable)
		}
	}
}

// ---------------------------------------------------------------------------------------------
// A reconcile with nothing to do writes nothing

func TestComputeSteadyStateIsNoOp(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T) *cluster
		phase cutoverv1alpha1.RolloutPhase
	}{
		{"healthy", healthy, cutoverv1alpha1.PhaseHealthy},
		{"paused at pause{}", atPause, cutoverv1alpha1.PhasePaused},
		{"waiting for canary pods", func(t *testing.T) *cluster {
			c := healthy(t)
			c.desired = revision(revB)
			c.settle(t, false)
			return c
		}, cutoverv1alpha1.PhaseProgressing},
		{"in a timed pause", func(t *testing.T) *cluster {
			c := atPause(t)
			c.actions.Promote = cutoverv1alpha1.ValueTrue
			c.settle(t, true)
			return c
		}, cutoverv1alpha1.PhaseProgressing},
		{"aborted", func(t *testing.T) *cluster {
			c := atPause(t)
			c.actions.Abort = cutoverv1alpha1.ValueTrue
			c.settle(t, true)
			return c
		}, cutoverv1alpha1.PhaseAborted},
		{"held by spec.paused", func(t *testing.T) *cluster {
			c := atPause(t)
			c.spec.Paused = true
			c.settle(t, true)
			return c
		}, cutoverv1alpha1.PhasePaused},
		{"healthy with a kept revision-hash approval", func(t *testing.T) *cluster {
			c := healthy(t)
			c.actions.Promote = revA
			return c
		}, cutoverv1alpha1.PhaseHealthy},
		{"healthy with an unknown promote value already warned about", func(t *testing.T) *cluster {
			c := healthy(t)
			c.actions.Promote = "yes"
			c.settle(t, true)
			return c
		}, cutoverv1alpha1.PhaseHealthy},
		{"two unknown values already warned about", func(t *testing.T) *cluster {
			c := atPause(t)
			c.actions.Promote = "yes"
			c.actions.Abort = "now"
			c.settle(t, true)
			return c
		}, cutoverv1alpha1.PhasePaused},
		{"promoted and complete", func(t *testing.T) *cluster {
			c := atPause(t)
			c.actions.Promote = cutoverv1alpha1.ValueFull
			c.settle(t, true)
			return c
		}, cutoverv1alpha1.PhaseHealthy},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.setup(t)
			// The controller reads the status back from the API server, and its clock has
			// sub-second precision.
			if err := c.restart(); err != nil {
				t.Fatal(err)
			}
			c.now = c.now.Add(1500 * time.Millisecond)
			in := c.input()
			out := Compute(in)
			if out.Status.Phase != tc.phase {
				t.Errorf("phase %s, want %s", out.Status.Phase, tc.phase)
			}
			if why := noOp(in, out); why != "" {
				t.Errorf("a reconcile with nothing to do is not a no-op: %s", why)
			}
			// Compute on the status it produced itself, with the ReplicaSets as it left them,
			// returns the identical status.
			c.apply(out)
			again := Compute(c.input())
			if !equality.Semantic.DeepEqual(out.Status, again.Status) {
				t.Errorf("status not stable:\n%s", diff.Diff(out.Status, again.Status))
			}
		})
	}
}

// TestComputeIsPure: the input is not modified and the same input gives the same output.
func TestComputeIsPure(t *testing.T) {
	c := atPause(t)
	c.actions.Promote = cutoverv1alpha1.ValueFull
	in := c.input()
	before := c.input()
	out1 := Compute(in)
	out2 := Compute(in)
	if !reflect.DeepEqual(in, before) {
		t.Errorf("Compute modified its input:\n%s", diff.Diff(before, in))
	}
	if !reflect.DeepEqual(out1, out2) {
		t.Errorf("Compute is not deterministic:\n%s", diff.Diff(out1, out2))
	}
}
