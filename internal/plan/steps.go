package plan

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	cutoverv1alpha1 "github.com/cutover-dev/cutover/api/v1alpha1"
)

// approval is what the action annotations allow this round.
type approval struct {
	once        bool // promote=true: leave the current pause or gate step
	full        bool // promote=full: skip every remaining step
	declarative bool // promote=<desired revision>: approve every pause of this revision
}

var revisionPattern = regexp.MustCompile(`^[0-9a-f]{10}$`)

// takeActions acts on the action annotations for a revision in flight. One-shot values are
// consumed; a revision hash is kept; anything else gets a Warning Event once and is left alone.
func (p *planner) takeActions(stable string) approval {
	a, d := p.in.Actions, p.in.Desired.Hash
	var ap approval
	switch a.Abort {
	case "":
	case cutoverv1alpha1.ValueTrue:
		p.consume(cutoverv1alpha1.AnnotationAbort)
		if !p.aborted() {
			p.recordAction(ActionAbort)
			p.abort(cutoverv1alpha1.ReasonAborted, fmt.Sprintf("revision %s aborted by %s: all traffic back to stable %s",
				d, cutoverv1alpha1.AnnotationAbort, stable), false)
		}
	default:
		p.reject(cutoverv1alpha1.AnnotationAbort, a.Abort, "the only value is \"true\"")
	}
	switch a.Retry {
	case "":
	case cutoverv1alpha1.ValueTrue:
		p.consume(cutoverv1alpha1.AnnotationRetry)
		if p.aborted() {
			p.recordAction(ActionRetry)
			p.retry()
		} else {
			p.event(true, EventActionIgnored, fmt.Sprintf("%s=true ignored: revision %s is not aborted", cutoverv1alpha1.AnnotationRetry, d))
		}
	default:
		p.reject(cutoverv1alpha1.AnnotationRetry, a.Retry, "the only value is \"true\"")
	}
	switch a.Promote {
	case "":
	case cutoverv1alpha1.ValueTrue, cutoverv1alpha1.ValueFull:
		p.consume(cutoverv1alpha1.AnnotationPromote)
		if p.aborted() {
			p.event(true, EventActionIgnored, fmt.Sprintf("%s=%s ignored: revision %s is aborted; annotate %s=true first",
				cutoverv1alpha1.AnnotationPromote, a.Promote, d, cutoverv1alpha1.AnnotationRetry))
			break
		}
		if a.Promote == cutoverv1alpha1.ValueFull {
			ap.full = true
			p.recordAction(ActionPromoteFull)
			p.event(false, EventPromoted, fmt.Sprintf("revision %s promoted in full: skipping every remaining step", d))
		} else {
			// Recorded as the last action only where it is used (usePromote).
			ap.once = true
		}
	case d:
		ap.declarative = true
	default:
		if !revisionPattern.MatchString(a.Promote) {
			p.reject(cutoverv1alpha1.AnnotationPromote, a.Promote, "use \"true\", \"full\" or a revision hash")
		}
		// A hash of another revision is a stale approval: a no-op.
	}
	return ap
}

// refuseActions handles the action annotations when nothing is in flight: one-shot values are
// consumed with a Warning Event; a revision hash is kept.
func (p *planner) refuseActions(why string) {
	for _, kv := range []struct{ key, val string }{
		{cutoverv1alpha1.AnnotationAbort, p.in.Actions.Abort},
		{cutoverv1alpha1.AnnotationRetry, p.in.Actions.Retry},
		{cutoverv1alpha1.AnnotationPromote, p.in.Actions.Promote},
	} {
		switch {
		case kv.val == "":
		case kv.val == cutoverv1alpha1.ValueTrue || (kv.val == cutoverv1alpha1.ValueFull && kv.key == cutoverv1alpha1.AnnotationPromote):
			p.consume(kv.key)
			p.event(true, EventActionIgnored, fmt.Sprintf("%s=%s ignored: %s", kv.key, kv.val, why))
		case kv.key == cutoverv1alpha1.AnnotationPromote && revisionPattern.MatchString(kv.val):
		default:
			p.reject(kv.key, kv.val, "unknown value")
		}
	}
}

func (p *planner) consume(key string) { p.out.RemoveAnnotations = append(p.out.RemoveAnnotations, key) }

