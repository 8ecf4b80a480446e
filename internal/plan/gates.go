package plan

import (
	"fmt"
	"slices"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	cutoverv1alpha1 "github.com/cutover-dev/cutover/api/v1alpha1"
)

// Gates are measured by the controller and judged here. The controller asks DueGates which
// gate runs need a measurement, measures them (each bounded by its timeout), and passes the
// results in Input.Measurements; the planner applies them to status.gates with the limit
// arithmetic of judge, and decides: go on, wait, or abort. Everything a restart needs (counts,
// when the last measurement was taken) is in status.gates.

// GateResult is one measurement of a gate, judged by its success condition.
type GateResult struct {
	// Verdict is VerdictPassed, VerdictFailed or VerdictError.
	Verdict string
	// Value is the measured value as text ("" for an error).
	Value string
	// Message says what the measurement found, in words.
	Message string
	// At is when it was taken.
	At time.Time
}

// The verdicts of one measurement.
const (
	// VerdictPassed: a value that meets the success condition.
	VerdictPassed = "Passed"
	// VerdictFailed: a value that does not meet it.
	VerdictFailed = "Failed"
	// VerdictError: no value (a query error, an empty result, a timeout) or a condition that
	// could not be evaluated.
	VerdictError = "Error"
)

// gateSoon is the shortest wait before a measurement that is due: a gate started in this round
// is measured in the next one.
const gateSoon = 50 * time.Millisecond

// DueGates lists the gate runs of status.gates whose next measurement is due now. Nothing is
// measured while the rollout is held, blocked or aborted, when its gates were skipped, or when
// the status belongs to another revision than the desired one.
func DueGates(in Input) []string {
	st, pr := in.Status, in.Status.Progress
	if in.Spec.Paused || in.Blocked != nil || pr == nil || pr.Aborted || pr.GatesSkipped ||
		pr.Revision == "" || pr.Revision != in.Desired.Hash ||
		st.CurrentRevision != pr.Revision || st.CurrentRevision == st.StableRevision {
		return nil
	}
	var out []string
	for _, g := range st.Gates {
		gate, _ := in.Spec.GateNamed(g.Name)
		if gate != nil && running(g) && !in.Now.Before(nextDue(g, *gate)) {
			out = append(out, g.Name)
		}
	}
	return out
}

// nextDue is when a gate run's next measurement is due: initialDelay after it started, then
// every interval after the last measurement (a value or an error).
func nextDue(g cutoverv1alpha1.GateStatus, gate cutoverv1alpha1.Gate) time.Time {
	if g.LastMeasuredAt == nil {
		var start time.Time
		if g.StartedAt != nil {
			start = g.StartedAt.Time
		}
		return start.Add(gate.GetInitialDelay())
	}
	return g.LastMeasuredAt.Add(gate.GetInterval())
}

func running(g cutoverv1alpha1.GateStatus) bool {
	return g.Phase == cutoverv1alpha1.GatePending || g.Phase == cutoverv1alpha1.GateRunning
}

// judge applies one measurement to a gate run. A value counts as a measurement, and as a
// failure when it does not meet the condition; an error is counted apart. The gate fails at
// failureLimit+1 failures or consecutiveErrorLimit+1 errors in a row, and passes once count
// measurements are taken. Background gates measure until the rollout completes, so count never
// passes them.
func judge(g cutoverv1alpha1.GateStatus, gate cutoverv1alpha1.Gate, r GateResult, background bool) cutoverv1alpha1.GateStatus {
	g.LastMeasuredAt = &metav1.Time{Time: r.At}
	g.Message = truncate(r.Message, maxMessage)
	switch r.Verdict {
	case VerdictPassed, VerdictFailed:
		g.Measurements++
		g.ConsecutiveErrors = 0
		g.LastValue = truncate(r.Value, 256)
		if r.Verdict == VerdictFailed {
			g.Failures++
		}
	default:
		g.Errors++
		g.ConsecutiveErrors++
	}
	switch {
	case g.Failures > gate.GetFailureLimit() || g.ConsecutiveErrors > gate.GetConsecutiveErrorLimit():
		g.Phase = cutoverv1alpha1.GateFailed
	case !background && g.Measurements >= gate.GetCount():
		g.Phase = cutoverv1alpha1.GatePassed
	default:
		g.Phase = cutoverv1alpha1.GateRunning
	}
	return g
}

