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

// Package traffic is the boundary between the planner's decisions about traffic and the objects
// that carry it. A Router is declarative: it is told the desired split, drives the routing
// objects toward it with narrow patches of the fields Cutover owns, and reports what it found.
// It makes no decisions, writes no status and emits no Events.
package traffic

import (
	"context"
	"errors"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	cutoverv1alpha1 "github.com/cutover-dev/cutover/api/v1alpha1"
)

// Split is the desired routing: the revisions the stable and canary subsets select, and the
// canary's share of traffic (the stable subset gets the rest).
type Split struct {
	// StableRevision is the revision the stable subset selects.
	StableRevision string
	// CanaryRevision is the revision the canary subset selects; empty leaves the subset's label
	// as it is (its weight is then 0).
	CanaryRevision string
	// CanaryWeight is the canary's share, 0..100, on every managed route.
	CanaryWeight int32
}

// Observed is what a Router found on the routing objects before it changed anything.
type Observed struct {
	// StableRevision and CanaryRevision are the subsets' cutover.dev/revision labels ("" when
	// absent).
	StableRevision string
	CanaryRevision string
	// CanaryWeight is the canary's weight when every managed route agrees; -1 when they differ.
	CanaryWeight int32
	// Corrected lists the fields the Router had to change to reach the desired split, as
	// "<kind>/<namespace>/<name> <json path>" (empty when they already matched).
	Corrected []string
	// Versions name the versions of the routing objects as read, one per object, as
	// "<kind>/<namespace>/<name>@<resourceVersion>".
	Versions []string
	// Replaced names, in the same form, the versions as read of the objects the Router's
	// patches changed: a later read that still finds one of them reads a copy from before the
	// patch (a cache that has not had its watch event yet). Empty when nothing was patched.
	Replaced []string
}

// Version names obj's current version as Observed.Versions does:
// "<kind>/<namespace>/<name>@<resourceVersion>".
func Version(kind string, obj metav1.Object) string {
	return kind + "/" + obj.GetNamespace() + "/" + obj.GetName() + "@" + obj.GetResourceVersion()
}

// Router drives routing objects toward a desired split.
type Router interface {
	// Observe reads the routing objects of ro and reports their split, without changing them.
	Observe(ctx context.Context, ro *cutoverv1alpha1.Rollout) (Observed, error)
	// Reconcile patches the routing objects of ro to the desired split and reports what it
	// found before patching. It is idempotent: a second call with the same split patches nothing.
	Reconcile(ctx context.Context, ro *cutoverv1alpha1.Rollout, desired Split) (Observed, error)
}

// ErrReferenceNotFound is wrapped by errors about a referenced object that does not exist.
var ErrReferenceNotFound = errors.New("referenced object not found")

// ErrInvalidReference is wrapped by errors about a referenced object that cannot carry the split
// (a managed route without a destination for each subset, a named route that does not exist, a
// subset missing from the DestinationRule).
var ErrInvalidReference = errors.New("referenced object cannot carry the split")
