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

package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/crane"
	"github.com/google/go-containerregistry/pkg/registry"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"

	cutoverv1alpha1 "github.com/cutover-dev/cutover/api/v1alpha1"
)

// replicaSet is the ReplicaSet of revision rev of Rollout "podinfo", running image.
func replicaSet(rev, image string) *appsv1.ReplicaSet {
	return &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: "demo", Name: "podinfo-" + rev,
			Labels: map[string]string{cutoverv1alpha1.LabelRevision: rev},
		},
		Spec: appsv1.ReplicaSetSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
			Containers: []corev1.Container{{Name: "app", Image: image}},
		}}},
	}
}

// TestPushAndErrorRates pushes the releases to a real registry, checks that each tag resolves to
// the digest push reports, then asks for the error rate of a revision of each release.
func TestPushAndErrorRates(t *testing.T) {
	reg := httptest.NewServer(registry.New())
	defer reg.Close()
	repo := strings.TrimPrefix(reg.URL, "http://") + "/demo/podinfo"
	releases, err := push(repo)
	if err != nil {
		t.Fatalf("push: %v", err)
	}
	if len(releases) != len(versions) {
		t.Fatalf("push gave %d digests for %d releases", len(releases), len(versions))
	}
	objs := []runtime.Object{}
	want := map[string]version{}
	for digest, v := range releases {
		got, err := crane.Digest(repo+":"+v.Tag, crane.Insecure)
		if err != nil || got != digest.String() {
			t.Fatalf("%s resolves to %q, %v; push said %s", v.Tag, got, err, digest)
		}
		rev := "rev" + v.Tag
		objs = append(objs, replicaSet(rev, repo+"@"+digest.String()))
		want[rev] = v
	}
	objs = append(objs, replicaSet("unknown", repo+"@sha256:"+strings.Repeat("0", 64)))
	h := &errorRates{Client: fake.NewClientset(objs...), Releases: releases}

	for rev, v := range want {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/error-rate?namespace=demo&rollout=podinfo&revision="+rev, nil))
		var got errorRateReport
		if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &got) != nil {
			t.Fatalf("%s: status %d, body %q", rev, rec.Code, rec.Body)
		}
		if got.Version != v.Tag || got.ErrorRate != v.ErrorRate || got.Revision != rev {
			t.Errorf("%s: got %+v, want version %s with error rate %g", rev, got, v.Tag, v.ErrorRate)
		}
	}
	for _, query := range []string{"namespace=demo&rollout=podinfo&revision=unknown",
		"namespace=demo&rollout=podinfo&revision=absent", "namespace=demo&rollout=podinfo"} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/error-rate?"+query, nil))
		if rec.Code == http.StatusOK {
			t.Errorf("%s: status 200 (%s), want an error", query, rec.Body)
		}
	}
}
