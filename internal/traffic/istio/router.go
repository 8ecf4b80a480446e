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

// Package istio drives spec.trafficRouting.istio: the weights of the managed http routes of the
// referenced VirtualServices and the cutover.dev/revision label of the DestinationRule's stable
// and canary subsets. Nothing else on those objects is ever written.
//
// Plan validates the objects and builds the patches without I/O; Router reads the objects,
// calls Plan and applies its patches. Each patch is a JSON patch (RFC 6902) of only the fields
// that differ, with test operations on the values they were planned from, so an edit made
// between the read and the write fails the patch (HTTP 422) instead of being overwritten; the
// caller retries. The objects are never updated as a whole, so the field managers of their
// other fields (a GitOps tool, kubectl) keep them.
//
// Managed fields: the Istio CRDs declare spec.http and spec.subsets as atomic lists, so the API
// server records any write inside them, including a weight, as the writer's ownership of the
// whole list. A GitOps tool using server-side apply on these objects therefore has to ignore
// the weights and subset labels (or not set them) to avoid a tug of war.
package istio

import (
	"context"
	"errors"
	"fmt"

	networkingv1 "istio.io/client-go/pkg/apis/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	cutoverv1alpha1 "github.com/cutover-dev/cutover/api/v1alpha1"
	"github.com/cutover-dev/cutover/internal/traffic"
)

// ErrConflict is wrapped by the error of a patch the API server rejected because a test
// operation failed: the object changed since it was read. Reading it again and retrying is
// enough.
var ErrConflict = errors.New("the object changed since it was read (a JSON patch test failed)")

// Router is the traffic.Router of spec.trafficRouting.istio.
type Router struct {
	// Client reads and patches the VirtualServices and the DestinationRule. Its scheme must
	// have networking.istio.io/v1 (networkingv1.AddToScheme).
	Client client.Client
	// FieldOwner is the field manager of the patches.
	FieldOwner string
	// AllowCrossNamespace lets a Rollout name a VirtualService of another namespace
	// ("namespace/name"). Off by default: a Rollout's author could otherwise move another
	// team's traffic. An admin turns it on (the manager's --allow-cross-namespace-refs) together
	// with the admission policy's per-namespace label; see docs/install.md.
	AllowCrossNamespace bool
}

var _ traffic.Router = (*Router)(nil)

// Observe implements traffic.Router. A missing object is an error wrapping
// traffic.ErrReferenceNotFound; one that cannot carry the split, traffic.ErrInvalidReference.
func (r *Router) Observe(ctx context.Context, ro *cutoverv1alpha1.Rollout) (traffic.Observed, error) {
	cfg, err := istioConfig(ro)
	if err != nil {
		return traffic.Observed{}, err
	}
	vs, dr, err := r.fetch(ctx, ro.Namespace, cfg)
	if err != nil {
		return traffic.Observed{}, err
	}
	st, err := inspect(vs, dr, *cfg, r.AllowCrossNamespace)
	if err != nil {
		return traffic.Observed{}, err
	}
	obs := st.observe()
	obs.Versions = versions(vs, dr)
	return obs, nil
}

// Reconcile implements traffic.Router: it reads the objects, plans with Plan and applies the
// patches in order (the DestinationRule first). Every object is validated before anything is
// patched. When a patch fails, the error is returned with what was found and, in Corrected and
// Replaced, the fields the patches before it wrote and the versions they replaced.
func (r *Router) Reconcile(ctx context.Context, ro *cutoverv1alpha1.Rollout, desired traffic.Split) (traffic.Observed, error) {
	cfg, err := istioConfig(ro)
	if err != nil {
		return traffic.Observed{}, err
	}
	vs, dr, err := r.fetch(ctx, ro.Namespace, cfg)
	if err != nil {
		return traffic.Observed{}, err
	}
	patches, observed, err := plan(vs, dr, *cfg, desired, r.AllowCrossNamespace)
	if err != nil {
		return traffic.Observed{}, err
	}
	observed.Versions = versions(vs, dr)
	observed.Corrected, err = r.Apply(ctx, patches)
	// Apply moved the resourceVersion of each object it patched to the one its write left.
	for i, rv := range versions(vs, dr) {
		if read := observed.Versions[i]; rv != read {
			observed.Replaced = append(observed.Replaced, read)
		}
	}
	return observed, err
}

