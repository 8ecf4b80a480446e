package plan

import (
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	cutoverv1alpha1 "github.com/cutover-dev/cutover/api/v1alpha1"
)

// fuzzBytes hands out the fuzzer's bytes one decision at a time; 0 once they run out.
type fuzzBytes struct{ b []byte }

func (f *fuzzBytes) next() byte {
	if len(f.b) == 0 {
		return 0
	}
	c := f.b[0]
	f.b = f.b[1:]
	return c
}

func (f *fuzzBytes) pick(n int) int { return int(f.next()) % n }

// fuzzRevs are the revisions a fuzzed state draws from; "" is no revision.
var fuzzRevs = []string{"", revA, revB, revC, "dddddddddd"}

// fuzzInput builds an arbitrary observed state: a spec (canary with or without a mesh, or
// blue-green), a status that may be inconsistent with it (any revisions, a step index out of
// range, any weight, gate runs, pending removals), any ReplicaSets, any routing, any actions
// and gate measurements.
func fuzzInput(f *fuzzBytes) Input {
	n := int32(f.pick(12))
	spec := canarySpec(n, stepSets[f.pick(len(stepSets))]...)
	spec.Gates = []cutoverv1alpha1.Gate{smokeGate("smoke", int32(1+f.pick(3)), int32(f.pick(2))), smokeGate("errors", 1, 0), smokeGate("post", 1, 0)}
	if f.pick(2) == 0 {
		spec.Strategy.Canary.BackgroundGates = []string{"errors"}
	}
	if f.pick(3) == 0 {
		spec.Strategy = cutoverv1alpha1.RolloutStrategy{BlueGreen: &cutoverv1alpha1.BlueGreenStrategy{
			ActiveService: "web", AutoPromote: ptr(f.pick(2) == 0), PrePromotionGates: []string{"smoke"}[:f.pick(2)],
			PostPromotionGates: []string{"post"}[:f.pick(2)], ScaleDownDelay: &metav1.Duration{Duration: time.Duration(f.pick(3)) * time.Minute},
		}}
	}
	spec.Paused = f.pick(8) == 0
	rev := func() string { return fuzzRevs[f.pick(len(fuzzRevs))] }
	in := Input{Now: t0.Add(time.Duration(f.next()) * 7 * time.Second), Spec: spec}
	if d := rev(); d != "" {
		in.Desired = revision(d)
	}
	st := &in.Status
	st.StableRevision, st.CurrentRevision = rev(), rev()
	st.CanaryWeight = int32(f.pick(130)) - 10
	if f.pick(2) == 0 {
		st.CurrentStepIndex = ptr(int32(f.pick(10)) - 1)
	}
	if f.pick(2) == 0 {
		st.Progress = &cutoverv1alpha1.RolloutProgress{Revision: rev(), Aborted: f.pick(3) == 0,
			StepStartedAt: &metav1.Time{Time: t0}, LastProgressAt: &metav1.Time{Time: t0}, GatesSkipped: f.pick(5) == 0}
		if f.pick(2) == 0 {
			st.Progress.SwitchedAt = &metav1.Time{Time: t0}
		}
	}
	for _, g := range []string{"smoke", "errors", "post", "gone"} {
		if f.pick(3) == 0 {
			phases := []string{cutoverv1alpha1.GatePending, cutoverv1alpha1.GateRunning, cutoverv1alpha1.GatePassed, cutoverv1alpha1.GateFailed}
			st.Gates = append(st.Gates, cutoverv1alpha1.GateStatus{Name: g, Phase: phases[f.pick(4)], StartedAt: &metav1.Time{Time: t0}})
		}
	}
	if f.pick(4) == 0 {
		st.PendingRemoval = []string{cutoverv1alpha1.AnnotationPromote + "=true@" + rev()}
	}
	for _, r := range fuzzRevs[1:] {
		if f.pick(2) == 0 {
			replicas := int32(f.pick(12))
			in.ReplicaSets = append(in.ReplicaSets, ReplicaSet{Revision: r, Replicas: replicas,
				Available: int32(f.pick(int(replicas) + 1)), Ready: replicas, Current: replicas,
				Deleting: f.pick(6) == 0, Stale: f.pick(6) == 0})
		}
	}
	if f.pick(2) == 0 {
		in.Traffic = &Traffic{StableRevision: rev(), CanaryRevision: rev(), CanaryWeight: int32(f.pick(110)) - 1}
	}
	if spec.Strategy.BlueGreen != nil {
		in.ActiveService = rev()
	}
	values := []string{"", cutoverv1alpha1.ValueTrue, cutoverv1alpha1.ValueFull, revB, "yes"}
	in.Actions = Actions{Promote: values[f.pick(5)], Abort: values[f.pick(2)], Retry: values[f.pick(2)]}
	if f.pick(6) == 0 {
		in.Blocked = &Problem{Reason: cutoverv1alpha1.ReasonImageResolutionFailed, Transient: f.pick(2) == 0, Message: "blocked"}
	}
	for _, g := range DueGates(in) {
		verdicts := []string{VerdictPassed, VerdictFailed, VerdictError}
		if in.Measurements == nil {
			in.Measurements = map[string]GateResult{}
		}
		in.Measurements[g] = GateResult{Verdict: verdicts[f.pick(3)], Value: "1", At: in.Now}
	}
	return in
}

