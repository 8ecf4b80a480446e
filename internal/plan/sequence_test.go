package plan

import (
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/util/diff"

	cutoverv1alpha1 "github.com/cutover-dev/cutover/api/v1alpha1"
	"github.com/cutover-dev/cutover/test/golden"
)

var update = flag.Bool("update", false, "rewrite the testdata/*.golden files")

// fakeRS is one ReplicaSet of the fake cluster. Its fields are the truth; what the planner is
// given is its status (see observed), which in a cluster with realism lags the truth.
type fakeRS struct {
	// replicas is spec.replicas.
	replicas int32
	// available are the available pods among those that stay: the pods that may carry traffic.
	available int32
	created   time.Time

	// The fields below stay zero in a cluster without realism (see realism_test.go): there
	// the status reports the pods at once, scale-downs and deletions are immediate, and a pod
	// is available as soon as it is ready.

	// ready are the pods that stay, ready but not available yet (minReadySeconds not over).
	ready int32
	// leaving are the available pods a scale-down (or the deletion) removes, still there for
	// some rounds; they carry nothing the invariants count on.
	leaving int32
	// deleting: the ReplicaSet has a deletion timestamp; it stays until its pods are gone.
	deleting bool
	// gen is metadata.generation: one more with every change of spec.replicas.
	gen int64
	// status is the status as the ReplicaSet controller last wrote it; nil while it reports
	// the truth (see report). It is replaced, never changed in place.
	status *rsStatus
}

// cluster is the fake world the planner drives: the Rollout (spec, desired revision, action
// annotations, persisted status) and its ReplicaSets. Only the status is carried from one
// Compute to the next, as in the real controller.
type cluster struct {
	now     time.Time
	spec    cutoverv1alpha1.RolloutSpec
	desired Revision
	actions Actions
	status  cutoverv1alpha1.RolloutStatus
	rs      map[string]*fakeRS
	// router is the traffic router of a mesh Rollout; nil when the replica ratio carries the
	// traffic.
	router *fakeRouter
	// activeService is the revision a blue-green Rollout's active Service selects.
	activeService string
	// measurements are the gate measurements of the round being planned (see sim.measure).
	measurements map[string]GateResult
	// blocked, when set, is a problem the controller found while observing; with hideDesired
	// the new template could not even be pinned (a registry that is down).
	blocked     *Problem
	hideDesired bool
	// real makes the ReplicaSets fall short of the ideal; nil for ideal ReplicaSets.
	real *realism
	// createWaited reports that the last apply could not create a ReplicaSet: the name was
	// still taken by one being deleted.
	createWaited bool
	// recorded is the routing the status records as planned (see writeStatus).
	recorded *Split
}

func newCluster(spec cutoverv1alpha1.RolloutSpec, desired string) *cluster {
	return &cluster{now: t0, spec: spec, desired: revision(desired), rs: map[string]*fakeRS{}}
}

func (c *cluster) n() int32 { return replicasOf(c.spec) }

func (c *cluster) input() Input {
	in := Input{
		Now:     c.now,
		Spec:    c.spec, // Compute does not modify its input (TestComputeIsPure)
		Status:  *c.status.DeepCopy(),
		Actions: c.actions,
		Desired: c.desired,
		// Measurements are taken for this round only: a frozen world measures nothing.
		Measurements: c.measurements,
	}
	if c.spec.Strategy.BlueGreen != nil {
		in.ActiveService = c.activeService
	}
	if c.blocked != nil {
		in.Blocked = c.blocked
		if c.hideDesired {
			in.Desired = Revision{}
		}
	}
	if c.router != nil {
		in.Traffic = c.router.observe()
	}
	for _, rev := range c.revisions() {
		in.ReplicaSets = append(in.ReplicaSets, c.rs[rev].info(rev))
	}
	return in
}

// info is what the controller tells the planner of a ReplicaSet, from its spec and status
// (as controllers.replicaSetInfo does): availability counts only when the status describes
// the current spec.
func (r *fakeRS) info(rev string) ReplicaSet {
	st := r.observed()
	info := ReplicaSet{
		Revision: rev, Replicas: r.replicas, Available: st.available, Ready: st.ready,
		Current: st.replicas, CreatedAt: r.created, Deleting: r.deleting,
	}
	if st.observedGeneration < r.gen {
		info.Available = min(info.Available, info.Replicas)
		info.Stale = true
	}
	return info
}

// live returns the ReplicaSet of rev unless it is gone or being deleted.
func (c *cluster) live(rev string) *fakeRS {
	if r := c.rs[rev]; r != nil && !r.deleting {
		return r
	}
	return nil
}

func (c *cluster) revisions() []string {
	revs := make([]string, 0, len(c.rs))
	for rev := range c.rs {
		revs = append(revs, rev)
	}
	slices.Sort(revs)
	return revs
}

