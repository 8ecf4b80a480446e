package plan

import (
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	cutoverv1alpha1 "github.com/cutover-dev/cutover/api/v1alpha1"
)

// planner carries one computation. It holds data only; each decision is a method that reads the
// input and writes the output.
type planner struct {
	in  Input
	out Output
	st  *cutoverv1alpha1.RolloutStatus
	rs  map[string]ReplicaSet // live (not deleting) ReplicaSets by revision
	n   int32                 // spec.replicas
	now metav1.Time
	// pos is the Event saying where the rollout stands after this round (a weight reached, a
	// pause entered, completion); several positions passed in one round make one Event.
	pos *Event
	// promoted is set when a promote=true of this round was used.
	promoted bool
	// orig are the action annotations as observed, before skipPending hides any.
	orig Actions
	// skipped are the pendingRemoval entries whose annotation skipPending hid, by key.
	skipped map[string]pendingEntry
	// restarted is set when the step index went back to 0 this round (a new revision or a
	// retry): step 0 is then entered, not resumed.
	restarted bool
	// measured are the gates whose measurement of this round was applied.
	measured map[string]bool
	// started is the revision this round's status starts to record (a new revision, or the
	// first one), "" when none.
	started string
	// awaited is the revision whose ReplicaSet cannot be created yet, at awaitedReplicas: its
	// name is still taken by one being deleted (see ensure).
	awaited         string
	awaitedReplicas int32
	// counted caps the pods the status counts of a revision below its planned size: a canary
	// given the pods of the next weight during a timed pause (see runCanary).
	counted map[string]int32
}

// Compute decides the next state of a Rollout from what was observed. It is a pure function of
// its input: the same input always gives the same output, and it performs no I/O.
func Compute(in Input) Output {
	p := &planner{in: in, n: replicasOf(in.Spec), now: metav1.NewTime(in.Now)}
	p.out.Status = *in.Status.DeepCopy()
	p.out.Scale = map[string]int32{}
	p.st = &p.out.Status
	p.rs = map[string]ReplicaSet{}
	p.measured = map[string]bool{}
	for _, r := range in.ReplicaSets {
		if !r.Deleting {
			p.rs[r.Revision] = r
		}
	}
	p.orig = in.Actions
	p.skipPending()
	if in.Desired.Hash != "" {
		if in.Status.TemplateHash != in.Desired.TemplateHash {
			p.announcePins()
		}
		// The pins are recorded as soon as they are known, so a template is resolved once.
		p.st.TemplateHash = in.Desired.TemplateHash
		p.st.Images = in.Desired.Images
	}
	p.st.Strategy = in.Spec.Strategy.StrategyName()
	p.st.Selector = selectorString(in.Spec.Selector.AsMeta())
	p.run()
	p.announceRevision()
	if p.pos != nil {
		p.out.Events = append(p.out.Events, *p.pos)
		p.out.position = p.pos
	}
	p.finishPending()
	p.aggregate()
	p.trimHistory()
	p.out.State.Gates = gatesVerdict(in.Spec, p.st.Gates)
	return p.out
}

func (p *planner) run() {
	switch {
	case p.in.Blocked != nil:
		p.blocked()
	case p.in.Spec.Paused:
		p.held()
	default:
		p.release()
		switch stable := p.stable(); stable {
		case "":
			p.firstRevision()
		case p.in.Desired.Hash:
			p.steady(stable)
		default:
			p.progress(stable)
		}
	}
}

