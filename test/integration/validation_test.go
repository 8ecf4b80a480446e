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

package integration

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	cutoverv1alpha1 "github.com/cutover-dev/cutover/api/v1alpha1"
)

// invalidCase is one invalid Rollout: the valid base with one mutation.
type invalidCase struct {
	name string
	// mutate turns the valid base into the invalid object.
	mutate func(r *cutoverv1alpha1.Rollout)
	// raw, when set, further edits the object as JSON, for what the Go types cannot express
	// (an empty list that omitempty would drop, a malformed duration).
	raw func(obj map[string]any)
	// onUpdate creates the valid base first and applies mutate in an update.
	onUpdate bool
	// want are substrings the API server's error must contain: the field path and the reason.
	want []string
}

var invalidCases = []invalidCase{
	{
		name: "name longer than a label value",
		mutate: func(r *cutoverv1alpha1.Rollout) {
			r.Name = strings.Repeat("a", 64)
		},
		want: []string{"metadata", "metadata.name must be at most 63 characters"},
	},
	{
		name: "two strategies",
		mutate: func(r *cutoverv1alpha1.Rollout) {
			canary := r.Spec.Strategy.Canary
			blueGreen(r)
			r.Spec.Strategy.Canary = canary
		},
		want: []string{"spec.strategy", "set exactly one of blueGreen or canary"},
	},
	{
		name:   "no strategy",
		mutate: func(r *cutoverv1alpha1.Rollout) { r.Spec.Strategy = cutoverv1alpha1.RolloutStrategy{} },
		want:   []string{"spec.strategy", "set exactly one of blueGreen or canary"},
	},
	{
		name: "step with two keys",
		mutate: func(r *cutoverv1alpha1.Rollout) {
			r.Spec.Strategy.Canary.Steps[1].SetWeight = ptr.To[int32](20)
		},
		want: []string{"spec.strategy.canary.steps[1]", "exactly one of setWeight, pause or gates"},
	},
	{
		name: "step with no key",
		mutate: func(r *cutoverv1alpha1.Rollout) {
			r.Spec.Strategy.Canary.Steps = append(r.Spec.Strategy.Canary.Steps, cutoverv1alpha1.CanaryStep{})
		},
		want: []string{"spec.strategy.canary.steps[5]", "exactly one of setWeight, pause or gates"},
	},
	{
		name:   "weight 101",
		mutate: func(r *cutoverv1alpha1.Rollout) { r.Spec.Strategy.Canary.Steps[3].SetWeight = ptr.To[int32](101) },
		want:   []string{"spec.strategy.canary.steps[3].setWeight", "less than or equal to 100"},
	},
	{
		name:   "weight -1",
		mutate: func(r *cutoverv1alpha1.Rollout) { r.Spec.Strategy.Canary.Steps[0].SetWeight = ptr.To[int32](-1) },
		want:   []string{"spec.strategy.canary.steps[0].setWeight", "greater than or equal to 0"},
	},
	{
		name:   "unknown gate in a step",
		mutate: func(r *cutoverv1alpha1.Rollout) { r.Spec.Strategy.Canary.Steps[2].Gates = []string{"smoke", "latency"} },
		want:   []string{"spec.strategy.canary.steps", "must name gates defined in spec.gates"},
	},
	{
		name: "gate step without any spec.gates",
		mutate: func(r *cutoverv1alpha1.Rollout) {
			r.Spec.Gates = nil
			r.Spec.Strategy.Canary.BackgroundGates = nil
		},
		want: []string{"spec.strategy.canary.steps", "must name gates defined in spec.gates"},
	},
	{
		name:   "unknown background gate",
		mutate: func(r *cutoverv1alpha1.Rollout) { r.Spec.Strategy.Canary.BackgroundGates = []string{"error-budget"} },
		want:   []string{"spec.strategy.canary.backgroundGates", "must name gates defined in spec.gates"},
	},
	{
		name:   "unknown pre-promotion gate",
		mutate: func(r *cutoverv1alpha1.Rollout) { blueGreen(r).PrePromotionGates = []string{"smoke", "load-test"} },
		want:   []string{"spec.strategy.blueGreen.prePromotionGates", "must name gates defined in spec.gates"},
	},
	{
		name:   "unknown post-promotion gate",
		mutate: func(r *cutoverv1alpha1.Rollout) { blueGreen(r).PostPromotionGates = []string{"error-budget"} },
		want:   []string{"spec.strategy.blueGreen.postPromotionGates", "must name gates defined in spec.gates"},
	},
	{
		name: "duplicate gate names",
		mutate: func(r *cutoverv1alpha1.Rollout) {
			dup := *r.Spec.Gates[1].DeepCopy()
			dup.HTTP.URL = "http://checkout.shop/healthz"
			r.Spec.Gates = append(r.Spec.Gates, dup)
		},
		want: []string{"spec.gates[2]", "Duplicate value"},
	},
	{
		name: "selector changed on update",
		mutate: func(r *cutoverv1alpha1.Rollout) {
			// The template labels still match: only the immutability rule is broken.
			r.Spec.Selector.MatchLabels["tier"] = "web"
		},
		onUpdate: true,
		want:     []string{"spec.selector", "spec.selector is immutable"},
	},
	{
		name:   "template labels do not match the selector",
		mutate: func(r *cutoverv1alpha1.Rollout) { r.Spec.Template.Labels["app"] = "payments" },
		want:   []string{"spec.template.metadata.labels", "must match spec.selector.matchLabels"},
	},
	{
		name:   "template without labels",
		mutate: func(r *cutoverv1alpha1.Rollout) { r.Spec.Template.Labels = nil },
		want:   []string{"spec.template.metadata.labels", "must match spec.selector.matchLabels"},
	},
	{
		name: "negative pause duration",
		mutate: func(r *cutoverv1alpha1.Rollout) {
			r.Spec.Strategy.Canary.Steps[1].Pause.Duration = &metav1.Duration{Duration: -30 * time.Second}
		},
		want: []string{"spec.strategy.canary.steps[1].pause.duration", "must be positive"},
	},
	{
		name: "zero pause duration",
		mutate: func(r *cutoverv1alpha1.Rollout) {
			r.Spec.Strategy.Canary.Steps[1].Pause.Duration = &metav1.Duration{}
		},
		want: []string{"spec.strategy.canary.steps[1].pause.duration", "must be positive"},
	},
	{
		name: "negative scaleDownDelay",
		mutate: func(r *cutoverv1alpha1.Rollout) {
			blueGreen(r).ScaleDownDelay = &metav1.Duration{Duration: -time.Minute}
		},
		want: []string{"spec.strategy.blueGreen.scaleDownDelay", "must not be negative"},
	},
	{
		name: "negative autoPromoteAfter",
		mutate: func(r *cutoverv1alpha1.Rollout) {
			blueGreen(r).AutoPromoteAfter = &metav1.Duration{Duration: -time.Second}
		},
		want: []string{"spec.strategy.blueGreen.autoPromoteAfter", "must not be negative"},
	},
	{
		name: "background gate also in a step",
		mutate: func(r *cutoverv1alpha1.Rollout) {
			r.Spec.Strategy.Canary.Steps[2].Gates = []string{"smoke", "success-rate"}
		},
		want: []string{"spec.strategy.canary.steps", "must not name a background gate"},
	},
	{
		name: "negative gate initialDelay",
		mutate: func(r *cutoverv1alpha1.Rollout) {
			r.Spec.Gates[0].InitialDelay = &metav1.Duration{Duration: -time.Second}
		},
		want: []string{"spec.gates[0].initialDelay", "must not be negative"},
	},
	{
		name:   "negative consecutiveErrorLimit",
		mutate: func(r *cutoverv1alpha1.Rollout) { r.Spec.Gates[0].ConsecutiveErrorLimit = ptr.To[int32](-1) },
		want:   []string{"spec.gates[0].consecutiveErrorLimit", "greater than or equal to 0"},
	},
	{
		name:   "zero Prometheus timeout",
		mutate: func(r *cutoverv1alpha1.Rollout) { r.Spec.Gates[0].Prometheus.Timeout = &metav1.Duration{} },
		want:   []string{"spec.gates[0].prometheus.timeout", "must be positive"},
	},
	{
		name:   "zero gate interval",
		mutate: func(r *cutoverv1alpha1.Rollout) { r.Spec.Gates[0].Interval = &metav1.Duration{} },
		want:   []string{"spec.gates[0].interval", "must be positive"},
	},
	{
		name:   "empty virtualService name",
		mutate: func(r *cutoverv1alpha1.Rollout) { r.Spec.TrafficRouting.Istio.VirtualService.Name = "" },
		want:   []string{"spec.trafficRouting.istio.virtualService.name", "at least 1 chars long"},
	},
	{
		name: "gate with both prometheus and http",
		mutate: func(r *cutoverv1alpha1.Rollout) {
			r.Spec.Gates[1].Prometheus = r.Spec.Gates[0].Prometheus.DeepCopy()
		},
		want: []string{"spec.gates[1]", "exactly one of prometheus or http"},
	},
	{
		name:   "gate with neither prometheus nor http",
		mutate: func(r *cutoverv1alpha1.Rollout) { r.Spec.Gates[0].Prometheus = nil },
		want:   []string{"spec.gates[0]", "exactly one of prometheus or http"},
	},
	{
		name: "gate name not a DNS label",
		mutate: func(r *cutoverv1alpha1.Rollout) {
			extra := *r.Spec.Gates[1].DeepCopy()
			extra.Name = "Smoke_Test"
			r.Spec.Gates = append(r.Spec.Gates, extra)
		},
		want: []string{"spec.gates[2].name", "should match"},
	},
	{
		name: "blueGreen without activeService and without istio",
		mutate: func(r *cutoverv1alpha1.Rollout) {
			blueGreen(r).ActiveService = ""
			r.Spec.TrafficRouting = nil
		},
		want: []string{"spec.strategy.blueGreen.activeService", "required unless spec.trafficRouting.istio is set"},
	},
	{
		name:   "replicas -1",
		mutate: func(r *cutoverv1alpha1.Rollout) { r.Spec.Replicas = ptr.To[int32](-1) },
		want:   []string{"spec.replicas", "greater than or equal to 0"},
	},
	{
		name:   "progressDeadlineSeconds 0",
		mutate: func(r *cutoverv1alpha1.Rollout) { r.Spec.ProgressDeadlineSeconds = ptr.To[int32](0) },
		want:   []string{"spec.progressDeadlineSeconds", "greater than or equal to 1"},
	},
	{
		name: "stableSubset equals canarySubset",
		mutate: func(r *cutoverv1alpha1.Rollout) {
			r.Spec.TrafficRouting.Istio.DestinationRule.CanarySubset = "stable"
		},
		want: []string{"spec.trafficRouting.istio.destinationRule", "stableSubset and canarySubset must differ"},
	},
	{
		name: "both virtualService and virtualServices",
		mutate: func(r *cutoverv1alpha1.Rollout) {
			r.Spec.TrafficRouting.Istio.VirtualServices = []cutoverv1alpha1.IstioVirtualService{{Name: "checkout-internal"}}
		},
		want: []string{"spec.trafficRouting.istio", "set exactly one of virtualService or virtualServices"},
	},
	{
		name:   "neither virtualService nor virtualServices",
		mutate: func(r *cutoverv1alpha1.Rollout) { r.Spec.TrafficRouting.Istio.VirtualService = nil },
		want:   []string{"spec.trafficRouting.istio", "set exactly one of virtualService or virtualServices"},
	},
	{
		name:   "empty virtualServices list",
		mutate: func(r *cutoverv1alpha1.Rollout) { r.Spec.TrafficRouting.Istio.VirtualService = nil },
		raw: func(obj map[string]any) {
			istio := obj["spec"].(map[string]any)["trafficRouting"].(map[string]any)["istio"].(map[string]any)
			istio["virtualServices"] = []any{}
		},
		want: []string{"spec.trafficRouting.istio.virtualServices", "at least 1 items"},
	},
	{
		name:   "step with an empty gates list",
		mutate: func(r *cutoverv1alpha1.Rollout) {},
		raw: func(obj map[string]any) {
			steps := obj["spec"].(map[string]any)["strategy"].(map[string]any)["canary"].(map[string]any)["steps"].([]any)
			steps[2] = map[string]any{"gates": []any{}}
		},
		want: []string{"spec.strategy.canary.steps[2].gates", "at least 1 items"},
	},
	{
		name:   "malformed pause duration",
		mutate: func(r *cutoverv1alpha1.Rollout) {},
		raw: func(obj map[string]any) {
			steps := obj["spec"].(map[string]any)["strategy"].(map[string]any)["canary"].(map[string]any)["steps"].([]any)
			steps[1] = map[string]any{"pause": map[string]any{"duration": "soon"}}
		},
		want: []string{"spec.strategy.canary.steps[1].pause.duration"},
	},
	{
		name:   "unknown http gate method",
		mutate: func(r *cutoverv1alpha1.Rollout) { r.Spec.Gates[1].HTTP.Method = "DELETE" },
		want:   []string{"spec.gates[1].http.method", "Unsupported value"},
	},
}

