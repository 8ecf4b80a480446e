package plan

import (
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	cutoverv1alpha1 "github.com/cutover-dev/cutover/api/v1alpha1"
)

func TestJudgeLimitArithmetic(t *testing.T) {
	gate := func(count, failureLimit, errLimit int32) cutoverv1alpha1.Gate {
		return cutoverv1alpha1.Gate{Name: "g", Count: ptr(count), FailureLimit: ptr(failureLimit), ConsecutiveErrorLimit: ptr(errLimit)}
	}
	tests := []struct {
		name       string
		gate       cutoverv1alpha1.Gate
		background bool
		verdicts   string // P passed, F failed, E error, in order
		want       string // the phase after each measurement: p pending, r running, P passed, F failed
		wantCounts [4]int32
	}{
		{"count reached", gate(3, 0, 4), false, "PPP", "rrP", [4]int32{3, 0, 0, 0}},
		{"one failure tolerated", gate(3, 1, 4), false, "PFP", "rrP", [4]int32{3, 1, 0, 0}},
		{"failureLimit+1 failures fail", gate(5, 1, 4), false, "FPF", "rrF", [4]int32{3, 2, 0, 0}},
		{"failureLimit 0 fails on the first failure", gate(5, 0, 4), false, "F", "F", [4]int32{1, 1, 0, 0}},
		{"failures fail even after count is reached at the same time", gate(2, 0, 4), false, "PF", "rF", [4]int32{2, 1, 0, 0}},
		{"errors are not measurements", gate(2, 0, 4), false, "EEPEP", "rrrrP", [4]int32{2, 0, 3, 0}},
		{"errors in a row beyond the limit fail", gate(5, 0, 2), false, "EEE", "rrF", [4]int32{0, 0, 3, 3}},
		{"a value resets the errors in a row", gate(9, 0, 2), false, "EEPEE", "rrrrr", [4]int32{1, 0, 4, 2}},
		{"consecutiveErrorLimit 0 fails on the first error", gate(3, 0, 0), false, "E", "F", [4]int32{0, 0, 1, 1}},
		{"background gates never pass by count", gate(1, 0, 4), true, "PPPP", "rrrr", [4]int32{4, 0, 0, 0}},
		{"background gates fail", gate(1, 1, 4), true, "PFPF", "rrrF", [4]int32{4, 2, 0, 0}},
	}
	phase := map[byte]string{'r': cutoverv1alpha1.GateRunning, 'P': cutoverv1alpha1.GatePassed, 'F': cutoverv1alpha1.GateFailed}
	verdict := map[byte]string{'P': VerdictPassed, 'F': VerdictFailed, 'E': VerdictError}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := cutoverv1alpha1.GateStatus{Name: "g", Phase: cutoverv1alpha1.GatePending}
			for i := range len(tt.verdicts) {
				g = judge(g, tt.gate, GateResult{Verdict: verdict[tt.verdicts[i]], Value: "v", At: t0}, tt.background)
				if g.Phase != phase[tt.want[i]] {
					t.Fatalf("after measurement %d (%c): phase %s, want %s", i+1, tt.verdicts[i], g.Phase, phase[tt.want[i]])
				}
			}
			got := [4]int32{g.Measurements, g.Failures, g.Errors, g.ConsecutiveErrors}
			if got != tt.wantCounts {
				t.Errorf("measurements, failures, errors, errors in a row = %v, want %v", got, tt.wantCounts)
			}
		})
	}
}

// smokeGate is a gate of count measurements, every 10 s, with failureLimit failures tolerated.
func smokeGate(name string, count, failureLimit int32) cutoverv1alpha1.Gate {
	return cutoverv1alpha1.Gate{
		Name: name, SuccessCondition: "result >= 0.99", Count: ptr(count), FailureLimit: ptr(failureLimit),
		Interval: &metav1.Duration{Duration: 10 * time.Second},
	}
}

// measureRound lets the interval pass, measures every due gate with the verdict given for it
// (passed by default), computes and applies. It returns the Output.
func measureRound(t *testing.T, c *cluster, verdicts map[string]string) Output {
	t.Helper()
	c.now = c.now.Add(10 * time.Second)
	in := c.input()
	due := DueGates(in)
	in.Measurements = map[string]GateResult{}
	for _, name := range due {
		v := verdicts[name]
		if v == "" {
			v = VerdictPassed
		}
		in.Measurements[name] = GateResult{Verdict: v, Value: map[string]string{VerdictPassed: "1", VerdictFailed: "0.5"}[v],
			Message: "measured " + v, At: c.now}
	}
	out := Compute(in)
	if bad := c.apply(out); len(bad) > 0 {
		t.Fatalf("Output breaks an invariant: %v", bad)
	}
	c.allAvailable()
	return out
}

