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

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// RolloutSpec is the desired state of a Rollout: a pod template and how to roll out each new
// revision of it.
//
// Admission rules that span several fields live on this type as CEL rules, so an invalid spec
// is refused by the API server before the controller ever sees it.
//
// +kubebuilder:validation:XValidation:rule="!has(self.selector.matchLabels) || self.selector.matchLabels.all(k, has(self.template.metadata) && has(self.template.metadata.labels) && k in self.template.metadata.labels && self.template.metadata.labels[k] == self.selector.matchLabels[k])",message="spec.template.metadata.labels must match spec.selector.matchLabels",fieldPath=".template.metadata.labels"
// +kubebuilder:validation:XValidation:rule="!has(self.strategy.canary) || !has(self.strategy.canary.steps) || self.strategy.canary.steps.all(s, !has(s.gates) || s.gates.all(g, has(self.gates) && self.gates.exists(d, d.name == g)))",message="spec.strategy.canary.steps[].gates must name gates defined in spec.gates",fieldPath=".strategy.canary.steps"
// +kubebuilder:validation:XValidation:rule="!has(self.strategy.canary) || !has(self.strategy.canary.backgroundGates) || self.strategy.canary.backgroundGates.all(g, has(self.gates) && self.gates.exists(d, d.name == g))",message="spec.strategy.canary.backgroundGates must name gates defined in spec.gates",fieldPath=".strategy.canary.backgroundGates"
// +kubebuilder:validation:XValidation:rule="!has(self.strategy.canary) || !has(self.strategy.canary.backgroundGates) || !has(self.strategy.canary.steps) || self.strategy.canary.steps.all(s, !has(s.gates) || s.gates.all(g, !(g in self.strategy.canary.backgroundGates)))",message="spec.strategy.canary.steps[].gates must not name a background gate: background gates already run during the whole canary",fieldPath=".strategy.canary.steps"
// +kubebuilder:validation:XValidation:rule="!has(self.strategy.blueGreen) || !has(self.strategy.blueGreen.prePromotionGates) || self.strategy.blueGreen.prePromotionGates.all(g, has(self.gates) && self.gates.exists(d, d.name == g))",message="spec.strategy.blueGreen.prePromotionGates must name gates defined in spec.gates",fieldPath=".strategy.blueGreen.prePromotionGates"
// +kubebuilder:validation:XValidation:rule="!has(self.strategy.blueGreen) || !has(self.strategy.blueGreen.postPromotionGates) || self.strategy.blueGreen.postPromotionGates.all(g, has(self.gates) && self.gates.exists(d, d.name == g))",message="spec.strategy.blueGreen.postPromotionGates must name gates defined in spec.gates",fieldPath=".strategy.blueGreen.postPromotionGates"
// +kubebuilder:validation:XValidation:rule="!has(self.strategy.blueGreen) || (has(self.strategy.blueGreen.activeService) && size(self.strategy.blueGreen.activeService) > 0) || (has(self.trafficRouting) && has(self.trafficRouting.istio))",message="spec.strategy.blueGreen.activeService is required unless spec.trafficRouting.istio is set",fieldPath=".strategy.blueGreen.activeService"
type RolloutSpec struct {
	// replicas is the number of pods the rollout runs when it is complete. An HPA may drive it
	// through the scale subresource.
	// +optional
	// +kubebuilder:default=1
	// +kubebuilder:validation:Minimum=0
	Replicas *int32 `json:"replicas,omitempty"`

	// selector selects the pods of every revision. It is immutable, and
	// spec.template.metadata.labels must match it.
	// +required
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="spec.selector is immutable"
	Selector *LabelSelector `json:"selector"`

	// template is the pod template. Every distinct template (after image pinning) is a new
	// revision with its own ReplicaSet.
	// +required
	Template corev1.PodTemplateSpec `json:"template"`

	// minReadySeconds is how long a new pod must be ready, without any container crashing, to
	// count as available.
	// +optional
	// +kubebuilder:validation:Minimum=0
	MinReadySeconds int32 `json:"minReadySeconds,omitempty"`

	// progressDeadlineSeconds is how long a revision may go without progress before it is
	// aborted (Stalled, reason ProgressDeadlineExceeded). Time spent in a pause waiting for a
	// person does not count.
	// +optional
	// +kubebuilder:default=600
	// +kubebuilder:validation:Minimum=1
	ProgressDeadlineSeconds *int32 `json:"progressDeadlineSeconds,omitempty"`

	// revisionHistoryLimit is how many records status.history keeps.
	// +optional
	// +kubebuilder:default=10
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=100
	RevisionHistoryLimit *int32 `json:"revisionHistoryLimit,omitempty"`

	// paused holds the rollout where it is: nothing advances, scales or shifts while it is true.
	// It is the GitOps-friendly hold; actions by annotation wait until it is false again.
	// +optional
	Paused bool `json:"paused,omitempty"`

	// imagePolicy decides how container images are pinned to digests.
	// +optional
	ImagePolicy ImagePolicy `json:"imagePolicy,omitempty"`

	// trafficRouting names the mesh objects that carry traffic. Without it, blue-green switches
	// Service selectors and canary shifts by replica ratio.
	// +optional
	TrafficRouting *TrafficRouting `json:"trafficRouting,omitempty"`

	// strategy is how a new revision replaces the stable one: exactly one of blueGreen or canary.
	// +required
	Strategy RolloutStrategy `json:"strategy"`

	// gates are the named health gates that steps and strategies refer to.
	// +optional
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=32
	Gates []Gate `json:"gates,omitempty"`
}