// reject emits a Warning Event for an unknown annotation value, once per value.
func (p *planner) reject(key, val, hint string) {
	kv := key + "=" + val
	pr := p.progressRecord()
	// One refused value per annotation key, newline-separated, so that two refused annotations
	// do not take turns and warn on every reconcile.
	seen := strings.Split(pr.RejectedAction, "\n")
	if slices.Contains(seen, kv) {
		return
	}
	seen = slices.DeleteFunc(seen, func(s string) bool { return s == "" || strings.HasPrefix(s, key+"=") })
	pr.RejectedAction = strings.Join(append(seen, kv), "\n")
	p.event(true, EventActionIgnored, fmt.Sprintf("annotation %s has an unknown value %q (%s); it is left alone", key, val, hint))
}

func (p *planner) recordAction(typ string) {
	p.st.LastAction = &cutoverv1alpha1.RolloutAction{Type: typ, Revision: p.in.Desired.Hash, At: p.now}
}

// abort marks the desired revision aborted; abortedState then routes everything to stable.
func (p *planner) abort(reason, msg string, warning bool) {
	p.abortRevision(p.in.Desired.Hash, p.in.Desired.Images, reason, msg, warning)
}

// abortRevision marks rev, the revision of the progress record, aborted: its history record,
// the Event, and the gates that had not finished stop (the ones that passed or failed stay on
// record).
func (p *planner) abortRevision(rev string, images []cutoverv1alpha1.ContainerImage, reason, msg string, warning bool) {
	pr := p.progressRecord()
	pr.Aborted = true
	pr.AbortReason = reason
	p.dropGates(running)
	p.addHistory(rev, images, OutcomeAborted, msg)
	p.event(warning, EventAborted, msg)
}

// abortIfStalled aborts the desired revision, all traffic back to stable, once it has made no
// progress (see trackProgress) for spec.progressDeadlineSeconds; msg says so. Until then it
// asks to look again at the deadline. It reports whether it aborted.
func (p *planner) abortIfStalled(stable, msg string) bool {
	return p.abortIfStalledSince(stable, time.Time{}, msg)
}

// abortIfStalledSince is abortIfStalled with the deadline counted from since when that is later
// than the last progress recorded (see deadline).
func (p *planner) abortIfStalledSince(stable string, since time.Time, msg string) bool {
	if p.deadlineExceeded(since) {
		p.abort(cutoverv1alpha1.ReasonProgressDeadlineExceeded, msg, true)
		p.abortedState(stable)
		return true
	}
	p.requeueForDeadline(since)
	return false
}

// retry starts an aborted revision again from step 0.
func (p *planner) retry() {
	pr := p.progressRecord()
	*pr = cutoverv1alpha1.RolloutProgress{Revision: p.in.Desired.Hash, StepStartedAt: &p.now, LastProgressAt: &p.now}
	p.st.CurrentStepIndex = ptr(int32(0))
	p.st.Gates = nil
	p.restarted = true
	p.event(false, EventRetried, fmt.Sprintf("revision %s retried from step 1", p.in.Desired.Hash))
}

// runCanary walks the canary steps as far as the observed state allows, then asks for the
// replica counts the current step needs.
func (p *planner) runCanary(stable string, ap approval) {
	steps := canarySteps(p.in.Spec)
	d := p.in.Desired.Hash
	// The status is an input like any other: a step index out of range (an edited status, or
	// steps removed from the spec mid-rollout) is brought back within the steps.
	idx := min(max(int(*p.st.CurrentStepIndex), 0), len(steps))
	if idx != int(*p.st.CurrentStepIndex) {
		p.st.CurrentStepIndex = ptr(int32(idx))
	}
	if ap.full {
		p.skipGates()
		if idx < len(steps) {
			idx = len(steps)
			p.advanceTo(idx)
		}
	}
	bg := backgroundGates(p.in.Spec)
	// A background gate that failed in this round's measurement aborts before any step moves.
	if v := p.runGates(bg, true, false); v.failed != nil {
		p.gateAbort(stable, v.failed)
		return
	}
	var failed *cutoverv1alpha1.GateStatus
	for idx < len(steps) {
		w := weightAt(steps, idx)
		want := canaryReplicas(p.n, w)
		if !p.stepDone(steps, idx, w, want, &ap, &failed) {
			break
		}
		if w := steps[idx].SetWeight; w != nil {
			p.position(EventWeightChanged, fmt.Sprintf("step %d/%d reached: %d%% to revision %s", idx+1, len(steps), *w, d))
		}
		// A promote=true is for the step the rollout waited at when it was given, not for a
		// pause further on that nobody has looked at yet.
		ap.once = false
		idx++
		p.advanceTo(idx)
	}
	if failed != nil {
		p.gateAbort(stable, failed)
		return
	}
	// Background gates start with the first step that gives the new revision traffic, once
	// it has a pod to serve it, and run until the rollout completes.
	if weightAt(steps, idx) > 0 && p.rs[d].Available > 0 {
		p.runGates(bg, true, true)
	}
	if idx < len(steps) && steps[idx].Pause != nil && p.enteredThisRound() {
		// Entering a pause is announced at once; a pause passed within this round is not.
		p.position(EventPaused, fmt.Sprintf("step %d/%d: %d%% to revision %s, %s",
			idx+1, len(steps), weightAt(steps, idx), d, pauseWords(steps[idx].Pause)))
	}
	w := weightAt(steps, idx)
	want := canaryReplicas(p.n, w)
	stableWant := p.n - min(p.rs[d].Available, want)
	scale := want
	if p.mesh() {
		// With a traffic router the stable revision serves at full size until the switch is
		// complete; the canary gets traffic, not a share of the stable's pods.
		stableWant = p.n
		scale = p.meshCanaryScale(steps, idx, want)
	}
	p.ensure(d, scale)
	p.ensure(stable, stableWant)
	p.st.CanaryWeight = w
	if p.mesh() {
		p.route(stable, d, w, weightAt(steps, idx-1), want)
	}
	p.retireOthers(stable, stableWant, stable, d)

	// With a router the completion itself moves the traffic (see complete): the weight does
	// not go to 100% on the canary subset first.
	if idx >= len(steps) && p.available(d, p.n) && (p.mesh() || p.routed(d, 100)) {
		p.complete(stable)
		return
	}
	p.waitAt(idx, steps, stable, want)
}

