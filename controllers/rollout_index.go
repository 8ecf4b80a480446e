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
