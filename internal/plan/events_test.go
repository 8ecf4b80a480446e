package plan

import (
	"fmt"

	cutoverv1alpha1 "github.com/cutover-dev/cutover/api/v1alpha1"
)

// contractReasons are the reasons an Event of the planner may have: the contract's list, and the
// additions docs/metrics.md names (a retry, a refused action, and the conditions that block a
// rollout without a word in the contract's list).
var contractReasons = map[string]bool{
	EventRevisionCreated: true, EventImageResolved: true, EventWeightChanged: true, EventGatePassed: true,
	EventGateFailed: true, EventPaused: true, EventPromoted: true, EventAborted: true, EventRolledBack: true,
	EventCompleted: true, EventDriftReverted: true, EventInvalidSpec: true, EventReferenceNotFound: true,
	EventRetried: true, EventActionIgnored: true,
	cutoverv1alpha1.ReasonImageResolutionFailed: true, cutoverv1alpha1.ReasonNameConflict: true,
}

// badEventReasons lists the Events of an Output whose reason is not one of contractReasons. The
// sequence simulator and the fuzzer check it on every round they compute.
func badEventReasons(out Output) []string {
	var bad []string
	for _, e := range out.Events {
		if !contractReasons[e.Reason] {
			bad = append(bad, fmt.Sprintf("Event with reason %q, not in the contract: %s", e.Reason, e.Message))
		}
	}
	return bad
}