// meshCanaryScale is the size of the canary's ReplicaSet at step idx with a traffic router; want
// is the pods the step's weight needs.
func (p *planner) meshCanaryScale(steps []cutoverv1alpha1.CanaryStep, idx int, want int32) int32 {
	d := p.in.Desired.Hash
	// A step to a lower weight moves the traffic first: the ReplicaSets are scaled before the
	// routing is written, so the canary keeps the pods the observed weight needs until the
	// router reports the lower one.
	scale := max(want, min(p.serving(d), p.rs[d].Replicas))
	// During a timed pause the canary gets the pods of the weight that follows it, so that
	// when the pause ends the weight moves (or the rollout completes) at once, without waiting
	// for pods to start. A pause{} waits for a person, for any time: its canary keeps the pods
	// of its own weight.
	if ahead := p.prewarmed(steps, idx); ahead > scale {
		// The status counts the pods of the pause's own weight: the ones started early
		// becoming available is no news worth a status write.
		p.counted = map[string]int32{d: scale}
		return ahead
	}
	return scale
}

// prewarmed is the number of canary pods a mesh canary's timed pause at idx starts for the
// weight that follows it, 0 when it starts none (no router, not a timed pause, or a next weight
// that needs no more pods than this one). Such a pause ends once its time is up and those pods
// are available, so the next weight moves at once; see pauseWaits.
func (p *planner) prewarmed(steps []cutoverv1alpha1.CanaryStep, idx int) int32 {
	if !p.mesh() || idx >= len(steps) || steps[idx].Pause == nil || steps[idx].Pause.Duration == nil {
		return 0
	}
	if next := canaryReplicas(p.n, weightAt(steps, idx+1)); next > canaryReplicas(p.n, weightAt(steps, idx)) {
		return next
	}
	return 0
}

// stepDone reports whether the step at the current index is finished; w is the weight the step
// serves and want the pods that weight needs. A failed gate is reported through failed.
func (p *planner) stepDone(steps []cutoverv1alpha1.CanaryStep, idx int, w, want int32, ap *approval, failed **cutoverv1alpha1.GateStatus) bool {
	s, d := steps[idx], p.in.Desired.Hash
	switch {
	case s.SetWeight != nil:
		// The step's pods must be available; with a router, the weight must be in place too.
		// Without one, the stable revision's scale-down to its share is ordered in this same
		// round, so the step is reached as soon as the new pods are available.
		return p.available(d, want) && (!p.mesh() || p.routed(d, *s.SetWeight))
	case s.Pause != nil:
		if ap.declarative || p.useOnce(ap) {
			return true
		}
		if s.Pause.Duration == nil || p.in.Now.Before(p.stepStart().Add(s.Pause.Duration.Duration)) {
			return false
		}
		// A pause that started the next weight's pods waits for them too (see pauseWaits).
		next := p.prewarmed(steps, idx)
		return next == 0 || p.rs[d].Available >= next && !p.rs[d].Stale
	default:
		// A promote=true leaves a waiting gate step; a declarative promote passes pauses only.
		if p.useOnce(ap) {
			return true
		}
		// Readiness is the implicit first gate: the gates start once the step's weight is
		// served by available pods, and the step ends only while it still is.
		if !p.available(d, want) || p.mesh() && !p.routed(d, w) {
			return false
		}
		v := p.runGates(s.Gates, false, true)
		*failed = v.failed
		return v.passed
	}
}

