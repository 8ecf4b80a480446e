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

// Package image pins container images to digests. It is the boundary between a Rollout's pod
// template and container registries: CheckPolicy enforces spec.imagePolicy without any network
// call, Pin asks a Resolver for the digest of every tagged image, and the error kinds here tell
// the controller whether to retry (IsTransient) or to report an invalid spec.
//
// The real Resolver lives in package registry; package fake has one for unit tests.
package image

import (
	"context"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
)

// Resolver turns an image reference with a tag into name@sha256:… by asking its registry.
//
// Implementations keep the repository as the user wrote it (nginx:1.27 → nginx@sha256:…),
// return a reference that already has a digest as name@digest without a network call, and
// classify failures with the error kinds of this package.
type Resolver interface {
	Resolve(ctx context.Context, ref string, pullSecrets []corev1.Secret) (string, error)
}

// Error kinds. Test them with errors.Is; a Resolver wraps them in a *ResolveError naming the
// image.
var (
	// ErrInvalidReference is a reference that cannot be parsed. Terminal: only a spec change
	// fixes it.
	ErrInvalidReference = errors.New("invalid image reference")
	// ErrNotFound is a tag or repository the registry does not know (404, MANIFEST_UNKNOWN,
	// NAME_UNKNOWN). Not transient, though a later push can fix it without a spec change.
	ErrNotFound = errors.New("image not found")
	// ErrUnauthorized is a registry refusing the credentials, or their absence (401, 403).
	// Not transient, though fixing the pull secret can fix it without a spec change.
	ErrUnauthorized = errors.New("registry denied access")
	// ErrUnavailable is a registry that cannot be reached or failed to answer: connection
	// errors, timeouts, 5xx, 429. Transient.
	ErrUnavailable = errors.New("registry unavailable")
)

// ResolveError is a failure to resolve one image.
type ResolveError struct {
	// Image is the reference as written in the template.
	Image string
	// Kind is one of ErrInvalidReference, ErrNotFound, ErrUnauthorized or ErrUnavailable, or nil
	// when the failure is unclassified (treated as transient).
	Kind error
	// Err is the underlying cause; it may be nil.
	Err error
}

// NewResolveError returns a *ResolveError for image with the given kind and cause.
func NewResolveError(image string, kind, cause error) *ResolveError {
	return &ResolveError{Image: image, Kind: kind, Err: cause}
}

// Error implements error: `resolving image "x:1": image not found: <cause>`.
func (e *ResolveError) Error() string {
	msg := fmt.Sprintf("resolving image %q", e.Image)
	if e.Kind != nil {
		msg += ": " + e.Kind.Error()
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Unwrap returns the kind and the cause, so errors.Is and errors.As see both.
func (e *ResolveError) Unwrap() []error {
	var errs []error
	for _, err := range []error{e.Kind, e.Err} {
		if err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}

// IsTransient reports whether err is worth retrying without a spec change: it is false for nil,
// for a *PolicyError and for ErrInvalidReference, ErrNotFound and ErrUnauthorized, and true for
// everything else (ErrUnavailable, timeouts, unclassified failures).
func IsTransient(err error) bool {
	if err == nil {
		return false
	}
	var pe *PolicyError
	if errors.As(err, &pe) {
		return false
	}
	return !errors.Is(err, ErrInvalidReference) && !errors.Is(err, ErrNotFound) &&
		!errors.Is(err, ErrUnauthorized)
}
