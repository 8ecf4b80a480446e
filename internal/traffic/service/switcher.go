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

// Package service switches Services between revisions without a mesh: the active Service of a
// blue-green Rollout and its optional preview Service. It writes exactly one key of a Service,
// spec.selector["cutover.dev/revision"], with a JSON patch guarded by a test of the value it
// replaces, and leaves the user's own selector keys and every other field alone.
package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/go-openapi/jsonpointer"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	cutoverv1alpha1 "github.com/cutover-dev/cutover/api/v1alpha1"
	"github.com/cutover-dev/cutover/internal/rfc6902"
	"github.com/cutover-dev/cutover/internal/traffic"
)

// Kind names the switched objects in errors ("Service shop/checkout: not found").
const Kind = "Service"

// JSON pointers of the fields a selector patch reads or writes.
const (
	// SelectorPath is the Service's selector map.
	SelectorPath = "/spec/selector"
	// ResourceVersionPath guards the patch that adds a selector to a Service without one.
	ResourceVersionPath = "/metadata/resourceVersion"
)

// RevisionPath is the JSON pointer of the revision key in a Service's selector
// ("/spec/selector/cutover.dev~1revision").
var RevisionPath = SelectorPath + "/" + jsonpointer.Escape(cutoverv1alpha1.LabelRevision)

// SelectorPatch returns the JSON patch that makes a Service whose selector is selector (and
// whose metadata.resourceVersion is resourceVersion) select revision, or nil when it already
// does. It writes only the revision key:
//
//   - key present with another value: test the old value, then replace it;
//   - key absent from a non-empty selector: add it;
//   - no selector at all (nil or empty): test resourceVersion, then add the selector map with just
//     the revision key. The map is written whole, so the resourceVersion guard makes the patch
//     fail instead of dropping a selector someone added since the Service was read.
//
// A failed test makes the API server reject the whole patch (422), so a stale read never
// overwrites a concurrent change.
func SelectorPatch(selector map[string]string, resourceVersion, revision string) []rfc6902.Op {
	old, ok := selector[cutoverv1alpha1.LabelRevision]
	switch {
	case ok && old == revision:
		return nil
	case ok:
		return []rfc6902.Op{
			{Op: rfc6902.Test, Path: RevisionPath, Value: old},
			{Op: rfc6902.Replace, Path: RevisionPath, Value: revision},
		}
	case len(selector) > 0:
		return []rfc6902.Op{{Op: rfc6902.Add, Path: RevisionPath, Value: revision}}
	default:
		return []rfc6902.Op{
			{Op: rfc6902.Test, Path: ResourceVersionPath, Value: resourceVersion},
			{Op: rfc6902.Add, Path: SelectorPath, Value: map[string]string{cutoverv1alpha1.LabelRevision: revision}},
		}
	}
}

// Switcher points Services at a revision by one selector key.
type Switcher struct {
	// Client reads and patches Services.
	Client client.Client
	// FieldOwner is the field manager of the patches (the API server's default when empty).
	FieldOwner string
}

// Observe returns the revision a Service's selector points at ("" when the key is absent), and
// the version of the Service it read, named as in traffic.Observed.Versions.
func (s *Switcher) Observe(ctx context.Context, namespace, name string) (revision, version string, err error) {
	svc, err := s.get(ctx, namespace, name)
	if err != nil {
		return "", "", err
	}
	return svc.Spec.Selector[cutoverv1alpha1.LabelRevision], traffic.Version(Kind, svc), nil
}

// Point sets spec.selector["cutover.dev/revision"] = revision on the Service. It reads the
// Service, and patches only that key (see SelectorPatch); a concurrent change of the key between
// the read and the patch fails the patch with a Conflict error (apierrors.IsConflict) rather than
// being overwritten. A missing Service is an error wrapping traffic.ErrReferenceNotFound.
//
// replaced is the version of the Service the patch changed, as read and named as in
// traffic.Observed.Replaced; "" when the Service already pointed at revision.
func (s *Switcher) Point(ctx context.Context, namespace, name, revision string) (replaced string, err error) {
	if revision == "" {
		return "", fmt.Errorf("%s %s/%s: pointing at an empty revision", Kind, namespace, name)
	}
	svc, err := s.get(ctx, namespace, name)
	if err != nil {
		return "", err
	}
	changed, err := s.apply(ctx, namespace, name, SelectorPatch(svc.Spec.Selector, svc.ResourceVersion, revision))
	if !changed {
		return "", err
	}
	return traffic.Version(Kind, svc), err
}

