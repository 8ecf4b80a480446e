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

package istio_test

import (
	"fmt"
	"os"
	"testing"

	"github.com/cutover-dev/cutover/test/utils"

	networkingv1 "istio.io/client-go/pkg/apis/networking/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// The tests of Plan need nothing. The tests of Router run on a kube-apiserver and etcd started by
// envtest with only the Istio CRDs (from the istio.io/api module pinned in go.mod); they are
// skipped when KUBEBUILDER_ASSETS is not set:
//
//	make control-plane && KUBEBUILDER_ASSETS=$PWD/bin/k8s go test ./internal/traffic/istio/

var (
	scheme = runtime.NewScheme()
	// k8sClient is a direct client on the test API server; nil when envtest is not running.
	k8sClient client.Client
	// skipReason says why the envtest tests are skipped.
	skipReason = "KUBEBUILDER_ASSETS is not set: the Router tests need a kube-apiserver and etcd " +
		"(run `make control-plane` and set KUBEBUILDER_ASSETS=$PWD/bin/k8s)"
)

func init() {
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(networkingv1.AddToScheme(scheme))
}

func TestMain(m *testing.M) {
	os.Exit(runSuite(m))
}

// runSuite starts envtest when KUBEBUILDER_ASSETS is set, runs the tests and stops it.
func runSuite(m *testing.M) int {
	assets := os.Getenv("KUBEBUILDER_ASSETS")
	if assets == "" {
		return m.Run()
	}
	crds, err := utils.IstioCRDFile(".")
	if err != nil {
		fmt.Fprintf(os.Stderr, "internal/traffic/istio: locating the Istio CRDs: %v\n", err)
		return 1
	}
	testEnv := &envtest.Environment{
		CRDDirectoryPaths:     []string{crds},
		ErrorIfCRDPathMissing: true,
		Scheme:                scheme,
		BinaryAssetsDirectory: assets,
	}
	cfg, err := testEnv.Start()
	if err != nil {
		fmt.Fprintf(os.Stderr, "internal/traffic/istio: starting envtest (KUBEBUILDER_ASSETS=%s): %v\n", assets, err)
		if cfg != nil {
			_ = testEnv.Stop()
		}
		return 1
	}
	defer func() {
		if err := testEnv.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "internal/traffic/istio: stopping envtest: %v\n", err)
		}
	}()
	if k8sClient, err = client.New(cfg, client.Options{Scheme: scheme}); err != nil {
		fmt.Fprintf(os.Stderr, "internal/traffic/istio: creating the client: %v\n", err)
		return 1
	}
	return m.Run()
}

// envClient returns the client of the test API server, or skips the test without one.
func envClient(t *testing.T) client.Client {
	t.Helper()
	if k8sClient == nil {
		t.Skip(skipReason)
	}
	return k8sClient
}
