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
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// valueSets are the chart values the lint and render tests try besides the defaults.
var valueSets = map[string]map[string]any{
	"namespaced": {"watchNamespaces": []any{"team-a", "team-b"}},
	"digest": {"image": map[string]any{"repository": "registry.example/cutover",
		"digest": "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"}},
	"metrics cert": {"metrics": map[string]any{"certSecretName": "metrics-server-cert"}},
	"no metrics, no PDB, one replica": {"metrics": map[string]any{"enabled": false},
		"podDisruptionBudget": map[string]any{"enabled": false}, "replicas": 1},
	"debug logs, more memory": {"logLevel": "debug",
		"resources": map[string]any{"requests": map[string]any{"memory": "256Mi"}, "limits": map[string]any{"memory": "512Mi"}}},
	"shard": {"shard": "a"},
}

// TestChartLint: Helm's linter (helm lint --strict) finds nothing, with the default values and
// with each value set of valueSets.
func TestChartLint(t *testing.T) {
	_, _, cdir := paths(t)
	sets := map[string]map[string]any{"defaults": nil}
	for name, v := range valueSets {
		sets[name] = v
	}
	for name, values := range sets {
		t.Run(name, func(t *testing.T) {
			if findings := Lint(cdir, Release{Name: "cutover", Namespace: "cutover-system", Values: values}); len(findings) > 0 {
				t.Errorf("helm lint:\n%s", strings.Join(findings, "\n"))
			}
		})
	}
}

// TestChartWatchNamespaces: with watchNamespaces, the manager gets --watch-namespaces and its
// rules (the generated ones) through a Role and a RoleBinding in each watched namespace, and no
// ClusterRole or ClusterRoleBinding of its own; leader election and the metrics' TokenReview
// and SubjectAccessReview stay as they are.
func TestChartWatchNamespaces(t *testing.T) {
	_, _, cdir := paths(t)
	objs := renderChart(t, cdir, Release{Name: "cutover", Namespace: "cutover-system", Values: valueSets["namespaced"]})
	checkBindings(t, objs, "cutover-system", "cutover-controller-manager")

	d := deployment(t, objs)
	if !hasArg(d.Spec.Template.Spec.Containers[0].Args, "--watch-namespaces=team-a,team-b") {
		t.Errorf("args %v lack --watch-namespaces=team-a,team-b", d.Spec.Template.Spec.Containers[0].Args)
	}
	want := generatedRules(t)
	managerRoles := map[string]bool{}
	for _, r := range ofKind[rbacv1.Role](t, objs, "Role") {
		if r.Name != "cutover-manager-role" {
			continue
		}
		managerRoles[r.Namespace] = true
		if diff := cmp.Diff(want, r.Rules); diff != "" {
			t.Errorf("Role %s/%s rules differ from config/rbac/role.yaml (-want +got):\n%s", r.Namespace, r.Name, diff)
		}
	}
	if diff := cmp.Diff(map[string]bool{"team-a": true, "team-b": true}, managerRoles); diff != "" {
		t.Errorf("manager Roles by namespace (-want +got):\n%s", diff)
	}
	bound := map[string]bool{}
	for _, b := range ofKind[rbacv1.RoleBinding](t, objs, "RoleBinding") {
		if b.RoleRef.Name == "cutover-manager-role" {
			bound[b.Namespace] = true
		}
	}
	if diff := cmp.Diff(managerRoles, bound); diff != "" {
		t.Errorf("manager RoleBindings by namespace (-Roles +RoleBindings):\n%s", diff)
	}
	for _, r := range ofKind[rbacv1.ClusterRole](t, objs, "ClusterRole") {
		if r.Name == "cutover-manager-role" {
			t.Error("namespaced mode still renders the manager's ClusterRole")
		}
	}
	for _, b := range ofKind[rbacv1.ClusterRoleBinding](t, objs, "ClusterRoleBinding") {
		if b.RoleRef.Name == "cutover-manager-role" {
			t.Error("namespaced mode still binds the manager's ClusterRole")
		}
	}
}

// TestChartValues: the values that change the Deployment and what else is installed.
func TestChartValues(t *testing.T) {
	_, _, cdir := paths(t)
	t.Run("digest pins the image", func(t *testing.T) {
		c := deployment(t, renderChart(t, cdir, Release{Name: "cutover", Namespace: "x", Values: valueSets["digest"]})).Spec.Template.Spec.Containers[0]
		if want := "registry.example/cutover@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"; c.Image != want {
			t.Errorf("image %s, want %s", c.Image, want)
		}
	})
	t.Run("metrics and PDB off, one replica", func(t *testing.T) {
		objs := renderChart(t, cdir, Release{Name: "cutover", Namespace: "x", Values: valueSets["no metrics, no PDB, one replica"]})
		kinds := map[string]int{}
		for _, o := range objs {
			kinds[o.GetKind()]++
		}
		if kinds["Service"] != 0 || kinds["PodDisruptionBudget"] != 0 {
			t.Errorf("kinds %v: want no Service and no PodDisruptionBudget", kinds)
		}
		d := deployment(t, objs)
		if *d.Spec.Replicas != 1 {
			t.Errorf("replicas %d, want 1", *d.Spec.Replicas)
		}
		for _, a := range d.Spec.Template.Spec.Containers[0].Args {
			if strings.HasPrefix(a, "--metrics-") {
				t.Errorf("metrics off, yet the manager gets %s", a)
			}
		}
	})
	t.Run("log level and resources", func(t *testing.T) {
		c := deployment(t, renderChart(t, cdir, Release{Name: "cutover", Namespace: "x", Values: valueSets["debug logs, more memory"]})).Spec.Template.Spec.Containers[0]
		if !hasArg(c.Args, "--zap-log-level=debug") {
			t.Errorf("args %v lack --zap-log-level=debug", c.Args)
		}
		if got := c.Resources.Limits[corev1.ResourceMemory]; got.Cmp(resource.MustParse("512Mi")) != 0 {
			t.Errorf("memory limit %s, want 512Mi", got.String())
		}
	})
	t.Run("two replicas need leader election", func(t *testing.T) {
		_, err := Chart(cdir, Release{Name: "cutover", Namespace: "x", Values: map[string]any{"leaderElection": map[string]any{"enabled": false}}})
		if err == nil || !strings.Contains(err.Error(), "leaderElection") {
			t.Errorf("rendering 2 replicas without leader election: %v, want a failure naming leaderElection", err)
		}
	})
}
