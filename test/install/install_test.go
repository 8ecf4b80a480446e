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

package install

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// paths of the two forms, from the repository root.
func paths(t *testing.T) (root, kustomizeDir, chartDir string) {
	t.Helper()
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	return root, filepath.Join(root, "config", "default"), filepath.Join(root, "charts", "cutover")
}

func renderKustomize(t *testing.T, dir string) []*unstructured.Unstructured {
	t.Helper()
	objs, err := Kustomize(dir)
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

func renderChart(t *testing.T, dir string, rel Release) []*unstructured.Unstructured {
	t.Helper()
	objs, err := Chart(dir, rel)
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

// withoutNamespaces drops the Namespace objects. config/default creates the manager's namespace
// (with the Pod Security labels); the chart does not, as Helm charts do not create their
// release namespace (`helm install --create-namespace` does, unlabelled; docs/install.md says
// how to label it).
func withoutNamespaces(objs []*unstructured.Unstructured) []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	for _, o := range objs {
		if o.GroupVersionKind().GroupKind().String() != "Namespace" {
			out = append(out, o)
		}
	}
	return out
}

// TestKustomizeAndHelmInstallTheSameObjects: config/default and the chart with its default values
// (release "cutover" in "cutover-system") render the same set of objects, by kind, namespace
// and name, with the same content: RBAC rules and bindings, the Deployment (args, probes,
// security context, resources, spread), the PodDisruptionBudget, the metrics Service, the
// admission policy's expressions and its binding, the CRD. Only labels and annotations of the
// objects themselves (who installed them) may differ, and the Namespace, which only kustomize
// creates.
func TestKustomizeAndHelmInstallTheSameObjects(t *testing.T) {
	_, kdir, cdir := paths(t)
	k := renderKustomize(t, kdir)
	h := renderChart(t, cdir, DefaultRelease)

	var namespaces int
	for _, o := range k {
		if o.GetKind() == "Namespace" {
			namespaces++
		}
	}
	if namespaces != 1 {
		t.Errorf("config/default renders %d Namespaces, want 1 (the manager's)", namespaces)
	}
	diff, err := Diff("config/default", withoutNamespaces(k), "charts/cutover", h)
	if err != nil {
		t.Fatal(err)
	}
	if diff != "" {
		t.Errorf("config/default and charts/cutover (default values) install different objects:\n%s", diff)
	}
}

// TestInstallsAreWhole checks the shape of each form on its own, since two equal forms could be
// equally wrong: see checkInstall.
func TestInstallsAreWhole(t *testing.T) {
	_, kdir, cdir := paths(t)
	t.Run("config/default", func(t *testing.T) {
		objs := renderKustomize(t, kdir)
		checkInstall(t, objs, "cutover-system", "cutover-controller-manager")
		checkRestrictedNamespace(t, objs, "cutover-system")
	})
	t.Run("chart default", func(t *testing.T) {
		checkInstall(t, renderChart(t, cdir, DefaultRelease), "cutover-system", "cutover-controller-manager")
	})
	t.Run("chart release acme in ops", func(t *testing.T) {
		checkInstall(t, renderChart(t, cdir, Release{Name: "acme", Namespace: "ops"}), "ops", "acme-cutover-controller-manager")
	})
}

// TestKustomizeNamePrefixAndNamespaceFollow: config/default with another namespace and name
// prefix (its kustomization edited, as its comments invite) still installs a whole, consistent
// set: the admission policy's binding names the renamed policy, and the policy exempts the
// renamed ServiceAccount in the new namespace (config/default's replacements), not the default
// one. The test edits a copy of config/.
func TestKustomizeNamePrefixAndNamespaceFollow(t *testing.T) {
	root, _, _ := paths(t)
	config := filepath.Join(t.TempDir(), "config")
	if err := os.CopyFS(config, os.DirFS(filepath.Join(root, "config"))); err != nil {
		t.Fatal(err)
	}
	kust := filepath.Join(config, "default", "kustomization.yaml")
	data, err := os.ReadFile(kust)
	if err != nil {
		t.Fatal(err)
	}
	edited := strings.Replace(strings.Replace(string(data),
		"\nnamespace: cutover-system\n", "\nnamespace: platform-ops\n", 1),
		"\nnamePrefix: cutover-\n", "\nnamePrefix: acme-\n", 1)
	if strings.Count(edited, "platform-ops")+strings.Count(edited, "acme-") != 2 {
		t.Fatalf("config/default/kustomization.yaml no longer has a line namespace: cutover-system and one namePrefix: cutover-")
	}
	writeFile(t, kust, edited)
	objs := renderKustomize(t, filepath.Join(config, "default"))
	checkInstall(t, objs, "platform-ops", "acme-controller-manager")
	checkRestrictedNamespace(t, objs, "platform-ops")
}

// TestMetricsCertificateFormsAgree: config/default with its metrics-certificate patch
// (cert_metrics_manager_patch.yaml) and the chart with metrics.certSecretName set to the same
// Secret render the same Deployment: the Secret mounted read-only and --metrics-cert-path
// pointing at it.
func TestMetricsCertificateFormsAgree(t *testing.T) {
	_, kdir, cdir := paths(t)
	overlay := t.TempDir()
	rel, err := filepath.Rel(overlay, kdir)
	if err != nil {
		t.Fatal(err)
	}
	patch, err := os.ReadFile(filepath.Join(kdir, "cert_metrics_manager_patch.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(overlay, "cert_metrics_manager_patch.yaml"), string(patch))
	writeFile(t, filepath.Join(overlay, "kustomization.yaml"), "resources:\n- "+rel+"\n"+
		"patches:\n- path: cert_metrics_manager_patch.yaml\n  target:\n    kind: Deployment\n")
	k := renderKustomize(t, overlay)
	h := renderChart(t, cdir, Release{Name: "cutover", Namespace: "cutover-system",
		Values: map[string]any{"metrics": map[string]any{"certSecretName": "metrics-server-cert"}}})
	diff, err := Diff("config/default+cert patch", withoutNamespaces(k), "charts/cutover with metrics.certSecretName", h)
	if err != nil {
		t.Fatal(err)
	}
	if diff != "" {
		t.Errorf("the metrics certificate is mounted differently:\n%s", diff)
	}
	d := deployment(t, k)
	if !hasArg(d.Spec.Template.Spec.Containers[0].Args, "--metrics-cert-path=/tmp/k8s-metrics-server/metrics-certs") {
		t.Errorf("the patch does not pass --metrics-cert-path: %v", d.Spec.Template.Spec.Containers[0].Args)
	}
}

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
}