// apply does what the controller does with an Output, and reports every structural invariant
// the Output breaks.
func (c *cluster) apply(out Output) []string {
	var bad []string
	c.createWaited = false
	if out.Create != "" {
		if out.CreateReplicas < 0 {
			bad = append(bad, fmt.Sprintf("Create %s with %d replicas", out.Create, out.CreateReplicas))
		}
		if _, ok := out.Scale[out.Create]; ok {
			bad = append(bad, fmt.Sprintf("Create %s and Scale it in the same Output", out.Create))
		}
		switch r, ok := c.rs[out.Create]; {
		case ok && r.deleting:
			// The name is still taken: the controller's create fails, and it waits for the name.
			// Its round stops there: nothing is scaled, routed or deleted (a weight that lost
			// its pods stays up); the status is written and the annotations acted on are removed.
			bad = append(bad, fmt.Sprintf("Create %s while its ReplicaSet is still being deleted: the round stops at the create", out.Create))
			c.createWaited = true
			c.removeAnnotations(out, &bad)
			c.writeStatus(out)
			return bad
		case ok:
			bad = append(bad, fmt.Sprintf("Create %s: its ReplicaSet already exists", out.Create))
		}
		r := &fakeRS{replicas: max(out.CreateReplicas, 0), created: c.now, gen: 1}
		if c.real != nil {
			r.status = &rsStatus{} // the ReplicaSet controller has not seen it yet
		}
		c.rs[out.Create] = r
	}
	bad = append(bad, c.applyScales(out)...)
	// Deletions are checked against the Services as the round found them.
	activeBefore := c.activeService
	if out.Services != nil && out.Services.Active != "" {
		c.activeService = out.Services.Active
	}
	switch {
	case out.Traffic == nil:
	case c.router == nil:
		bad = append(bad, fmt.Sprintf("Traffic %+v without a traffic router", *out.Traffic))
	default:
		bad = append(bad, c.router.write(*out.Traffic)...)
	}
	// The controller deletes only once the round's routing write (and its status write) went
	// through: a failed write stops the round before any deletion.
	if c.router == nil || out.Traffic == nil || !c.router.dropWrite {
		bad = append(bad, c.applyDeletes(out, activeBefore)...)
	}
	c.removeAnnotations(out, &bad)
	c.writeStatus(out)
	return bad
}

// writeStatus stores the status of out, and the routing it records (the TrafficRouted
// condition the controller compares a plan with to tell a planned move from a drift revert).
func (c *cluster) writeStatus(out Output) {
	c.status = *out.Status.DeepCopy()
	if out.Traffic != nil {
		t := *out.Traffic
		c.recorded = &t
	}
}

// applyScales scales the ReplicaSets as out asks.
func (c *cluster) applyScales(out Output) []string {
	var bad []string
	for _, rev := range slices.Sorted(mapKeys(out.Scale)) {
		n := out.Scale[rev]
		r, ok := c.rs[rev]
		switch {
		case n < 0:
			bad = append(bad, fmt.Sprintf("Scale %s to %d", rev, n))
		case !ok:
			bad = append(bad, fmt.Sprintf("Scale %s: no such ReplicaSet", rev))
		case r.deleting:
			bad = append(bad, fmt.Sprintf("Scale %s, which is being deleted", rev))
		case rev == out.Create:
		case n != r.replicas:
			c.scale(r, n)
		}
	}
	return bad
}

// applyDeletes deletes the ReplicaSets out retires; activeBefore is the revision the active
// Service selected when the round began.
func (c *cluster) applyDeletes(out Output, activeBefore string) []string {
	var bad []string
	for _, rev := range out.Delete {
		if rev == out.Status.StableRevision {
			bad = append(bad, fmt.Sprintf("Delete %s, the stable revision", rev))
		}
		if _, ok := out.Scale[rev]; ok {
			bad = append(bad, fmt.Sprintf("Delete %s and Scale it to %d in the same Output", rev, out.Scale[rev]))
		}
		if rev == c.desired.Hash {
			if pr := out.Status.Progress; pr == nil || pr.Revision != rev || !pr.Aborted {
				bad = append(bad, fmt.Sprintf("Delete %s, the desired revision, which is not aborted", rev))
			}
		}
		r, ok := c.rs[rev]
		switch {
		case !ok:
			bad = append(bad, fmt.Sprintf("Delete %s: no such ReplicaSet", rev))
		case r.deleting:
			bad = append(bad, fmt.Sprintf("Delete %s, which is being deleted already", rev))
		}
		if rev == activeBefore && c.spec.Strategy.BlueGreen != nil {
			// Checked as if the controller deleted ReplicaSets before it points the
			// Services (it deletes after): a deletion never counts on this round's switch.
			bad = append(bad, fmt.Sprintf("Delete %s while the active Service selects it", rev))
		}
		if ok && !r.deleting {
			c.remove(rev)
		}
	}
	return bad
}

// applyFollowed does what the controller does with a round whose routing write Follow planned
// again: first's creates, scales and routing, then the follow-up's scales, its deletions, its
// status and the annotations both consumed.
func (c *cluster) applyFollowed(first, follow Output) []string {
	activeBefore := c.activeService
	noDeletes := first
	noDeletes.Delete = nil
	saved, recorded := c.status, c.recorded
	bad := c.apply(noDeletes)
	if !c.router.wrote {
		bad = append(bad, "Follow used although the routing write failed")
	}
	c.status, c.recorded = saved, recorded
	bad = append(bad, c.applyScales(follow)...)
	bad = append(bad, c.applyDeletes(follow, activeBefore)...)
	c.removeAnnotations(follow, &bad)
	c.writeStatus(follow)
	return bad
}

