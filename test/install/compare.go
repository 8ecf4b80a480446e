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
	"fmt"
	"slices"
	"strings"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Key names an object: group, kind, namespace (empty for cluster-scoped ones) and name.
func Key(o *unstructured.Unstructured) string {
	return fmt.Sprintf("%s/%s %s/%s", o.GroupVersionKind().Group, o.GetKind(), o.GetNamespace(), o.GetName())
}

// Index maps objects by Key; a second object of the same key is an error.
func Index(objs []*unstructured.Unstructured) (map[string]*unstructured.Unstructured, error) {
	m := make(map[string]*unstructured.Unstructured, len(objs))
	for _, o := range objs {
		if _, dup := m[Key(o)]; dup {
			return nil, fmt.Errorf("%s is rendered twice", Key(o))
		}
		m[Key(o)] = o
	}
	return m, nil
}

// content is what is compared of an object: everything but its labels and annotations (which
// say who installed it: kustomize or Helm, the chart's version), its status and its creation
// timestamp. Labels and annotations inside the spec (the pod template's) are compared.
func content(o *unstructured.Unstructured) map[string]any {
	c := o.DeepCopy().Object
	unstructured.RemoveNestedField(c, "metadata", "labels")
	unstructured.RemoveNestedField(c, "metadata", "annotations")
	unstructured.RemoveNestedField(c, "metadata", "creationTimestamp")
	delete(c, "status")
	return c
}

// Diff compares two sets of objects by key and content, and describes every difference in
// words and, per object, as a cmp diff (-want +got); it returns "" when they are the same.
func Diff(wantName string, want []*unstructured.Unstructured, gotName string, got []*unstructured.Unstructured) (string, error) {
	w, err := Index(want)
	if err != nil {
		return "", fmt.Errorf("%s: %w", wantName, err)
	}
	g, err := Index(got)
	if err != nil {
		return "", fmt.Errorf("%s: %w", gotName, err)
	}
	var b strings.Builder
	for _, k := range sortedKeys(w) {
		if _, ok := g[k]; !ok {
			fmt.Fprintf(&b, "only in %s: %s\n", wantName, k)
		}
	}
	for _, k := range sortedKeys(g) {
		if _, ok := w[k]; !ok {
			fmt.Fprintf(&b, "only in %s: %s\n", gotName, k)
		}
	}
	for _, k := range sortedKeys(w) {
		if o, ok := g[k]; ok {
			if d := cmp.Diff(content(w[k]), content(o)); d != "" {
				fmt.Fprintf(&b, "%s differs (-%s +%s):\n%s\n", k, wantName, gotName, d)
			}
		}
	}
	return b.String(), nil
}

func sortedKeys(m map[string]*unstructured.Unstructured) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
