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
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	cutoverv1alpha1 "github.com/cutover-dev/cutover/api/v1alpha1"
)

// routingRefIndex is the cache index of Rollouts by the routing objects they name (Services,
// VirtualServices, DestinationRules), so that an event on one of them finds its Rollouts
// without listing every Rollout.
const routingRefIndex = "cutover.dev/routing-ref"

// Kinds of routing objects in the index.
const (
	kindService         = "Service"
	kindVirtualService  = "VirtualService"
	kindDestinationRule = "DestinationRule"
)

// refKey is the index value of one routing object.
func refKey(kind, ns, name string) string { return kind + "/" + ns + "/" + name }

// routingRefs lists the index values of the routing objects a Rollout names.
func routingRefs(obj client.Object) []string {
	ro, ok := obj.(*cutoverv1alpha1.Rollout)
	if !ok {
		return nil
	}
	var out []string
	for _, ref := range blueGreenServices(ro) {
		out = append(out, refKey(kindService, ro.Namespace, ref.name))
	}
	if ro.Spec.TrafficRouting == nil || ro.Spec.TrafficRouting.Istio == nil {
		return out
	}
	ist := ro.Spec.TrafficRouting.Istio
	if ist.DestinationRule.Name != "" {
		out = append(out, refKey(kindDestinationRule, ro.Namespace, ist.DestinationRule.Name))
	}
	// A copy: appending to the cached object's own slice could write into its backing array.
	refs := slices.Clone(ist.VirtualServices)
	if ist.VirtualService != nil {
		refs = append(refs, *ist.VirtualService)
	}
	for _, vs := range refs {
		ns, name := ro.Namespace, vs.Name
		if i := strings.IndexByte(vs.Name, '/'); i >= 0 {
			ns, name = vs.Name[:i], vs.Name[i+1:]
		}
		out = append(out, refKey(kindVirtualService, ns, name))
	}
	return out
}

// rolloutsNaming maps a routing object of the given kind to the Rollouts that name it, so an
// out-of-band edit is corrected and a late-created object lets a rollout go on.
func (r *RolloutReconciler) rolloutsNaming(kind string) func(context.Context, client.Object) []reconcile.Request {
	return func(ctx context.Context, obj client.Object) []reconcile.Request {
		list := &cutoverv1alpha1.RolloutList{}
		key := refKey(kind, obj.GetNamespace(), obj.GetName())
		if err := r.List(ctx, list, client.MatchingFields{routingRefIndex: key}); err != nil {
			return nil
		}
		out := make([]reconcile.Request, 0, len(list.Items))
		for i := range list.Items {
			out = append(out, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&list.Items[i])})
		}
		return out
	}
}

// replicaSetOwnerIndex is the cache index of ReplicaSets by the name of the Rollout that
// controls them. The owner reference, not a label, says which ReplicaSets are a Rollout's: a
// label removed out of band must not hide a ReplicaSet (the Rollout would create it again and
// be refused, for ever).
const replicaSetOwnerIndex = "cutover.dev/owner-rollout"

// replicaSetOwner is the index function of replicaSetOwnerIndex.
func replicaSetOwner(obj client.Object) []string {
	ref := metav1.GetControllerOf(obj)
	if ref == nil || ref.Kind != "Rollout" {
		return nil
	}
	if gv, err := schema.ParseGroupVersion(ref.APIVersion); err != nil || gv.Group != cutoverv1alpha1.GroupVersion.Group {
		return nil
	}
	return []string{ref.Name}
}

// ownerRollout maps a ReplicaSet to the Rollout that controls it, if any. It does what
// Owns(&appsv1.ReplicaSet{}) does, from the owner reference alone: controller-runtime's owner
// handler also asks the REST mapper for the owner's scope on every event, which was a tenth of
// the bytes the manager allocated at 1,000 Rollouts.
func ownerRollout(_ context.Context, obj client.Object) []reconcile.Request {
	owner := replicaSetOwner(obj)
	if len(owner) == 0 {
		return nil
	}
	return []reconcile.Request{{NamespacedName: types.NamespacedName{Namespace: obj.GetNamespace(), Name: owner[0]}}}
}

// revisionOf is the revision of a managed ReplicaSet. It is read from the selector, which the
// API server keeps immutable, so that an edited label does not change it; the label is the
// fallback.
func revisionOf(rs *appsv1.ReplicaSet) string {
	if sel := rs.Spec.Selector; sel != nil && sel.MatchLabels[cutoverv1alpha1.LabelRevision] != "" {
		return sel.MatchLabels[cutoverv1alpha1.LabelRevision]
	}
	return rs.Labels[cutoverv1alpha1.LabelRevision]
}