// versions names the versions of the DestinationRule and the VirtualServices, in that order,
// as traffic.Observed.Versions does.
func versions(vs []*networkingv1.VirtualService, dr *networkingv1.DestinationRule) []string {
	out := make([]string, 0, 1+len(vs))
	out = append(out, traffic.Version(KindDestinationRule, dr))
	for _, v := range vs {
		out = append(out, traffic.Version(KindVirtualService, v))
	}
	return out
}

// Apply applies patches in order, each one with a single JSON patch request, and stops at the
// first error. It returns the fields the applied patches wrote. A patch the API server rejects
// as Invalid (HTTP 422: a test operation failed because the object was edited since it was
// read) yields an error wrapping both ErrConflict and the API server's error.
func (r *Router) Apply(ctx context.Context, patches []ObjectPatch) (written []string, err error) {
	for _, p := range patches {
		patch, err := p.Patch()
		if err != nil {
			return written, err
		}
		// The answer is asked for as metadata only: the routing written is the one planned, and
		// decoding a whole VirtualService (through the Istio API's JSON decoder) costs more
		// than the rest of the write.
		answer := &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Namespace: p.Object.GetNamespace(), Name: p.Object.GetName()}}
		answer.SetGroupVersionKind(networkingv1.SchemeGroupVersion.WithKind(kindOf(p.Object)))
		switch err := r.Client.Patch(ctx, answer, patch, client.FieldOwner(r.FieldOwner)); {
		case apierrors.IsInvalid(err):
			return written, fmt.Errorf("patching %s: %w: %w", describe(p.Object), ErrConflict, err)
		case err != nil:
			return written, fmt.Errorf("patching %s: %w", describe(p.Object), err)
		}
		p.Object.SetResourceVersion(answer.ResourceVersion)
		written = append(written, p.Changed...)
	}
	return written, nil
}

// istioConfig returns the Istio routing of ro.
func istioConfig(ro *cutoverv1alpha1.Rollout) (*cutoverv1alpha1.IstioTrafficRouting, error) {
	if ro.Spec.TrafficRouting == nil || ro.Spec.TrafficRouting.Istio == nil {
		return nil, fmt.Errorf("rollout %s/%s has no spec.trafficRouting.istio", ro.Namespace, ro.Name)
	}
	return ro.Spec.TrafficRouting.Istio, nil
}

// fetch reads the DestinationRule and the VirtualServices of cfg; names without a namespace are
// in ns. All the missing objects are reported together.
func (r *Router) fetch(ctx context.Context, ns string, cfg *cutoverv1alpha1.IstioTrafficRouting,
) ([]*networkingv1.VirtualService, *networkingv1.DestinationRule, error) {
	// Nothing of another namespace is even read, unless an admin allowed it.
	if !r.AllowCrossNamespace {
		if err := checkNamespaces(ns, *cfg); err != nil {
			return nil, nil, err
		}
	}
	var missing []error
	dr := &networkingv1.DestinationRule{}
	found, err := r.get(ctx, KindDestinationRule, types.NamespacedName{Namespace: ns, Name: cfg.DestinationRule.Name}, dr)
	if err != nil {
		return nil, nil, err
	}
	if !found {
		missing = append(missing, notFound(KindDestinationRule, ns, cfg.DestinationRule.Name))
	}
	refs := references(*cfg)
	vss := make([]*networkingv1.VirtualService, len(refs))
	for i, ref := range refs {
		key := types.NamespacedName{Namespace: ns}
		if rns, name := splitName(ref.Name); rns != "" {
			key.Namespace, key.Name = rns, name
		} else {
			key.Name = name
		}
		vss[i] = &networkingv1.VirtualService{}
		found, err := r.get(ctx, KindVirtualService, key, vss[i])
		if err != nil {
			return nil, nil, err
		}
		if !found {
			missing = append(missing, notFound(KindVirtualService, key.Namespace, key.Name))
		}
	}
	if err := join(missing); err != nil {
		return nil, nil, err
	}
	return vss, dr, nil
}

// get reads one object; found is false when it does not exist.
func (r *Router) get(ctx context.Context, kind string, key types.NamespacedName, obj client.Object) (found bool, err error) {
	switch err := r.Client.Get(ctx, key, obj); {
	case apierrors.IsNotFound(err):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("reading %s %s: %w", kind, key, err)
	}
	return true, nil
}