func gateOf(c *cluster, name string) *cutoverv1alpha1.GateStatus {
	for i := range c.status.Gates {
		if c.status.Gates[i].Name == name {
			return &c.status.Gates[i]
		}
	}
	return nil
}

func eventReasons(out Output) string {
	var r []string
	for _, e := range out.Events {
		if e.Warning {
			r = append(r, "!"+e.Reason)
		} else {
			r = append(r, e.Reason)
		}
	}
	return strings.Join(r, ",")
}

// atGateStep: mesh N=4, steps [setWeight 25, gates smoke, setWeight 50]; revision B serves 25%
// and waits at the gates step, whose gate has started.
func atGateStep(t *testing.T, smoke cutoverv1alpha1.Gate, background ...cutoverv1alpha1.Gate) *cluster {
	spec := canarySpec(4, setWeight(25), gates("smoke"), setWeight(50))
	spec.Gates = append([]cutoverv1alpha1.Gate{smoke}, background...)
	for _, g := range background {
		spec.Strategy.Canary.BackgroundGates = append(spec.Strategy.Canary.BackgroundGates, g.Name)
	}
	c := meshHealthy(t, spec)
	c.desired = revision(revB)
	c.settle(t, true)
	if c.status.CurrentStepIndex == nil || *c.status.CurrentStepIndex != 1 || c.router.truth.CanaryWeight != 25 {
		t.Fatalf("setup: step %v, routing %s", c.status.CurrentStepIndex, describeTraffic(c.router.truth))
	}
	if g := gateOf(c, "smoke"); g == nil || g.Phase != cutoverv1alpha1.GatePending {
		t.Fatalf("setup: gate smoke not started: %+v", c.status.Gates)
	}
	if v := gatesVerdict(c.spec, c.status.Gates); v.Status != metav1.ConditionUnknown {
		t.Fatalf("setup: GatesPassed %s, want Unknown while a gate runs", v.Status)
	}
	return c
}

func TestGateStepPassesAndGoesOn(t *testing.T) {
	c := atGateStep(t, smokeGate("smoke", 3, 1))
	measureRound(t, c, nil)
	measureRound(t, c, map[string]string{"smoke": VerdictFailed})
	if g := gateOf(c, "smoke"); g.Measurements != 2 || g.Failures != 1 || g.Phase != cutoverv1alpha1.GateRunning {
		t.Fatalf("after 2 measurements: %+v", g)
	}
	if *c.status.CurrentStepIndex != 1 || c.status.Phase != cutoverv1alpha1.PhaseProgressing {
		t.Fatalf("the step went on before the gate passed: step %d, phase %s", *c.status.CurrentStepIndex, c.status.Phase)
	}
	out := measureRound(t, c, nil)
	if !strings.Contains(eventReasons(out), EventGatePassed) {
		t.Errorf("events %s, want GatePassed", eventReasons(out))
	}
	c.settle(t, true)
	if c.router.truth.CanaryWeight != 100 && c.status.Phase != cutoverv1alpha1.PhaseHealthy {
		t.Errorf("after the gate passed: phase %s, routing %s; want the rollout to go on to completion", c.status.Phase, describeTraffic(c.router.truth))
	}
	if c.status.StableRevision != revB {
		t.Errorf("stable %s, want %s", c.status.StableRevision, revB)
	}
}

func TestGateStepFailureAborts(t *testing.T) {
	c := atGateStep(t, smokeGate("smoke", 3, 1))
	measureRound(t, c, map[string]string{"smoke": VerdictFailed})
	out := measureRound(t, c, map[string]string{"smoke": VerdictFailed})
	if got := eventReasons(out); !strings.Contains(got, "!"+EventGateFailed) || !strings.Contains(got, "!"+EventAborted) {
		t.Errorf("events %s, want a GateFailed and an Aborted Warning", got)
	}
	if out.State.Phase != cutoverv1alpha1.PhaseAborted || out.State.Reason != cutoverv1alpha1.ReasonGateFailed {
		t.Errorf("phase %s reason %s, want Aborted GateFailed", out.State.Phase, out.State.Reason)
	}
	if out.Traffic == nil || out.Traffic.CanaryWeight != 0 || out.Traffic.StableRevision != revA {
		t.Errorf("traffic %+v, want all on stable %s", out.Traffic, revA)
	}
	if v := out.State.Gates; v.Status != metav1.ConditionFalse || v.Reason != cutoverv1alpha1.ReasonGateFailed {
		t.Errorf("GatesPassed %+v, want False GateFailed", v)
	}
	for _, e := range out.Events {
		if e.Reason == EventGateFailed && !strings.Contains(e.Message, `"result >= 0.99"`) {
			t.Errorf("GateFailed message %q does not name the condition", e.Message)
		}
	}
	c.settle(t, true)
	if _, ok := c.rs[revB]; ok || c.router.truth.CanaryWeight != 0 {
		t.Errorf("after the abort: ReplicaSets %s, routing %s; want B torn down, all traffic on A", describeRS(c), describeTraffic(c.router.truth))
	}
	if due := DueGates(c.input()); len(due) != 0 {
		t.Errorf("an aborted revision measures %v", due)
	}
}

