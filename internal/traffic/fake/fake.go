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

// Package fake has an in-memory traffic.Router for controller unit tests.
package fake

import (
	"context"
	"slices"
	"sync"

	cutoverv1alpha1 "github.com/cutover-dev/cutover/api/v1alpha1"
	"github.com/cutover-dev/cutover/internal/traffic"
)

// Router is a traffic.Router that records the splits it is given and returns a configured
// Observed and error. It is safe for concurrent use; set its fields before sharing it, or use
// Set afterwards.
//
// Observe and Reconcile return Observed (with a copy of its Corrected) and Err. When Follow is
// true, a successful Reconcile then makes Observed the split it was given (with no Corrected),
// like a router whose objects have been patched.
type Router struct {
	mu sync.Mutex
	// Observed is what Observe and Reconcile report.
	Observed traffic.Observed
	// Err, when set, is returned by Observe and Reconcile; a failed Reconcile is still recorded
	// but does not follow.
	Err error
	// Follow makes a successful Reconcile move Observed to the desired split.
	Follow bool

	splits   []traffic.Split
	observes int
}

var _ traffic.Router = (*Router)(nil)

// Set replaces Observed and Err.
func (f *Router) Set(observed traffic.Observed, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.Observed, f.Err = observed, err
}

// Observe implements traffic.Router.
func (f *Router) Observe(_ context.Context, _ *cutoverv1alpha1.Rollout) (traffic.Observed, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.observes++
	return f.observed(), f.Err
}

// Reconcile implements traffic.Router.
func (f *Router) Reconcile(_ context.Context, _ *cutoverv1alpha1.Rollout, desired traffic.Split) (traffic.Observed, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.splits = append(f.splits, desired)
	out := f.observed()
	if f.Err == nil && f.Follow {
		f.Observed = traffic.Observed{StableRevision: desired.StableRevision, CanaryRevision: f.Observed.CanaryRevision,
			CanaryWeight: desired.CanaryWeight}
		if desired.CanaryRevision != "" {
			f.Observed.CanaryRevision = desired.CanaryRevision
		}
	}
	return out, f.Err
}

// observed returns a copy of Observed; f.mu is held.
func (f *Router) observed() traffic.Observed {
	out := f.Observed
	out.Corrected = slices.Clone(f.Observed.Corrected)
	return out
}

// LastSplit returns the split of the last Reconcile call, and false when there was none.
func (f *Router) LastSplit() (traffic.Split, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.splits) == 0 {
		return traffic.Split{}, false
	}
	return f.splits[len(f.splits)-1], true
}

// Splits returns the splits of every Reconcile call, oldest first.
func (f *Router) Splits() []traffic.Split {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.splits)
}

// ReconcileCalls returns the number of Reconcile calls.
func (f *Router) ReconcileCalls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.splits)
}

// ObserveCalls returns the number of Observe calls.
func (f *Router) ObserveCalls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.observes
}

// Reset forgets the recorded calls.
func (f *Router) Reset() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.splits, f.observes = nil, 0
}