// LabelSelector is a label query, as metav1.LabelSelector, with bounds on its size so that
// admission can check it against the template labels within the CEL cost budget.
type LabelSelector struct {
	// matchLabels is a map of {key,value} pairs; each must be in the pod template's labels.
	// +optional
	// +kubebuilder:validation:MaxProperties=16
	MatchLabels map[string]string `json:"matchLabels,omitempty"`

	// matchExpressions is a list of label selector requirements, ANDed.
	// +optional
	// +kubebuilder:validation:MaxItems=16
	// +listType=atomic
	MatchExpressions []metav1.LabelSelectorRequirement `json:"matchExpressions,omitempty"`
}

// ImagePolicy decides how images are pinned to digests when a revision is created.
type ImagePolicy struct {
	// resolveTags resolves each image tag to a digest once, when the revision is first seen. The
	// pin is recorded and never resolved again for the same template.
	// +optional
	// +kubebuilder:default=true
	ResolveTags *bool `json:"resolveTags,omitempty"`

	// requireDigest refuses any image not written as name@sha256:….
	// +optional
	RequireDigest bool `json:"requireDigest,omitempty"`

	// allowedRegistries, when set, refuses any image whose reference does not start with one of
	// these prefixes (for example "registry.example/" or "ghcr.io/acme/").
	// +optional
	// +kubebuilder:validation:MaxItems=32
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=253
	AllowedRegistries []string `json:"allowedRegistries,omitempty"`
}

// TrafficRouting names the mesh objects whose routing Cutover drives.
type TrafficRouting struct {
	// istio routes traffic with an Istio VirtualService and DestinationRule.
	// +optional
	Istio *IstioTrafficRouting `json:"istio,omitempty"`
}

// IstioTrafficRouting references the user's Istio objects. Cutover changes only the route
// weights and the subset revision labels on them.
// +kubebuilder:validation:XValidation:rule="has(self.virtualService) != has(self.virtualServices)",message="spec.trafficRouting.istio: set exactly one of virtualService or virtualServices"
type IstioTrafficRouting struct {
	// virtualService is the VirtualService whose http routes carry the traffic.
	// +optional
	VirtualService *IstioVirtualService `json:"virtualService,omitempty"`

	// virtualServices lists several VirtualServices, for a rollout reachable through several
	// hosts or gateways.
	// +optional
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=16
	VirtualServices []IstioVirtualService `json:"virtualServices,omitempty"`

	// destinationRule holds the stable and canary subsets.
	// +required
	DestinationRule IstioDestinationRule `json:"destinationRule"`
}

// IstioVirtualService references a VirtualService and, optionally, the http routes to manage.
type IstioVirtualService struct {
	// name of the VirtualService, in the Rollout's namespace, or "namespace/name". A
	// VirtualService of another namespace stalls the rollout (InvalidSpec): a Rollout never
	// changes another namespace's traffic.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=317
	Name string `json:"name"`

	// routes names the http routes to manage; empty means every http route. Each name is given
	// once.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=32
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=253
	Routes []string `json:"routes,omitempty"`
}

