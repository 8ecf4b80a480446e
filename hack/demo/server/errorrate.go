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
	"fmt"
	"log"
	"net/http"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	cutoverv1alpha1 "github.com/cutover-dev/cutover/api/v1alpha1"
)

// errorRates answers GET /error-rate?namespace=NS&rollout=NAME&revision=HASH with the error rate
// of the pods of one revision, as a metrics backend would. kwok's pods serve nothing, so the
// rate is the one of the release their image is: the revision's ReplicaSet
// (<rollout>-<revision>, the contract's name) is read from the API server, and its image digest
// is looked up among the releases pushed to the registry. Each answer is logged.
type errorRates struct {
	// Client reads ReplicaSets.
	Client kubernetes.Interface
	// Releases are the pushed releases by digest.
	Releases map[v1.Hash]version
}

// errorRateReport is the JSON answer: the HTTP gate's result.json.
type errorRateReport struct {
	Revision  string  `json:"revision"`
	Image     string  `json:"image"`
	Version   string  `json:"version"`
	ErrorRate float64 `json:"errorRate"`
}

// ServeHTTP implements http.Handler.
func (e *errorRates) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	ns, rollout, revision := q.Get("namespace"), q.Get("rollout"), q.Get("revision")
	if ns == "" || rollout == "" || revision == "" {
		http.Error(w, "namespace, rollout and revision are required", http.StatusBadRequest)
		return
	}
	rsName := rollout + "-" + revision
	rs, err := e.Client.AppsV1().ReplicaSets(ns).Get(r.Context(), rsName, metav1.GetOptions{})
	if err != nil {
		http.Error(w, fmt.Sprintf("revision %s: %v", revision, err), http.StatusNotFound)
		return
	}
	if rs.Labels[cutoverv1alpha1.LabelRevision] != revision || len(rs.Spec.Template.Spec.Containers) == 0 {
		http.Error(w, fmt.Sprintf("ReplicaSet %s/%s is not revision %s", ns, rsName, revision), http.StatusNotFound)
		return
	}
	img := rs.Spec.Template.Spec.Containers[0].Image
	release, err := e.release(img)
	if err != nil {
		http.Error(w, err.Error(), http.StatusNotFound)
		return
	}
	log.Printf("error rate of %s/%s revision %s: %s %g (asked by %s)",
		ns, rollout, revision, release.Tag, release.ErrorRate, r.UserAgent())
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(errorRateReport{
		Revision: revision, Image: img, Version: release.Tag, ErrorRate: release.ErrorRate,
	})
}

// release is the pushed release that image (name@sha256:…) is.
func (e *errorRates) release(image string) (version, error) {
	ref, err := name.NewDigest(image, name.Insecure)
	if err != nil {
		return version{}, fmt.Errorf("image %q is not pinned to a digest: %w", image, err)
	}
	digest, err := v1.NewHash(ref.DigestStr())
	if err != nil {
		return version{}, err
	}
	release, ok := e.Releases[digest]
	if !ok {
		return version{}, fmt.Errorf("image %s is none of the pushed releases", image)
	}
	return release, nil
}
