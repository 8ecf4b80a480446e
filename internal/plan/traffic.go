package plan

import (
	"time"

	cutoverv1alpha1 "github.com/cutover-dev/cutover/api/v1alpha1"
)

// Split is the routing the planner asks a traffic router for.
type Split struct {
	// StableRevision is the revision the stable subset selects.
	StableRevision string
	// CanaryRevision is the revision the canary subset selects; empty leaves it as it is.
	CanaryRevision string
	// CanaryWeight is the canary's share of traffic.
	CanaryWeight int32
}

// Traffic is what the router observed on the routing objects.
type Traffic struct {
	// StableRevision and CanaryRevision are the subsets' revision labels.
	StableRevision string
	CanaryRevision string
	// CanaryWeight is the canary's weight on every managed route; -1 when the routes disagree.
	CanaryWeight int32
}

// mesh reports whether a traffic router carries the traffic (otherwise the replica ratio does).
func (p *planner) mesh() bool { return p.in.Traffic != nil }

// route asks for weight w to revision d once d's available pods can serve it; until then the
// weight of the previous step (prev) stays, as far as the available pods still carry it. A
// revision gets traffic only while its ReplicaSet has the available pods that the weight needs.
// The canary subset moves to d only once d's pods for the step are available.
func (p *planner) route(stable, d string, w, prev, want int32) {
	weight := w
	if _, live := p.rs[d]; !live || p.rs[d].Available < want {
		weight = min(prev, p.servable(d))
	}
	canary := ""
	if weight > 0 || p.available(d, want) {
		canary = d
	}
	p.out.Traffic = &Split{StableRevision: stable, CanaryRevision: canary, CanaryWeight: weight}
	p.st.CanaryWeight = weight
}

// servable is the largest weight revision rev's available pods can serve: 100 × available / N,
// at most 100. A revision without a live ReplicaSet (none, or one being deleted) can serve
// none. With spec.replicas 0 there are no pods to count, and any weight is servable.
func (p *planner) servable(rev string) int32 {
	if _, live := p.rs[rev]; !live {
		return 0
	}
	if p.n <= 0 {
		return 100
	}
	return int32(min(int64(p.rs[rev].Available)*100/int64(p.n), 100))
}

// routeStable sends all traffic to the stable revision.
func (p *planner) routeStable(stable string) {
	if p.mesh() {
		p.out.Traffic = &Split{StableRevision: stable, CanaryWeight: 0}
	}
}

// routed reports whether the router observed weight w on revision d.
func (p *planner) routed(d string, w int32) bool {
	t := p.in.Traffic
	if t == nil {
		return true
	}
	if t.CanaryWeight == w && (w == 0 || t.CanaryRevision == d && p.planned(d) == w) {
		return true
	}
	// The confirmation comes through caches (the routing objects' and the Rollout's own status)
	// that may lag; no event may follow, so look again shortly.
	p.requeue(time.Second)
	return false
}

// planned is the canary weight the last plan routed to revision rev, as its status recorded it.
// The routing objects are read from a cache that may not have seen that write yet: a weight is
// in place only when the observation and the last plan agree, and a revision is free only when
// neither sends it traffic.
func (p *planner) planned(rev string) int32 {
	st := p.in.Status
	if rev == "" || rev != st.CurrentRevision || rev == st.StableRevision {
		return 0
	}
	return st.CanaryWeight
}

// free reports whether revision rev carries no traffic, so its ReplicaSet may go. A blue-green
// revision carries traffic while the active Service selects it, as observed or as the last plan
// switched it (the Service is read from a cache that may not show that write yet).
func (p *planner) free(rev string) bool {
	if p.blueGreen() != nil && (p.in.ActiveService == rev || p.planned(rev) != 0) {
		p.requeue(time.Second) // see routed
		return false
	}
	t := p.in.Traffic
	if t == nil {
		return true
	}
	if t.CanaryRevision == rev && t.CanaryWeight != 0 || p.planned(rev) != 0 ||
		t.StableRevision == rev && t.CanaryWeight != 100 {
		p.requeue(time.Second) // see routed
		return false
	}
	return true
}

// serving is the number of pods revision rev needs for the traffic the router was observed, or
// last asked, to send it (all it runs when the routes disagree).
func (p *planner) serving(rev string) int32 {
	t := p.in.Traffic
	if t == nil || rev == "" {
		return 0
	}
	if t.CanaryWeight < 0 || t.CanaryWeight > 100 {
		if t.CanaryRevision == rev || t.StableRevision == rev {
			return p.rs[rev].Replicas
		}
		return 0
	}
	var need int32
	if t.CanaryRevision == rev && t.CanaryWeight > 0 {
		need += canaryReplicas(p.n, t.CanaryWeight)
	}
	if t.StableRevision == rev && t.CanaryWeight < 100 {
		need += canaryReplicas(p.n, 100-t.CanaryWeight)
	}
	// The routing objects come from a cache that may not show the last write yet: the weight
	// the last plan gave rev (see planned) counts as well.
	need = max(need, canaryReplicas(p.n, p.planned(rev)))
	return min(need, p.n)
}

// routingTakenOver reports whether the routing may be pointed at the stable revision. A
// stable subset that selects no revision yet (routing objects a Rollout takes over, from a
// Deployment say) keeps selecting what it selects until the revision has all its pods
// available: the first revision gets the traffic only once it can serve it.
func (p *planner) routingTakenOver(stable string) bool {
	t := p.in.Traffic
	return t == nil || t.StableRevision != "" || p.available(stable, p.n) ||
		p.in.Status.Phase == cutoverv1alpha1.PhaseHealthy
}