// blocked keeps everything as it runs: a spec that cannot be carried out changes no traffic
// and deletes nothing. Two things still happen, as safety requires: an abort of the revision in
// flight is carried out (all traffic back to stable, the revision torn down), and a weight the
// revision's available pods can no longer serve is lowered (see holdRouting).
func (p *planner) blocked() {
	b := p.in.Blocked
	p.note("blocked: %s", b.Message)
	if !strings.Contains(p.in.Status.Message, truncate(b.Message, maxMessage)) {
		p.event(true, b.Reason, b.Message)
	}
	stable, cur := p.st.StableRevision, p.st.CurrentRevision
	if cur != "" && cur != stable && p.isLive(stable) && (p.blockedAbort(cur, stable) || p.wasAborted(cur)) {
		// Only the aborted revision is torn down; every other one is kept as it runs (the
		// template may have gone back to one of them, and may not even be known).
		var keep []string
		for _, rev := range p.revisions() {
			if rev != cur && rev != stable {
				keep = append(keep, rev)
				p.out.Scale[rev] = p.rs[rev].Replicas
			}
		}
		p.routeBack(stable, keep...)
		p.state(cutoverv1alpha1.PhaseAborted, p.abortReason(),
			fmt.Sprintf("revision %s aborted: all traffic on stable %s; the new spec cannot be carried out yet: %s", cur, stable, b.Message))
		return
	}
	for rev, r := range p.rs {
		p.out.Scale[rev] = r.Replicas
	}
	p.holdRouting()
	phase := cutoverv1alpha1.PhaseDegraded
	if b.Transient {
		phase = cutoverv1alpha1.PhaseProgressing
		p.out.RequeueAfter = 15 * time.Second
	}
	if b.Recheck > 0 {
		p.requeue(b.Recheck)
	}
	p.state(phase, b.Reason, b.Message)
}

// blockedAbort takes an abort=true given while the rollout is blocked: it aborts cur, the
// revision in flight, whatever the new spec says. It reports whether it did.
func (p *planner) blockedAbort(cur, stable string) bool {
	if p.in.Actions.Abort != cutoverv1alpha1.ValueTrue || p.wasAborted(cur) {
		return false
	}
	p.consume(cutoverv1alpha1.AnnotationAbort)
	pr := p.progressRecord()
	if pr.Revision != cur {
		*pr = cutoverv1alpha1.RolloutProgress{Revision: cur, StepStartedAt: &p.now, LastProgressAt: &p.now}
	}
	p.st.LastAction = &cutoverv1alpha1.RolloutAction{Type: ActionAbort, Revision: cur, At: p.now}
	p.abortRevision(cur, p.in.Status.Images, cutoverv1alpha1.ReasonAborted,
		fmt.Sprintf("revision %s aborted by %s: all traffic back to stable %s", cur, cutoverv1alpha1.AnnotationAbort, stable), false)
	return true
}

// held keeps everything in place while spec.paused is true. The routing is held too, but
// not against safety: see holdRouting.
func (p *planner) held() {
	for rev, r := range p.rs {
		p.out.Scale[rev] = r.Replicas
	}
	p.holdRouting()
	pr := p.progressRecord()
	if pr.HeldSince == nil {
		pr.HeldSince = &p.now
		p.event(false, EventPaused, "spec.paused is true: holding the rollout where it is")
	}
	p.state(cutoverv1alpha1.PhasePaused, cutoverv1alpha1.ReasonPaused,
		"held by spec.paused; set it to false to continue")
}

// holdRouting keeps a held rollout's routing where the last plan put it, for a canary and for a
// blue-green switch alike: an out-of-band edit is put back as at any other time, and the new
// revision's weight drops to what its available pods can serve if it loses some (a revision
// gets traffic only while it has the pods for it). The weight is never raised above the last
// planned one (status.canaryWeight). With spec.replicas 0 there are no pods to count, and the
// last planned weight is kept as it is.
func (p *planner) holdRouting() {
	if !p.mesh() {
		return
	}
	stable, cur := p.st.StableRevision, p.st.CurrentRevision
	if !p.isLive(stable) {
		return
	}
	if cur == "" || cur == stable || !p.isLive(cur) || p.wasAborted(cur) {
		p.routeStable(stable)
		return
	}
	// Clamped: the status is an input like any other, and may hold any value.
	w := max(0, min(p.st.CanaryWeight, p.servable(cur), 100))
	canary := ""
	if w > 0 {
		canary = cur
	}
	p.out.Traffic = &Split{StableRevision: stable, CanaryRevision: canary, CanaryWeight: w}
	p.st.CanaryWeight = w
}

// release ends a hold: the time held does not count against the progress deadline.
func (p *planner) release() {
	if pr := p.st.Progress; pr != nil && pr.HeldSince != nil {
		pr.HeldSince = nil
		pr.LastProgressAt = &p.now
		p.note("released from spec.paused")
	}
}