// IstioDestinationRule references a DestinationRule and the two subsets Cutover labels with
// revisions.
// +kubebuilder:validation:XValidation:rule="self.stableSubset != self.canarySubset",message="spec.trafficRouting.istio.destinationRule: stableSubset and canarySubset must differ"
type IstioDestinationRule struct {
	// name of the DestinationRule in the Rollout's namespace.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`

	// stableSubset is the subset that serves the stable revision.
	// +optional
	// +kubebuilder:default=stable
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	StableSubset string `json:"stableSubset,omitempty"`

	// canarySubset is the subset that serves the new revision.
	// +optional
	// +kubebuilder:default=canary
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	CanarySubset string `json:"canarySubset,omitempty"`
}

// RolloutStrategy holds exactly one strategy.
// +kubebuilder:validation:XValidation:rule="(has(self.blueGreen) ? 1 : 0) + (has(self.canary) ? 1 : 0) == 1",message="spec.strategy: set exactly one of blueGreen or canary"
type RolloutStrategy struct {
	// blueGreen runs the new revision at full size beside the stable one, then switches all
	// traffic at once.
	// +optional
	BlueGreen *BlueGreenStrategy `json:"blueGreen,omitempty"`

	// canary shifts traffic to the new revision step by step.
	// +optional
	Canary *CanaryStrategy `json:"canary,omitempty"`
}

// BlueGreenStrategy switches traffic from the stable revision to the new one at once.
// +kubebuilder:validation:XValidation:rule="!has(self.previewService) || !has(self.activeService) || size(self.previewService) == 0 || self.previewService != self.activeService",message="spec.strategy.blueGreen.previewService must differ from spec.strategy.blueGreen.activeService: one Service cannot point at the new revision before promotion and at the active one",fieldPath=".previewService"
type BlueGreenStrategy struct {
	// activeService is the Service whose selector points at the active revision. Required
	// unless spec.trafficRouting.istio is set.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	ActiveService string `json:"activeService,omitempty"`

	// previewService, when set, is pointed at the new revision before promotion.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	PreviewService string `json:"previewService,omitempty"`

	// autoPromote switches traffic by itself once the new revision is available and the
	// pre-promotion gates passed; false waits for a promote.
	// +optional
	// +kubebuilder:default=true
	AutoPromote *bool `json:"autoPromote,omitempty"`

	// autoPromoteAfter waits this long after the preview is available before switching.
	// +optional
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('0s')",message="spec.strategy.blueGreen.autoPromoteAfter must not be negative"
	AutoPromoteAfter *metav1.Duration `json:"autoPromoteAfter,omitempty"`

	// prePromotionGates must pass before the switch.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=32
	PrePromotionGates []string `json:"prePromotionGates,omitempty"`

	// postPromotionGates must pass after the switch; a failure switches back.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=32
	PostPromotionGates []string `json:"postPromotionGates,omitempty"`

	// scaleDownDelay keeps the old revision running this long after the switch, so an abort
	// can switch back at once.
	// +optional
	// +kubebuilder:default="30s"
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('0s')",message="spec.strategy.blueGreen.scaleDownDelay must not be negative"
	ScaleDownDelay *metav1.Duration `json:"scaleDownDelay,omitempty"`
}

// CanaryStrategy shifts traffic to the new revision through a list of steps.
type CanaryStrategy struct {
	// steps run in order. After the last one the new revision takes all traffic.
	// +optional
	// +kubebuilder:validation:MaxItems=64
	Steps []CanaryStep `json:"steps,omitempty"`

	// backgroundGates run during the whole canary; a failure aborts it.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=32
	BackgroundGates []string `json:"backgroundGates,omitempty"`
}

// CanaryStep is one step of a canary: exactly one of setWeight, pause or gates.
// +kubebuilder:validation:XValidation:rule="(has(self.setWeight) ? 1 : 0) + (has(self.pause) ? 1 : 0) + (has(self.gates) ? 1 : 0) == 1",message="spec.strategy.canary.steps[]: each step must have exactly one of setWeight, pause or gates"
type CanaryStep struct {
	// setWeight is the percentage of traffic (or, without a mesh, of replicas) for the new
	// revision.
	// +optional
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=100
	SetWeight *int32 `json:"setWeight,omitempty"`

	// pause waits for its duration, or, without one, for a promote.
	// +optional
	Pause *PauseStep `json:"pause,omitempty"`

	// gates run these gates to completion before going on.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=16
	Gates []string `json:"gates,omitempty"`
}

