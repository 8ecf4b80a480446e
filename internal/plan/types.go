// Package plan decides what a Rollout should do next. It is pure: no API client, no I/O, and the
// clock is an input. The controller observes the cluster into an Input, calls Compute, and
// applies the Output; every decision, and every safety invariant, lives here and is tested here.
package plan

import (
	"time"

	cutoverv1alpha1 "github.com/cutover-dev/cutover/api/v1alpha1"
)

// ReplicaSet is what the planner knows of one managed ReplicaSet.
type ReplicaSet struct {
	// Revision is the value of its cutover.dev/revision label.
	Revision string
	// Replicas is its spec.replicas.
	Replicas int32
	// Available is its status.availableReplicas, counted only when its status is current.
	Available int32
	// Ready is its status.readyReplicas.
	Ready int32
	// Current is its status.replicas: the pods that exist.
	Current int32
	// CreatedAt is when the revision was created.
	CreatedAt time.Time
	// Deleting is true once it has a deletion timestamp.
	Deleting bool
	// Stale is true while its status describes an older spec (status.observedGeneration behind
	// metadata.generation): its counts may predate a scale, so it is not yet "available".
	Stale bool
}

// Actions are the values of the action annotations on the Rollout, "" when absent.
type Actions struct {
	Promote string
	Abort   string
	Retry   string
}

// get returns the field holding the value of annotation key.
func (a *Actions) get(key string) *string {
	switch key {
	case cutoverv1alpha1.AnnotationPromote:
		return &a.Promote
	case cutoverv1alpha1.AnnotationAbort:
		return &a.Abort
	case cutoverv1alpha1.AnnotationRetry:
		return &a.Retry
	}
	return nil
}

// Input is everything Compute decides from.
type Input struct {
	// Now is the current time; the planner never reads a clock.
	Now time.Time
	// Spec is the Rollout's spec, with defaults applied by the API server.
	Spec cutoverv1alpha1.RolloutSpec
	// Status is the Rollout's status as last written.
	Status cutoverv1alpha1.RolloutStatus
	// Actions are the action annotations.
	Actions Actions
	// Desired is the revision of spec.template after image pinning, and its pins. Empty when the
	// template could not be pinned (see Blocked).
	Desired Revision
	// ReplicaSets are the managed ReplicaSets, one per revision.
	ReplicaSets []ReplicaSet
	// Traffic is what the traffic router observed; nil when no router carries the traffic.
	Traffic *Traffic
	// ActiveService is the revision the blue-green active Service was observed to select; ""
	// when there is none.
	ActiveService string
	// Measurements are the gate measurements taken for this round, by gate name: the runs
	// DueGates listed, measured by the controller and judged by their success conditions.
	Measurements map[string]GateResult
	// Blocked, when set, is a terminal problem with the spec found while observing (an image
	// policy violation, a missing reference). The planner then changes nothing that runs.
	Blocked *Problem
}

// Revision is a pinned pod template's identity.
type Revision struct {
	// Hash is the revision hash.
	Hash string
	// TemplateHash is the hash of the template before pinning.
	TemplateHash string
	// Images are the pins.
	Images []cutoverv1alpha1.ContainerImage
}

// Problem is a reason and a message for a condition.
type Problem struct {
	// Reason is a condition reason from api/v1alpha1.
	Reason string
	// Message names the field and says what to do.
	Message string
	// Transient problems are retried; others stall the rollout.
	Transient bool
	// Recheck, when set, asks to look again after this long even though the problem stalls
	// the rollout: a person may fix it without any change the controller watches.
	Recheck time.Duration
}

// Output is what the controller must make true.
type Output struct {
	// Create, when not empty, is the revision whose ReplicaSet must be created, at CreateReplicas.
	Create         string
	CreateReplicas int32
	// Scale maps a revision to the replicas its ReplicaSet must have.
	Scale map[string]int32
	// Delete lists revisions whose ReplicaSets must be deleted.
	Delete []string
	// Traffic, when set, is the split the traffic router must carry.
	Traffic *Split
	// Services, when set, are the revisions the blue-green Services must select.
	Services *Services
	// Status is the status to write (the controller adds conditions from State).
	Status cutoverv1alpha1.RolloutStatus
	// State summarises the rollout for conditions and phase.
	State State
	// RemoveAnnotations lists one-shot action annotations that were acted on (or refused) and
	// must be removed from the Rollout; Status.PendingRemoval has their values, as key=value@revision.
	RemoveAnnotations []string
	// Events are emitted after the status is written.
	Events []Event
	// RequeueAfter asks to be called again after this long (0: only on a change).
	RequeueAfter time.Duration
	// Notes explain the decisions, for logs.
	Notes []string

	// position is the Event saying where the rollout stands after this round, the last of
	// Events (see planner.position); Follow replaces it with the follow-up's.
	position *Event
}

// State is the planner's verdict on where the rollout stands.
type State struct {
	// Phase is the display phase.
	Phase cutoverv1alpha1.RolloutPhase
	// Reason is the condition reason behind the phase.
	Reason string
	// Message says where the rollout stands, in words.
	Message string
	// Available is true when every ReplicaSet the plan needs has all its replicas available.
	Available bool
	// Gates is the verdict for the GatesPassed condition, projected from status.gates.
	Gates GateVerdict
}

// Event is an Event to emit.
type Event struct {
	// Warning events are of type Warning; the rest are Normal.
	Warning bool
	// Reason is one of the Event reasons of the contract.
	Reason string
	// Message is a sentence.
	Message string
}

// Event reasons of the public contract.
const (
	EventRevisionCreated   = "RevisionCreated"
	EventImageResolved     = "ImageResolved"
	EventWeightChanged     = "WeightChanged"
	EventGatePassed        = "GatePassed"
	EventGateFailed        = "GateFailed"
	EventPaused            = "Paused"
	EventPromoted          = "Promoted"
	EventAborted           = "Aborted"
	EventRolledBack        = "RolledBack"
	EventCompleted         = "Completed"
	EventDriftReverted     = "DriftReverted"
	EventInvalidSpec       = "InvalidSpec"
	EventReferenceNotFound = "ReferenceNotFound"
	// EventRetried and EventActionIgnored are additions to the contract's list: a retry, and an
	// action annotation that was refused or had nothing to act on.
	EventRetried       = "Retried"
	EventActionIgnored = "ActionIgnored"
)

// History outcomes.
const (
	OutcomePromoted   = "Promoted"
	OutcomeAborted    = "Aborted"
	OutcomeSuperseded = "Superseded"
)

// Action types recorded in status.lastAction.
const (
	ActionPromote     = "Promote"
	ActionPromoteFull = "PromoteFull"
	ActionAbort       = "Abort"
	ActionRetry       = "Retry"
)