// stable returns the stable revision, if its ReplicaSet still runs. When the status was lost it
// is recovered from the ReplicaSets: the one, other than the desired revision, with the most
// available pods.
func (p *planner) stable() string {
	if s := p.st.StableRevision; s != "" {
		if _, ok := p.rs[s]; ok {
			return s
		}
		if s == p.in.Desired.Hash {
			return s
		}
	}
	best := ""
	for _, rev := range p.revisions() {
		r := p.rs[rev]
		if rev == p.in.Desired.Hash {
			continue
		}
		if best == "" || r.Available > p.rs[best].Available {
			best = rev
		}
	}
	if best != "" {
		p.note("stable revision recovered from ReplicaSets: %s", best)
	}
	return best
}

// firstRevision runs a Rollout's first revision (or one whose stable ReplicaSet is gone): there
// is nothing to protect, so it goes straight to full size and becomes stable.
func (p *planner) firstRevision() {
	d := p.in.Desired
	if p.st.StableRevision != d.Hash {
		p.addHistory(d.Hash, d.Images, OutcomePromoted, "first revision")
		p.started = d.Hash
	}
	p.st.StableRevision = d.Hash
	p.steady(d.Hash)
}

// steady runs the stable revision alone at full size: nothing is being rolled out, or the spec
// was reverted to the stable revision, which rolls back at once.
func (p *planner) steady(stable string) {
	if cur := p.st.CurrentRevision; cur != "" && cur != stable && p.isLive(cur) {
		if p.wasAborted(cur) {
			p.note("aborted revision %s left behind", cur)
		} else {
			p.addHistory(cur, p.in.Status.Images, OutcomeSuperseded, "spec.template reverted to the stable revision")
			p.event(false, EventRolledBack, fmt.Sprintf("spec.template is the stable revision %s again: rolled back from %s", stable, cur))
		}
	}
	p.ensure(stable, p.n)
	p.st.CurrentRevision = stable
	p.st.CurrentStepIndex = nil
	p.st.CanaryWeight = 100
	if p.in.Status.CurrentRevision != stable {
		// The gate runs of a revision that completed stay on show; those of one rolled back go.
		p.st.Gates = nil
	}
	p.startProgress(stable)
	p.refuseActions("nothing is being rolled out")
	if p.routingTakenOver(stable) {
		p.routeStable(stable)
	} else {
		p.note("routing left as it is until revision %s has its pods", stable)
	}
	p.pointServices(stable, stable)
	p.retireOthers(stable, p.n, stable)
	r := p.rs[stable]
	if p.available(stable, p.n) {
		p.markHealthy(stable)
		return
	}
	p.trackProgress(r.Available)
	if p.deadlineExceeded(time.Time{}) {
		p.state(cutoverv1alpha1.PhaseDegraded, cutoverv1alpha1.ReasonProgressDeadlineExceeded,
			fmt.Sprintf("revision %s has %d/%d available pods after spec.progressDeadlineSeconds", stable, r.Available, p.n))
		return
	}
	p.requeueForDeadline(time.Time{})
	p.state(cutoverv1alpha1.PhaseProgressing, cutoverv1alpha1.ReasonWaitingForAvailability,
		fmt.Sprintf("revision %s: %d/%d pods available", stable, r.Available, p.n))
}

func (p *planner) markHealthy(stable string) {
	if p.in.Status.Phase != cutoverv1alpha1.PhaseHealthy && p.in.Status.Phase != "" {
		p.event(false, EventCompleted, fmt.Sprintf("revision %s is stable with %d available pods", stable, p.n))
	}
	p.out.State.Available = true
	p.state(cutoverv1alpha1.PhaseHealthy, cutoverv1alpha1.ReasonSucceeded,
		fmt.Sprintf("revision %s is stable: %d/%d pods available", stable, p.n, p.n))
}

// progress moves a new revision forward against the stable one.
func (p *planner) progress(stable string) {
	d := p.in.Desired
	if p.progressRecord().Revision != d.Hash {
		p.supersede(stable)
		p.started = d.Hash
		p.startProgress(d.Hash)
		p.st.CurrentRevision = d.Hash
		p.st.CurrentStepIndex = ptr(int32(0))
		p.st.Gates = nil
		p.restarted = true
	}
	if p.st.CurrentStepIndex == nil {
		p.st.CurrentStepIndex = ptr(int32(0))
	}
	p.st.CurrentRevision = d.Hash
	approved := p.takeActions(stable)
	if p.aborted() {
		p.abortedState(stable)
		return
	}
	if p.blueGreen() != nil {
		p.runBlueGreen(stable, approved)
	} else {
		p.runCanary(stable, approved)
	}
	if approved.once && !p.promoted {
		p.unusedPromote()
	}
}

