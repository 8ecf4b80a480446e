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
	"testing"
)

// FuzzParseReference: any string either is refused or splits into parts that put together
// give it back; a digest pin of it is digest-only unless refused.
func FuzzParseReference(f *testing.F) {
	for _, s := range []string{
		"nginx", "nginx:1.27", "registry.example:5000/shop/app:1.0", "app@sha256:" + strings.Repeat("a", 64),
		"app:tag@sha256:" + strings.Repeat("0", 64), "", " app", "UPPER/case", "a/b/c/d:e", "localhost:5000/x",
		strings.Repeat("x", 10000),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, ref string) {
		r, err := ParseReference(ref)
		if err != nil {
			return
		}
		if r.Repository == "" {
			t.Fatalf("%q parsed with an empty repository", ref)
		}
		back := r.Repository
		if r.Tag != "" {
			back += ":" + r.Tag
		}
		if r.Digest != "" {
			back += "@" + r.Digest
		}
		if back != ref {
			t.Fatalf("%q parsed as %+v, which reads %q", ref, r, back)
		}
		// The pin is digest-only, or refused as a whole (a name at the length limit may
		// parse while the same name with a digest does not).
		pinned := r.WithDigest("sha256:" + strings.Repeat("a", 64))
		if _, perr := ParseReference(pinned); perr == nil && !DigestOnly(pinned) {
			t.Fatalf("%q pinned is %q, which parses but is not digest-only", ref, pinned)
		}
		_ = DigestOnly(ref)
	})
}