// gateVerdict is where a set of gates stands after this round's measurements.
type gateVerdict struct {
	// passed is true when every gate passed; a dry-run gate only has to be finished.
	passed bool
	// failed is the first gate that failed, dry-run gates aside.
	failed *cutoverv1alpha1.GateStatus
}

// runGates starts the named gates (when start is set and they have not started), applies this
// round's measurements to them, and says where they stand. The next measurement is scheduled
// with a requeue.
func (p *planner) runGates(names []string, background, start bool) gateVerdict {
	if p.st.Progress != nil && p.st.Progress.GatesSkipped {
		return gateVerdict{passed: true}
	}
	v := gateVerdict{passed: true}
	for _, name := range names {
		gate, _ := p.in.Spec.GateNamed(name)
		if gate == nil {
			continue // admission makes every name refer to a gate
		}
		i := p.gateIndex(name)
		if i < 0 {
			v.passed = false
			if !start {
				continue
			}
			p.st.Gates = append(p.st.Gates, cutoverv1alpha1.GateStatus{
				Name: name, Phase: cutoverv1alpha1.GatePending, StartedAt: &p.now})
			i = len(p.st.Gates) - 1
			p.note("gate %s started", name)
		}
		g := &p.st.Gates[i]
		if r, ok := p.in.Measurements[name]; ok && running(*g) && !p.measured[name] {
			p.measured[name] = true
			before := g.Phase
			*g = judge(*g, *gate, r, background)
			p.progressRecord().LastProgressAt = &p.now
			p.gateEvent(*g, *gate, before)
		}
		switch {
		case running(*g):
			v.passed = false
			p.requeue(max(nextDue(*g, *gate).Sub(p.in.Now), gateSoon))
		case g.Phase == cutoverv1alpha1.GateFailed && !gate.DryRun:
			v.passed = false
			if v.failed == nil {
				v.failed = g
			}
		}
	}
	return v
}

func (p *planner) gateIndex(name string) int {
	return slices.IndexFunc(p.st.Gates, func(g cutoverv1alpha1.GateStatus) bool { return g.Name == name })
}

// gateEvent announces a gate that passed or failed in this round.
func (p *planner) gateEvent(g cutoverv1alpha1.GateStatus, gate cutoverv1alpha1.Gate, before string) {
	if g.Phase == before {
		return
	}
	dry := ""
	if gate.DryRun {
		dry = " (dry run: the rollout goes on)"
	}
	switch g.Phase {
	case cutoverv1alpha1.GatePassed:
		p.event(false, EventGatePassed, fmt.Sprintf("gate %s passed%s: %d measurements, %d failed (failureLimit %d), last value %s",
			g.Name, dry, g.Measurements, g.Failures, gate.GetFailureLimit(), g.LastValue))
	case cutoverv1alpha1.GateFailed:
		p.event(true, EventGateFailed, "gate "+g.Name+" failed"+dry+": "+failureWords(g, gate))
	}
}

// failureWords says why a gate failed: the value it measured and the condition that value did
// not meet, or the errors in a row and the last one.
func failureWords(g cutoverv1alpha1.GateStatus, gate cutoverv1alpha1.Gate) string {
	if g.ConsecutiveErrors > gate.GetConsecutiveErrorLimit() {
		return fmt.Sprintf("%d measurements in a row without a value (consecutiveErrorLimit %d); the last: %s",
			g.ConsecutiveErrors, gate.GetConsecutiveErrorLimit(), g.Message)
	}
	return fmt.Sprintf("measured %s, which does not meet %q; %d of %d measurements failed (failureLimit %d)",
		g.LastValue, gate.SuccessCondition, g.Failures, g.Measurements, gate.GetFailureLimit())
}