// supersede records the revision that was in flight, if any, as superseded by a new one.
func (p *planner) supersede(stable string) {
	cur := p.st.CurrentRevision
	if cur == "" || cur == stable || cur == p.in.Desired.Hash {
		return
	}
	if !p.wasAborted(cur) {
		p.addHistory(cur, p.in.Status.Images, OutcomeSuperseded, "a new revision replaced it mid-rollout")
	}
	p.note("revision %s superseded by %s", cur, p.in.Desired.Hash)
}

// abortedState routes everything back to stable and tears the aborted revision down once the
// stable revision is whole again.
func (p *planner) abortedState(stable string) {
	d, reason := p.in.Desired.Hash, p.abortReason()
	p.routeBack(stable)
	p.state(cutoverv1alpha1.PhaseAborted, reason,
		fmt.Sprintf("revision %s aborted (%s): all traffic on stable %s; annotate %s=true to try again or change spec.template",
			d, reason, stable, cutoverv1alpha1.AnnotationRetry))
}

// routeBack sends all traffic back to the stable revision, at full size, and tears every other
// revision but keep down once the stable one is whole again.
func (p *planner) routeBack(stable string, keep ...string) {
	p.ensure(stable, p.n)
	p.st.CanaryWeight = 0
	p.routeStable(stable)
	p.pointServices(stable, stable)
	p.retireOthers(stable, p.n, append(keep, stable)...)
	p.out.State.Available = p.available(stable, p.n)
}

// abortReason is the condition reason of the abort on record (Aborted when none is recorded).
func (p *planner) abortReason() string {
	if pr := p.st.Progress; pr != nil && pr.AbortReason != "" {
		return pr.AbortReason
	}
	return cutoverv1alpha1.ReasonAborted
}

// retireOthers deletes every ReplicaSet other than keep, once the stable revision has all the
// pods it needs, so capacity never dips while traffic moves back.
func (p *planner) retireOthers(stable string, stableWant int32, keep ...string) {
	for _, rev := range p.revisions() {
		if slices.Contains(keep, rev) {
			continue
		}
		if p.available(stable, stableWant) && p.free(rev) {
			p.out.Delete = append(p.out.Delete, rev)
			p.note("deleting ReplicaSet of revision %s", rev)
		} else {
			p.out.Scale[rev] = p.rs[rev].Replicas
		}
	}
}

// ensure asks for revision rev to run want replicas, creating its ReplicaSet if needed.
func (p *planner) ensure(rev string, want int32) {
	if _, ok := p.rs[rev]; ok {
		p.out.Scale[rev] = want
		return
	}
	if rev != p.in.Desired.Hash {
		// Only the desired template can be created; a lost stable ReplicaSet is not recreated.
		return
	}
	if p.beingDeleted(rev) {
		// Its name is still taken by its old ReplicaSet, being deleted (a revision torn down
		// and then retried, or gone back to): a create would fail until that one is gone, and
		// stop the controller's round with it, so nothing else of the plan (a weight pulled
		// back, a revision torn down) would be carried out meanwhile. It waits instead.
		p.awaited, p.awaitedReplicas = rev, want
		p.note("revision %s waits for its old ReplicaSet, being deleted, to go", rev)
		p.requeue(time.Second)
		return
	}
	p.out.Create = rev
	p.out.CreateReplicas = want
	// The controller emits RevisionCreated once the create succeeded.
}

// available reports whether rev's ReplicaSet has want replicas, all available.
func (p *planner) available(rev string, want int32) bool {
	r, ok := p.rs[rev]
	if !ok {
		return false
	}
	return !r.Stale && r.Replicas == want && r.Available >= want
}

func (p *planner) isLive(rev string) bool { _, ok := p.rs[rev]; return ok }

// beingDeleted reports whether a ReplicaSet of revision rev has a deletion timestamp.
func (p *planner) beingDeleted(rev string) bool {
	return slices.ContainsFunc(p.in.ReplicaSets, func(r ReplicaSet) bool { return r.Revision == rev && r.Deleting })
}

func (p *planner) aborted() bool {
	return p.st.Progress != nil && p.st.Progress.Revision == p.in.Desired.Hash && p.st.Progress.Aborted
}

// wasAborted reports whether rev is the revision of the progress record and was aborted.
func (p *planner) wasAborted(rev string) bool {
	return p.st.Progress != nil && p.st.Progress.Revision == rev && p.st.Progress.Aborted
}

