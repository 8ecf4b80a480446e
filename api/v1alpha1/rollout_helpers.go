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
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Labels and annotations of the public contract.
const (
	// LabelRollout names the Rollout that owns a ReplicaSet.
	LabelRollout = "cutover.dev/rollout"
	// LabelRevision is the revision hash, on a ReplicaSet, its selector and its pod template,
	// and on DestinationRule subsets and Service selectors.
	LabelRevision = "cutover.dev/revision"
	// LabelShard puts a Rollout in a shard: only the manager started with --shard=<value>
	// reconciles it. Rollouts without it belong to the default shard (a manager without --shard).
	LabelShard = "cutover.dev/shard"

	// AnnotationPromote: "true" leaves the current pause, "full" skips to 100%, a revision hash
	// approves every pause of that revision.
	AnnotationPromote = "cutover.dev/promote"
	// AnnotationAbort: "true" routes all traffic back to stable and tears the new revision down.
	AnnotationAbort = "cutover.dev/abort"
	// AnnotationRetry: "true" starts an aborted revision again from step 0.
	AnnotationRetry = "cutover.dev/retry"

	// AnnotationImagePins, on a ReplicaSet, records the container → pinned image map (JSON) of
	// its revision, so the pins survive a lost status.
	AnnotationImagePins = "cutover.dev/image-pins"
	// AnnotationTemplateHash, on a ReplicaSet, is the hash of the unpinned template the revision
	// was made from. A template seen again is matched to its revision without asking a registry.
	AnnotationTemplateHash = "cutover.dev/template-hash"
	// AnnotationCreatedAt, on a ReplicaSet, is when its revision was created (RFC 3339).
	AnnotationCreatedAt = "cutover.dev/created-at"

	// ValueTrue is the one-shot value of promote, abort and retry.
	ValueTrue = "true"
	// ValueFull is the promote value that skips every remaining step.
	ValueFull = "full"
)

// GetReplicas returns spec.replicas, defaulting to 1.
func (r *Rollout) GetReplicas() int32 {
	if r.Spec.Replicas == nil {
		return 1
	}
	return *r.Spec.Replicas
}

// GetProgressDeadline returns spec.progressDeadlineSeconds as a duration, defaulting to 600 s.
func (r *Rollout) GetProgressDeadline() time.Duration {
	if r.Spec.ProgressDeadlineSeconds == nil {
		return 600 * time.Second
	}
	return time.Duration(*r.Spec.ProgressDeadlineSeconds) * time.Second
}

// GetRevisionHistoryLimit returns spec.revisionHistoryLimit, defaulting to 10.
func (r *Rollout) GetRevisionHistoryLimit() int32 {
	if r.Spec.RevisionHistoryLimit == nil {
		return 10
	}
	return *r.Spec.RevisionHistoryLimit
}

// ResolvesTags reports whether tags are resolved to digests (the default).
func (p ImagePolicy) ResolvesTags() bool { return p.ResolveTags == nil || *p.ResolveTags }

// StrategyName returns "Canary" or "BlueGreen".
func (s RolloutStrategy) StrategyName() string {
	if s.BlueGreen != nil {
		return "BlueGreen"
	}
	return "Canary"
}

// GetAutoPromote returns autoPromote, defaulting to true.
func (b *BlueGreenStrategy) GetAutoPromote() bool { return b.AutoPromote == nil || *b.AutoPromote }

// GetScaleDownDelay returns scaleDownDelay, defaulting to 30 s.
func (b *BlueGreenStrategy) GetScaleDownDelay() time.Duration {
	return durationOr(b.ScaleDownDelay, 30*time.Second)
}

// GetAutoPromoteAfter returns autoPromoteAfter, defaulting to 0.
func (b *BlueGreenStrategy) GetAutoPromoteAfter() time.Duration {
	return durationOr(b.AutoPromoteAfter, 0)
}

// GetCount returns count, defaulting to 1.
func (g *Gate) GetCount() int32 { return int32Or(g.Count, 1) }

// GetFailureLimit returns failureLimit, defaulting to 0.
func (g *Gate) GetFailureLimit() int32 { return int32Or(g.FailureLimit, 0) }

// GetConsecutiveErrorLimit returns consecutiveErrorLimit, defaulting to 4.
func (g *Gate) GetConsecutiveErrorLimit() int32 { return int32Or(g.ConsecutiveErrorLimit, 4) }

// GetInterval returns interval, defaulting to 30 s.
func (g *Gate) GetInterval() time.Duration { return durationOr(g.Interval, 30*time.Second) }

// GetInitialDelay returns initialDelay, defaulting to 0.
func (g *Gate) GetInitialDelay() time.Duration { return durationOr(g.InitialDelay, 0) }

// GetTimeout returns how long one measurement may take: the HTTP or Prometheus timeout,
// defaulting to 5 s for HTTP and 10 s for Prometheus.
func (g *Gate) GetTimeout() time.Duration {
	if g.HTTP != nil {
		return durationOr(g.HTTP.Timeout, 5*time.Second)
	}
	if g.Prometheus != nil {
		return durationOr(g.Prometheus.Timeout, 10*time.Second)
	}
	return 10 * time.Second
}

// GateNamed returns the gate of spec.gates with this name, and its index; nil when none.
func (s *RolloutSpec) GateNamed(name string) (*Gate, int) {
	for i := range s.Gates {
		if s.Gates[i].Name == name {
			return &s.Gates[i], i
		}
	}
	return nil, -1
}

// GetConditions returns the conditions.
func (r *Rollout) GetConditions() []metav1.Condition { return r.Status.Conditions }

// SetConditions replaces the conditions.
func (r *Rollout) SetConditions(c []metav1.Condition) { r.Status.Conditions = c }

func int32Or(v *int32, def int32) int32 {
	if v == nil {
		return def
	}
	return *v
}

func durationOr(d *metav1.Duration, def time.Duration) time.Duration {
	if d == nil {
		return def
	}
	return d.Duration
}

// AsMeta returns the selector as a metav1.LabelSelector.
func (s *LabelSelector) AsMeta() *metav1.LabelSelector {
	if s == nil {
		return nil
	}
	out := &metav1.LabelSelector{MatchExpressions: s.MatchExpressions}
	if s.MatchLabels != nil {
		out.MatchLabels = make(map[string]string, len(s.MatchLabels))
		for k, v := range s.MatchLabels {
			out.MatchLabels[k] = v
		}
	}
	return out
}
