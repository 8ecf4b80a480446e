package plan

import (
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	cutoverv1alpha1 "github.com/cutover-dev/cutover/api/v1alpha1"
)

// Services are the revisions the blue-green Services must select; "" leaves a Service alone.
type Services struct {
	// Active is the revision the active Service selects.
	Active string
	// Preview is the revision the preview Service selects.
	Preview string
}

// blueGreen reports whether the Rollout uses the blue-green strategy.
func (p *planner) blueGreen() *cutoverv1alpha1.BlueGreenStrategy { return p.in.Spec.Strategy.BlueGreen }

// pointServices asks for the active and preview Services of a blue-green Rollout.
func (p *planner) pointServices(active, preview string) {
	if p.blueGreen() == nil {
		return
	}
	p.out.Services = &Services{Active: active, Preview: preview}
}

// runBlueGreen runs the new revision at full size beside the stable one, points the preview
// Service at it, and switches all traffic at once: by the active Service's selector, and with a
// router by moving the canary weight from 0 to 100 in one patch. The old revision keeps running
// for scaleDownDelay after the switch, so an abort can switch straight back.
func (p *planner) runBlueGreen(stable string, ap approval) {
	bg, d, pr := p.blueGreen(), p.in.Desired.Hash, p.progressRecord()
	p.st.CurrentStepIndex = nil
	p.ensure(d, p.n)
	p.ensure(stable, p.n)
	if pr.SwitchedAt == nil {
		p.st.CanaryWeight = 0
		p.pointServices(stable, d)
		if p.mesh() {
			canary := ""
			if p.available(d, p.n) {
				canary = d
			}
			p.out.Traffic = &Split{StableRevision: stable, CanaryRevision: canary, CanaryWeight: 0}
		}
		if !p.preSwitch(bg, d, ap) {
			// A revision superseded before its switch goes once the stable one is whole.
			p.retireOthers(stable, p.n, stable, d)
			return
		}
		pr.SwitchedAt = &p.now
		pr.PreviousStable = stable
		pr.LastProgressAt = &p.now
		pr.ObservedAvailable = p.rs[d].Available
		// The pre-promotion runs are done with; the post-promotion gates start now.
		p.st.Gates = nil
		p.event(false, EventWeightChanged, fmt.Sprintf("switched all traffic to revision %s; revision %s keeps running for %s",
			d, stable, bg.GetScaleDownDelay()))
		// The switch is recorded in this round's status write and carried out in the next
		// round: a crash in between resumes the switch from the record, where switching first
		// would have left a switch that a restarted controller, seeing the preview short of a
		// pod, undid.
		p.retireOthers(stable, p.n, stable, d)
		p.requeue(gateSoon)
		p.state(cutoverv1alpha1.PhaseProgressing, cutoverv1alpha1.ReasonProgressing,
			fmt.Sprintf("switching all traffic to revision %s", d))
		return
	}
	if !p.switchCarriedOut(d) {
		p.awaitSwitch(stable, pr.SwitchedAt.Time)
		return
	}
	if (ap.full || ap.once && !p.promoted) && len(bg.PostPromotionGates) > 0 && !pr.GatesSkipped {
		// After the switch a promote leaves the post-promotion gates.
		if ap.once {
			p.usePromote()
		}
		p.skipGates()
		p.event(false, EventPromoted, fmt.Sprintf("revision %s promoted: post-promotion gates skipped", d))
	}
	post := p.runGates(bg.PostPromotionGates, false, true)
	if post.failed != nil {
		// The old revision still runs (it goes only once these gates passed): switch back.
		p.gateAbort(stable, post.failed)
		return
	}
	p.st.CanaryWeight = 100
	p.pointServices(d, d)
	if p.mesh() {
		// While the old revision still runs, the new one gets only the traffic its available
		// pods can serve, as a canary would; the switch is complete when it takes all of it.
		w := p.servable(d)
		canary := d
		if w == 0 {
			canary = "" // as it is: no pod to select yet
		}
		p.out.Traffic = &Split{StableRevision: stable, CanaryRevision: canary, CanaryWeight: w}
		p.st.CanaryWeight = w
	}
	p.retireOthers(stable, p.n, stable, d)
	end := pr.SwitchedAt.Add(bg.GetScaleDownDelay())
	switch {
	case p.in.Now.Before(end):
		p.requeue(end.Sub(p.in.Now))
		p.state(cutoverv1alpha1.PhaseProgressing, cutoverv1alpha1.ReasonProgressing,
			fmt.Sprintf("switched to %s; revision %s keeps running until %s (annotate %s=true to switch back)",
				d, stable, end.UTC().Format(time.RFC3339), cutoverv1alpha1.AnnotationAbort))
	case !p.available(d, p.n):
		p.awaitSwitched(stable, end)
	case !p.routed(d, 100):
		p.state(cutoverv1alpha1.PhaseProgressing, cutoverv1alpha1.ReasonProgressing,
			fmt.Sprintf("switched to %s; waiting for the routing to carry all traffic to it before revision %s goes", d, stable))
	case !post.passed:
		// The old revision stays, even past scaleDownDelay, until the post-promotion gates pass.
		p.state(cutoverv1alpha1.PhaseProgressing, cutoverv1alpha1.ReasonProgressing,
			fmt.Sprintf("switched to %s; revision %s keeps running until the post-promotion gates pass: %s",
				d, stable, p.gatesWords(bg.PostPromotionGates)))
	default:
		p.complete(stable)
	}
}