// TestValidRolloutAccepted guards the table below: the base object every invalid case starts
// from, and its blue-green variant, must be accepted, or the cases would prove nothing.
func TestValidRolloutAccepted(t *testing.T) {
	g := gomega.NewWithT(t)
	ns := newNamespace(t)
	g.Expect(k8sClient.Create(context.Background(), validRollout(ns, "canary"))).To(gomega.Succeed())

	bg := validRollout(ns, "blue-green")
	blueGreen(bg)
	g.Expect(k8sClient.Create(context.Background(), bg)).To(gomega.Succeed())

	bgIstio := validRollout(ns, "blue-green-istio")
	blueGreen(bgIstio).ActiveService = ""
	g.Expect(k8sClient.Create(context.Background(), bgIstio)).To(gomega.Succeed(), "blue-green with Istio needs no activeService")

	many := validRollout(ns, "virtual-services")
	many.Spec.TrafficRouting.Istio.VirtualService = nil
	many.Spec.TrafficRouting.Istio.VirtualServices = []cutoverv1alpha1.IstioVirtualService{{Name: "checkout"}, {Name: "edge/checkout", Routes: []string{"shop"}}}
	g.Expect(k8sClient.Create(context.Background(), many)).To(gomega.Succeed())

	noMesh := validRollout(ns, "no-mesh")
	noMesh.Spec.TrafficRouting = nil
	noMesh.Spec.Strategy.Canary.Steps = append(noMesh.Spec.Strategy.Canary.Steps,
		cutoverv1alpha1.CanaryStep{SetWeight: ptr.To[int32](0)}, cutoverv1alpha1.CanaryStep{SetWeight: ptr.To[int32](100)})
	noMesh.Spec.Replicas = ptr.To[int32](0)
	g.Expect(k8sClient.Create(context.Background(), noMesh)).To(gomega.Succeed(), "weights 0 and 100 and replicas 0 are valid")

	// An update that leaves the selector alone is allowed.
	var got cutoverv1alpha1.Rollout
	g.Expect(k8sClient.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "canary"}, &got)).To(gomega.Succeed())
	got.Spec.Template.Spec.Containers[0].Image = "registry.example/shop/checkout:1.5.0"
	g.Expect(k8sClient.Update(context.Background(), &got)).To(gomega.Succeed())
}