// revisions lists the live revisions in a fixed order.
func (p *planner) revisions() []string {
	out := make([]string, 0, len(p.rs))
	for rev := range p.rs {
		out = append(out, rev)
	}
	slices.Sort(out)
	return out
}

func (p *planner) progressRecord() *cutoverv1alpha1.RolloutProgress {
	if p.st.Progress == nil {
		p.st.Progress = &cutoverv1alpha1.RolloutProgress{}
	}
	return p.st.Progress
}

// startProgress begins the bookkeeping of a revision, once.
func (p *planner) startProgress(rev string) {
	pr := p.progressRecord()
	if pr.Revision == rev {
		return
	}
	*pr = cutoverv1alpha1.RolloutProgress{Revision: rev, StepStartedAt: &p.now, LastProgressAt: &p.now}
}

// trackProgress moves the progress clock when the number of available pods changed.
func (p *planner) trackProgress(available int32) {
	pr := p.progressRecord()
	if pr.ObservedAvailable != available {
		pr.ObservedAvailable = available
		pr.LastProgressAt = &p.now
	}
}

func (p *planner) deadlineExceeded(since time.Time) bool {
	deadline, ok := p.deadline(since)
	return ok && !p.in.Now.Before(deadline)
}

func (p *planner) requeueForDeadline(since time.Time) {
	if deadline, ok := p.deadline(since); ok {
		p.requeue(deadline.Sub(p.in.Now))
	}
}

// deadline is when the revision in flight is aborted if it makes no progress:
// spec.progressDeadlineSeconds after the last progress recorded, or after since when that is
// later (a wait that began without a status write to record it). ok is false before any
// progress is recorded.
func (p *planner) deadline(since time.Time) (time.Time, bool) {
	pr := p.progressRecord()
	if pr.LastProgressAt == nil {
		return time.Time{}, false
	}
	from := pr.LastProgressAt.Time
	if since.After(from) {
		from = since
	}
	return from.Add(deadlineOf(p.in.Spec)), true
}

// requeue keeps the lowest positive delay.
func (p *planner) requeue(d time.Duration) {
	if d <= 0 {
		d = time.Second
	}
	if p.out.RequeueAfter == 0 || d < p.out.RequeueAfter {
		p.out.RequeueAfter = d
	}
}

// maxMessage is the longest message the API server takes in status.message and in an Event's
// note; a longer one (a message quoting the user's input) is cut, or the write would fail.
const maxMessage = 1024

func (p *planner) state(phase cutoverv1alpha1.RolloutPhase, reason, msg string) {
	msg = truncate(msg, maxMessage)
	p.out.State.Phase = phase
	p.out.State.Reason = reason
	p.out.State.Message = msg
	p.st.Phase = phase
	p.st.Message = msg
}

func (p *planner) event(warning bool, reason, msg string) {
	p.out.Events = append(p.out.Events, Event{Warning: warning, Reason: reason, Message: truncate(msg, maxMessage)})
}

// position records where the rollout stands after this round. Only the last position of a
// round becomes an Event: its message says the weight, so a weight reached and the pause
// entered right after it make one Event, not two.
func (p *planner) position(reason, msg string) {
	p.pos = &Event{Reason: reason, Message: msg}
}

func (p *planner) note(format string, args ...any) {
	p.out.Notes = append(p.out.Notes, fmt.Sprintf(format, args...))
}

// addHistory prepends a record, replacing an older record of the same revision.
func (p *planner) addHistory(rev string, images []cutoverv1alpha1.ContainerImage, outcome, reason string) {
	rec := cutoverv1alpha1.RevisionRecord{
		Revision: rev, Images: images, Outcome: outcome, Reason: reason, FinishedAt: &p.now,
	}
	// The template hash keeps the pins reusable: a template seen again is pinned from this
	// record instead of asking a registry whose tag may have moved.
	switch rev {
	case p.in.Desired.Hash:
		rec.TemplateHash = p.in.Desired.TemplateHash
	case p.in.Status.CurrentRevision:
		rec.TemplateHash = p.in.Status.TemplateHash
	}
	if i := slices.IndexFunc(p.st.History, func(x cutoverv1alpha1.RevisionRecord) bool { return x.Revision == rev }); i >= 0 && rec.TemplateHash == "" {
		rec.TemplateHash = p.st.History[i].TemplateHash
	}
	if r, ok := p.rs[rev]; ok && !r.CreatedAt.IsZero() {
		rec.CreatedAt = &metav1.Time{Time: r.CreatedAt}
	}
	h := slices.DeleteFunc(p.st.History, func(x cutoverv1alpha1.RevisionRecord) bool { return x.Revision == rev })
	p.st.History = append([]cutoverv1alpha1.RevisionRecord{rec}, h...)
}