// gateAbort aborts the desired revision because a gate failed: all traffic goes back to stable.
func (p *planner) gateAbort(stable string, g *cutoverv1alpha1.GateStatus) {
	d := p.in.Desired.Hash
	gate, _ := p.in.Spec.GateNamed(g.Name)
	why := g.Message
	if gate != nil {
		why = failureWords(*g, *gate)
	}
	p.abort(cutoverv1alpha1.ReasonGateFailed, fmt.Sprintf("revision %s aborted: gate %s failed (%s): all traffic back to stable %s",
		d, g.Name, why, stable), true)
	p.abortedState(stable)
}

// dropGates removes the gate runs for which drop is true.
func (p *planner) dropGates(drop func(cutoverv1alpha1.GateStatus) bool) {
	p.st.Gates = slices.DeleteFunc(p.st.Gates, drop)
	if len(p.st.Gates) == 0 {
		p.st.Gates = nil
	}
}

// skipGates records that a promote skipped every remaining gate of the revision, and drops the
// runs that had not finished.
func (p *planner) skipGates() {
	p.progressRecord().GatesSkipped = true
	p.dropGates(running)
}

// finishBackgroundGates marks the background gates that ran until completion as passed.
func (p *planner) finishBackgroundGates() {
	for i := range p.st.Gates {
		if g := &p.st.Gates[i]; running(*g) {
			g.Phase = cutoverv1alpha1.GatePassed
			g.Message = "ran until the rollout completed"
		}
	}
}

// gatesWords describes the named gate runs for the status message.
func (p *planner) gatesWords(names []string) string {
	var parts []string
	for _, name := range names {
		i := p.gateIndex(name)
		if i < 0 {
			parts = append(parts, name+" not started")
			continue
		}
		g := p.st.Gates[i]
		gate, _ := p.in.Spec.GateNamed(name)
		s := fmt.Sprintf("%s %s %d/%d", name, strings.ToLower(g.Phase), g.Measurements, gate.GetCount())
		if g.LastValue != "" {
			s += ", last " + g.LastValue
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, "; ")
}

// GateVerdict is the planner's verdict for the GatesPassed condition.
type GateVerdict struct {
	// Status is True, False or Unknown.
	Status metav1.ConditionStatus
	// Reason is a condition reason from api/v1alpha1.
	Reason string
	// Message says which gates stand where.
	Message string
}

// gatesVerdict projects status.gates onto the GatesPassed condition: False when a gate failed
// (dry-run gates aside), Unknown while one runs, True when all passed or there are none.
func gatesVerdict(spec cutoverv1alpha1.RolloutSpec, gates []cutoverv1alpha1.GateStatus) GateVerdict {
	if len(gates) == 0 {
		return GateVerdict{Status: metav1.ConditionTrue, Reason: cutoverv1alpha1.ReasonNoGates, Message: "no gate is running"}
	}
	var runningNames []string
	for _, g := range gates {
		gate, _ := spec.GateNamed(g.Name)
		dry := gate != nil && gate.DryRun
		switch {
		case g.Phase == cutoverv1alpha1.GateFailed && !dry:
			msg := g.Message
			if gate != nil {
				msg = failureWords(g, *gate)
			}
			return GateVerdict{Status: metav1.ConditionFalse, Reason: cutoverv1alpha1.ReasonGateFailed,
				Message: fmt.Sprintf("gate %s failed: %s", g.Name, msg)}
		case running(g):
			runningNames = append(runningNames, g.Name)
		}
	}
	if len(runningNames) > 0 {
		return GateVerdict{Status: metav1.ConditionUnknown, Reason: cutoverv1alpha1.ReasonGatesRunning,
			Message: "gates running: " + strings.Join(runningNames, ", ")}
	}
	return GateVerdict{Status: metav1.ConditionTrue, Reason: cutoverv1alpha1.ReasonGatesSucceeded, Message: "every gate passed"}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	r := []rune(s[:n-len("…")])
	if len(r) > 0 && r[len(r)-1] == '\uFFFD' {
		r = r[:len(r)-1]
	}
	return string(r) + "…"
}
