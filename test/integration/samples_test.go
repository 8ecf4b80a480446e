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

package integration

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"testing"

	"github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	cutoverv1alpha1 "github.com/cutover-dev/cutover/api/v1alpha1"
)

var samplesDir = filepath.Join(repoRoot, "config", "samples")

// sampleFiles lists the sample manifests: every *.yaml in config/samples but kustomization.yaml.
func sampleFiles(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(samplesDir, "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	files = slices.DeleteFunc(files, func(f string) bool { return filepath.Base(f) == "kustomization.yaml" })
	if len(files) == 0 {
		t.Fatalf("no samples in %s", samplesDir)
	}
	return files
}

var digestPinned = regexp.MustCompile(`^[^@\s]+@sha256:[0-9a-f]{64}$`)

// TestSamplesAccepted creates every sample, as written, on the real API server with strict
// field validation, so a misspelt or pruned field fails as well as a CEL rule.
func TestSamplesAccepted(t *testing.T) {
	ns := newNamespace(t)
	for _, file := range sampleFiles(t) {
		t.Run(filepath.Base(file), func(t *testing.T) {
			g := gomega.NewWithT(t)
			data, err := os.ReadFile(file)
			g.Expect(err).NotTo(gomega.HaveOccurred())

			// The sample must also decode strictly into the Go type the controller uses.
			var typed cutoverv1alpha1.Rollout
			g.Expect(yaml.UnmarshalStrict(data, &typed)).To(gomega.Succeed(), "decoding %s into v1alpha1.Rollout", file)
			g.Expect(typed.APIVersion).To(gomega.Equal(cutoverv1alpha1.GroupVersion.String()))
			g.Expect(typed.Kind).To(gomega.Equal("Rollout"))
			g.Expect(typed.Namespace).To(gomega.BeEmpty(), "samples are applied to the current namespace")
			for _, c := range append(typed.Spec.Template.Spec.InitContainers, typed.Spec.Template.Spec.Containers...) {
				g.Expect(c.Image).To(gomega.MatchRegexp(digestPinned.String()), "container %s: samples pin images by digest", c.Name)
			}

			u := &unstructured.Unstructured{}
			g.Expect(yaml.Unmarshal(data, &u.Object)).To(gomega.Succeed())
			u.SetNamespace(ns)
			g.Expect(k8sClient.Create(context.Background(), u, client.FieldValidation(metav1.FieldValidationStrict))).
				To(gomega.Succeed(), "creating %s", file)

			var got cutoverv1alpha1.Rollout
			g.Expect(k8sClient.Get(context.Background(), client.ObjectKeyFromObject(u), &got)).To(gomega.Succeed())
			g.Expect(got.Spec.Template.Labels).To(gomega.HaveKey("app"))
		})
	}
}

// TestDemoSample pins what `make demo` relies on in the first sample.
func TestDemoSample(t *testing.T) {
	g := gomega.NewWithT(t)
	data, err := os.ReadFile(filepath.Join(samplesDir, "cutover_v1alpha1_rollout.yaml"))
	g.Expect(err).NotTo(gomega.HaveOccurred())
	var r cutoverv1alpha1.Rollout
	g.Expect(yaml.UnmarshalStrict(data, &r)).To(gomega.Succeed())
	g.Expect(r.Spec.Replicas).To(gomega.HaveValue(gomega.BeEquivalentTo(4)))
	g.Expect(r.Spec.Selector.MatchLabels).To(gomega.HaveKey("app"))
	g.Expect(r.Spec.TrafficRouting).To(gomega.BeNil(), "the demo runs without a mesh")
	g.Expect(r.Spec.Strategy.Canary).NotTo(gomega.BeNil())
}

// TestSamplesKustomization checks that config/samples/kustomization.yaml lists every sample.
func TestSamplesKustomization(t *testing.T) {
	g := gomega.NewWithT(t)
	data, err := os.ReadFile(filepath.Join(samplesDir, "kustomization.yaml"))
	g.Expect(err).NotTo(gomega.HaveOccurred())
	var k struct {
		Resources []string `json:"resources"`
	}
	g.Expect(yaml.Unmarshal(data, &k)).To(gomega.Succeed())
	var want []string
	for _, f := range sampleFiles(t) {
		want = append(want, filepath.Base(f))
	}
	g.Expect(k.Resources).To(gomega.ConsistOf(want))
}
