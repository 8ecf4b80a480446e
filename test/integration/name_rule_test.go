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
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// TestNameRuleOnlyOnCreate: the 63-character name rule refuses new Rollouts only. A Rollout
// created before the rule existed (under an older CRD) can still be updated, so that its
// finalizer can be removed and it can be deleted. The test removes the rule from the installed
// CRD, creates such a Rollout, puts the rule back, and updates it.
func TestNameRuleOnlyOnCreate(t *testing.T) {
	g := gomega.NewWithT(t)
	ctx := context.Background()
	ns := newNamespace(t)

	crd := &unstructured.Unstructured{}
	crd.SetGroupVersionKind(schema.GroupVersionKind{Group: "apiextensions.k8s.io", Version: "v1", Kind: "CustomResourceDefinition"})
	g.Expect(k8sClient.Get(ctx, client.ObjectKey{Name: "rollouts.cutover.dev"}, crd)).To(gomega.Succeed())
	original := crd.DeepCopy()
	rules := rootRules(t, crd)
	kept := rules[:0:0]
	for _, r := range rules {
		if !strings.Contains(r.(map[string]any)["rule"].(string), "metadata.name.size()") {
			kept = append(kept, r)
		}
	}
	if len(kept) == len(rules) {
		t.Fatal("the CRD has no name rule at its root")
	}
	setRootRules(t, crd, kept)
	g.Expect(k8sClient.Update(ctx, crd)).To(gomega.Succeed())
	restore := func() {
		cur := &unstructured.Unstructured{}
		cur.SetGroupVersionKind(crd.GroupVersionKind())
		g.Expect(k8sClient.Get(ctx, client.ObjectKey{Name: "rollouts.cutover.dev"}, cur)).To(gomega.Succeed())
		setRootRules(t, cur, rootRules(t, original))
		g.Expect(k8sClient.Update(ctx, cur)).To(gomega.Succeed())
	}
	t.Cleanup(restore)

	long := validRollout(ns, strings.Repeat("l", 70))
	g.Eventually(func() error { return k8sClient.Create(ctx, long.DeepCopy()) }).
		WithTimeout(30 * time.Second).WithPolling(200 * time.Millisecond).Should(gomega.Succeed())

	restore()
	// The API server takes the restored CRD up a moment later; each attempt is a new name, so
	// that one accepted meanwhile does not turn the next into AlreadyExists.
	attempt := 0
	g.Eventually(func() error {
		attempt++
		probe := validRollout(ns, fmt.Sprintf("%s%d", strings.Repeat("p", 64), attempt))
		return k8sClient.Create(ctx, probe)
	}).
		WithTimeout(30*time.Second).WithPolling(200*time.Millisecond).
		Should(gomega.MatchError(gomega.ContainSubstring("metadata.name must be at most 63 characters")),
			"the name rule is back for new Rollouts")

	got := long.DeepCopy()
	g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(long), got)).To(gomega.Succeed())
	got.Annotations = map[string]string{"team": "checkout"}
	g.Expect(k8sClient.Update(ctx, got)).To(gomega.Succeed(), "an existing Rollout must stay updatable")
	g.Expect(k8sClient.Delete(ctx, got)).To(gomega.Succeed())
}

func rootRules(t *testing.T, crd *unstructured.Unstructured) []any {
	t.Helper()
	versions, _, _ := unstructured.NestedSlice(crd.Object, "spec", "versions")
	if len(versions) != 1 {
		t.Fatalf("want one version in the CRD, got %d", len(versions))
	}
	rules, _, err := unstructured.NestedSlice(versions[0].(map[string]any), "schema", "openAPIV3Schema", "x-kubernetes-validations")
	if err != nil {
		t.Fatal(err)
	}
	return rules
}

func setRootRules(t *testing.T, crd *unstructured.Unstructured, rules []any) {
	t.Helper()
	versions, _, _ := unstructured.NestedSlice(crd.Object, "spec", "versions")
	v := versions[0].(map[string]any)
	if err := unstructured.SetNestedSlice(v, rules, "schema", "openAPIV3Schema", "x-kubernetes-validations"); err != nil {
		t.Fatal(err)
	}
	versions[0] = v
	if err := unstructured.SetNestedSlice(crd.Object, versions, "spec", "versions"); err != nil {
		t.Fatal(err)
	}
}
