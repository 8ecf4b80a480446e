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
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	cutoverv1alpha1 "github.com/cutover-dev/cutover/api/v1alpha1"
	"github.com/cutover-dev/cutover/internal/image"
	"github.com/cutover-dev/cutover/internal/image/fake"
)

func TestPin(t *testing.T) {
	var (
		appPin   = fake.Pinned("r.example/app", "app-1")
		nginxPin = fake.Pinned("nginx", "nginx-1.27")
		busyPin  = fake.Pinned("busybox", "busybox")
		digested = "r.example/side@sha256:" + hex64
		noTags   = false
	)
	registry := map[string]string{"r.example/app:1": appPin, "nginx:1.27": nginxPin, "busybox": busyPin}
	for _, tc := range []struct {
		name      string
		tmpl      *corev1.PodTemplateSpec
		policy    cutoverv1alpha1.ImagePolicy
		wantPins  []cutoverv1alpha1.ContainerImage
		wantCalls int
		wantErr   func(error) bool
	}{
		{
			name: "tags are resolved, init containers prefixed, digests kept without a call",
			tmpl: template([]string{"setup=busybox"}, "app=r.example/app:1", "proxy=nginx:1.27", "side="+digested),
			wantPins: []cutoverv1alpha1.ContainerImage{
				{Container: "init:setup", Image: busyPin},
				{Container: "app", Image: appPin},
				{Container: "proxy", Image: nginxPin},
				{Container: "side", Image: digested},
			},
			wantCalls: 3,
		},
		{
			name:      "a tag next to a digest is dropped",
			tmpl:      template(nil, "side=r.example/side:v2@sha256:"+hex64),
			wantPins:  []cutoverv1alpha1.ContainerImage{{Container: "side", Image: digested}},
			wantCalls: 0,
		},
		{
			name:      "the same image is resolved once per call",
			tmpl:      template([]string{"a=nginx:1.27"}, "b=nginx:1.27", "c=nginx:1.27"),
			wantPins:  []cutoverv1alpha1.ContainerImage{{Container: "init:a", Image: nginxPin}, {Container: "b", Image: nginxPin}, {Container: "c", Image: nginxPin}},
			wantCalls: 1,
		},
		{
			name:      "resolveTags=false leaves tags as written",
			tmpl:      template(nil, "app=r.example/app:1", "side="+digested),
			policy:    cutoverv1alpha1.ImagePolicy{ResolveTags: &noTags},
			wantPins:  []cutoverv1alpha1.ContainerImage{{Container: "app", Image: "r.example/app:1"}, {Container: "side", Image: digested}},
			wantCalls: 0,
		},
		{
			name:    "requireDigest refuses before any call",
			tmpl:    template(nil, "app=r.example/app:1"),
			policy:  cutoverv1alpha1.ImagePolicy{RequireDigest: true},
			wantErr: func(err error) bool { var pe *image.PolicyError; return errors.As(err, &pe) },
		},
		{
			name:    "allowedRegistries refuses before any call",
			tmpl:    template(nil, "app=r.example/app:1", "proxy=nginx:1.27"),
			policy:  cutoverv1alpha1.ImagePolicy{AllowedRegistries: []string{"r.example/"}},
			wantErr: func(err error) bool { var pe *image.PolicyError; return errors.As(err, &pe) },
		},
		{
			name:      "unknown tag is not found, with the field path",
			tmpl:      template(nil, "app=r.example/app:1", "web=r.example/web:9"),
			wantCalls: 2,
			wantErr: func(err error) bool {
				return errors.Is(err, image.ErrNotFound) && !image.IsTransient(err) &&
					strings.HasPrefix(err.Error(), `spec.template.spec.containers[1] (web): resolving image "r.example/web:9"`)
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := fake.New(registry)
			orig := tc.tmpl.DeepCopy()
			pinned, pins, err := image.Pin(context.Background(), r, tc.tmpl, nil, tc.policy)
			if r.Calls() != tc.wantCalls {
				t.Errorf("resolver calls = %d (%q); want %d", r.Calls(), r.Refs(), tc.wantCalls)
			}
			if !reflect.DeepEqual(tc.tmpl, orig) {
				t.Errorf("Pin modified its input")
			}
			if tc.wantErr != nil {
				if err == nil || !tc.wantErr(err) || pinned != nil || pins != nil {
					t.Fatalf("Pin() = %v, %v, %v; want matching error", pinned, pins, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Pin() error = %v", err)
			}
			if !reflect.DeepEqual(pins, tc.wantPins) {
				t.Errorf("pins = %v; want %v", pins, tc.wantPins)
			}
			byKey := map[string]string{}
			for _, p := range pins {
				byKey[p.Container] = p.Image
			}
			for _, c := range pinned.Spec.InitContainers {
				if c.Image != byKey["init:"+c.Name] {
					t.Errorf("init container %s image = %q; want %q", c.Name, c.Image, byKey["init:"+c.Name])
				}
			}
			for _, c := range pinned.Spec.Containers {
				if c.Image != byKey[c.Name] {
					t.Errorf("container %s image = %q; want %q", c.Name, c.Image, byKey[c.Name])
				}
			}
		})
	}
}

func TestPinEphemeralAndSecrets(t *testing.T) {
	tmpl := template(nil, "app=r.example/app:1")
	tmpl.Spec.EphemeralContainers = []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: "debug", Image: "busybox:1"}}}
	r := fake.New(map[string]string{"r.example/app:1": fake.Pinned("r.example/app", "1"), "busybox:1": fake.Pinned("busybox", "1")})
	secrets := []corev1.Secret{{Type: corev1.SecretTypeDockerConfigJson}}
	pinned, pins, err := image.Pin(context.Background(), r, tmpl, secrets, cutoverv1alpha1.ImagePolicy{})
	if err != nil {
		t.Fatal(err)
	}
	if got := pinned.Spec.EphemeralContainers[0].Image; got != fake.Pinned("busybox", "1") {
		t.Errorf("ephemeral image = %q", got)
	}
	if len(pins) != 2 || pins[1].Container != "ephemeral:debug" {
		t.Errorf("pins = %v", pins)
	}
	if len(r.LastPullSecrets()) != 1 {
		t.Errorf("pull secrets not passed to the resolver")
	}
}

