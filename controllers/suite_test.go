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
	"os"
	"path/filepath"
	"testing"

	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"

	cutoverv1alpha1 "github.com/cutover-dev/cutover/api/v1alpha1"
	"github.com/cutover-dev/cutover/test/utils"
)

// Most tests of this package use fakes. The few that check a request's meaning on a real
// kube-apiserver and etcd (envtest, with the Rollout CRD) are skipped when KUBEBUILDER_ASSETS is
// not set; `make test-integration` sets it:
//
//	make control-plane && KUBEBUILDER_ASSETS=$PWD/bin/k8s go test ./controllers/

// apiClient is a direct client on the test API server; nil when envtest is not running.
var apiClient client.Client

func TestMain(m *testing.M) {
	crds := func() ([]string, error) { return []string{filepath.Join("..", "config", "crd", "bases")}, nil }
	os.Exit(utils.Envtest{Suite: "controllers", Scheme: testScheme(), CRDs: crds}.Run(m, &apiClient))
}

// envClient returns the client of the test API server, or skips the test without one.
func envClient(t *testing.T) client.Client {
	t.Helper()
	if apiClient == nil {
		t.Skip("KUBEBUILDER_ASSETS is not set: this test needs a kube-apiserver and etcd " +
			"(run `make control-plane` and set KUBEBUILDER_ASSETS=$PWD/bin/k8s)")
	}
	return apiClient
}

// testScheme knows the built-in kinds and Cutover's.
func testScheme() *runtime.Scheme {
	s := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(s))
	utilruntime.Must(cutoverv1alpha1.AddToScheme(s))
	return s
}