// TestInvalidRolloutsRejected checks that the CRD's OpenAPI schema and CEL rules refuse each
// invalid Rollout at admission, with an error that names the offending field, and for that
// reason alone.
func TestInvalidRolloutsRejected(t *testing.T) {
	if len(invalidCases) < 18 {
		t.Fatalf("only %d invalid cases", len(invalidCases))
	}
	ns := newNamespace(t)
	for i, tc := range invalidCases {
		t.Run(tc.name, func(t *testing.T) {
			g := gomega.NewWithT(t)
			ctx := context.Background()
			r := validRollout(ns, fmt.Sprintf("invalid-%d", i))

			var err error
			if tc.onUpdate {
				g.Expect(k8sClient.Create(ctx, r)).To(gomega.Succeed())
				tc.mutate(r)
				err = k8sClient.Update(ctx, r)
			} else {
				tc.mutate(r)
				var obj client.Object = r
				if tc.raw != nil {
					obj = toUnstructured(t, r)
					tc.raw(obj.(*unstructured.Unstructured).Object)
				}
				err = k8sClient.Create(ctx, obj)
			}

			g.Expect(err).To(gomega.HaveOccurred(), "the API server accepted the invalid Rollout")
			g.Expect(apierrors.IsInvalid(err)).To(gomega.BeTrue(), "want an Invalid error, got %v", err)
			for _, w := range tc.want {
				g.Expect(err.Error()).To(gomega.ContainSubstring(w))
			}
			// The mutation broke only the rule under test: every cause is about the wanted field
			// (the scale subresource repeats a bad spec.replicas as ".spec.replicas"), apart from
			// the server's note that CEL rules were skipped after a schema error.
			var status apierrors.APIStatus
			g.Expect(errors.As(err, &status)).To(gomega.BeTrue())
			details := status.Status().Details
			g.Expect(details).NotTo(gomega.BeNil())
			g.Expect(details.Causes).NotTo(gomega.BeEmpty())
			for _, c := range details.Causes {
				if strings.Contains(c.Message, "some validation rules were not checked") {
					continue
				}
				g.Expect(strings.TrimPrefix(c.Field, ".")).To(gomega.HavePrefix(tc.want[0]),
					"a cause about another field; causes: %s", describeCauses(details.Causes))
			}
		})
	}
}

// toUnstructured converts a typed Rollout into an unstructured object.
func toUnstructured(t *testing.T, r *cutoverv1alpha1.Rollout) *unstructured.Unstructured {
	t.Helper()
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(r)
	if err != nil {
		t.Fatal(err)
	}
	u := &unstructured.Unstructured{Object: m}
	u.SetGroupVersionKind(cutoverv1alpha1.GroupVersion.WithKind("Rollout"))
	return u
}

func describeCauses(causes []metav1.StatusCause) string {
	var b strings.Builder
	for _, c := range causes {
		fmt.Fprintf(&b, "\n  %s: %s (%s)", c.Field, c.Message, c.Type)
	}
	return b.String()
}