// awaitSwitched keeps the old revision after scaleDownDelay while the new one lacks available
// pods: it is torn down only once the new one is whole. With no progress for the progress
// deadline, counted from the end of the delay at the earliest, the switch is aborted and all
// traffic goes back to the old revision.
func (p *planner) awaitSwitched(stable string, delayEnd time.Time) {
	d, avail := p.in.Desired.Hash, p.rs[p.in.Desired.Hash].Available
	p.trackProgress(avail)
	if pr := p.progressRecord(); pr.LastProgressAt == nil || pr.LastProgressAt.Time.Before(delayEnd) {
		pr.LastProgressAt = &metav1.Time{Time: delayEnd}
	}
	if p.abortIfStalled(stable, fmt.Sprintf(
		"revision %s made no progress for spec.progressDeadlineSeconds after the switch (%d/%d pods available): aborted, all traffic back to %s",
		d, avail, p.n, stable)) {
		return
	}
	p.state(cutoverv1alpha1.PhaseProgressing, cutoverv1alpha1.ReasonWaitingForAvailability,
		fmt.Sprintf("switched to %s, %d/%d pods available; revision %s keeps running until it is whole", d, avail, p.n, stable))
}

// preSwitch waits for the new revision to be available and for the promotion rule; it reports
// whether to switch now.
func (p *planner) preSwitch(bg *cutoverv1alpha1.BlueGreenStrategy, d string, ap approval) bool {
	pr := p.progressRecord()
	if !p.available(d, p.n) {
		avail := p.rs[d].Available
		p.trackProgress(avail)
		stable := p.st.StableRevision
		if p.abortIfStalled(stable, fmt.Sprintf(
			"revision %s made no progress for spec.progressDeadlineSeconds (%d/%d pods available): aborted, traffic stays on %s",
			d, avail, p.n, stable)) {
			return false
		}
		p.state(cutoverv1alpha1.PhaseProgressing, cutoverv1alpha1.ReasonWaitingForAvailability,
			fmt.Sprintf("preview of %s: %d/%d pods available", d, avail, p.n))
		return false
	}
	if pr.AvailableAt == nil {
		pr.AvailableAt = &p.now
	}
	if ap.once || ap.full {
		// promote=true switches now, without waiting for the pre-promotion gates.
		if ap.once {
			p.usePromote()
		}
		if ap.full {
			p.skipGates()
		}
		p.event(false, EventPromoted, fmt.Sprintf("revision %s promoted: switching", d))
		return true
	}
	// The pre-promotion gates measure the preview; a failure aborts before any switch.
	pre := p.runGates(bg.PrePromotionGates, false, true)
	if pre.failed != nil {
		p.gateAbort(p.st.StableRevision, pre.failed)
		return false
	}
	if !pre.passed {
		p.state(cutoverv1alpha1.PhaseProgressing, cutoverv1alpha1.ReasonProgressing,
			fmt.Sprintf("preview of %s is ready; pre-promotion gates: %s", d, p.gatesWords(bg.PrePromotionGates)))
		return false
	}
	if ap.declarative {
		p.event(false, EventPromoted, fmt.Sprintf("revision %s promoted: switching", d))
		return true
	}
	if !bg.GetAutoPromote() {
		p.state(cutoverv1alpha1.PhasePaused, cutoverv1alpha1.ReasonPaused,
			fmt.Sprintf("preview of %s is ready; waiting for a promote (autoPromote is false; annotate %s=true)", d, cutoverv1alpha1.AnnotationPromote))
		return false
	}
	at := pr.AvailableAt.Add(bg.GetAutoPromoteAfter())
	if p.in.Now.Before(at) {
		p.requeue(at.Sub(p.in.Now))
		p.state(cutoverv1alpha1.PhaseProgressing, cutoverv1alpha1.ReasonProgressing,
			fmt.Sprintf("preview of %s is ready; switching at %s", d, at.UTC().Format(time.RFC3339)))
		return false
	}
	return true
}

// switchCarriedOut reports whether a recorded switch has moved traffic, as observed (the active
// Service selects d) or as the last plan did (d had traffic), or may move it now: d runs every
// pod, all available. A recorded switch is never carried out to a revision short of pods.
func (p *planner) switchCarriedOut(d string) bool {
	return p.in.ActiveService == d || p.planned(d) > 0 || p.available(d, p.n)
}

// awaitSwitch holds the routing before the switch while a recorded switch waits for the new
// revision to be whole again; with no progress for the progress deadline it is aborted.
func (p *planner) awaitSwitch(stable string, switchedAt time.Time) {
	d := p.in.Desired.Hash
	p.st.CanaryWeight = 0
	p.pointServices(stable, d)
	if p.mesh() {
		// The canary subset is left as it is: d is short of pods (see route).
		p.out.Traffic = &Split{StableRevision: stable, CanaryWeight: 0}
	}
	p.retireOthers(stable, p.n, stable, d)
	avail := p.rs[d].Available
	p.trackProgress(avail)
	if p.abortIfStalled(stable, fmt.Sprintf(
		"revision %s lost pods before its switch was carried out and made no progress for spec.progressDeadlineSeconds (%d/%d pods available): aborted, traffic stays on %s",
		d, avail, p.n, stable)) {
		return
	}
	p.state(cutoverv1alpha1.PhaseProgressing, cutoverv1alpha1.ReasonWaitingForAvailability,
		fmt.Sprintf("switching to %s once its pods are available again: %d/%d (recorded at %s)", d, avail, p.n, switchedAt.UTC().Format(time.RFC3339)))
}