// FuzzCompute feeds Compute arbitrary observed states, consistent or not. It must not panic,
// must be deterministic, and its Output must keep the invariants that hold whatever the input:
// sizes and weights in range, only the desired revision created, the stable revision never
// deleted, and weight only to a revision with the available pods it needs.
func FuzzCompute(f *testing.F) {
	for _, seed := range [][]byte{nil, {1, 2, 3}, {5, 0, 9, 200, 17, 4, 4, 4, 1, 0, 3}, []byte("cutover fuzz seed with a few more bytes")} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		in := fuzzInput(&fuzzBytes{b: data})
		out := Compute(in)
		if again := Compute(in); !reflect.DeepEqual(again, out) {
			t.Fatalf("Compute is not deterministic")
		}
		if bad := outputInvariants(in, out); len(bad) > 0 {
			t.Fatalf("%v\ninput: %+v\noutput: %+v", bad, in, out)
		}
	})
}

// outputInvariants lists what an Output breaks of the rules that hold for any input.
func outputInvariants(in Input, out Output) []string {
	var bad []string
	live := map[string]ReplicaSet{}
	for _, r := range in.ReplicaSets {
		if !r.Deleting {
			live[r.Revision] = r
		}
	}
	if out.Create != "" && (out.Create != in.Desired.Hash || out.CreateReplicas < 0) {
		bad = append(bad, fmt.Sprintf("Create %s with %d replicas (desired %q)", out.Create, out.CreateReplicas, in.Desired.Hash))
	}
	for rev, n := range out.Scale {
		if n < 0 {
			bad = append(bad, fmt.Sprintf("Scale %s to %d", rev, n))
		}
	}
	if slices.Contains(out.Delete, out.Status.StableRevision) && out.Status.StableRevision != "" {
		bad = append(bad, "Delete the stable revision "+out.Status.StableRevision)
	}
	if t := out.Traffic; t != nil {
		if t.CanaryWeight < 0 || t.CanaryWeight > 100 {
			bad = append(bad, fmt.Sprintf("canary weight %d", t.CanaryWeight))
		}
		if t.CanaryWeight > 0 {
			n := replicasOf(in.Spec)
			// The ReplicaSets are written before the routing: one created in this Output exists
			// by then, with no pods, which serves only a Rollout of 0 replicas.
			r, ok := live[t.CanaryRevision]
			if !ok && out.Create == t.CanaryRevision {
				ok = true
			}
			if !ok || r.Available < canaryReplicas(n, t.CanaryWeight) {
				bad = append(bad, fmt.Sprintf("%d%% to %s, which has %d available pods of the %d it needs",
					t.CanaryWeight, t.CanaryRevision, live[t.CanaryRevision].Available, canaryReplicas(n, t.CanaryWeight)))
			}
		}
	}
	if out.RequeueAfter < 0 {
		bad = append(bad, fmt.Sprintf("RequeueAfter %s", out.RequeueAfter))
	}
	return append(bad, badEventReasons(out)...)
}
