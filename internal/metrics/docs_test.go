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

package metrics

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// registeredNames are the names of the Recorder's metric families.
func registeredNames(t *testing.T) map[string]bool {
	t.Helper()
	r, reg := newTestRecorder(t)
	st := paused(0, 0)
	r.Record(Round{Namespace: "ns", Name: "n", Before: st, After: st})
	r.revisionToReplicaSet.Observe(1)
	r.promoteToWeight.Observe(1)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, mf := range mfs {
		out[mf.GetName()] = true
	}
	return out
}

var metricName = regexp.MustCompile(`cutover_[a-z_]+[a-z]`)

// TestDocsAndDashboardNameTheMetrics: docs/metrics.md describes every metric, and the Grafana
// dashboard (valid JSON) and the docs name no metric that does not exist.
func TestDocsAndDashboardNameTheMetrics(t *testing.T) {
	names := registeredNames(t)
	if len(names) != len(New().Collectors()) {
		t.Fatalf("%d families gathered for %d collectors", len(names), len(New().Collectors()))
	}
	docs, err := os.ReadFile(filepath.Join("..", "..", "docs", "metrics.md"))
	if err != nil {
		t.Fatal(err)
	}
	for n := range names {
		if !strings.Contains(string(docs), "`"+n+"`") {
			t.Errorf("docs/metrics.md does not describe %s", n)
		}
	}
	dash, err := os.ReadFile(filepath.Join("..", "..", "config", "grafana", "cutover-dashboard.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !json.Valid(dash) {
		t.Fatal("config/grafana/cutover-dashboard.json is not JSON")
	}
	for file, text := range map[string]string{"docs/metrics.md": string(docs), "the dashboard": string(dash)} {
		for _, m := range metricName.FindAllString(text, -1) {
			base := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(m, "_bucket"), "_sum"), "_count")
			if !names[base] {
				t.Errorf("%s names %s, which is not a metric", file, m)
			}
		}
	}
}
