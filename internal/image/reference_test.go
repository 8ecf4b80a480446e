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

package image_test

import (
	"errors"
	"testing"

	"github.com/cutover-dev/cutover/internal/image"
)

const hex64 = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func TestParseReference(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want image.Reference
	}{
		{"nginx", image.Reference{Repository: "nginx"}},
		{"nginx:1.27", image.Reference{Repository: "nginx", Tag: "1.27"}},
		{"registry.example/app:1.2", image.Reference{Repository: "registry.example/app", Tag: "1.2"}},
		{"registry.example:5000/team/app", image.Reference{Repository: "registry.example:5000/team/app"}},
		{"registry.example:5000/app:v1", image.Reference{Repository: "registry.example:5000/app", Tag: "v1"}},
		{"app@sha256:" + hex64, image.Reference{Repository: "app", Digest: "sha256:" + hex64}},
		{"r.example:5000/app:v1@sha256:" + hex64, image.Reference{Repository: "r.example:5000/app", Tag: "v1", Digest: "sha256:" + hex64}},
	} {
		got, err := image.ParseReference(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseReference(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", " nginx", "nginx:", "UPPER/app:1", "app@sha256:abc", "http://r.example/app:1", "a b"} {
		_, err := image.ParseReference(bad)
		if !errors.Is(err, image.ErrInvalidReference) || image.IsTransient(err) {
			t.Errorf("ParseReference(%q) error = %v; want ErrInvalidReference", bad, err)
		}
	}
}

func TestDigestOnly(t *testing.T) {
	for ref, want := range map[string]bool{
		"app@sha256:" + hex64:             true,
		"r.example/app:1@sha256:" + hex64: true,
		"app:1":                           false,
		"app":                             false,
		"app@sha256:" + hex64[:63]:        false,
		"app@sha512:" + hex64 + hex64:     false,
		"app@sha256:" + "Z" + hex64[1:]:   false,
		"":                                false,
	} {
		if got := image.DigestOnly(ref); got != want {
			t.Errorf("DigestOnly(%q) = %v; want %v", ref, got, want)
		}
	}
}

func TestIsTransient(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{nil, false},
		{image.NewResolveError("a:1", image.ErrUnavailable, errors.New("dial tcp: refused")), true},
		{image.NewResolveError("a:1", nil, errors.New("odd")), true},
		{errors.New("anything else"), true},
		{image.NewResolveError("a:1", image.ErrNotFound, nil), false},
		{image.NewResolveError("a:1", image.ErrUnauthorized, nil), false},
		{image.NewResolveError("a:", image.ErrInvalidReference, nil), false},
		{&image.PolicyError{}, false},
	} {
		if got := image.IsTransient(tc.err); got != tc.want {
			t.Errorf("IsTransient(%v) = %v; want %v", tc.err, got, tc.want)
		}
	}
	err := image.NewResolveError("r.example/app:1", image.ErrNotFound, errors.New("MANIFEST_UNKNOWN"))
	if want := `resolving image "r.example/app:1": image not found: MANIFEST_UNKNOWN`; err.Error() != want {
		t.Errorf("Error() = %q; want %q", err.Error(), want)
	}
}
