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

package controllers

import (
	"slices"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	cutoverv1alpha1 "github.com/cutover-dev/cutover/api/v1alpha1"
)

func TestRoutingRefs(t *testing.T) {
	meta := metav1.ObjectMeta{Namespace: "shop", Name: "web"}
	istio := &cutoverv1alpha1.Rollout{ObjectMeta: meta, Spec: cutoverv1alpha1.RolloutSpec{
		TrafficRouting: &cutoverv1alpha1.TrafficRouting{Istio: &cutoverv1alpha1.IstioTrafficRouting{
			VirtualServices: []cutoverv1alpha1.IstioVirtualService{{Name: "checkout"}, {Name: "edge/gateway"}},
			DestinationRule: cutoverv1alpha1.IstioDestinationRule{Name: "checkout-dr"},
		}},
		Strategy: cutoverv1alpha1.RolloutStrategy{BlueGreen: &cutoverv1alpha1.BlueGreenStrategy{
			ActiveService: "web-active", PreviewService: "web-preview",
		}},
	}}
	got := routingRefs(istio)
	want := []string{
		"Service/shop/web-active", "Service/shop/web-preview",
		"DestinationRule/shop/checkout-dr",
		"VirtualService/shop/checkout", "VirtualService/edge/gateway",
	}
	if !slices.Equal(got, want) {
		t.Errorf("routingRefs = %v, want %v", got, want)
	}
	single := &cutoverv1alpha1.Rollout{ObjectMeta: meta, Spec: cutoverv1alpha1.RolloutSpec{
		TrafficRouting: &cutoverv1alpha1.TrafficRouting{Istio: &cutoverv1alpha1.IstioTrafficRouting{
			VirtualService: &cutoverv1alpha1.IstioVirtualService{Name: "checkout"},
		}},
	}}
	if got, want := routingRefs(single), []string{"VirtualService/shop/checkout"}; !slices.Equal(got, want) {
		t.Errorf("routingRefs of spec.trafficRouting.istio.virtualService = %v, want %v", got, want)
	}
	if got := routingRefs(&cutoverv1alpha1.Rollout{ObjectMeta: meta}); len(got) != 0 {
		t.Errorf("a Rollout without routing names nothing, got %v", got)
	}
	if got := routingRefs(&metav1.PartialObjectMetadata{}); got != nil {
		t.Errorf("not a Rollout: got %v", got)
	}
}
