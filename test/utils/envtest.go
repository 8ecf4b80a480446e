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

package utils

import (
	"fmt"
	"os"
	"testing"

	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// Envtest runs a package's tests on a kube-apiserver and etcd started by envtest, when
// KUBEBUILDER_ASSETS names the control-plane binaries; without it the tests run with no API
// server (and those that need one skip themselves).
type Envtest struct {
	// Suite names the package in messages.
	Suite string
	// Scheme is the scheme of the client.
	Scheme *runtime.Scheme
	// CRDs, when set, lists CRD files or directories to install; it runs only with an API
	// server.
	CRDs func() ([]string, error)
}

// Run starts the API server, points *c at it, runs the tests and stops the server. It returns
// the exit code for os.Exit.
func (e Envtest) Run(m *testing.M, c *client.Client) int {
	assets := os.Getenv("KUBEBUILDER_ASSETS")
	if assets == "" {
		fmt.Fprintf(os.Stderr, "%s: KUBEBUILDER_ASSETS is not set; the tests that need an API server are skipped\n", e.Suite)
		return m.Run()
	}
	env := &envtest.Environment{Scheme: e.Scheme, BinaryAssetsDirectory: assets}
	if e.CRDs != nil {
		crds, err := e.CRDs()
		if err != nil {
			fmt.Fprintf(os.Stderr, "%s: locating the CRDs: %v\n", e.Suite, err)
			return 1
		}
		env.CRDDirectoryPaths, env.ErrorIfCRDPathMissing = crds, true
	}
	cfg, err := env.Start()
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: starting envtest (KUBEBUILDER_ASSETS=%s): %v\n", e.Suite, assets, err)
		if cfg != nil {
			_ = env.Stop()
		}
		return 1
	}
	defer func() {
		if err := env.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "%s: stopping envtest: %v\n", e.Suite, err)
		}
	}()
	if *c, err = client.New(cfg, client.Options{Scheme: e.Scheme}); err != nil {
		fmt.Fprintf(os.Stderr, "%s: creating the client: %v\n", e.Suite, err)
		return 1
	}
	return m.Run()
}
