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

package utils

import (
	"strings"
	"testing"

	istionetv1alpha3 "istio.io/api/networking/v1alpha3"
	networkingv1 "istio.io/client-go/pkg/apis/networking/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	cutoverv1alpha1 "github.com/cutover-dev/cutover/api/v1alpha1"
)

var testRoute = IstioRoute{Route: "primary", Stable: "stable", Canary: "canary"}

func rsVersion(rv, rev, image string, replicas, available int32) *appsv1.ReplicaSet {
	rs := &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: "web-" + rev,
		UID: types.UID("uid-" + rev), ResourceVersion: rv, Labels: map[string]string{cutoverv1alpha1.LabelRevision: rev}}}
	rs.Spec.Replicas = ptr.To(replicas)
	rs.Spec.Template.Spec.Containers = []corev1.Container{{Name: "app", Image: image}}
	rs.Status.AvailableReplicas = available
	return rs
}

func vsVersion(rv string, stable, canary int32) *networkingv1.VirtualService {
	vs := &networkingv1.VirtualService{ObjectMeta: metav1.ObjectMeta{Name: "web", ResourceVersion: rv}}
	vs.Spec.Http = []*istionetv1alpha3.HTTPRoute{{Name: "primary", Route: []*istionetv1alpha3.HTTPRouteDestination{
		{Destination: &istionetv1alpha3.Destination{Host: "web", Subset: "stable"}, Weight: stable},
		{Destination: &istionetv1alpha3.Destination{Host: "web", Subset: "canary"}, Weight: canary},
	}}}
	return vs
}

func drVersion(rv, stable, canary string) *networkingv1.DestinationRule {
	dr := &networkingv1.DestinationRule{ObjectMeta: metav1.ObjectMeta{Name: "web", ResourceVersion: rv}}
	dr.Spec.Subsets = []*istionetv1alpha3.Subset{
		{Name: "stable", Labels: map[string]string{cutoverv1alpha1.LabelRevision: stable}},
		{Name: "canary", Labels: map[string]string{cutoverv1alpha1.LabelRevision: canary}},
	}
	return dr
}

func rolloutVersion(rv, current string, step int32) *cutoverv1alpha1.Rollout {
	r := &cutoverv1alpha1.Rollout{ObjectMeta: metav1.ObjectMeta{Name: "web", ResourceVersion: rv}}
	r.Status.StableRevision, r.Status.CurrentRevision, r.Status.CurrentStepIndex = "a", current, ptr.To(step)
	return r
}

// TestCheckIstioHistory shows that each invariant the e2e and crash tests rely on is caught on
// a made-up history, and that a sound one passes.
func TestCheckIstioHistory(t *testing.T) {
	sound := []client.Object{
		rsVersion("1", "a", "v1", 4, 4), drVersion("2", "a", "b"), vsVersion("3", 100, 0),
		rsVersion("4", "b", "v2", 1, 0), rolloutVersion("5", "b", 0), rsVersion("6", "b", "v2", 1, 1),
		vsVersion("7", 90, 10), rolloutVersion("8", "b", 1),
	}
	cases := map[string]struct {
		history []client.Object
		want    string
	}{
		"sound":              {sound, ""},
		"weights not 100":    {append(sound[:8:8], vsVersion("9", 90, 20)), "weights 90+20"},
		"weight before pods": {append(sound[:5:5], vsVersion("6", 90, 10)), "10% on the canary subset (revision b), which has 0 available of 1; needs 1"},
		"template changed":   {append(sound[:8:8], rsVersion("9", "b", "v3", 1, 1)), "template changed"},
		"step went back":     {append(sound[:8:8], rolloutVersion("9", "b", 0)), "step of b went back from 1 to 0"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			bad := strings.Join(CheckIstioHistory(tc.history, testRoute, 4), "; ")
			if tc.want == "" && bad != "" || !strings.Contains(bad, tc.want) {
				t.Errorf("got %q, want %q", bad, tc.want)
			}
		})
	}
	if got := WeightChanges(sound, "web", testRoute); len(got) != 2 || got[0] != 0 || got[1] != 10 {
		t.Errorf("WeightChanges = %v, want [0 10]", got)
	}
}