// removeAnnotations removes the action annotations out acted on.
func (c *cluster) removeAnnotations(out Output, bad *[]string) {
	for _, key := range out.RemoveAnnotations {
		switch key {
		case cutoverv1alpha1.AnnotationPromote:
			c.actions.Promote = ""
		case cutoverv1alpha1.AnnotationAbort:
			c.actions.Abort = ""
		case cutoverv1alpha1.AnnotationRetry:
			c.actions.Retry = ""
		default:
			*bad = append(*bad, fmt.Sprintf("RemoveAnnotations names %q, not an action annotation", key))
		}
	}
}

// allAvailable makes every pod available at once, and every status current.
func (c *cluster) allAvailable() {
	for _, r := range c.rs {
		if !r.deleting {
			r.available, r.ready = r.replicas, 0
		}
		r.status = nil
	}
}

// restart simulates a new controller instance: all it has is what the API server stored.
func (c *cluster) restart() error {
	raw, err := json.Marshal(c.status)
	if err != nil {
		return err
	}
	var st cutoverv1alpha1.RolloutStatus
	if err := json.Unmarshal(raw, &st); err != nil {
		return err
	}
	c.status = st
	return nil
}

func (c *cluster) clone() *cluster {
	cp := *c
	cp.spec = *c.spec.DeepCopy()
	cp.status = *c.status.DeepCopy()
	cp.measurements = nil
	cp.rs = map[string]*fakeRS{}
	for k, v := range c.rs {
		r := *v
		if v.status != nil {
			st := *v.status
			r.status = &st
		}
		cp.rs[k] = &r
	}
	if c.router != nil {
		rt := *c.router
		rt.stale, rt.dropWrite = false, false
		cp.router = &rt
	}
	return &cp
}

// noOp reports why out is not a no-op for in: a reconcile with nothing to do must write nothing.
func noOp(in Input, out Output) string {
	var why []string
	if out.Create != "" {
		why = append(why, "Create "+out.Create)
	}
	if len(out.Delete) > 0 {
		why = append(why, fmt.Sprintf("Delete %v", out.Delete))
	}
	if len(out.Events) > 0 {
		why = append(why, fmt.Sprintf("Events %v", out.Events))
	}
	if len(out.RemoveAnnotations) > 0 {
		why = append(why, fmt.Sprintf("RemoveAnnotations %v", out.RemoveAnnotations))
	}
	observed := map[string]int32{}
	for _, r := range in.ReplicaSets {
		if !r.Deleting { // the planner scales only the live ones
			observed[r.Revision] = r.Replicas
		}
	}
	if !reflect.DeepEqual(observed, out.Scale) {
		why = append(why, fmt.Sprintf("Scale %v, observed %v", out.Scale, observed))
	}
	if out.Traffic != nil && (in.Traffic == nil || !splitHolds(*in.Traffic, *out.Traffic)) {
		why = append(why, fmt.Sprintf("Traffic %+v, observed %+v", *out.Traffic, in.Traffic))
	}
	if !equality.Semantic.DeepEqual(in.Status, out.Status) {
		why = append(why, "status changed:\n"+diff.Diff(in.Status, out.Status))
	}
	return strings.Join(why, "; ")
}

// settle runs Compute and applies it, with the world otherwise frozen (no time passes, no pod
// becomes available unless avail), until Compute has nothing left to do. It fails when that
// takes more than a handful of rounds: a reconcile loop that never settles writes forever.
func (c *cluster) settle(t testing.TB, avail bool) Output {
	t.Helper()
	for i := 0; i < 30; i++ {
		in := c.input()
		out := Compute(in)
		if noOp(in, out) == "" {
			return out
		}
		if bad := c.apply(out); len(bad) > 0 {
			t.Fatalf("settle: %v", bad)
		}
		if avail {
			c.allAvailable()
		}
	}
	in := c.input()
	t.Fatalf("no fixpoint after 30 rounds: %s", noOp(in, Compute(in)))
	return Output{}
}