// PauseStep waits for a duration, or for a promote when it has none.
type PauseStep struct {
	// duration to wait; absent means wait for a promote.
	// +optional
	// +kubebuilder:validation:XValidation:rule="duration(self) > duration('0s')",message="spec.strategy.canary.steps[].pause.duration must be positive"
	Duration *metav1.Duration `json:"duration,omitempty"`
}

// Gate is a named health check: a measurement (a Prometheus query or an HTTP request) and a CEL
// condition it must meet.
// +kubebuilder:validation:XValidation:rule="(has(self.prometheus) ? 1 : 0) + (has(self.http) ? 1 : 0) == 1",message="spec.gates[]: each gate must have exactly one of prometheus or http"
type Gate struct {
	// name is how steps and strategies refer to the gate.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	Name string `json:"name"`

	// prometheus measures with an instant query.
	// +optional
	Prometheus *PrometheusGate `json:"prometheus,omitempty"`

	// http measures with an HTTP request.
	// +optional
	HTTP *HTTPGate `json:"http,omitempty"`

	// successCondition is a CEL expression over `result`, the measurement, that must be true.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=1024
	SuccessCondition string `json:"successCondition"`

	// interval between measurements.
	// +optional
	// +kubebuilder:default="30s"
	// +kubebuilder:validation:XValidation:rule="duration(self) > duration('0s')",message="spec.gates[].interval must be positive"
	Interval *metav1.Duration `json:"interval,omitempty"`

	// count is the number of measurements to take; background gates measure until the end.
	// +optional
	// +kubebuilder:default=1
	// +kubebuilder:validation:Minimum=1
	Count *int32 `json:"count,omitempty"`

	// failureLimit is the number of failed measurements tolerated: the gate fails at
	// failureLimit+1 failed measurements.
	// +optional
	// +kubebuilder:validation:Minimum=0
	FailureLimit *int32 `json:"failureLimit,omitempty"`

	// initialDelay waits this long after the gate starts before the first measurement.
	// +optional
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('0s')",message="spec.gates[].initialDelay must not be negative"
	InitialDelay *metav1.Duration `json:"initialDelay,omitempty"`

	// consecutiveErrorLimit is the number of measurements in a row that may fail to produce a
	// value (a query error, an empty result, a timeout) before the gate fails. Errors are
	// counted apart from failed measurements.
	// +optional
	// +kubebuilder:default=4
	// +kubebuilder:validation:Minimum=0
	ConsecutiveErrorLimit *int32 `json:"consecutiveErrorLimit,omitempty"`

	// dryRun records the gate's measurements and outcome but never fails the rollout.
	// +optional
	DryRun bool `json:"dryRun,omitempty"`
}

// PrometheusGate measures with a Prometheus instant query; `result` is its scalar value.
type PrometheusGate struct {
	// address of the Prometheus server, for example http://prometheus.monitoring:9090.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=2048
	Address string `json:"address"`

	// query is a PromQL instant query. ${revision}, ${stableRevision}, ${rollout} and
	// ${namespace} are replaced before each measurement.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=8192
	Query string `json:"query"`

	// timeout of the query.
	// +optional
	// +kubebuilder:default="10s"
	// +kubebuilder:validation:XValidation:rule="duration(self) > duration('0s')",message="spec.gates[].prometheus.timeout must be positive"
	Timeout *metav1.Duration `json:"timeout,omitempty"`
}

// HTTPGate measures with an HTTP request; `result` is {status, body, json}.
type HTTPGate struct {
	// url to request.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=2048
	URL string `json:"url"`

	// method of the request.
	// +optional
	// +kubebuilder:default=GET
	// +kubebuilder:validation:Enum=GET;HEAD;POST;PUT
	Method string `json:"method,omitempty"`

	// headers to send. Values may name ${revision}, ${stableRevision}, ${rollout} and
	// ${namespace}.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=32
	Headers []HTTPHeader `json:"headers,omitempty"`

	// body to send, for POST and PUT.
	// +optional
	// +kubebuilder:validation:MaxLength=65536
	Body string `json:"body,omitempty"`

	// timeout of the request.
	// +optional
	// +kubebuilder:default="5s"
	// +kubebuilder:validation:XValidation:rule="duration(self) > duration('0s')",message="spec.gates[].http.timeout must be positive"
	Timeout *metav1.Duration `json:"timeout,omitempty"`
}

