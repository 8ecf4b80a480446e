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

package controllers

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func managed(manager, subresource, fields string) metav1.ManagedFieldsEntry {
	return metav1.ManagedFieldsEntry{Manager: manager, Operation: metav1.ManagedFieldsOperationUpdate,
		Subresource: subresource, FieldsType: "FieldsV1", FieldsV1: metav1.NewFieldsV1(fields)}
}

const (
	templateFields = `{"f:metadata":{"f:labels":{".":{},"f:app":{}}},"f:spec":{"f:replicas":{},"f:template":{"f:spec":{"f:containers":{"k:{\"name\":\"app\"}":{"f:image":{}}}}}}}`
	replicasFields = `{"f:spec":{"f:replicas":{}}}`
	statusFields   = `{"f:status":{"f:replicas":{},"f:availableReplicas":{}}}`
	labelFields    = `{"f:metadata":{"f:labels":{"f:team":{}}}}`
)

// TestTrimForCacheKeepsWhatTheControllerReads checks that the cache transform removes
// managedFields and kubectl's last-applied annotation, and that on ReplicaSets it keeps exactly
// the fact drift detection reads: whether another manager owns a field of the pod template.
func TestTrimForCacheKeepsWhatTheControllerReads(t *testing.T) {
	cases := []struct {
		name   string
		fields []metav1.ManagedFieldsEntry
		edited bool
	}{
		{"only Cutover", []metav1.ManagedFieldsEntry{managed(FieldOwner, "", templateFields)}, false},
		{"status and scale by others", []metav1.ManagedFieldsEntry{
			managed(FieldOwner, "", templateFields),
			managed("kube-controller-manager", "status", statusFields),
			managed("kubectl-scale", "", replicasFields),
			managed("kubectl-label", "", labelFields),
		}, false},
		{"template edited", []metav1.ManagedFieldsEntry{
			managed(FieldOwner, "", templateFields),
			managed("kube-controller-manager", "status", statusFields),
			managed("kubectl-edit", "", templateFields),
		}, true},
		{"unreadable entry", []metav1.ManagedFieldsEntry{managed("odd", "", `not json`)}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rs := &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{
				Name:          "web-abc",
				ManagedFields: c.fields,
				Annotations:   map[string]string{lastAppliedAnnotation: `{"big":"json"}`, "keep": "me"},
			}}
			if got := templateEdited(rs); got != c.edited {
				t.Fatalf("before the transform: templateEdited = %v, want %v", got, c.edited)
			}
			out, err := TrimForCache(rs)
			if err != nil {
				t.Fatal(err)
			}
			got := out.(*appsv1.ReplicaSet)
			if e := templateEdited(got); e != c.edited {
				t.Errorf("after the transform: templateEdited = %v, want %v", e, c.edited)
			}
			want := 0
			if c.edited {
				want = 1
			}
			if len(got.ManagedFields) != want {
				t.Errorf("kept %d managedFields entries, want %d: %+v", len(got.ManagedFields), want, got.ManagedFields)
			}
			if _, ok := got.Annotations[lastAppliedAnnotation]; ok || got.Annotations["keep"] != "me" {
				t.Errorf("annotations after the transform: %v; want only %q kept", got.Annotations, "keep")
			}
		})
	}
}

// TestTrimForCacheDropsManagedFieldsOfOtherKinds checks the transform on a Service: no
// managedFields, no last-applied annotation, everything else untouched.
func TestTrimForCacheDropsManagedFieldsOfOtherKinds(t *testing.T) {
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Annotations: map[string]string{lastAppliedAnnotation: "{}"},
			ManagedFields: []metav1.ManagedFieldsEntry{managed("kubectl-edit", "", templateFields)}},
		Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "web"}},
	}
	out, err := TrimForCache(svc)
	if err != nil {
		t.Fatal(err)
	}
	got := out.(*corev1.Service)
	if got.ManagedFields != nil || len(got.Annotations) != 0 || got.Spec.Selector["app"] != "web" {
		t.Errorf("trimmed Service = %+v; want no managedFields, no annotations, the selector kept", got.ObjectMeta)
	}
	if out, err := TrimForCache("not an object"); err != nil || out != "not an object" {
		t.Errorf("a non-object must pass through unchanged, got %v, %v", out, err)
	}
}
