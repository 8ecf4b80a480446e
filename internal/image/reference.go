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

package image

import (
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/opencontainers/go-digest"
)

// Reference is an image reference split into its parts as the user wrote them: no registry or
// "library/" is added to Docker Hub short names.
type Reference struct {
	// Repository is the reference without tag and digest, e.g. "nginx" or "registry.example/app".
	Repository string
	// Tag is the tag, or "" when there is none.
	Tag string
	// Digest is the digest ("sha256:…"), or "" when there is none.
	Digest string
}

// ParseReference splits ref into its parts. An unparsable reference returns a *ResolveError of
// kind ErrInvalidReference.
func ParseReference(ref string) (Reference, error) {
	if strings.TrimSpace(ref) != ref || ref == "" {
		return Reference{}, NewResolveError(ref, ErrInvalidReference, nil)
	}
	if _, err := name.ParseReference(ref); err != nil {
		return Reference{}, NewResolveError(ref, ErrInvalidReference, err)
	}
	base, dgst, _ := strings.Cut(ref, "@")
	r := Reference{Repository: base, Digest: dgst}
	if i := strings.LastIndex(base, ":"); i > strings.LastIndex(base, "/") {
		r.Repository, r.Tag = base[:i], base[i+1:]
	}
	return r, nil
}

// WithDigest returns the repository pinned to d: "<repository>@<d>".
func (r Reference) WithDigest(d string) string { return r.Repository + "@" + d }

// DigestOnly reports whether ref is pinned by a SHA-256 digest: name@sha256:<64 hex>, or
// name:tag@sha256:<64 hex> (the runtime pulls by the digest and ignores the tag).
func DigestOnly(ref string) bool {
	r, err := ParseReference(ref)
	if err != nil || r.Digest == "" {
		return false
	}
	d := digest.Digest(r.Digest)
	return d.Validate() == nil && d.Algorithm() == digest.SHA256
}
