package plan

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	cutoverv1alpha1 "github.com/cutover-dev/cutover/api/v1alpha1"
)

// Gate outcomes in the randomised simulators: every gate run that DueGates lists gets a random
// measurement (passed, failed or an error) while the chaos lasts, and a passing one once it
// stops. The invariant: once a gate (not in dry run) failed, the revision is aborted in that
// round and never gains weight again until a retry or a new revision.

// gateSim is the gate part of a sim.
type gateSim struct {
	// failedKey is the revision#attempt whose gate failed; failedWeight its weight after.
	failedKey    string
	failedWeight int32
}

// withSimGates defines the gates the sequences use: "smoke" (named by canary gate steps),
// and at random a background gate for a canary, or pre- and post-promotion gates for a
// blue-green Rollout. Some are dry runs.
func withSimGates(r *rand.Rand, spec *cutoverv1alpha1.RolloutSpec) {
	gate := func(name string, count, failureLimit, errLimit int32, interval time.Duration) cutoverv1alpha1.Gate {
		g := cutoverv1alpha1.Gate{
			Name: name, SuccessCondition: "result >= 0.99", Count: ptr(count),
			FailureLimit: ptr(failureLimit), ConsecutiveErrorLimit: ptr(errLimit),
			Interval: &metav1.Duration{Duration: interval}, DryRun: r.IntN(5) == 0,
		}
		if r.IntN(3) == 0 {
			g.InitialDelay = &metav1.Duration{Duration: time.Duration(r.IntN(60)) * time.Second}
		}
		return g
	}
	spec.Gates = []cutoverv1alpha1.Gate{
		gate("smoke", 1+r.Int32N(3), r.Int32N(2), r.Int32N(3), time.Duration(5+r.IntN(40))*time.Second),
		gate("errors", 1, r.Int32N(2), r.Int32N(3), time.Duration(5+r.IntN(40))*time.Second),
		gate("post", 1+r.Int32N(2), 0, 1, time.Duration(5+r.IntN(40))*time.Second),
	}
	if c := spec.Strategy.Canary; c != nil && r.IntN(2) == 0 {
		c.BackgroundGates = []string{"errors"}
	}
	if bg := spec.Strategy.BlueGreen; bg != nil {
		if r.IntN(2) == 0 {
			bg.PrePromotionGates = []string{"smoke"}
		}
		if r.IntN(2) == 0 {
			bg.PostPromotionGates = []string{"post", "errors"}
		}
	}
}

// measure takes this round's measurements: random while injecting, passing afterwards.
func (s *sim) measure(in Input, injecting bool) map[string]GateResult {
	due := DueGates(in)
	if len(due) == 0 {
		return nil
	}
	out := map[string]GateResult{}
	for _, name := range due {
		v, value := VerdictPassed, "1"
		if injecting {
			switch x := s.r.Float64(); {
			case x < 0.08:
				v, value = VerdictFailed, "0.5"
			case x < 0.14:
				v, value = VerdictError, ""
			}
		}
		out[name] = GateResult{Verdict: v, Value: value, Message: "simulated " + strings.ToLower(v), At: in.Now}
		s.logf("  measure: %s %s", name, v)
	}
	return out
}

// checkGates asserts the gate invariant.
func (s *sim) checkGates(in Input, out Output) []string {
	var bad []string
	key := fmt.Sprintf("%s#%d", s.c.status.CurrentRevision, s.attempt)
	rev := s.c.status.CurrentRevision
	if s.failedKey != "" && s.failedKey == key {
		if w := out.Status.CanaryWeight; w > s.failedWeight {
			bad = append(bad, fmt.Sprintf("revision %s gained weight %d after its gate failed", rev, w))
		}
		if t := out.Traffic; t != nil && t.CanaryRevision == rev && t.CanaryWeight > s.failedWeight {
			bad = append(bad, fmt.Sprintf("revision %s routed %d%% after its gate failed", rev, t.CanaryWeight))
		}
	}
	for _, e := range out.Events {
		if e.Reason != EventGateFailed || strings.Contains(e.Message, "dry run") {
			continue
		}
		if out.State.Phase != cutoverv1alpha1.PhaseAborted || out.State.Reason != cutoverv1alpha1.ReasonGateFailed {
			bad = append(bad, fmt.Sprintf("a gate failed (%s) but the phase is %s (%s)", e.Message, out.State.Phase, out.State.Reason))
		}
		s.failedKey, s.failedWeight = key, out.Status.CanaryWeight
	}
	for _, e := range out.Events {
		if e.Reason == EventAborted && in.Blocked != nil {
			s.count("aborted while blocked")
		}
	}
	if in.Blocked != nil && out.Traffic != nil && in.Traffic != nil && out.Traffic.CanaryWeight < in.Traffic.CanaryWeight {
		s.count("weight lowered while blocked")
	}
	for name := range in.Measurements {
		if g, _ := in.Spec.GateNamed(name); g == nil {
			bad = append(bad, fmt.Sprintf("DueGates listed %s, which is not a gate", name))
		}
	}
	return bad
}

// injectBlocked starts or ends a period in which the controller finds a problem while
// observing: a registry that is down (transient; the new template cannot be pinned), or an
// invalid spec. An abort must still work, and a weight must still follow the available pods.
//
// A block holds the sizes as they run, so it does not start in the round right after
// spec.replicas changed: the planner gets that round to apply the new size.
func (s *sim) injectBlocked(i int) {
	c, r := s.c, s.r
	switch {
	case c.blocked != nil && r.Float64() < 0.1:
		c.blocked = nil
		s.logf("  inject: unblocked")
	case c.blocked == nil && i > s.scaledAt+1 && r.Float64() < 0.02:
		if r.IntN(2) == 0 {
			c.blocked = &Problem{Reason: cutoverv1alpha1.ReasonImageResolutionFailed, Transient: true, Message: "resolving image tags (retrying): registry down"}
			c.hideDesired = true
		} else {
			c.blocked = &Problem{Reason: cutoverv1alpha1.ReasonReferenceNotFound, Message: "spec.trafficRouting.istio: VirtualService web not found"}
			c.hideDesired = false
		}
		s.logf("  inject: blocked: %s", c.blocked.Message)
		s.count("blocked")
	}
}
