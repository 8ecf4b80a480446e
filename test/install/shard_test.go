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
	"regexp"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
)

// checkShardApart checks that a shard's install runs its manager with --shard=<shard>, and that
// its Deployment, PodDisruptionBudget and metrics Service select its pods and not the default
// shard's, and the default shard's theirs and not the shard's.
func checkShardApart(t *testing.T, defaults, shard []*unstructured.Unstructured, name string) {
	t.Helper()
	pods := map[string]labels.Set{
		"default": deployment(t, defaults).Spec.Template.Labels,
		name:      deployment(t, shard).Spec.Template.Labels,
	}
	if !hasArg(deployment(t, shard).Spec.Template.Spec.Containers[0].Args, "--shard="+name) {
		t.Errorf("the shard's manager lacks --shard=%s: %v", name, deployment(t, shard).Spec.Template.Spec.Containers[0].Args)
	}
	for _, a := range deployment(t, defaults).Spec.Template.Spec.Containers[0].Args {
		if strings.HasPrefix(a, "--shard") {
			t.Errorf("the default shard's manager gets %s", a)
		}
	}
	for install, objs := range map[string][]*unstructured.Unstructured{"default": defaults, name: shard} {
		selectors := map[string]labels.Selector{}
		d := deployment(t, objs)
		selectors["Deployment"] = labels.SelectorFromSet(d.Spec.Selector.MatchLabels)
		for _, p := range ofKind[policyv1.PodDisruptionBudget](t, objs, "PodDisruptionBudget") {
			selectors["PodDisruptionBudget"] = labels.SelectorFromSet(p.Spec.Selector.MatchLabels)
		}
		for _, s := range ofKind[corev1.Service](t, objs, "Service") {
			selectors["Service "+s.Name] = labels.SelectorFromSet(s.Spec.Selector)
		}
		if len(selectors) != 3 {
			t.Errorf("install %s: want a Deployment, a PodDisruptionBudget and a metrics Service, got %v", install, selectors)
		}
		for what, sel := range selectors {
			for podsOf, set := range pods {
				if sel.Matches(set) != (podsOf == install) {
					t.Errorf("install %s: the %s's selector %s matches the pods of %s: %v", install, what, sel, podsOf, sel.Matches(set))
				}
			}
		}
	}
}

// TestChartShard: a release with shard set runs its manager with --shard, and its selectors and
// the default release's keep apart; an invalid shard name fails the install.
func TestChartShard(t *testing.T) {
	_, _, cdir := paths(t)
	defaults := renderChart(t, cdir, Release{Name: "cutover", Namespace: "cutover-system"})
	shard := renderChart(t, cdir, Release{Name: "cutover-a", Namespace: "cutover-system", Values: valueSets["shard"]})
	checkShardApart(t, defaults, shard, "a")
	if d := deployment(t, shard); d.Name != "cutover-a-controller-manager" || d.Spec.Template.Spec.ServiceAccountName != "cutover-a-controller-manager" {
		t.Errorf("shard release: Deployment %s as %s, want cutover-a-controller-manager for both", d.Name, d.Spec.Template.Spec.ServiceAccountName)
	}
	for _, bad := range []string{"A", "a_b", "-a"} {
		_, err := Chart(cdir, Release{Name: "cutover-x", Namespace: "cutover-system", Values: map[string]any{"shard": bad}})
		if err == nil || !strings.Contains(err.Error(), "lowercase DNS label") {
			t.Errorf("shard %q: %v, want the chart to refuse it as not a lowercase DNS label", bad, err)
		}
	}
}

// shardOverlayFile is a file of the kustomize overlay docs/scaling.md shows: a yaml block whose
// first line names it.
var shardOverlayFile = regexp.MustCompile("(?s)```yaml\n# (shard-a/[a-z-]+\\.yaml)\n(.*?)```")

// TestKustomizeShardOverlay: the overlay of docs/scaling.md, built beside a copy of config/,
// adds shard a's manager (as config/default's ServiceAccount, in its namespace, with HTTPS
// metrics) whose selectors and config/default's keep apart.
func TestKustomizeShardOverlay(t *testing.T) {
	root, kdir, _ := paths(t)
	doc, err := os.ReadFile(filepath.Join(root, "docs", "scaling.md"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.CopyFS(filepath.Join(dir, "config"), os.DirFS(filepath.Join(root, "config"))); err != nil {
		t.Fatal(err)
	}
	files := shardOverlayFile.FindAllStringSubmatch(string(doc), -1)
	if len(files) < 2 {
		t.Fatalf("docs/scaling.md shows %d files of the shard-a overlay, want its kustomization and metrics Service", len(files))
	}
	if err := os.Mkdir(filepath.Join(dir, "shard-a"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		writeFile(t, filepath.Join(dir, f[1]), f[2])
	}
	shard := renderKustomize(t, filepath.Join(dir, "shard-a"))
	checkShardApart(t, renderKustomize(t, kdir), shard, "a")
	for _, o := range shard {
		if o.GetNamespace() != "cutover-system" || o.GetKind() == "Namespace" {
			t.Errorf("%s: want only objects in cutover-system, and no Namespace", Key(o))
		}
	}
	d := deployment(t, shard)
	if d.Spec.Template.Spec.ServiceAccountName != "cutover-controller-manager" || !hasArg(d.Spec.Template.Spec.Containers[0].Args, "--metrics-bind-address=:8443") {
		t.Errorf("shard a's manager runs as %s with %v; want cutover-controller-manager, with --metrics-bind-address=:8443",
			d.Spec.Template.Spec.ServiceAccountName, d.Spec.Template.Spec.Containers[0].Args)
	}
}
