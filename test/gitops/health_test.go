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

package gitops

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
)

// repoRoot is the repository root relative to this package's directory.
const repoRoot = "../.."

// messages are the health messages the shipped script gives for each fixture: the controller's
// own words for the situation.
var messages = map[string]string{
	"fresh":                      "Waiting for the Cutover controller to observe the rollout",
	"healthy":                    "revision 823d60e7fa is stable: 4/4 pods available",
	"stale":                      "Waiting for the Cutover controller to observe generation 2 (status is of generation 1)",
	"progressing":                "step 1/4: 25% to 057e02e352, 0/1 pods available",
	"timed-pause":                "step 2/4: 25% to 057e02e352, pause of 1h0m0s until 2026-12-03T07:05:55Z",
	"paused":                     "step 4/4: 50% to 057e02e352, paused: waiting for a promote (annotate cutover.dev/promote=true)",
	"held":                       "held by spec.paused; set it to false to continue",
	"bluegreen-awaiting-promote": "preview of 057e02e352 is ready; waiting for a promote (autoPromote is false; annotate cutover.dev/promote=true)",
	"aborted":                    "revision 057e02e352 aborted (Aborted): all traffic on stable 823d60e7fa; annotate cutover.dev/retry=true to try again or change spec.template",
	"degraded":                   `spec.template.spec.containers[0] (app): image "registry.example/app:1.2" has no digest and spec.imagePolicy.requireDigest is true`,
}

func script(t *testing.T) string {
	t.Helper()
	s, err := ReadScript(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func fixture(t *testing.T, name string) map[string]any {
	t.Helper()
	obj, err := ReadObject(filepath.Join("testdata", name+".yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return obj
}

// TestArgoCDHealth runs the shipped health check on a Rollout in every situation, as the
// controller wrote it, and checks the health and the message Argo CD shows.
func TestArgoCDHealth(t *testing.T) {
	s := script(t)
	for name, want := range Situations {
		t.Run(name, func(t *testing.T) {
			got, err := ArgoCDHealth(s, fixture(t, name))
			if err != nil {
				t.Fatal(err)
			}
			if got != (Health{Status: want.Health, Message: messages[name]}) {
				t.Errorf("health %+v, want %s with message %q", got, want.Health, messages[name])
			}
		})
	}
}

// TestKstatus computes kstatus, which Flux's wait and healthChecks use, on the same fixtures.
func TestKstatus(t *testing.T) {
	for name, want := range Situations {
		t.Run(name, func(t *testing.T) {
			res, err := Kstatus(fixture(t, name))
			if err != nil {
				t.Fatal(err)
			}
			if res.Status != want.Kstatus {
				t.Errorf("kstatus %s (%s), want %s", res.Status, res.Message, want.Kstatus)
			}
		})
	}
}

// TestEveryFixtureIsChecked keeps testdata and Situations in step: a fixture nobody checks is
// no evidence.
func TestEveryFixtureIsChecked(t *testing.T) {
	entries, err := os.ReadDir("testdata")
	if err != nil {
		t.Fatal(err)
	}
	var files, want []string
	for _, e := range entries {
		files = append(files, strings.TrimSuffix(e.Name(), ".yaml"))
	}
	for name := range Situations {
		want = append(want, name)
		if _, ok := messages[name]; !ok {
			t.Errorf("no expected message for %s", name)
		}
	}
	want = append(want, "as-in-git")
	slices.Sort(files)
	slices.Sort(want)
	if !slices.Equal(files, want) {
		t.Errorf("testdata holds %v, the tests check %v", files, want)
	}
}

// TestWithoutStatus: a Rollout with no status at all (as written in Git, before the API server
// defaults it) is Progressing for Argo CD. kstatus cannot tell it from a finished object and
// says Current, which is why the CRD defaults status.observedGeneration to -1: the API server
// never returns a Rollout without it (see the fresh fixture).
func TestWithoutStatus(t *testing.T) {
	obj := fixture(t, "as-in-git")
	got, err := ArgoCDHealth(script(t), obj)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != Progressing || got.Message != messages["fresh"] {
		t.Errorf("health %+v, want Progressing with %q", got, messages["fresh"])
	}
	res, err := Kstatus(obj)
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != status.CurrentStatus {
		t.Errorf("kstatus %s, want Current (kstatus has nothing to go by)", res.Status)
	}
}

// TestStaleWithAnError: a reconcile that failed does not move status.observedGeneration, but
// it writes the error into Ready for the generation it read; the health says so.
func TestStaleWithAnError(t *testing.T) {
	obj := fixture(t, "stale")
	u := &unstructured.Unstructured{Object: obj}
	conds, _, _ := unstructured.NestedSlice(obj, "status", "conditions")
	for _, c := range conds {
		c := c.(map[string]any)
		if c["type"] == "Ready" {
			c["status"], c["reason"] = "False", "ProgressingWithRetry"
			c["message"], c["observedGeneration"] = "permission denied: cannot patch replicasets", u.GetGeneration()
		}
	}
	if err := unstructured.SetNestedSlice(obj, conds, "status", "conditions"); err != nil {
		t.Fatal(err)
	}
	got, err := ArgoCDHealth(script(t), obj)
	if err != nil {
		t.Fatal(err)
	}
	want := Health{Progressing, messages["stale"] + ": permission denied: cannot patch replicasets"}
	if got != want {
		t.Errorf("health %+v, want %+v", got, want)
	}
}

// TestHealthyNeedsReady: phase Healthy without Ready=True (a status no controller should
// write, or one edited by hand) is not reported Healthy.
func TestHealthyNeedsReady(t *testing.T) {
	obj := fixture(t, "healthy")
	if err := unstructured.SetNestedSlice(obj, nil, "status", "conditions"); err != nil {
		t.Fatal(err)
	}
	got, err := ArgoCDHealth(script(t), obj)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != Progressing || got.Message != messages["healthy"] {
		t.Errorf("health %+v, want Progressing with the status message", got)
	}
}
