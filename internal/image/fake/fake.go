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

// Package fake has an in-memory image.Resolver for controller unit tests.
package fake

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"sync"

	corev1 "k8s.io/api/core/v1"

	"github.com/cutover-dev/cutover/internal/image"
)

// Resolver is an image.Resolver backed by a map. It is safe for concurrent use.
//
// Resolve returns, in this order: Err when set; the error set for the reference with SetError;
// name@digest for a reference that already has a digest; the digest reference set with Set;
// and otherwise a *image.ResolveError of kind image.ErrNotFound. Every call is counted, and
// the references and pull secrets passed are recorded.
type Resolver struct {
	mu      sync.Mutex
	digests map[string]string
	errs    map[string]error
	// Err, when set, is returned by every call.
	Err         error
	refs        []string
	lastSecrets []corev1.Secret
}

var _ image.Resolver = (*Resolver)(nil)

// New returns a Resolver that resolves each key of digests to its value (a name@sha256:…
// reference; see Digest to make one).
func New(digests map[string]string) *Resolver {
	f := &Resolver{digests: map[string]string{}, errs: map[string]error{}}
	for k, v := range digests {
		f.digests[k] = v
	}
	return f
}

// Resolve implements image.Resolver.
func (f *Resolver) Resolve(_ context.Context, ref string, pullSecrets []corev1.Secret) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.refs = append(f.refs, ref)
	f.lastSecrets = pullSecrets
	if f.Err != nil {
		return "", f.Err
	}
	if err, ok := f.errs[ref]; ok {
		return "", err
	}
	parsed, err := image.ParseReference(ref)
	if err != nil {
		return "", err
	}
	if parsed.Digest != "" {
		return parsed.WithDigest(parsed.Digest), nil
	}
	if out, ok := f.digests[ref]; ok {
		return out, nil
	}
	return "", image.NewResolveError(ref, image.ErrNotFound, nil)
}

// Set makes ref resolve to digestRef, as a re-pushed tag would.
func (f *Resolver) Set(ref, digestRef string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.digests[ref] = digestRef
}

// SetError makes ref fail with err (nil clears it).
func (f *Resolver) SetError(ref string, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err == nil {
		delete(f.errs, ref)
		return
	}
	f.errs[ref] = err
}

// Calls returns the number of Resolve calls so far.
func (f *Resolver) Calls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.refs)
}

// Refs returns the references passed to Resolve so far, in order.
func (f *Resolver) Refs() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.refs...)
}

// LastPullSecrets returns the pull secrets passed to the last Resolve call.
func (f *Resolver) LastPullSecrets() []corev1.Secret {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.lastSecrets
}

// Digest returns a deterministic fake digest, "sha256:" followed by the SHA-256 of seed.
func Digest(seed string) string {
	sum := sha256.Sum256([]byte(seed))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// Pinned returns repository@Digest(seed), a ready value for New or Set.
func Pinned(repository, seed string) string { return repository + "@" + Digest(seed) }