func mapKeys[K comparable, V any](m map[K]V) func(func(K) bool) {
	return func(yield func(K) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// ---------------------------------------------------------------------------------------------
// Randomised sequences

// stepSets are the canary step lists the random sequences draw from.
var stepSets = [][]cutoverv1alpha1.CanaryStep{
	{setWeight(25), pause(time.Minute), setWeight(50), pause(0), setWeight(75), pause(30 * time.Second)},
	{setWeight(10), pause(0), setWeight(50), pause(2 * time.Minute)},
	{pause(30 * time.Second), setWeight(20), setWeight(60)},
	{},
	{setWeight(100), pause(0)},
	{setWeight(0), pause(time.Minute), setWeight(50)},
	{setWeight(30), gates("smoke"), setWeight(80)},
	{setWeight(60), setWeight(20), pause(45 * time.Second)},
}

type sim struct {
	r   *rand.Rand
	c   *cluster
	log func(format string, args ...any) // nil: no log

	stats map[string]int // what the sequences went through, to show they are not vacuous

	gateSim // gate outcomes and the gate invariant (gates_sequence_test.go)
	// scaledAt is the last iteration that changed spec.replicas.
	scaledAt int

	nextRev   int
	attempt   int
	lastKey   string
	lastIdx   *int32
	stallTill int
	clean     *Traffic // mesh: the routing before this round's out-of-band edit, if any
}

func (s *sim) newHash() string {
	s.nextRev++
	return fmt.Sprintf("%010x", 0xc0ffee0000+s.nextRev)
}

func (s *sim) logf(format string, args ...any) {
	if s.log != nil {
		s.log(format, args...)
	}
}

func (s *sim) setDesired(hash, why string) {
	if hash == s.c.desired.Hash {
		return
	}
	s.c.desired = revision(hash)
	s.attempt++
	s.logf("  inject: %s → desired %s", why, hash)
}

// inject makes the random user and cluster events of one iteration.
func (s *sim) inject(i int) {
	c, r := s.c, s.r
	p := func(x float64) bool { return r.Float64() < x }
	stable := c.status.StableRevision
	switch {
	case c.status.Phase == cutoverv1alpha1.PhaseHealthy && p(0.15):
		s.setDesired(s.newHash(), "new revision")
	case p(0.02):
		s.setDesired(s.newHash(), "new revision mid-flight")
	case stable != "" && p(0.01):
		s.setDesired(stable, "revert to stable")
	case p(0.01):
		// Back to another live revision, e.g. one just superseded.
		for _, rev := range c.revisions() {
			if rev != stable && rev != c.desired.Hash {
				s.setDesired(rev, "back to live revision")
				break
			}
		}
	}
	set := func(what string, ptr *string, v string) {
		*ptr = v
		s.logf("  inject: %s=%s", what, v)
	}
	switch {
	case p(0.06):
		set("promote", &c.actions.Promote, cutoverv1alpha1.ValueTrue)
	case p(0.015):
		set("promote", &c.actions.Promote, cutoverv1alpha1.ValueFull)
	case p(0.01):
		set("promote", &c.actions.Promote, c.desired.Hash)
	case p(0.005):
		set("promote", &c.actions.Promote, "0123456789") // another revision's hash
	case p(0.005):
		set("promote", &c.actions.Promote, "yes")
	case p(0.02):
		set("promote", &c.actions.Promote, "")
	}
	switch {
	case p(0.02):
		set("abort", &c.actions.Abort, cutoverv1alpha1.ValueTrue)
	case p(0.003):
		set("abort", &c.actions.Abort, "please")
	}
	if c.status.Phase == cutoverv1alpha1.PhaseAborted && p(0.05) || p(0.005) {
		set("retry", &c.actions.Retry, cutoverv1alpha1.ValueTrue)
	}
	if p(0.02) {
		c.spec.Paused = !c.spec.Paused
		s.logf("  inject: spec.paused=%v", c.spec.Paused)
	}
	if !c.spec.Paused && c.blocked == nil && p(0.01) {
		// kubectl scale, or an autoscaler, through the scale subresource. Not during a hold,
		// which holds the sizes too (see the docs of spec.paused), nor while blocked, which
		// keeps everything as it runs.
		c.spec.Replicas = ptr(r.Int32N(11))
		s.scaledAt = i
		s.logf("  inject: spec.replicas=%d", *c.spec.Replicas)
		s.count("scaled")
	}
	s.injectBlocked(i)
	if p(0.02) {
		s.stallTill = i + 5 + r.IntN(35)
		s.logf("  inject: pods of %s stall until iteration %d", c.desired.Hash, s.stallTill)
	}
	if c.router != nil {
		s.injectMesh()
	}
}

// drain stops the chaos and acts as a patient user: unpause, fix bad annotations, promote pauses.
func (s *sim) drain() {
	c := s.c
	c.spec.Paused = false
	c.blocked = nil
	s.stallTill = 0
	if c.actions.Promote != "" && c.actions.Promote != c.desired.Hash && c.actions.Promote != cutoverv1alpha1.ValueTrue {
		c.actions.Promote = ""
	}
	if c.actions.Abort != "" && c.actions.Abort != cutoverv1alpha1.ValueTrue {
		c.actions.Abort = ""
	}
	// A person promotes what waits for it, once the last promote is seen gone: the same
	// annotation written again before that counts as the same action.
	if c.status.Phase == cutoverv1alpha1.PhasePaused && len(c.status.PendingRemoval) == 0 {
		c.actions.Promote = cutoverv1alpha1.ValueTrue
	}
}

// advance lets the world move: pods become available at random (scale-ups lag), time passes.
// With realism, pods are ready before they are available, statuses catch up, pods of
// scale-downs and deletions go (see realism_test.go).
func (s *sim) advance(i int) {
	c, r := s.c, s.r
	for _, rev := range c.revisions() {
		rs := c.rs[rev]
		if c.real != nil {
			s.catchUp(rev, rs)
		}
		if rs.deleting || i < s.stallTill && rev == c.desired.Hash && rev != c.status.StableRevision {
			continue
		}
		if c.real != nil {
			s.podsProgress(rev, rs)
			continue
		}
		if rs.available < rs.replicas && r.Float64() < 0.5 {
			rs.available += 1 + r.Int32N(rs.replicas-rs.available)
		}
	}
	if c.router != nil && i < seqInjectIter {
		s.losePods()
	}
	c.now = c.now.Add(time.Duration(r.IntN(60_000)) * time.Millisecond)
}

// check asserts the invariants that hold on every iteration, after the Output was applied.
func (s *sim) check(in Input, out Output) []string {
	c := s.c
	var bad []string
	for rev, r := range c.rs {
		if r.replicas < 0 || r.available < 0 || r.ready < 0 || r.leaving < 0 || r.available+r.ready > r.replicas {
			bad = append(bad, fmt.Sprintf("ReplicaSet %s has %s", rev, describeFake(r)))
		}
	}
	// The stable revision keeps its share while a new revision is in flight.
	st, d := c.status.StableRevision, c.desired.Hash
	if c.spec.Paused {
		// spec.paused holds everything as it runs: the revision in flight is the one whose
		// available pods count, even when the template has moved on meanwhile.
		d = c.status.CurrentRevision
	}
	if st != "" {
		srs := c.live(st)
		if srs == nil {
			bad = append(bad, fmt.Sprintf("stable revision %s has no live ReplicaSet", st))
		} else if drs := c.live(d); drs != nil && d != st {
			if floor := c.n() - min(drs.available, drs.replicas); srs.replicas < floor {
				bad = append(bad, fmt.Sprintf("stable %s scaled to %d, below %d (N=%d, new revision %s has %d/%d)",
					st, srs.replicas, floor, c.n(), d, drs.available, drs.replicas))
			}
		}
	}
	// Within one attempt of one revision the step index never goes backwards.
	for _, e := range out.Events {
		if e.Reason == EventRetried {
			s.attempt++
		}
	}
	key := fmt.Sprintf("%s#%d", c.status.CurrentRevision, s.attempt)
	idx := c.status.CurrentStepIndex
	if key == s.lastKey && s.lastIdx != nil && idx != nil && *idx < *s.lastIdx {
		bad = append(bad, fmt.Sprintf("step index of %s went back from %d to %d", c.status.CurrentRevision, *s.lastIdx, *idx))
	}
	if key == s.lastKey && s.lastIdx == nil && idx != nil && c.status.CurrentRevision == c.status.StableRevision {
		bad = append(bad, fmt.Sprintf("step index of the stable revision %s reappeared", c.status.CurrentRevision))
	}
	s.lastKey, s.lastIdx = key, nil
	if idx != nil {
		s.lastIdx = ptr(*idx)
	}
	if out.RequeueAfter < 0 {
		bad = append(bad, fmt.Sprintf("RequeueAfter %s", out.RequeueAfter))
	}
	return append(bad, badEventReasons(out)...)
}

// converged reports whether the sequence reached a terminal state.
func (s *sim) converged() bool {
	c := s.c
	st := c.status.StableRevision
	if len(c.rs) != 1 || c.live(st) == nil || c.rs[st].replicas != c.n() || c.rs[st].available != c.n() || !c.rs[st].atRest() {
		return false
	}
	if rt := c.router; rt != nil && (rt.truth.StableRevision != st || rt.truth.CanaryWeight != 0) {
		// With a router, all traffic is on the stable subset, which selects the stable revision.
		return false
	}
	switch c.status.Phase {
	case cutoverv1alpha1.PhaseHealthy:
		return c.desired.Hash == st && c.status.CurrentRevision == st
	case cutoverv1alpha1.PhaseAborted:
		return c.desired.Hash != st && c.status.Progress != nil && c.status.Progress.Aborted
	}
	return false
}

const (
	seqSeeds      = 200
	seqInjectIter = 200
	seqMaxIter    = 400
)

// run plays one random sequence and returns the first invariant it broke.
func (s *sim) run() error {
	for i := 0; i < seqMaxIter; i++ {
		injecting := i < seqInjectIter
		restart := false
		s.clean = nil
		if injecting {
			s.inject(i)
			restart = s.r.Float64() < 0.03
		} else {
			s.drain()
		}
		if restart {
			if err := s.c.restart(); err != nil {
				return err
			}
			s.logf("  inject: controller restart (status read back from the API server)")
		}
		s.c.measurements = s.measure(s.c.input(), injecting)
		in := s.c.input()
		out := Compute(in)
		var pre Traffic // what the router carries while this round is planned
		if rt := s.c.router; rt != nil {
			pre = rt.truth
			if err := s.checkDrift(i, in, out); err != nil {
				return err
			}
		}
		if restart {
			// Pure: the same input gives the same output.
			if again := Compute(s.c.input()); !reflect.DeepEqual(out, again) {
				return fmt.Errorf("iteration %d: Compute is not deterministic:\n%s", i, diff.Diff(out, again))
			}
		}
		if s.log != nil {
			s.log("%s", describe(i, in, out))
		}
		s.realismStats(in)
		if s.stats != nil {
			for _, e := range out.Events {
				s.stats["event "+e.Reason]++
				if e.Reason == EventAborted {
					s.stats["abort reason "+out.State.Reason]++
				}
			}
			if restart {
				s.stats["restart"]++
			}
			if len(in.Status.History) > 0 && len(out.Status.History) > 0 && out.Status.History[0].Outcome == OutcomeSuperseded &&
				!equality.Semantic.DeepEqual(in.Status.History[0], out.Status.History[0]) {
				s.stats["superseded"]++
			}
		}
		s.c.measurements = nil
		var bad []string
		var first *Output
		if f, ok := s.follow(in, out); ok {
			s.logf("  follow-up after the routing write:\n%s", describe(i, in, f))
			s.count("follow-up")
			planned := out
			first = &planned
			bad = s.c.applyFollowed(out, f)
			out = f
		} else {
			bad = s.c.apply(out)
		}
		if s.c.createWaited {
			s.logf("  world: %s not created: its name is still taken by the ReplicaSet being deleted", out.Create)
			s.count("create waits for a deleted ReplicaSet")
		}
		bad = append(bad, s.check(in, out)...)
		bad = append(bad, s.checkGates(in, out)...)
		bad = append(bad, s.checkSwitch(in, out)...)
		if s.c.router != nil {
			bad = append(bad, s.checkMesh(in, out, pre, first)...)
			s.c.router.endRound()
		}
		if len(bad) > 0 {
			return fmt.Errorf("iteration %d: %s", i, strings.Join(bad, "; "))
		}
		if s.r.Float64() < 0.05 {
			// Nothing to do must mean nothing written: a frozen world reaches a fixpoint.
			if err := fixpoint(s.c.clone()); err != nil {
				return fmt.Errorf("iteration %d: %w", i, err)
			}
		}
		if !injecting && s.converged() {
			// Terminal: what is left is at most the status catching up with the last deletion,
			// and the state stays terminal.
			settled := s.c.clone()
			if err := fixpoint(settled); err != nil {
				return fmt.Errorf("converged at iteration %d: %w", i, err)
			}
			if !(&sim{c: settled}).converged() {
				return fmt.Errorf("converged at iteration %d, but left it while settling: phase %s, ReplicaSets %s",
					i, settled.status.Phase, describeRS(settled))
			}
			if s.stats != nil {
				s.stats["converged "+string(settled.status.Phase)]++
			}
			return nil
		}
		s.advance(i)
	}
	return fmt.Errorf("did not converge after %d iterations: phase %s, stable %s, desired %s, ReplicaSets %s",
		seqMaxIter, s.c.status.Phase, s.c.status.StableRevision, s.c.desired.Hash, describeRS(s.c))
}

// fixpoint runs Compute on a frozen world until it has nothing left to do.
func fixpoint(c *cluster) error {
	for j := 0; j < 10; j++ {
		in := c.input()
		out := Compute(in)
		if noOp(in, out) == "" {
			return nil
		}
		if bad := c.apply(out); len(bad) > 0 {
			return fmt.Errorf("while settling: %v", bad)
		}
	}
	in := c.input()
	return fmt.Errorf("a frozen world does not settle: %s", noOp(in, Compute(in)))
}

func newSim(seed uint64) *sim {
	r := rand.New(rand.NewPCG(seed, 0x5eed))
	n := 1 + r.Int32N(10)
	steps := stepSets[r.IntN(len(stepSets))]
	spec := canarySpec(n, steps...)
	spec.ProgressDeadlineSeconds = ptr(int32(120 + r.IntN(480)))
	withSimGates(r, &spec)
	s := &sim{r: r}
	s.c = newCluster(spec, s.newHash())
	s.c.now = t0.Add(time.Duration(r.IntN(1000)) * time.Millisecond)
	s.c.real = newRealism(r)
	return s
}

func TestRolloutSequences(t *testing.T) {
	failed := 0
	stats := map[string]int{}
	for seed := uint64(1); seed <= seqSeeds && failed < 3; seed++ {
		s := newSim(seed)
		s.stats = stats
		if err := s.run(); err != nil {
			failed++
			// Replay with a log for the report.
			var lines []string
			replay := newSim(seed)
			replay.log = func(format string, args ...any) { lines = append(lines, fmt.Sprintf(format, args...)) }
			_ = replay.run()
			if len(lines) > 30 {
				lines = lines[len(lines)-30:]
			}
			t.Errorf("seed %d (N=%d): %v\nlast iterations:\n%s", seed, s.c.n(), err, strings.Join(lines, "\n"))
		}
	}
	if failed > 0 {
		return
	}
	t.Logf("sequences went through: %v", stats)
	// The sequences must exercise every path they are meant to; if a change makes one of these
	// unreachable, the invariants above are checked on less than they claim.
	for _, k := range []string{
		"event " + EventCompleted, "event " + EventPromoted,
		"event " + EventWeightChanged, "event " + EventPaused, "event " + EventRetried,
		"event " + EventRolledBack, "event " + EventActionIgnored,
		"abort reason " + cutoverv1alpha1.ReasonAborted, "abort reason " + cutoverv1alpha1.ReasonProgressDeadlineExceeded,
		"abort reason " + cutoverv1alpha1.ReasonGateFailed, "event " + EventGatePassed, "event " + EventGateFailed,
		"blocked", "aborted while blocked",
		"superseded", "restart", "scaled", "converged Healthy", "converged Aborted",
	} {
		if stats[k] == 0 {
			t.Errorf("no sequence went through %q", k)
		}
	}
	checkRealismSeen(t, stats)
}

// ---------------------------------------------------------------------------------------------
// Scripted sequences with golden logs

// scenario is a scripted sequence: every pod-ready event and user action is fixed.
type scenario struct {
	name  string
	spec  cutoverv1alpha1.RolloutSpec
	start string
	// script runs before each Compute and returns a note for the log ("" for none).
	script func(i int, c *cluster) string
	// podsPerTick is how many pods of each ReplicaSet become available per iteration.
	podsPerTick int32
	tick        time.Duration
	// lastAction is the iteration of the last scripted action; the log ends once the rollout
	// settles after it.
	lastAction int
	stall      func(i int, rev string, c *cluster) bool
}

func goldenScenarios() []scenario {
	const (
		a = "aaaaaaaaaa"
		b = "bbbbbbbbbb"
		x = "cccccccccc"
	)
	return []scenario{
		{
			name:        "happy_path",
			spec:        canarySpec(4, setWeight(25), pause(time.Minute), setWeight(50), pause(0), setWeight(75)),
			start:       a,
			podsPerTick: 1,
			tick:        20 * time.Second,
			lastAction:  5,
			script: func(i int, c *cluster) string {
				switch {
				case i == 5:
					c.desired = revision(b)
					return "spec.template changed: desired " + b
				case c.status.Phase == cutoverv1alpha1.PhasePaused && c.actions.Promote == "":
					c.actions.Promote = cutoverv1alpha1.ValueTrue
					return "kubectl cutover promote"
				}
				return ""
			},
		},
		{
			name:        "abort_retry_promote_full",
			spec:        canarySpec(5, setWeight(20), setWeight(60), pause(0)),
			start:       a,
			podsPerTick: 2,
			tick:        15 * time.Second,
			lastAction:  17,
			script: func(i int, c *cluster) string {
				switch i {
				case 3:
					c.desired = revision(b)
					return "spec.template changed: desired " + b
				case 7:
					c.actions.Abort = cutoverv1alpha1.ValueTrue
					return "kubectl cutover abort"
				case 12:
					c.actions.Promote = "maybe"
					return "annotate promote=maybe (invalid)"
				case 14:
					c.actions.Promote = ""
					c.actions.Retry = cutoverv1alpha1.ValueTrue
					return "remove promote=maybe; kubectl cutover retry"
				case 17:
					c.actions.Promote = cutoverv1alpha1.ValueFull
					return "annotate promote=full"
				}
				return ""
			},
		},
		{
			name:        "superseded_paused_deadline_rollback",
			spec:        withDeadline(canarySpec(3, setWeight(34), pause(30*time.Second), setWeight(67), pause(0)), 120),
			start:       a,
			podsPerTick: 1,
			tick:        30 * time.Second,
			lastAction:  24,
			script: func(i int, c *cluster) string {
				switch i {
				case 3:
					c.desired = revision(b)
					return "spec.template changed: desired " + b
				case 7:
					c.desired = revision(x)
					return "spec.template changed mid-flight: desired " + x + " (its pods never become available)"
				case 9:
					c.spec.Paused = true
					return "spec.paused=true"
				case 13:
					c.spec.Paused = false
					return "spec.paused=false"
				case 24:
					c.desired = revision(a)
					return "spec.template reverted: desired " + a + " (the stable revision)"
				}
				return ""
			},
			stall: func(i int, rev string, c *cluster) bool { return rev == x },
		},
	}
}

func (sc scenario) play(t *testing.T) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# %s: N=%d, steps %s, progressDeadlineSeconds %d\n", sc.name, replicasOf(sc.spec),
		describeSteps(canarySteps(sc.spec)), int(deadlineOf(sc.spec).Seconds()))
	c := newCluster(sc.spec, sc.start)
	for i := 0; i < 60; i++ {
		if note := sc.script(i, c); note != "" {
			fmt.Fprintf(&b, "  >> %s\n", note)
		}
		in := c.input()
		out := Compute(in)
		b.WriteString(describe(i, in, out))
		b.WriteString("\n")
		if bad := c.apply(out); len(bad) > 0 {
			t.Errorf("%s iteration %d: %v", sc.name, i, bad)
		}
		if i >= sc.lastAction && noOp(c.input(), Compute(c.input())) == "" && c.actions == (Actions{}) &&
			(c.status.Phase == cutoverv1alpha1.PhaseHealthy || c.status.Phase == cutoverv1alpha1.PhaseAborted) &&
			len(c.rs) == 1 && c.desired.Hash == c.status.CurrentRevision {
			fmt.Fprintf(&b, "# settled: %s\n", describeRS(c))
			return b.String()
		}
		for _, rev := range c.revisions() {
			r := c.rs[rev]
			if sc.stall != nil && sc.stall(i, rev, c) {
				continue
			}
			r.available = min(r.replicas, r.available+sc.podsPerTick)
		}
		c.now = c.now.Add(sc.tick)
	}
	t.Errorf("%s did not settle", sc.name)
	return b.String()
}

