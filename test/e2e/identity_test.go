//go:build e2e

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

package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/cutover-dev/cutover/test/install"
)

const (
	// installNamespace and installServiceAccount are where config/default runs the manager,
	// and as whom.
	installNamespace      = "cutover-system"
	installServiceAccount = "cutover-controller-manager"
	// identityFieldManager is the field manager of the RBAC objects these tests apply.
	identityFieldManager = "cutover-e2e-identity"
)

// installIdentity is the install's identity, set up once per test run.
var installIdentity struct {
	once       sync.Once
	kubeconfig string
	err        error
}

// managerKubeconfig returns a kubeconfig that authenticates as the ServiceAccount the install
// creates, with exactly the RBAC objects the install creates: config/default is rendered, and
// its ServiceAccount, ClusterRoles, ClusterRoleBindings, Roles and RoleBindings are applied
// (server-side, idempotently) before a token is requested for the ServiceAccount. The manager
// the tests start runs with it, so a verb missing from config/rbac fails them.
func managerKubeconfig(t *testing.T) string {
	t.Helper()
	installIdentity.once.Do(func() {
		ctx := context.Background()
		if err := applyInstallRBAC(ctx); err != nil {
			installIdentity.err = err
			return
		}
		installIdentity.kubeconfig, installIdentity.err = serviceAccountKubeconfig(ctx, installNamespace, installServiceAccount)
	})
	if installIdentity.err != nil {
		t.Fatalf("setting up the install's identity: %v", installIdentity.err)
	}
	return installIdentity.kubeconfig
}

// rbacKinds are the kinds of the install that make up the manager's identity.
var rbacKinds = map[string]bool{
	"ServiceAccount": true, "ClusterRole": true, "ClusterRoleBinding": true, "Role": true, "RoleBinding": true,
}

// applyInstallRBAC applies the identity part of config/default. The namespace is created bare
// if it is missing (the install's own Namespace object, with its Pod Security labels, is the
// install test's business).
func applyInstallRBAC(ctx context.Context) error {
	root, err := install.RepoRoot()
	if err != nil {
		return err
	}
	objs, err := install.Kustomize(filepath.Join(root, "config", "default"))
	if err != nil {
		return err
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: installNamespace}}
	if err := k8sClient.Create(ctx, ns); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating namespace %s: %w", installNamespace, err)
	}
	var applied []*unstructured.Unstructured
	for _, o := range objs {
		if rbacKinds[o.GetKind()] {
			applied = append(applied, o)
		}
	}
	if len(applied) == 0 {
		return fmt.Errorf("config/default renders no RBAC objects")
	}
	return applyObjects(ctx, applied)
}

// applyObjects applies objects with server-side apply, taking ownership of every field.
func applyObjects(ctx context.Context, objs []*unstructured.Unstructured) error {
	for _, o := range objs {
		if err := k8sClient.Apply(ctx, client.ApplyConfigurationFromUnstructured(o.DeepCopy()),
			client.FieldOwner(identityFieldManager), client.ForceOwnership); err != nil {
			return fmt.Errorf("applying %s %s/%s: %w", o.GetKind(), o.GetNamespace(), o.GetName(), err)
		}
	}
	return nil
}

// serviceAccountKubeconfig writes a kubeconfig for a token of the ServiceAccount ns/name from
// the TokenRequest API, next to the cluster's admin kubeconfig, and returns its path. The token
// lasts two hours: longer than any test run.
func serviceAccountKubeconfig(ctx context.Context, ns, name string) (string, error) {
	cs, err := kubernetes.NewForConfig(restConfig)
	if err != nil {
		return "", err
	}
	tr, err := cs.CoreV1().ServiceAccounts(ns).CreateToken(ctx, name, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](2 * 3600)},
	}, metav1.CreateOptions{})
	if err != nil {
		return "", fmt.Errorf("requesting a token for ServiceAccount %s/%s: %w", ns, name, err)
	}
	ca := restConfig.CAData
	if len(ca) == 0 && restConfig.CAFile != "" {
		if ca, err = os.ReadFile(restConfig.CAFile); err != nil {
			return "", err
		}
	}
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["e2e"] = &clientcmdapi.Cluster{Server: restConfig.Host, CertificateAuthorityData: ca}
	cfg.AuthInfos[name] = &clientcmdapi.AuthInfo{Token: tr.Status.Token}
	cfg.Contexts["e2e"] = &clientcmdapi.Context{Cluster: "e2e", AuthInfo: name, Namespace: ns}
	cfg.CurrentContext = "e2e"
	dir := os.Getenv("CUTOVER_CLUSTER_DIR")
	if dir == "" {
		dir = filepath.Dir(os.Getenv("CUTOVER_KUBECONFIG"))
	}
	path := filepath.Join(dir, fmt.Sprintf("e2e-%s-%s.kubeconfig", ns, name))
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		return "", err
	}
	return path, nil
}

// restConfigOf loads a kubeconfig that serviceAccountKubeconfig wrote.
func restConfigOf(t *testing.T, kubeconfig string) *rest.Config {
	t.Helper()
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		t.Fatalf("loading %s: %v", kubeconfig, err)
	}
	return cfg
}