// PointFrom moves the Service's revision key from the value from, as the caller observed it
// ("" for absent), to the revision to, and reports whether it changed it (false when from equals
// to). When the key no longer holds from, nothing is written and the error is a Conflict
// (apierrors.IsConflict): with a non-empty from the Service is not even read, the patch's test of
// from fails on the API server. A missing Service is an error wrapping
// traffic.ErrReferenceNotFound.
func (s *Switcher) PointFrom(ctx context.Context, namespace, name, from, to string) (changed bool, err error) {
	if to == "" {
		return false, fmt.Errorf("%s %s/%s: pointing at an empty revision", Kind, namespace, name)
	}
	if from == to {
		return false, nil
	}
	if from != "" {
		// A selector holding just the expected key gives the test-and-replace patch.
		return s.apply(ctx, namespace, name,
			SelectorPatch(map[string]string{cutoverv1alpha1.LabelRevision: from}, "", to))
	}
	// Absence cannot be tested by a JSON patch, and whether the selector map exists decides
	// the patch: read the Service.
	svc, err := s.get(ctx, namespace, name)
	if err != nil {
		return false, err
	}
	if cur, ok := svc.Spec.Selector[cutoverv1alpha1.LabelRevision]; ok {
		return false, staleError(name, fmt.Sprintf("%s is %q, expected it absent",
			cutoverv1alpha1.LabelRevision, cur))
	}
	return s.apply(ctx, namespace, name, SelectorPatch(svc.Spec.Selector, svc.ResourceVersion, to))
}

// get reads a Service, turning NotFound into a reference error.
func (s *Switcher) get(ctx context.Context, namespace, name string) (*corev1.Service, error) {
	svc := &corev1.Service{}
	if err := s.Client.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, svc); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, notFound(namespace, name)
		}
		return nil, fmt.Errorf("%s %s/%s: %w", Kind, namespace, name, err)
	}
	return svc, nil
}

// apply sends ops as one JSON patch and reports whether there was anything to send. A patch
// rejected because one of its tests no longer holds becomes a Conflict error.
func (s *Switcher) apply(ctx context.Context, namespace, name string, ops []rfc6902.Op) (bool, error) {
	if len(ops) == 0 {
		return false, nil
	}
	data, err := json.Marshal(ops)
	if err != nil {
		return false, fmt.Errorf("%s %s/%s: encoding the selector patch: %w", Kind, namespace, name, err)
	}
	var opts []client.PatchOption
	if s.FieldOwner != "" {
		opts = append(opts, client.FieldOwner(s.FieldOwner))
	}
	svc := &corev1.Service{}
	svc.Namespace, svc.Name = namespace, name
	err = s.Client.Patch(ctx, svc, client.RawPatch(types.JSONPatchType, data), opts...)
	switch {
	case err == nil:
		return true, nil
	case apierrors.IsNotFound(err):
		return false, notFound(namespace, name)
	case apierrors.IsInvalid(err):
		// A failed test op is a 422, as is a selector value the API server rejects: look again
		// to tell a stale read from an invalid patch.
		if reason := s.staleTest(ctx, namespace, name, ops); reason != "" {
			return false, staleError(name, reason)
		}
	}
	return false, fmt.Errorf("%s %s/%s: patching %s: %w", Kind, namespace, name, RevisionPath, err)
}

// staleTest re-reads the Service and returns why one of the test ops of ops no longer holds, or
// "" when they all hold (or the Service cannot be read).
func (s *Switcher) staleTest(ctx context.Context, namespace, name string, ops []rfc6902.Op) string {
	svc := &corev1.Service{}
	if err := s.Client.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, svc); err != nil {
		return ""
	}
	for _, op := range ops {
		if op.Op != rfc6902.Test {
			continue
		}
		switch op.Path {
		case RevisionPath:
			cur, ok := svc.Spec.Selector[cutoverv1alpha1.LabelRevision]
			if !ok {
				return fmt.Sprintf("%s is absent, expected %q", cutoverv1alpha1.LabelRevision, op.Value)
			}
			if cur != op.Value {
				return fmt.Sprintf("%s is %q, expected %q", cutoverv1alpha1.LabelRevision, cur, op.Value)
			}
		case ResourceVersionPath:
			if svc.ResourceVersion != op.Value {
				return fmt.Sprintf("the Service changed since it was read (resourceVersion %s, expected %v)",
					svc.ResourceVersion, op.Value)
			}
		}
	}
	return ""
}

// staleError is the Conflict returned when the Service no longer holds what a patch expected.
func staleError(name, reason string) error {
	return apierrors.NewConflict(schema.GroupResource{Resource: "services"}, name, errors.New(reason))
}

// referenceError is a missing Service; it wraps traffic.ErrReferenceNotFound.
type referenceError struct {
	namespace, name string
}

func notFound(namespace, name string) error {
	return &referenceError{namespace: namespace, name: name}
}

// Error implements error.
func (e *referenceError) Error() string {
	return fmt.Sprintf("%s %s/%s: not found", Kind, e.namespace, e.name)
}

// Unwrap returns traffic.ErrReferenceNotFound.
func (e *referenceError) Unwrap() error { return traffic.ErrReferenceNotFound }