func TestRolloutSequencesGolden(t *testing.T) {
	for _, sc := range goldenScenarios() {
		t.Run(sc.name, func(t *testing.T) {
			golden.Check(t, filepath.Join("testdata", sc.name+".golden"), sc.play(t), *update)
		})
	}
}

// ---------------------------------------------------------------------------------------------
// Log formatting

func describeRS(c *cluster) string {
	if len(c.rs) == 0 {
		return "none"
	}
	var parts []string
	for _, rev := range c.revisions() {
		parts = append(parts, rev+" "+describeFake(c.rs[rev]))
	}
	return strings.Join(parts, ", ")
}

// describeFake renders a ReplicaSet's truth: available/replicas, and what realism adds.
func describeFake(r *fakeRS) string {
	s := fmt.Sprintf("%d/%d", r.available, r.replicas)
	if r.ready > 0 {
		s += fmt.Sprintf(" (+%d ready)", r.ready)
	}
	if r.leaving > 0 {
		s += fmt.Sprintf(" (%d leaving)", r.leaving)
	}
	if r.deleting {
		s += " (deleting)"
	}
	if r.status != nil {
		st := r.status
		s += fmt.Sprintf(" (status gen %d/%d: %d/%d/%d)", st.observedGeneration, r.gen, st.available, st.ready, st.replicas)
	}
	return s
}

