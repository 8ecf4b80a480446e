package plan

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"time"

	cutoverv1alpha1 "github.com/cutover-dev/cutover/api/v1alpha1"
)

// CanaryReplicas is the number of replicas a canary weight needs: ceil(replicas × weight / 100).
func CanaryReplicas(replicas, weight int32) int32 { return canaryReplicas(replicas, weight) }

func canaryReplicas(n, w int32) int32 {
	if w <= 0 || n <= 0 {
		return 0
	}
	if w >= 100 {
		return n
	}
	return int32((int64(n)*int64(w) + 99) / 100)
}

// weightAt is the canary weight in force at step idx: the last setWeight at or before it, 0
// before any, and 100 once every step is done.
func weightAt(steps []cutoverv1alpha1.CanaryStep, idx int) int32 {
	if idx >= len(steps) {
		return 100
	}
	var w int32
	for i := 0; i <= idx; i++ {
		if steps[i].SetWeight != nil {
			w = *steps[i].SetWeight
		}
	}
	return w
}

func canarySteps(spec cutoverv1alpha1.RolloutSpec) []cutoverv1alpha1.CanaryStep {
	if spec.Strategy.Canary == nil {
		return nil
	}
	return spec.Strategy.Canary.Steps
}

func replicasOf(spec cutoverv1alpha1.RolloutSpec) int32 {
	if spec.Replicas == nil {
		return 1
	}
	return max(*spec.Replicas, 0)
}

func deadlineOf(spec cutoverv1alpha1.RolloutSpec) time.Duration {
	r := cutoverv1alpha1.Rollout{Spec: spec}
	return r.GetProgressDeadline()
}

func historyLimitOf(spec cutoverv1alpha1.RolloutSpec) int32 {
	r := cutoverv1alpha1.Rollout{Spec: spec}
	return r.GetRevisionHistoryLimit()
}

func selectorString(sel *metav1.LabelSelector) string {
	if sel == nil {
		return ""
	}
	return metav1.FormatLabelSelector(sel)
}

func ptr[T any](v T) *T { return &v }

// backgroundGates returns the canary's background gates, if any.
func backgroundGates(spec cutoverv1alpha1.RolloutSpec) []string {
	if spec.Strategy.Canary == nil {
		return nil
	}
	return spec.Strategy.Canary.BackgroundGates
}
