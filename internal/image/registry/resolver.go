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

// Package registry is the image.Resolver that asks container registries, with
// go-containerregistry.
package registry

import (
	"context"
	"net/http"
	"slices"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	corev1 "k8s.io/api/core/v1"

	"github.com/cutover-dev/cutover/internal/image"
)

// DefaultTimeout bounds one Resolve call when Options.Timeout is zero.
const DefaultTimeout = 30 * time.Second

// DefaultBackoff is the retry schedule within one Resolve call when Options.Backoff is nil: one
// quick retry, since the controller requeues transient failures anyway.
var DefaultBackoff = remote.Backoff{Duration: 250 * time.Millisecond, Factor: 2, Jitter: 0.1, Steps: 2}

// Options configure a Resolver. The zero value is ready for public registries over HTTPS.
type Options struct {
	// InsecureHosts are registry hosts ("host" or "host:port", as in the image reference)
	// reached over plain HTTP. Loopback and localhost registries always are.
	InsecureHosts []string
	// Timeout bounds one Resolve call; zero means DefaultTimeout.
	Timeout time.Duration
	// Transport carries the requests; nil means remote.DefaultTransport.
	Transport http.RoundTripper
	// Backoff is the retry schedule within one call; nil means DefaultBackoff.
	Backoff *remote.Backoff
	// UserAgent is added to the User-Agent header when set.
	UserAgent string
}

// Resolver is an image.Resolver that asks the image's registry for the digest of a tag, with
// a HEAD request on the manifest (a GET when HEAD gives no digest). It authenticates with the
// pull secrets that match the registry and anonymously otherwise. It keeps no cache: the
// controller records pins.
type Resolver struct {
	opts Options
}

var _ image.Resolver = (*Resolver)(nil)

// New returns a Resolver with opts.
func New(opts Options) *Resolver {
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.Backoff == nil {
		b := DefaultBackoff
		opts.Backoff = &b
	}
	return &Resolver{opts: opts}
}

// Resolve implements image.Resolver: ref with a tag (or none, meaning latest) becomes
// "<repository as written>@sha256:…"; ref with a digest is returned as name@digest without a
// network call. Errors are *image.ResolveError values classified by kind.
func (r *Resolver) Resolve(ctx context.Context, ref string, pullSecrets []corev1.Secret) (string, error) {
	parsed, err := image.ParseReference(ref)
	if err != nil {
		return "", err
	}
	if parsed.Digest != "" {
		return parsed.WithDigest(parsed.Digest), nil
	}
	nref, err := r.parse(ref)
	if err != nil {
		return "", image.NewResolveError(ref, image.ErrInvalidReference, err)
	}
	ctx, cancel := context.WithTimeout(ctx, r.opts.Timeout)
	defer cancel()
	opts := []remote.Option{
		remote.WithContext(ctx),
		remote.WithAuthFromKeychain(keychain(ctx, pullSecrets)),
		remote.WithRetryBackoff(*r.opts.Backoff),
	}
	if r.opts.Transport != nil {
		opts = append(opts, remote.WithTransport(r.opts.Transport))
	}
	if r.opts.UserAgent != "" {
		opts = append(opts, remote.WithUserAgent(r.opts.UserAgent))
	}
	d, err := digestOf(ctx, nref, opts)
	if err != nil {
		return "", classify(ctx, ref, err)
	}
	return parsed.WithDigest(d.String()), nil
}

// parse parses ref for go-containerregistry, as insecure when its registry is listed.
func (r *Resolver) parse(ref string) (name.Reference, error) {
	nref, err := name.ParseReference(ref)
	if err != nil || !slices.Contains(r.opts.InsecureHosts, nref.Context().RegistryStr()) {
		return nref, err
	}
	return name.ParseReference(ref, name.Insecure)
}

// digestOf asks for the manifest digest with HEAD, falling back to GET when HEAD fails in a way
// other than a clear answer from the registry, or gives no digest.
func digestOf(ctx context.Context, ref name.Reference, opts []remote.Option) (v1.Hash, error) {
	desc, err := remote.Head(ref, opts...)
	if err == nil && desc.Digest.Hex != "" {
		return desc.Digest, nil
	}
	if err != nil && !headFallback(ctx, err) {
		return v1.Hash{}, err
	}
	got, err := remote.Get(ref, opts...)
	if err != nil {
		return v1.Hash{}, err
	}
	return got.Digest, nil
}
