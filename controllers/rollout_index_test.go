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
	"context"
	"slices"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

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

func TestReplicaSetOwnerAndRevision(t *testing.T) {
	owned := func(apiVersion, kind string, controller bool) *appsv1.ReplicaSet {
		return &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: "web-abc", OwnerReferences: []metav1.OwnerReference{{
			APIVersion: apiVersion, Kind: kind, Name: "web", UID: "u1", Controller: ptr.To(controller),
		}}}}
	}
	mine := owned(cutoverv1alpha1.GroupVersion.String(), "Rollout", true)
	mine.Namespace = "shop"
	if got := replicaSetOwner(mine); !slices.Equal(got, []string{"web"}) {
		t.Errorf("a Rollout's ReplicaSet: index %v, want [web]", got)
	}
	if got := ownerRollout(context.Background(), mine); len(got) != 1 || got[0].Namespace != "shop" || got[0].Name != "web" {
		t.Errorf("a Rollout's ReplicaSet enqueues %v, want shop/web", got)
	}
	for name, rs := range map[string]*appsv1.ReplicaSet{
		"a Deployment's":           owned("apps/v1", "Deployment", true),
		"another group's Rollout":  owned("argoproj.io/v1alpha1", "Rollout", true),
		"owned but not controlled": owned(cutoverv1alpha1.GroupVersion.String(), "Rollout", false),
		"without owner":            {},
	} {
		if got := replicaSetOwner(rs); got != nil {
			t.Errorf("%s ReplicaSet: index %v, want none", name, got)
		}
		if got := ownerRollout(context.Background(), rs); got != nil {
			t.Errorf("%s ReplicaSet enqueues %v, want nothing", name, got)
		}
	}

	rs := &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{cutoverv1alpha1.LabelRevision: "edited"}},
		Spec: appsv1.ReplicaSetSpec{Selector: &metav1.LabelSelector{
			MatchLabels: map[string]string{cutoverv1alpha1.LabelRevision: "0123456789"},
		}},
	}
	if got := revisionOf(rs); got != "0123456789" {
		t.Errorf("revisionOf = %q, want the selector's 0123456789, whatever the label says", got)
	}
	rs.Spec.Selector = nil
	if got := revisionOf(rs); got != "edited" {
		t.Errorf("revisionOf without a selector = %q, want the label", got)
	}
}
