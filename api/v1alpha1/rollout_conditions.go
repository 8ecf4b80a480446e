/*
Copyright 2026 The Cutover Authors.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

package v1alpha1

// Condition types. Ready, Reconciling and Stalled follow kstatus: Ready is always present and
// summarises; Reconciling and Stalled are present only while True.
const (
	// ReadyCondition is True only when the rollout is Healthy at the current generation.
	ReadyCondition = "Ready"
	// ReconcilingCondition is True while a revision is progressing or paused.
	ReconcilingCondition = "Reconciling"
	// StalledCondition is True when the rollout is Aborted or Degraded and needs a person.
	StalledCondition = "Stalled"
	// ReplicaSetsAvailableCondition is True when every ReplicaSet the plan needs is available.
	ReplicaSetsAvailableCondition = "ReplicaSetsAvailable"
	// TrafficRoutedCondition is True when the routing objects carry the planned split.
	TrafficRoutedCondition = "TrafficRouted"
	// GatesPassedCondition is True when no gate of the current step is pending or failed.
	GatesPassedCondition = "GatesPassed"
)

// Condition reasons. Every condition type uses reasons from this list.
const (
	// ReasonSucceeded: the rollout is complete and healthy.
	ReasonSucceeded = "Succeeded"
	// ReasonProgressing: a revision is moving through its steps.
	ReasonProgressing = "Progressing"
	// ReasonProgressingWithRetry: a transient error happened; the controller retries.
	ReasonProgressingWithRetry = "ProgressingWithRetry"
	// ReasonPaused: waiting at a pause, for a promote, or held by spec.paused.
	ReasonPaused = "Paused"
	// ReasonAborted: the revision was aborted by a person.
	ReasonAborted = "Aborted"
	// ReasonProgressDeadlineExceeded: the revision made no progress within
	// spec.progressDeadlineSeconds and was aborted.
	ReasonProgressDeadlineExceeded = "ProgressDeadlineExceeded"
	// ReasonGateFailed: a gate failed and the revision was aborted.
	ReasonGateFailed = "GateFailed"
	// ReasonInvalidSpec: the spec cannot be carried out; the message names the field.
	ReasonInvalidSpec = "InvalidSpec"
	// ReasonReferenceNotFound: a referenced object (Service, VirtualService, DestinationRule,
	// Secret) does not exist.
	ReasonReferenceNotFound = "ReferenceNotFound"
	// ReasonNameConflict: the revision's ReplicaSet name is taken by a ReplicaSet this Rollout
	// does not own and cannot adopt.
	ReasonNameConflict = "NameConflict"
	// ReasonImageResolutionFailed: a registry could not be reached to pin a tag; retrying.
	ReasonImageResolutionFailed = "ImageResolutionFailed"
	// ReasonWaitingForAvailability: pods of a revision are not available yet.
	ReasonWaitingForAvailability = "WaitingForAvailability"
	// ReasonAvailable: every ReplicaSet the plan needs is available.
	ReasonAvailable = "Available"
	// ReasonRouted: the routing objects carry the planned split.
	ReasonRouted = "Routed"
	// ReasonNoGates: no gate applies to the current step.
	ReasonNoGates = "NoGates"
	// ReasonGatesRunning: a gate is waiting for, or taking, its measurements.
	ReasonGatesRunning = "GatesRunning"
	// ReasonGatesSucceeded: every gate that ran passed (or ran in dry-run mode).
	ReasonGatesSucceeded = "GatesSucceeded"
	// ReasonInternalError: observing the state failed; the condition's status is Unknown.
	ReasonInternalError = "InternalError"
)
