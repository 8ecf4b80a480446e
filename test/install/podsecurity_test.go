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

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/pod-security-admission/api"
	"k8s.io/pod-security-admission/policy"
)

// restrictedViolations evaluates a Deployment's pod template against the restricted Pod
// Security profile, as the API server's Pod Security admission would, and returns what fails.
func restrictedViolations(t *testing.T, d *appsv1.Deployment) []string {
	t.Helper()
	eval, err := policy.NewEvaluator(policy.DefaultChecks(), nil)
	if err != nil {
		t.Fatal(err)
	}
	lv := api.LevelVersion{Level: api.LevelRestricted, Version: api.LatestVersion()}
	var bad []string
	for _, r := range eval.EvaluatePod(lv, &d.Spec.Template.ObjectMeta, &d.Spec.Template.Spec) {
		if !r.Allowed {
			bad = append(bad, r.ForbiddenReason+": "+r.ForbiddenDetail)
		}
	}
	return bad
}

// TestManagerMeetsRestrictedPodSecurity checks the manager's Deployment, as both install forms
// render it, against the restricted profile with Pod Security admission's own policy checks;
// and that a Deployment made less strict fails the same check.
func TestManagerMeetsRestrictedPodSecurity(t *testing.T) {
	_, kdir, cdir := paths(t)
	forms := map[string]*appsv1.Deployment{
		"kustomize": deployment(t, renderKustomize(t, kdir)),
		"helm":      deployment(t, renderChart(t, cdir, Release{Name: "cutover", Namespace: "cutover-system"})),
	}
	for name, d := range forms {
		if bad := restrictedViolations(t, d); len(bad) > 0 {
			t.Errorf("%s: the manager's Deployment breaks the restricted profile:\n%s", name, strings.Join(bad, "\n"))
		}
	}
	loose := forms["kustomize"].DeepCopy()
	c := &loose.Spec.Template.Spec.Containers[0]
	c.SecurityContext.AllowPrivilegeEscalation = nil
	c.SecurityContext.Capabilities = nil
	if bad := restrictedViolations(t, loose); len(bad) < 2 {
		t.Errorf("a container that may escalate and keeps its capabilities passed the restricted check: %v", bad)
	}
}
