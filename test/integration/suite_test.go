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

// Package integration holds the integration tests: they run against a real kube-apiserver and
// etcd started by envtest, with the Cutover CRD (config/crd/bases) and the Istio CRDs (from the
// istio.io/api module pinned in go.mod) installed. Run them with `make test-integration`, which
// builds the control-plane binaries and sets KUBEBUILDER_ASSETS.
//
// TestMain starts one API server for the whole package. Tests share it through the
// package-level cfg, scheme and k8sClient, and isolate themselves with newNamespace.
package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/cutover-dev/cutover/test/utils"

	networkingv1 "istio.io/client-go/pkg/apis/networking/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	cutoverv1alpha1 "github.com/cutover-dev/cutover/api/v1alpha1"
)

var (
	// cfg is the admin *rest.Config of the test API server; a manager started by a test uses it.
	cfg *rest.Config
	// scheme holds the client-go types, cutover.dev/v1alpha1 and networking.istio.io/v1.
	scheme = runtime.NewScheme()
	// k8sClient is a direct (uncached) client on the test API server with scheme.
	k8sClient client.Client
	// testEnv is the running envtest environment.
	testEnv *envtest.Environment
	// kubectlBin is the kubectl binary beside the API server in KUBEBUILDER_ASSETS, and
	// kubeconfigPath a kubeconfig file for envtest's admin user, for tests that drive kubectl.
	kubectlBin     string
	kubeconfigPath string
)

func init() {
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(cutoverv1alpha1.AddToScheme(scheme))
	utilruntime.Must(networkingv1.AddToScheme(scheme))
}

// repoRoot is the repository root relative to this package's directory, where go test runs.
const repoRoot = "../.."

func TestMain(m *testing.M) {
	os.Exit(runSuite(m))
}

// runSuite starts the control plane, runs the tests and stops it; it returns the exit code.
func runSuite(m *testing.M) int {
	assets := os.Getenv("KUBEBUILDER_ASSETS")
	if assets == "" {
		fmt.Fprintln(os.Stderr, "test/integration: KUBEBUILDER_ASSETS is not set. These tests need a real "+
			"kube-apiserver, etcd and kubectl: run `make test-integration` (it builds them and sets "+
			"KUBEBUILDER_ASSETS), or run `make control-plane` and set KUBEBUILDER_ASSETS=$PWD/bin/k8s.")
		return 1
	}

	istioCRDs, err := utils.IstioCRDFile(repoRoot)
	if err != nil {
		fmt.Fprintf(os.Stderr, "test/integration: locating the Istio CRDs: %v\n", err)
		return 1
	}

	testEnv = &envtest.Environment{
		CRDDirectoryPaths:     []string{filepath.Join(repoRoot, "config", "crd", "bases"), istioCRDs},
		ErrorIfCRDPathMissing: true,
		Scheme:                scheme,
		BinaryAssetsDirectory: assets,
	}
	cfg, err = testEnv.Start()
	if err != nil {
		fmt.Fprintf(os.Stderr, "test/integration: starting envtest (KUBEBUILDER_ASSETS=%s): %v\n", assets, err)
		if cfg != nil {
			_ = testEnv.Stop()
		}
		return 1
	}
	defer func() {
		if err := testEnv.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "test/integration: stopping envtest: %v\n", err)
		}
	}()

	k8sClient, err = client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		fmt.Fprintf(os.Stderr, "test/integration: creating the client: %v\n", err)
		return 1
	}

	tmp, err := os.MkdirTemp("", "cutover-integration-")
	if err != nil {
		fmt.Fprintf(os.Stderr, "test/integration: %v\n", err)
		return 1
	}
	defer func() { _ = os.RemoveAll(tmp) }()
	if kubeconfigPath, err = writeAdminKubeconfig(tmp); err != nil {
		fmt.Fprintf(os.Stderr, "test/integration: writing the kubeconfig: %v\n", err)
		return 1
	}
	kubectlBin = filepath.Join(assets, "kubectl")

	return m.Run()
}

// writeAdminKubeconfig writes a kubeconfig for a system:masters user of the test API server
// into dir and returns its path.
func writeAdminKubeconfig(dir string) (string, error) {
	user, err := testEnv.AddUser(envtest.User{Name: "admin", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		return "", err
	}
	data, err := user.KubeConfig()
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, "kubeconfig")
	return path, os.WriteFile(path, data, 0o600)
}