func TestPinErrors(t *testing.T) {
	tmpl := template(nil, "app=r.example/app:1")
	r := fake.New(nil)
	r.Err = image.NewResolveError("r.example/app:1", image.ErrUnavailable, errors.New("connection refused"))
	if _, _, err := image.Pin(context.Background(), r, tmpl, nil, cutoverv1alpha1.ImagePolicy{}); !image.IsTransient(err) || !errors.Is(err, image.ErrUnavailable) {
		t.Errorf("unavailable registry: err = %v; want transient", err)
	}
	r = fake.New(nil)
	r.SetError("r.example/app:1", image.NewResolveError("r.example/app:1", image.ErrUnauthorized, nil))
	if _, _, err := image.Pin(context.Background(), r, tmpl, nil, cutoverv1alpha1.ImagePolicy{}); !errors.Is(err, image.ErrUnauthorized) || image.IsTransient(err) {
		t.Errorf("unauthorized: err = %v", err)
	}
	r = fake.New(map[string]string{"r.example/app:1": "r.example/app:2"})
	if _, _, err := image.Pin(context.Background(), r, tmpl, nil, cutoverv1alpha1.ImagePolicy{}); err == nil {
		t.Errorf("a resolver answer without a digest was accepted")
	}
	if _, _, err := image.Pin(context.Background(), r, nil, nil, cutoverv1alpha1.ImagePolicy{}); err == nil {
		t.Errorf("nil template accepted")
	}
}
