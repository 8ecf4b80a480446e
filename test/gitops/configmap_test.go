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
	"testing"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

// TestConfigMapEmbedsTheScript: the argocd-cm snippet users apply carries exactly the script
// the other tests run.
func TestConfigMapEmbedsTheScript(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(repoRoot, ConfigMapFile))
	if err != nil {
		t.Fatal(err)
	}
	var cm corev1.ConfigMap
	if err := yaml.UnmarshalStrict(b, &cm); err != nil {
		t.Fatal(err)
	}
	if cm.Kind != "ConfigMap" || cm.Name != "argocd-cm" {
		t.Errorf("%s is a %s named %s, want the ConfigMap argocd-cm", ConfigMapFile, cm.Kind, cm.Name)
	}
	embedded, ok := cm.Data[ConfigMapKey]
	if !ok {
		t.Fatalf("%s has no key %s", ConfigMapFile, ConfigMapKey)
	}
	if embedded != script(t) {
		t.Errorf("%s embeds a script other than %s: regenerate it with\n"+
			"  sed 's/^\\(.\\)/    \\1/' %s  (appended under the key)", ConfigMapFile, ScriptFile, ScriptFile)
	}
}