func TestBackgroundGateAbortsMidStep(t *testing.T) {
	bg := smokeGate("errors", 1, 0)
	c := atGateStep(t, smokeGate("smoke", 5, 0), bg)
	if g := gateOf(c, "errors"); g == nil {
		t.Fatalf("the background gate did not start with the first weight: %+v", c.status.Gates)
	}
	measureRound(t, c, nil)
	measureRound(t, c, nil)
	if g := gateOf(c, "errors"); g.Phase != cutoverv1alpha1.GateRunning || g.Measurements != 2 {
		t.Fatalf("background gate after 2 passes: %+v; want Running: it never passes by count", g)
	}
	out := measureRound(t, c, map[string]string{"errors": VerdictFailed})
	if out.State.Phase != cutoverv1alpha1.PhaseAborted || out.Traffic == nil || out.Traffic.CanaryWeight != 0 {
		t.Fatalf("phase %s traffic %+v; want Aborted with all traffic on stable", out.State.Phase, out.Traffic)
	}
	if g := gateOf(c, "smoke"); g != nil {
		t.Errorf("the step gate that was still running stayed in status.gates: %+v", g)
	}
}

func TestConsecutiveErrorsAbort(t *testing.T) {
	smoke := smokeGate("smoke", 3, 0)
	smoke.ConsecutiveErrorLimit = ptr(int32(2))
	c := atGateStep(t, smoke)
	measureRound(t, c, map[string]string{"smoke": VerdictError})
	measureRound(t, c, map[string]string{"smoke": VerdictError})
	if c.status.Phase == cutoverv1alpha1.PhaseAborted {
		t.Fatalf("aborted after 2 errors with consecutiveErrorLimit 2")
	}
	out := measureRound(t, c, map[string]string{"smoke": VerdictError})
	if out.State.Phase != cutoverv1alpha1.PhaseAborted {
		t.Fatalf("phase %s after 3 errors in a row, want Aborted", out.State.Phase)
	}
}

func TestDryRunGateNeverAborts(t *testing.T) {
	smoke := smokeGate("smoke", 2, 0)
	smoke.DryRun = true
	c := atGateStep(t, smoke)
	out := measureRound(t, c, map[string]string{"smoke": VerdictFailed})
	if out.State.Phase == cutoverv1alpha1.PhaseAborted {
		t.Fatalf("a dry-run gate aborted the rollout")
	}
	if g := gateOf(c, "smoke"); g != nil && g.Phase != cutoverv1alpha1.GateFailed {
		t.Errorf("dry-run gate phase %s, want the measured outcome Failed on record", g.Phase)
	}
	c.settle(t, true)
	if c.status.StableRevision != revB {
		t.Errorf("stable %s after a dry-run failure, want the rollout to complete", c.status.StableRevision)
	}
}

func TestPromotesAndGates(t *testing.T) {
	t.Run("promote=true leaves a waiting gate step", func(t *testing.T) {
		c := atGateStep(t, smokeGate("smoke", 3, 0))
		c.actions.Promote = cutoverv1alpha1.ValueTrue
		out := measureRound(t, c, nil)
		if *out.Status.CurrentStepIndex < 2 {
			t.Errorf("step %d, want past the gates step", *out.Status.CurrentStepIndex)
		}
	})
	t.Run("a declarative promote passes pauses, not gates", func(t *testing.T) {
		c := atGateStep(t, smokeGate("smoke", 3, 0))
		c.actions.Promote = revB
		measureRound(t, c, nil)
		if *c.status.CurrentStepIndex != 1 {
			t.Errorf("step %d, want the gates step to wait", *c.status.CurrentStepIndex)
		}
	})
	t.Run("promote=full skips every gate, background gates too", func(t *testing.T) {
		c := atGateStep(t, smokeGate("smoke", 3, 0), smokeGate("errors", 1, 0))
		c.actions.Promote = cutoverv1alpha1.ValueFull
		measureRound(t, c, nil)
		if !c.status.Progress.GatesSkipped || len(c.status.Gates) != 0 {
			t.Errorf("gates %+v skipped %v, want every unfinished gate dropped", c.status.Gates, c.status.Progress.GatesSkipped)
		}
		if due := DueGates(c.input()); len(due) != 0 {
			t.Errorf("skipped gates still measured: %v", due)
		}
		c.settle(t, true)
		if c.status.StableRevision != revB {
			t.Errorf("stable %s, want %s", c.status.StableRevision, revB)
		}
	})
}

