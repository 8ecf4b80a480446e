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
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	cutoverv1alpha1 "github.com/cutover-dev/cutover/api/v1alpha1"
	"github.com/cutover-dev/cutover/internal/image"
)

// template returns a pod template with the given init containers and containers, each given as
// "name=image".
func template(inits []string, containers ...string) *corev1.PodTemplateSpec {
	tmpl := &corev1.PodTemplateSpec{}
	for _, c := range inits {
		n, img, _ := strings.Cut(c, "=")
		tmpl.Spec.InitContainers = append(tmpl.Spec.InitContainers, corev1.Container{Name: n, Image: img})
	}
	for _, c := range containers {
		n, img, _ := strings.Cut(c, "=")
		tmpl.Spec.Containers = append(tmpl.Spec.Containers, corev1.Container{Name: n, Image: img})
	}
	return tmpl
}

func TestCheckPolicy(t *testing.T) {
	digest := "r.example/app@sha256:" + hex64
	for _, tc := range []struct {
		name   string
		tmpl   *corev1.PodTemplateSpec
		policy cutoverv1alpha1.ImagePolicy
		want   []string // one substring per violation, in order; nil means no error
	}{
		{name: "empty policy allows tags", tmpl: template(nil, "app=nginx:1.27")},
		{name: "nil template", tmpl: nil},
		{
			name:   "requireDigest accepts digests",
			tmpl:   template([]string{"setup=" + digest}, "app="+digest, "side=r.example/side:1@sha256:"+hex64),
			policy: cutoverv1alpha1.ImagePolicy{RequireDigest: true},
		},
		{
			name:   "requireDigest names every tagged container",
			tmpl:   template([]string{"setup=busybox"}, "web="+digest, "app=x:1"),
			policy: cutoverv1alpha1.ImagePolicy{RequireDigest: true},
			want: []string{
				`spec.template.spec.initContainers[0] (setup): image "busybox" has no digest and spec.imagePolicy.requireDigest is true`,
				`spec.template.spec.containers[1] (app): image "x:1" has no digest and spec.imagePolicy.requireDigest is true`,
			},
		},
		{
			name:   "allowedRegistries is a prefix match on the image as written",
			tmpl:   template(nil, "app=r.example/app:1", "side=ghcr.io/acme/side:2", "bad=ghcr.io/other/x:1", "hub=nginx"),
			policy: cutoverv1alpha1.ImagePolicy{AllowedRegistries: []string{"r.example/", "ghcr.io/acme/"}},
			want: []string{
				`spec.template.spec.containers[2] (bad): image "ghcr.io/other/x:1" does not start with any of spec.imagePolicy.allowedRegistries`,
				`spec.template.spec.containers[3] (hub): image "nginx" does not start with`,
			},
		},
		{
			name:   "both rules report separately",
			tmpl:   template(nil, "app=docker.io/x:1"),
			policy: cutoverv1alpha1.ImagePolicy{RequireDigest: true, AllowedRegistries: []string{"r.example/"}},
			want:   []string{"(app): image \"docker.io/x:1\" does not start with", "(app): image \"docker.io/x:1\" has no digest"},
		},
		{
			name: "invalid references are violations",
			tmpl: template(nil, "app=", "web=Bad:Image"),
			want: []string{
				`spec.template.spec.containers[0] (app): image "" is not a valid image reference`,
				`spec.template.spec.containers[1] (web): image "Bad:Image" is not a valid image reference`,
			},
		},
		{
			name: "ephemeral containers are checked",
			tmpl: func() *corev1.PodTemplateSpec {
				t := template(nil, "app="+digest)
				t.Spec.EphemeralContainers = []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: "debug", Image: "busybox:1"}}}
				return t
			}(),
			policy: cutoverv1alpha1.ImagePolicy{RequireDigest: true},
			want:   []string{`spec.template.spec.ephemeralContainers[0] (debug): image "busybox:1" has no digest`},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := image.CheckPolicy(tc.tmpl, tc.policy)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("CheckPolicy() = %v; want nil", err)
				}
				return
			}
			var pe *image.PolicyError
			if !errors.As(err, &pe) {
				t.Fatalf("CheckPolicy() = %v; want *PolicyError", err)
			}
			if image.IsTransient(err) {
				t.Errorf("policy error is transient")
			}
			if len(pe.Violations) != len(tc.want) {
				t.Fatalf("violations = %q; want %d", pe.Error(), len(tc.want))
			}
			for i, w := range tc.want {
				if !strings.Contains(pe.Violations[i].String(), w) {
					t.Errorf("violation %d = %q; want it to contain %q", i, pe.Violations[i], w)
				}
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Error() = %q; want it to contain %q", err, w)
				}
			}
		})
	}
}
