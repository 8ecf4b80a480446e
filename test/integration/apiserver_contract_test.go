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
	"testing"

	. "github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	cutoverv1alpha1 "github.com/cutover-dev/cutover/api/v1alpha1"
)

// TestJSONPatchTestFailureIsInvalid pins down what the controller's guarded annotation removal
// relies on: the API server refuses a JSON patch whose test operation fails with 422 Invalid,
// and changes nothing.
func TestJSONPatchTestFailureIsInvalid(t *testing.T) {
	g := NewWithT(t)
	ns := newNamespace(t)
	ro := canaryRollout(ns, "web", digestImage(1), 0)
	ro.Annotations = map[string]string{cutoverv1alpha1.AnnotationPromote: cutoverv1alpha1.ValueFull}
	ro.Spec.Strategy.Canary.Steps = nil
	ctx := context.Background()
	g.Expect(k8sClient.Create(ctx, ro)).To(Succeed())
	patch := []byte(`[{"op":"test","path":"/metadata/annotations/cutover.dev~1promote","value":"true"},` +
		`{"op":"remove","path":"/metadata/annotations/cutover.dev~1promote"}]`)
	err := k8sClient.Patch(ctx, ro, client.RawPatch(types.JSONPatchType, patch))
	g.Expect(apierrors.IsInvalid(err)).To(BeTrue(), "got %v", err)
	g.Expect(getRollout(g, ns, "web").Annotations).To(HaveKeyWithValue(cutoverv1alpha1.AnnotationPromote, cutoverv1alpha1.ValueFull))
}