func (p *planner) useOnce(ap *approval) bool {
	if ap.once {
		ap.once = false
		p.usePromote()
		p.event(false, EventPromoted, fmt.Sprintf("revision %s promoted past step %d", p.in.Desired.Hash, *p.st.CurrentStepIndex+1))
		return true
	}
	return false
}

// usePromote records that this round's promote=true was used: it is the last action.
func (p *planner) usePromote() {
	p.promoted = true
	p.recordAction(ActionPromote)
}

func (p *planner) stepStart() time.Time {
	if pr := p.st.Progress; pr != nil && pr.StepStartedAt != nil {
		return pr.StepStartedAt.Time
	}
	return p.in.Now
}

// advanceTo enters step idx. A weight is announced when it is reached, not when its step is
// entered; the pause a round ends at is announced by runCanary.
func (p *planner) advanceTo(idx int) {
	// The runs of the step left behind go; background gates go on.
	bg := backgroundGates(p.in.Spec)
	p.dropGates(func(g cutoverv1alpha1.GateStatus) bool { return !slices.Contains(bg, g.Name) })
	p.st.CurrentStepIndex = ptr(int32(idx))
	pr := p.progressRecord()
	pr.StepStartedAt = &p.now
	pr.LastProgressAt = &p.now
}

// unusedPromote answers a promote=true that found nothing waiting for it (no pause, no gate,
// no preview ready to switch): it is consumed, with a Warning Event, and is not recorded as the
// last action. A promote meant for a pause further on is given when the rollout waits there,
// or declaratively with the revision hash.
func (p *planner) unusedPromote() {
	p.event(true, EventActionIgnored, fmt.Sprintf("%s=true ignored: %s; annotate it again when the rollout waits for a promote, or set it to the revision hash %s to approve every pause of this revision",
		cutoverv1alpha1.AnnotationPromote, p.waitingFor(), p.in.Desired.Hash))
}

// waitingFor says in words what the rollout waits for instead of a promote.
func (p *planner) waitingFor() string {
	if p.out.State.Phase == cutoverv1alpha1.PhasePaused && p.st.CurrentStepIndex != nil && p.enteredThisRound() {
		return fmt.Sprintf("it was read before step %d was reached, and a promote is for the step the rollout waits at when it is given",
			*p.st.CurrentStepIndex+1)
	}
	if msg := p.out.State.Message; msg != "" {
		return "nothing waits for a promote (" + msg + ")"
	}
	return "nothing waits for a promote"
}

// enteredThisRound reports whether the step the rollout is at was entered in this round.
func (p *planner) enteredThisRound() bool {
	before := p.in.Status.CurrentStepIndex
	return p.restarted || before == nil || *before != *p.st.CurrentStepIndex
}

// complete makes the desired revision stable once it runs all replicas, and deletes the old one.
func (p *planner) complete(stable string) {
	d := p.in.Desired.Hash
	p.addHistory(d, p.in.Desired.Images, OutcomePromoted, "all steps completed")
	p.st.StableRevision = d
	p.st.CurrentStepIndex = nil
	p.st.CanaryWeight = 100
	p.finishBackgroundGates()
	// With a router, this round's split labels the stable subset with d, the canary subset
	// already selecting it: the old revision carries nothing once that write lands. The
	// controller deletes only after the routing write and the status write of the round
	// succeeded, so the old ReplicaSet goes in this round, without a round of 100% on the
	// canary subset before the relabelling.
	if p.mesh() || p.free(stable) {
		p.position(EventCompleted, fmt.Sprintf("revision %s is stable; revision %s is torn down", d, stable))
		delete(p.out.Scale, stable)
		p.out.Delete = append(p.out.Delete, stable)
	} else {
		// Only a blue-green active Service can still hold it (a canary completes once the
		// routing is seen at 100%): it is switched in this round, after the ReplicaSets are
		// changed, and the old revision goes once the Service is seen on the new one.
		p.position(EventCompleted, fmt.Sprintf("revision %s is stable; revision %s goes once the active Service is seen on %s", d, stable, d))
		p.out.Scale[stable] = p.rs[stable].Replicas
	}
	if p.mesh() {
		// Both subsets select the new revision, which has all its pods available; the stable
		// subset takes all traffic again. The router writes the DestinationRule first, so from
		// its write on every route goes to d, whatever the weights still say.
		p.out.Traffic = &Split{StableRevision: d, CanaryRevision: d, CanaryWeight: 0}
	}
	p.pointServices(d, d)
	p.out.State.Available = true
	p.state(cutoverv1alpha1.PhaseHealthy, cutoverv1alpha1.ReasonSucceeded,
		fmt.Sprintf("revision %s is stable: %d/%d pods available", d, p.n, p.n))
}

