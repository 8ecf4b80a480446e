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
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	corev1 "k8s.io/api/core/v1"

	cutoverv1alpha1 "github.com/cutover-dev/cutover/api/v1alpha1"
)

// Violation is one container image that spec.imagePolicy refuses.
type Violation struct {
	// Path is the container's field path, e.g. "spec.template.spec.containers[1]".
	Path string
	// Container is the container's name.
	Container string
	// Image is the image as written.
	Image string
	// Reason says what is wrong, in words.
	Reason string
}

// String formats the violation as `<path> (<container>): image "<image>" <reason>`. An image
// longer than maxQuoted is cut, and its length given.
func (v Violation) String() string {
	return fmt.Sprintf("%s (%s): image %s %s", v.Path, v.Container, quoteImage(v.Image), v.Reason)
}

// maxQuoted is the longest image a message quotes whole.
const maxQuoted = 128

// quoteImage quotes an image for a message, cut to maxQuoted bytes (on a character boundary)
// when it is longer.
func quoteImage(img string) string {
	if len(img) <= maxQuoted {
		return strconv.Quote(img)
	}
	cut := img[:maxQuoted]
	for !utf8.ValidString(cut) {
		cut = cut[:len(cut)-1]
	}
	return fmt.Sprintf("%q… (%d characters)", cut, utf8.RuneCountInString(img))
}

// PolicyError lists every container image refused by the image policy, or not a valid
// reference. It is terminal: only a spec change fixes it.
type PolicyError struct {
	// Violations in template order: init containers, containers, ephemeral containers.
	Violations []Violation
}

// Error implements error, joining the violations with "; ".
func (e *PolicyError) Error() string {
	parts := make([]string, len(e.Violations))
	for i, v := range e.Violations {
		parts[i] = v.String()
	}
	return strings.Join(parts, "; ")
}

// slot is one container image of a pod template, addressed for reading and writing.
type slot struct {
	path  string // field path
	key   string // pin key: name, init:name or ephemeral:name
	name  string
	image *string
}

// slots lists the images of spec in template order: init containers, containers, ephemeral
// containers.
func slots(spec *corev1.PodSpec) []slot {
	const base = "spec.template.spec."
	out := make([]slot, 0, len(spec.InitContainers)+len(spec.Containers)+len(spec.EphemeralContainers))
	for i := range spec.InitContainers {
		c := &spec.InitContainers[i]
		out = append(out, slot{fmt.Sprintf(base+"initContainers[%d]", i), "init:" + c.Name, c.Name, &c.Image})
	}
	for i := range spec.Containers {
		c := &spec.Containers[i]
		out = append(out, slot{fmt.Sprintf(base+"containers[%d]", i), c.Name, c.Name, &c.Image})
	}
	for i := range spec.EphemeralContainers {
		c := &spec.EphemeralContainers[i]
		out = append(out, slot{fmt.Sprintf(base+"ephemeralContainers[%d]", i), "ephemeral:" + c.Name, c.Name, &c.Image})
	}
	return out
}

// CheckPolicy checks every image of tmpl against policy without any network call: each must be
// a valid reference, start with one of policy.AllowedRegistries (when set), and carry a
// sha256 digest when policy.RequireDigest is true. It returns nil or a *PolicyError naming
// every offending container by field path, e.g.
//
//	spec.template.spec.containers[1] (app): image "x:1" has no digest and spec.imagePolicy.requireDigest is true
func CheckPolicy(tmpl *corev1.PodTemplateSpec, policy cutoverv1alpha1.ImagePolicy) error {
	if tmpl == nil {
		return nil
	}
	var violations []Violation
	add := func(s slot, reason string) {
		violations = append(violations, Violation{Path: s.path, Container: s.name, Image: *s.image, Reason: reason})
	}
	for _, s := range slots(&tmpl.Spec) {
		if _, err := ParseReference(*s.image); err != nil {
			add(s, "is not a valid image reference")
			continue
		}
		if !allowed(*s.image, policy.AllowedRegistries) {
			add(s, fmt.Sprintf("does not start with any of spec.imagePolicy.allowedRegistries %q", policy.AllowedRegistries))
		}
		if policy.RequireDigest && !DigestOnly(*s.image) {
			add(s, "has no digest and spec.imagePolicy.requireDigest is true")
		}
	}
	if len(violations) > 0 {
		return &PolicyError{Violations: violations}
	}
	return nil
}

// allowed reports whether image starts with one of prefixes; an empty list allows everything.
func allowed(image string, prefixes []string) bool {
	if len(prefixes) == 0 {
		return true
	}
	for _, p := range prefixes {
		if strings.HasPrefix(image, p) {
			return true
		}
	}
	return false
}