func TestDueGates(t *testing.T) {
	c := atGateStep(t, smokeGate("smoke", 3, 0))
	if due := DueGates(c.input()); len(due) != 1 {
		t.Fatalf("a gate just started with no initialDelay is due at once; due %v", due)
	}
	measureRound(t, c, nil)
	c.now = c.now.Add(9 * time.Second)
	if due := DueGates(c.input()); len(due) != 0 {
		t.Errorf("due %v 9 s after a measurement with interval 10 s", due)
	}
	out := Compute(c.input())
	if out.RequeueAfter <= 0 || out.RequeueAfter > time.Second {
		t.Errorf("RequeueAfter %s, want the 1 s left until the next measurement", out.RequeueAfter)
	}
	c.spec.Paused = true
	c.now = c.now.Add(time.Minute)
	if due := DueGates(c.input()); len(due) != 0 {
		t.Errorf("a held rollout measures %v", due)
	}
}

// bgWithGates: blue-green N=2 without a router, autoPromote, scaleDownDelay 0; revision B's
// preview is available and stable A serves.
func bgWithGates(t *testing.T, pre, post []string) *cluster {
	spec := blueGreenSpec(2, 0)
	spec.Strategy.BlueGreen.AutoPromote = ptr(true)
	spec.Strategy.BlueGreen.PrePromotionGates = pre
	spec.Strategy.BlueGreen.PostPromotionGates = post
	spec.Gates = []cutoverv1alpha1.Gate{smokeGate("smoke", 2, 0), smokeGate("post", 2, 0)}
	c := newCluster(spec, revA)
	c.settle(t, true)
	c.activeService = revA
	c.desired = revision(revB)
	c.settle(t, true)
	return c
}

func TestBlueGreenPrePromotionGates(t *testing.T) {
	c := bgWithGates(t, []string{"smoke"}, nil)
	if c.status.Progress.SwitchedAt != nil {
		t.Fatalf("switched before the pre-promotion gate ran")
	}
	out := measureRound(t, c, map[string]string{"smoke": VerdictFailed})
	if out.State.Phase != cutoverv1alpha1.PhaseAborted || out.Services == nil || out.Services.Active != revA {
		t.Fatalf("phase %s services %+v: a failed pre-promotion gate must abort and never switch", out.State.Phase, out.Services)
	}
	if c.status.Progress.SwitchedAt != nil {
		t.Errorf("switched")
	}

	c = bgWithGates(t, []string{"smoke"}, nil)
	measureRound(t, c, nil)
	measureRound(t, c, nil) // passed: the switch is recorded
	out = measureRound(t, c, nil)
	if out.Services == nil || out.Services.Active != revB {
		t.Errorf("services %+v after the pre-promotion gate passed, want the switch to %s", out.Services, revB)
	}
}

func TestBlueGreenPostPromotionGateSwitchesBack(t *testing.T) {
	c := bgWithGates(t, nil, []string{"post"})
	c.activeService = revB
	if c.status.Progress.SwitchedAt == nil || gateOf(c, "post") == nil {
		t.Fatalf("setup: switched %v, gates %+v", c.status.Progress.SwitchedAt, c.status.Gates)
	}
	if _, ok := c.rs[revA]; !ok {
		t.Fatalf("the old revision went before the post-promotion gate passed (scaleDownDelay 0)")
	}
	out := measureRound(t, c, map[string]string{"post": VerdictFailed})
	if out.State.Phase != cutoverv1alpha1.PhaseAborted || out.Services == nil || out.Services.Active != revA {
		t.Fatalf("phase %s services %+v: want Aborted and the active Service back on %s", out.State.Phase, out.Services, revA)
	}
	if r, ok := c.rs[revA]; !ok || r.replicas != 2 {
		t.Errorf("old revision %s: %s; want it kept at full size", revA, describeRS(c))
	}

	c = bgWithGates(t, nil, []string{"post"})
	c.activeService = revB
	measureRound(t, c, nil)
	measureRound(t, c, nil)
	c.activeService = revB
	c.settle(t, true)
	if c.status.StableRevision != revB || len(c.rs) != 1 {
		t.Errorf("after the post-promotion gate passed: stable %s, ReplicaSets %s", c.status.StableRevision, describeRS(c))
	}
}
