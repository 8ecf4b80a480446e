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

package service_test

import (
	"os"
	"testing"

	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/cutover-dev/cutover/test/utils"
)

// The tests of SelectorPatch need nothing. The tests of Switcher run on a kube-apiserver and
// etcd started by envtest (no CRDs); they are skipped when KUBEBUILDER_ASSETS is not set:
//
//	make control-plane && KUBEBUILDER_ASSETS=$PWD/bin/k8s go test ./internal/traffic/service/

var (
	scheme = runtime.NewScheme()
	// k8sClient is a direct client on the test API server; nil when envtest is not running.
	k8sClient client.Client
	// skipReason says why the envtest tests are skipped.
	skipReason = "KUBEBUILDER_ASSETS is not set: the Switcher tests need a kube-apiserver and etcd " +
		"(run `make control-plane` and set KUBEBUILDER_ASSETS=$PWD/bin/k8s)"
)

func init() {
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
}

func TestMain(m *testing.M) {
	os.Exit(utils.Envtest{Suite: "internal/traffic/service", Scheme: scheme}.Run(m, &k8sClient))
}

// envClient returns the client of the test API server, or skips the test without one.
func envClient(t *testing.T) client.Client {
	t.Helper()
	if k8sClient == nil {
		t.Skip(skipReason)
	}
	return k8sClient
}