func describeSteps(steps []cutoverv1alpha1.CanaryStep) string {
	var parts []string
	for _, s := range steps {
		switch {
		case s.SetWeight != nil:
			parts = append(parts, fmt.Sprintf("setWeight %d", *s.SetWeight))
		case s.Pause != nil && s.Pause.Duration == nil:
			parts = append(parts, "pause {}")
		case s.Pause != nil:
			parts = append(parts, "pause "+s.Pause.Duration.Duration.String())
		default:
			parts = append(parts, fmt.Sprintf("gates %v", s.Gates))
		}
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// describe renders one iteration: what was observed, what the plan asks, where the status is.
func describe(i int, in Input, out Output) string {
	var b strings.Builder
	var acts []string
	for _, kv := range [][2]string{{"promote", in.Actions.Promote}, {"abort", in.Actions.Abort}, {"retry", in.Actions.Retry}} {
		if kv[1] != "" {
			acts = append(acts, kv[0]+"="+kv[1])
		}
	}
	paused := ""
	if in.Spec.Paused {
		paused = " spec.paused"
	}
	fmt.Fprintf(&b, "#%02d t=%s desired=%s%s", i, in.Now.Sub(t0).Truncate(time.Second), in.Desired.Hash, paused)
	if len(acts) > 0 {
		fmt.Fprintf(&b, " annotations: %s", strings.Join(acts, " "))
	}
	var rs []string
	for _, r := range in.ReplicaSets {
		s := fmt.Sprintf("%s %d/%d", r.Revision, r.Available, r.Replicas)
		if r.Ready != r.Available {
			s += fmt.Sprintf(" ready %d", r.Ready)
		}
		if r.Current != r.Replicas {
			s += fmt.Sprintf(" pods %d", r.Current)
		}
		if r.Stale {
			s += " stale"
		}
		if r.Deleting {
			s += " deleting"
		}
		rs = append(rs, s)
	}
	if len(rs) == 0 {
		rs = []string{"none"}
	}
	fmt.Fprintf(&b, "\n    observed: %s", strings.Join(rs, ", "))
	if in.Traffic != nil {
		fmt.Fprintf(&b, "; traffic %s", describeTraffic(*in.Traffic))
	}
	var plan []string
	if out.Create != "" {
		plan = append(plan, fmt.Sprintf("create %s=%d", out.Create, out.CreateReplicas))
	}
	var changes []string
	for _, rev := range slices.Sorted(mapKeys(out.Scale)) {
		cur := int32(-1)
		for _, r := range in.ReplicaSets {
			if r.Revision == rev {
				cur = r.Replicas
			}
		}
		if cur != out.Scale[rev] {
			changes = append(changes, fmt.Sprintf("%s %d→%d", rev, cur, out.Scale[rev]))
		}
	}
	if len(changes) > 0 {
		plan = append(plan, "scale "+strings.Join(changes, ", "))
	}
	if len(out.Delete) > 0 {
		plan = append(plan, "delete "+strings.Join(out.Delete, ", "))
	}
	if out.Traffic != nil && (in.Traffic == nil || !splitHolds(*in.Traffic, *out.Traffic)) {
		plan = append(plan, "route "+describeSplit(*out.Traffic))
	}
	if len(out.RemoveAnnotations) > 0 {
		plan = append(plan, "remove "+strings.Join(out.RemoveAnnotations, ", "))
	}
	if len(plan) > 0 {
		fmt.Fprintf(&b, "\n    plan: %s", strings.Join(plan, "; "))
	}
	for _, e := range out.Events {
		typ := "Normal"
		if e.Warning {
			typ = "Warning"
		}
		fmt.Fprintf(&b, "\n    event: %s %s: %s", typ, e.Reason, e.Message)
	}
	st := out.Status
	step := "-"
	if st.CurrentStepIndex != nil {
		step = fmt.Sprint(*st.CurrentStepIndex)
	}
	fmt.Fprintf(&b, "\n    status: %s stable=%s current=%s step=%s weight=%d: %s", st.Phase, st.StableRevision,
		st.CurrentRevision, step, st.CanaryWeight, st.Message)
	if !equality.Semantic.DeepEqual(in.Status.History, st.History) {
		var h []string
		for _, r := range st.History {
			h = append(h, r.Revision+":"+r.Outcome)
		}
		fmt.Fprintf(&b, "\n    history: %s", strings.Join(h, ", "))
	}
	if out.RequeueAfter > 0 {
		fmt.Fprintf(&b, "\n    requeue after %s", out.RequeueAfter.Round(time.Second))
	}
	return b.String()
}