// waitAt describes the wait at step idx, and aborts when the progress deadline passed.
func (p *planner) waitAt(idx int, steps []cutoverv1alpha1.CanaryStep, stable string, want int32) {
	d := p.in.Desired.Hash
	pos := fmt.Sprintf("step %d/%d: %d%% to %s", min(idx+1, len(steps)), len(steps), p.st.CanaryWeight, d)
	if idx >= len(steps) {
		pos = fmt.Sprintf("finishing: 100%% to %s", d)
	}
	if idx < len(steps) && steps[idx].Pause != nil {
		pause := steps[idx].Pause
		if pause.Duration == nil {
			p.state(cutoverv1alpha1.PhasePaused, cutoverv1alpha1.ReasonPaused,
				pos+", paused: waiting for a promote (annotate "+cutoverv1alpha1.AnnotationPromote+"=true)")
			return
		}
		end := p.stepStart().Add(pause.Duration.Duration)
		// The end time, not a countdown: a countdown would rewrite the status on every reconcile.
		msg := fmt.Sprintf("%s, pause of %s until %s", pos, pause.Duration.Duration, end.UTC().Format(time.RFC3339))
		if next := p.prewarmed(steps, idx); next > 0 {
			msg += fmt.Sprintf(", then %d%% once its %d pods are available", weightAt(steps, idx+1), next)
			if !p.in.Now.Before(end) {
				p.pauseWaits(stable, end, next, msg)
				return
			}
		}
		p.requeue(end.Sub(p.in.Now))
		p.state(cutoverv1alpha1.PhaseProgressing, cutoverv1alpha1.ReasonProgressing, msg)
		return
	}
	if idx < len(steps) && len(steps[idx].Gates) > 0 && p.available(d, want) {
		p.state(cutoverv1alpha1.PhaseProgressing, cutoverv1alpha1.ReasonProgressing,
			fmt.Sprintf("%s, gates: %s", pos, p.gatesWords(steps[idx].Gates)))
		return
	}
	target := want
	if idx >= len(steps) {
		target = p.n
	}
	avail := p.rs[d].Available
	p.trackProgress(avail)
	if p.abortIfStalled(stable, fmt.Sprintf("revision %s made no progress for spec.progressDeadlineSeconds (%d/%d pods available): aborted, all traffic back to stable %s",
		d, avail, target, stable)) {
		return
	}
	p.state(cutoverv1alpha1.PhaseProgressing, cutoverv1alpha1.ReasonWaitingForAvailability,
		fmt.Sprintf("%s, %d/%d pods available", pos, avail, target))
}

// pauseWaits handles a timed pause whose time is up (at end) while the next weight's pods it
// started (next of them) are not all available yet. The pause's message already says it waits
// for them (msg), so the status stays as it is, and costs no write, until they are all
// available; pods that become available meanwhile are not recorded as progress one by one.
// They get spec.progressDeadlineSeconds from end: then the revision is aborted.
func (p *planner) pauseWaits(stable string, end time.Time, next int32, msg string) {
	d := p.in.Desired.Hash
	avail := p.rs[d].Available
	if p.abortIfStalledSince(stable, end, fmt.Sprintf("revision %s made no progress for spec.progressDeadlineSeconds (%d/%d pods available for the next weight): aborted, all traffic back to stable %s",
		d, avail, next, stable)) {
		return
	}
	// The same state as during the pause: nothing to write.
	p.state(cutoverv1alpha1.PhaseProgressing, cutoverv1alpha1.ReasonProgressing, msg)
}

func pauseWords(ps *cutoverv1alpha1.PauseStep) string {
	if ps.Duration == nil {
		return "paused until a promote"
	}
	return "paused for " + ps.Duration.Duration.String()
}
