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
	"context"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"

	cutoverv1alpha1 "github.com/cutover-dev/cutover/api/v1alpha1"
)

// Pin checks tmpl against policy (see CheckPolicy) and returns a deep copy of it with every
// image of its init containers, containers and ephemeral containers written as
// "<repository>@sha256:…", together with one pin per container in the same order. Pin keys are
// the container name, "init:<name>" for init containers and "ephemeral:<name>" for ephemeral
// containers.
//
// An image that already has a digest is rewritten as name@digest (a tag next to it is dropped)
// without asking r. A tagged image is resolved through r with pullSecrets when
// policy.ResolvesTags(), each distinct image once per call; otherwise it is left as written,
// and its pin records it as written. A policy violation returns a *PolicyError before any
// resolution; a resolution failure returns the first error, prefixed with the container's field
// path (classify it with IsTransient and errors.Is).
func Pin(ctx context.Context, r Resolver, tmpl *corev1.PodTemplateSpec, pullSecrets []corev1.Secret,
	policy cutoverv1alpha1.ImagePolicy) (*corev1.PodTemplateSpec, []cutoverv1alpha1.ContainerImage, error) {
	if tmpl == nil {
		return nil, nil, errors.New("image.Pin: nil pod template")
	}
	if err := CheckPolicy(tmpl, policy); err != nil {
		return nil, nil, err
	}
	pinned := tmpl.DeepCopy()
	all := slots(&pinned.Spec)
	pins := make([]cutoverv1alpha1.ContainerImage, 0, len(all))
	resolved := map[string]string{}
	for _, s := range all {
		img, err := pinOne(ctx, r, *s.image, pullSecrets, policy, resolved)
		if err != nil {
			return nil, nil, fmt.Errorf("%s (%s): %w", s.path, s.name, err)
		}
		*s.image = img
		pins = append(pins, cutoverv1alpha1.ContainerImage{Container: s.key, Image: img})
	}
	return pinned, pins, nil
}

// pinOne pins one image, using and filling the per-call cache resolved.
func pinOne(ctx context.Context, r Resolver, image string, pullSecrets []corev1.Secret,
	policy cutoverv1alpha1.ImagePolicy, resolved map[string]string) (string, error) {
	ref, err := ParseReference(image)
	if err != nil {
		return "", err
	}
	if ref.Digest != "" {
		return ref.WithDigest(ref.Digest), nil
	}
	if !policy.ResolvesTags() {
		return image, nil
	}
	if out, ok := resolved[image]; ok {
		return out, nil
	}
	if r == nil {
		return "", errors.New("image.Pin: no resolver")
	}
	out, err := r.Resolve(ctx, image, pullSecrets)
	if err != nil {
		return "", err
	}
	if got, perr := ParseReference(out); perr != nil || got.Digest == "" || got.Tag != "" {
		return "", NewResolveError(image, nil, fmt.Errorf("resolver returned %q, not name@digest", out))
	}
	resolved[image] = out
	return out, nil
}

// ApplyPins returns a deep copy of tmpl with the recorded pins written over its images, so a
// template seen before is pinned again exactly as it was, without asking a registry. It reports
// false when the pins don't cover every container (the template changed shape).
func ApplyPins(tmpl *corev1.PodTemplateSpec, pins []cutoverv1alpha1.ContainerImage) (*corev1.PodTemplateSpec, bool) {
	byKey := make(map[string]string, len(pins))
	for _, p := range pins {
		byKey[p.Container] = p.Image
	}
	out := tmpl.DeepCopy()
	all := slots(&out.Spec)
	if len(all) != len(pins) {
		return nil, false
	}
	for _, s := range all {
		img, ok := byKey[s.key]
		if !ok {
			return nil, false
		}
		*s.image = img
	}
	return out, true
}