func (p *planner) trimHistory() {
	limit := int(historyLimitOf(p.in.Spec))
	if len(p.st.History) > limit {
		p.st.History = p.st.History[:limit]
	}
}

// aggregate fills the replica counts of the status from the live ReplicaSets. Each ReplicaSet
// counts up to the size this plan gives it, and one being deleted counts nothing: the pods of a
// scale-down in progress are on their way out. The counts therefore move when the rollout's
// shape changes, not once more when the ReplicaSet controller catches up with a scale-down.
func (p *planner) aggregate() {
	p.st.Replicas, p.st.ReadyReplicas, p.st.AvailableReplicas = 0, 0, 0
	for rev, r := range p.rs {
		want, ok := p.out.Scale[rev]
		switch {
		case slices.Contains(p.out.Delete, rev):
			want = 0
		case !ok:
			want = r.Replicas
		}
		if c, ok := p.counted[rev]; ok {
			want = min(want, c)
		}
		p.st.Replicas += min(r.Current, want)
		p.st.ReadyReplicas += min(r.Ready, want)
		p.st.AvailableReplicas += min(r.Available, want)
	}
}

// finishPending sorts the planned removals and deletions, and records the annotations being
// removed (see pending.go).
func (p *planner) finishPending() {
	slices.Sort(p.out.RemoveAnnotations)
	p.out.RemoveAnnotations = slices.Compact(p.out.RemoveAnnotations)
	p.recordPending()
	slices.Sort(p.out.Delete)
	p.out.Delete = slices.Compact(p.out.Delete)
	for _, rev := range p.out.Delete {
		delete(p.out.Scale, rev)
	}
}

// announceRevision emits RevisionCreated for the revision this round's status starts to
// record. The Event is derived from that change of the status, not from the create call: when
// the status write fails (a conflict, a crash), the next round records the revision again and
// announces it then, once. A revision whose ReplicaSet was already live and known to the
// status (going back to it) is not announced again.
func (p *planner) announceRevision() {
	rev := p.started
	if rev == "" {
		return
	}
	var replicas int32
	switch {
	case p.out.Create == rev:
		replicas = p.out.CreateReplicas
	case p.awaited == rev:
		// Created once its old ReplicaSet is gone; the status records it now.
		replicas = p.awaitedReplicas
	case p.isLive(rev) && !p.knownRevision(rev):
		// Created in a round whose status write was lost.
		replicas = p.rs[rev].Replicas
	default:
		return
	}
	p.out.Events = append([]Event{{Reason: EventRevisionCreated,
		Message: fmt.Sprintf("created the ReplicaSet of revision %s with %d replicas", rev, replicas)}}, p.out.Events...)
}

// knownRevision reports whether the status as read already knew revision rev.
func (p *planner) knownRevision(rev string) bool {
	st := p.in.Status
	return rev == st.StableRevision || rev == st.CurrentRevision ||
		slices.ContainsFunc(st.History, func(r cutoverv1alpha1.RevisionRecord) bool { return r.Revision == rev })
}

// announcePins emits ImageResolved for each container of spec.template whose image is pinned
// to another reference (a tag to its digest). Like RevisionCreated it is derived from the change
// the status records, new pins for a new template, so a round whose status write is lost
// announces them again with the round that records them.
func (p *planner) announcePins() {
	pinned := map[string]string{}
	for _, c := range p.in.Desired.Images {
		pinned[c.Container] = c.Image
	}
	spec := p.in.Spec.Template.Spec
	announce := func(prefix string, cs []corev1.Container) {
		for _, c := range cs {
			if to, ok := pinned[prefix+c.Name]; ok && to != c.Image {
				p.event(false, EventImageResolved, fmt.Sprintf("container %s: %s pinned to %s", c.Name, c.Image, to))
			}
		}
	}
	announce("init:", spec.InitContainers)
	announce("", spec.Containers)
}