// HTTPHeader is one header of an HTTP gate's request.
type HTTPHeader struct {
	// name of the header.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=256
	Name string `json:"name"`
	// value of the header.
	// +required
	// +kubebuilder:validation:MaxLength=4096
	Value string `json:"value"`
}

// RolloutStatus is the observed state of a Rollout. Everything the controller needs to resume
// after a restart lives here, on the ReplicaSets' labels and annotations, or on the Rollout's
// annotations.
type RolloutStatus struct {
	// observedGeneration is the generation the status describes; -1 before the first reconcile.
	// +optional
	// +kubebuilder:default=-1
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// phase summarises the conditions for display: Progressing, Paused, Healthy, Degraded or
	// Aborted. Tools should read the conditions.
	// +optional
	Phase RolloutPhase `json:"phase,omitempty"`

	// message says where the rollout stands, in words.
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	Message string `json:"message,omitempty"`

	// strategy is the strategy in use, Canary or BlueGreen, for display.
	// +optional
	Strategy string `json:"strategy,omitempty"`

	// stableRevision is the revision that serves when nothing is being rolled out.
	// +optional
	StableRevision string `json:"stableRevision,omitempty"`

	// currentRevision is the revision being rolled out; it equals stableRevision when Healthy.
	// +optional
	CurrentRevision string `json:"currentRevision,omitempty"`

	// currentStepIndex is the canary step the current revision is at.
	// +optional
	CurrentStepIndex *int32 `json:"currentStepIndex,omitempty"`

	// canaryWeight is the share of traffic (or of replicas, without a mesh) on the current
	// revision.
	// +optional
	CanaryWeight int32 `json:"canaryWeight,omitempty"`

	// replicas is the number of pods of all revisions, each ReplicaSet counted up to the size
	// Cutover asks of it: pods leaving in a scale-down are not counted.
	// +optional
	Replicas int32 `json:"replicas,omitempty"`

	// readyReplicas is the number of ready pods of all revisions, counted like replicas.
	// +optional
	ReadyReplicas int32 `json:"readyReplicas,omitempty"`

	// availableReplicas is the number of available pods of all revisions, counted like replicas.
	// +optional
	AvailableReplicas int32 `json:"availableReplicas,omitempty"`

	// selector is spec.selector as a string, for the scale subresource.
	// +optional
	Selector string `json:"selector,omitempty"`

	// images are the pinned images of the current revision.
	// +optional
	// +listType=map
	// +listMapKey=container
	Images []ContainerImage `json:"images,omitempty"`

	// templateHash is the hash of spec.template before pinning whose pins are in status.images;
	// the same template seen again reuses them instead of asking the registry.
	// +optional
	TemplateHash string `json:"templateHash,omitempty"`

	// gates are the gate runs of the current revision: the gates of the current canary step
	// and the background gates, or the blue-green pre- or post-promotion gates.
	// +optional
	// +listType=map
	// +listMapKey=name
	Gates []GateStatus `json:"gates,omitempty"`

	// lastAction is the last action taken from an annotation.
	// +optional
	LastAction *RolloutAction `json:"lastAction,omitempty"`

	// history records finished revisions, newest first, at most spec.revisionHistoryLimit.
	// +optional
	History []RevisionRecord `json:"history,omitempty"`

	// pendingRemoval lists one-shot action annotations that were acted on and are being removed,
	// as key=value@revision; the same key with another value is a new action.
	// The status records the action before the annotation is removed, so a restart in between
	// neither loses the action nor takes it twice. It is cleared by a later status write once
	// the annotations are seen gone.
	// +optional
	// +listType=set
	PendingRemoval []string `json:"pendingRemoval,omitempty"`

	// progress is the controller's bookkeeping for the current revision.
	// +optional
	Progress *RolloutProgress `json:"progress,omitempty"`

	// conditions: Ready (the summary), Reconciling and Stalled (kstatus), and the domain
	// conditions ReplicaSetsAvailable, TrafficRouted and GatesPassed.
	// +optional
	// +listType=map
	// +listMapKey=type
	// +kubebuilder:validation:MaxItems=16
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// RolloutPhase is the display phase derived from the conditions.
// +kubebuilder:validation:Enum=Progressing;Paused;Healthy;Degraded;Aborted
type RolloutPhase string

// The phases of a Rollout.
const (
	// PhaseProgressing: a revision moves through its steps by itself (waiting for pods, a timed
	// pause, gates), or the controller retries after a transient problem (an unreachable
	// registry, a referenced object that does not exist yet, an API error).
	PhaseProgressing RolloutPhase = "Progressing"
	// PhasePaused: waiting for a person: a pause without a duration, a blue-green preview
	// waiting for a promote, or a hold by spec.paused.
	PhasePaused RolloutPhase = "Paused"
	// PhaseHealthy: the current revision is stable and takes all traffic.
	PhaseHealthy RolloutPhase = "Healthy"
	// PhaseDegraded: the spec cannot be carried out (InvalidSpec, NameConflict), or a first
	// revision, with no stable revision to go back to, missed its progress deadline.
	PhaseDegraded RolloutPhase = "Degraded"
	// PhaseAborted: the revision was aborted (by a person, a failed gate or the progress
	// deadline) and all traffic is back on the stable revision.
	PhaseAborted RolloutPhase = "Aborted"
)

// ContainerImage is the pinned image of one container.
type ContainerImage struct {
	// container name; init containers are prefixed with "init:".
	// +required
	Container string `json:"container"`
	// image as name@sha256:….
	// +required
	Image string `json:"image"`
}

// GateStatus is the state of one gate run: the gates of the current canary step, the
// background gates, or the blue-green pre- or post-promotion gates.
type GateStatus struct {
	// name of the gate.
	// +required
	Name string `json:"name"`
	// phase is Pending (waiting for its first measurement), Running, Passed or Failed.
	// +optional
	// +kubebuilder:validation:Enum=Pending;Running;Passed;Failed
	Phase string `json:"phase,omitempty"`
	// startedAt is when the gate started; the first measurement is due initialDelay later.
	// +optional
	StartedAt *metav1.Time `json:"startedAt,omitempty"`
	// measurements taken so far that produced a value.
	// +optional
	Measurements int32 `json:"measurements,omitempty"`
	// failures among them: values that did not meet the success condition.
	// +optional
	Failures int32 `json:"failures,omitempty"`
	// errors are measurements that produced no value (query errors, empty results, timeouts).
	// +optional
	Errors int32 `json:"errors,omitempty"`
	// consecutiveErrors is the number of errors since the last value.
	// +optional
	ConsecutiveErrors int32 `json:"consecutiveErrors,omitempty"`
	// lastValue is the last measurement, as text.
	// +optional
	// +kubebuilder:validation:MaxLength=256
	LastValue string `json:"lastValue,omitempty"`
	// lastMeasuredAt is when the last measurement (or error) was taken.
	// +optional
	LastMeasuredAt *metav1.Time `json:"lastMeasuredAt,omitempty"`
	// message says what the last measurement found, in words.
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	Message string `json:"message,omitempty"`
}

// The phases of a gate run in status.gates.
const (
	// GatePending: waiting for its first measurement (initialDelay).
	GatePending = "Pending"
	// GateRunning: taking its measurements.
	GateRunning = "Running"
	// GatePassed: it took its count of measurements within failureLimit (or ran in dry-run).
	GatePassed = "Passed"
	// GateFailed: more failed measurements than failureLimit, or more errors in a row than
	// consecutiveErrorLimit.
	GateFailed = "Failed"
)

// RolloutAction records an action taken from an annotation.
type RolloutAction struct {
	// type is Promote, PromoteFull, Abort or Retry.
	// +required
	Type string `json:"type"`
	// revision the action applied to.
	// +optional
	Revision string `json:"revision,omitempty"`
	// at is when it was taken.
	// +required
	At metav1.Time `json:"at"`
}

// RevisionRecord is one finished revision in status.history.
type RevisionRecord struct {
	// revision hash.
	// +required
	Revision string `json:"revision"`
	// images of the revision.
	// +optional
	Images []ContainerImage `json:"images,omitempty"`
	// templateHash is the hash of the unpinned template the revision was made from: the same
	// template seen again is pinned from images, without asking a registry, even once the
	// revision's ReplicaSet is gone.
	// +optional
	TemplateHash string `json:"templateHash,omitempty"`
	// createdAt is when the revision was created.
	// +optional
	CreatedAt *metav1.Time `json:"createdAt,omitempty"`
	// finishedAt is when it reached its outcome.
	// +optional
	FinishedAt *metav1.Time `json:"finishedAt,omitempty"`
	// outcome is Promoted, Aborted or Superseded.
	// +required
	// +kubebuilder:validation:Enum=Promoted;Aborted;Superseded
	Outcome string `json:"outcome"`
	// reason in words.
	// +optional
	Reason string `json:"reason,omitempty"`
}

// RolloutProgress is the controller's bookkeeping for the current revision, kept in the status
// so that a new controller instance continues exactly where the last one stopped.
type RolloutProgress struct {
	// revision these fields belong to.
	// +optional
	Revision string `json:"revision,omitempty"`
	// stepStartedAt is when the current step began (a pause counts from here).
	// +optional
	StepStartedAt *metav1.Time `json:"stepStartedAt,omitempty"`
	// lastProgressAt is the last time the revision made progress; the progress deadline counts
	// from here.
	// +optional
	LastProgressAt *metav1.Time `json:"lastProgressAt,omitempty"`
	// aborted is true once the revision was aborted; it stays aborted until a retry or a new
	// revision.
	// +optional
	Aborted bool `json:"aborted,omitempty"`
	// abortReason says why.
	// +optional
	AbortReason string `json:"abortReason,omitempty"`
	// switchedAt is when blue-green switched traffic to the revision.
	// +optional
	SwitchedAt *metav1.Time `json:"switchedAt,omitempty"`
	// previousStable is the revision that was stable before a blue-green switch; it keeps
	// running until spec.strategy.blueGreen.scaleDownDelay has passed.
	// +optional
	PreviousStable string `json:"previousStable,omitempty"`
	// availableAt is when the revision first became fully available (blue-green autoPromoteAfter
	// counts from here).
	// +optional
	AvailableAt *metav1.Time `json:"availableAt,omitempty"`
	// observedAvailable is the revision's available pods at lastProgressAt; a change counts as
	// progress.
	// +optional
	ObservedAvailable int32 `json:"observedAvailable,omitempty"`
	// heldSince is when spec.paused was first seen true; the progress deadline does not count
	// held time.
	// +optional
	HeldSince *metav1.Time `json:"heldSince,omitempty"`
	// gatesSkipped is true once a promote skipped the revision's remaining gates
	// (promote=full, or promote=true during blue-green post-promotion gates).
	// +optional
	GatesSkipped bool `json:"gatesSkipped,omitempty"`
	// rejectedAction is the last action annotation refused with a Warning Event, so the Event is
	// emitted once.
	// +optional
	RejectedAction string `json:"rejectedAction,omitempty"`
}

// Rollout runs a pod template as immutable, digest-pinned revisions and moves traffic between
// them with a blue-green or canary strategy.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:subresource:scale:specpath=.spec.replicas,statuspath=.status.replicas,selectorpath=.status.selector
// +kubebuilder:resource:shortName=ro;rollouts,categories=all;cutover
// +kubebuilder:printcolumn:name="Desired",type=integer,JSONPath=`.spec.replicas`
// +kubebuilder:printcolumn:name="Ready",type=integer,JSONPath=`.status.readyReplicas`
// +kubebuilder:printcolumn:name="Strategy",type=string,JSONPath=`.status.strategy`
// +kubebuilder:printcolumn:name="Step",type=integer,JSONPath=`.status.currentStepIndex`
// +kubebuilder:printcolumn:name="Weight",type=integer,JSONPath=`.status.canaryWeight`
// +kubebuilder:printcolumn:name="Phase",type=string,JSONPath=`.status.phase`
// +kubebuilder:printcolumn:name="Stable",type=string,JSONPath=`.status.stableRevision`
// +kubebuilder:printcolumn:name="Current",type=string,JSONPath=`.status.currentRevision`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:validation:XValidation:rule="oldSelf.hasValue() || self.metadata.name.size() <= 63",optionalOldSelf=true,message="metadata.name must be at most 63 characters: it is the value of the cutover.dev/rollout label on every ReplicaSet and pod",fieldPath=".metadata"
type Rollout struct {
	metav1.TypeMeta `json:",inline"`

	// metadata is the standard object metadata.
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is the desired state.
	// +required
	Spec RolloutSpec `json:"spec"`

	// status is the observed state.
	// +optional
	// +kubebuilder:default={"observedGeneration":-1}
	Status RolloutStatus `json:"status,omitzero"`
}

// +kubebuilder:object:root=true

// RolloutList contains a list of Rollout.
type RolloutList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Rollout `json:"items"`
}

func init() {
	SchemeBuilder.Register(func(s *runtime.Scheme) error {
		s.AddKnownTypes(SchemeGroupVersion, &Rollout{}, &RolloutList{})
		return nil
	})
}
