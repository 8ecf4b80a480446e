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
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/cutover-dev/cutover/test/install"
)

// installFieldManager is the field manager of the install test's server-side applies.
const installFieldManager = "cutover-e2e-install"

// TestInstallBothForms applies each install form to the cluster with server-side apply, one
// after the other, and removes it before the next (both carry a cluster-wide admission policy
// that denies the same edit, so each form must show on its own that its policy is active):
//
//   - config/default as kustomize renders it (dist/install.yaml), in cutover-system;
//   - the Helm chart rendered with its default values for a release "cutover-e2e" in a fresh
//     namespace labelled restricted, as docs/install.md tells: other names and another namespace
//     than the kustomize install, so the chart's names and its exempted identity are tried too.
//
// For each: every object applies with no error and no warning (so no Pod Security warning in
// a namespace that warns on "restricted"); the manager's two pods run (on kwok's fake nodes:
// the image need not exist) and the PodDisruptionBudget and the metrics Service select them;
// a plain user allowed by RBAC to update ReplicaSets is denied an edit of a managed
// ReplicaSet's pod template, but may scale it; the manager's ServiceAccount may edit it.
// The CRD is left in place (cluster-up installed it and the other tests use it), and so is any
// object that existed before the test.
func TestInstallBothForms(t *testing.T) {
	root, err := install.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	jane := janeClient(t)

	t.Run("kustomize config/default", func(t *testing.T) {
		objs, err := install.Kustomize(filepath.Join(root, "config", "default"))
		if err != nil {
			t.Fatal(err)
		}
		checkInstallOnCluster(t, jane, objs, "cutover-system", "cutover-controller-manager")
	})
	t.Run("helm charts/cutover", func(t *testing.T) {
		ns := newNamespace(t)
		g := NewWithT(t)
		patch := []byte(`{"metadata":{"labels":{` +
			`"pod-security.kubernetes.io/enforce":"restricted","pod-security.kubernetes.io/audit":"restricted",` +
			`"pod-security.kubernetes.io/warn":"restricted"}}}`)
		g.Expect(k8sClient.Patch(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}},
			client.RawPatch(types.MergePatchType, patch))).To(Succeed())
		objs, err := install.Chart(filepath.Join(root, "charts", "cutover"), install.Release{Name: "cutover-e2e", Namespace: ns})
		if err != nil {
			t.Fatal(err)
		}
		checkInstallOnCluster(t, jane, objs, ns, "cutover-e2e-controller-manager")
	})
}

// janeClient is a client of the plain user jane, whose kubeconfig hack/cluster-up.sh writes.
func janeClient(t *testing.T) client.Client {
	t.Helper()
	dir := os.Getenv("CUTOVER_CLUSTER_DIR")
	if dir == "" {
		dir = filepath.Dir(os.Getenv("CUTOVER_KUBECONFIG"))
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", filepath.Join(dir, "jane.kubeconfig"))
	if err != nil {
		t.Fatalf("jane's kubeconfig (hack/cluster-up.sh writes it): %v", err)
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// warnings collects the API server's warnings (rest.WarningHandler).
type warnings struct {
	mu   sync.Mutex
	list []string
}

func (w *warnings) HandleWarningHeader(_ int, _ string, text string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.list = append(w.list, text)
}

func (w *warnings) take() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := w.list
	w.list = nil
	return out
}

// checkInstallOnCluster applies objs (see TestInstallBothForms), checks them on the cluster and
// removes what it created.
func checkInstallOnCluster(t *testing.T, jane client.Client, objs []*unstructured.Unstructured, ns, sa string) {
	t.Helper()
	g := NewWithT(t)
	start := time.Now()
	applyInstall(t, g, objs)
	t.Logf("applied %d objects in %s", len(objs), time.Since(start).Round(time.Millisecond))

	ctx := context.Background()
	var deploy *appsv1.Deployment
	for _, o := range objs {
		if o.GetKind() == "Deployment" {
			deploy = &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: o.GetNamespace(), Name: o.GetName()}}
		}
	}
	g.Expect(deploy).NotTo(BeNil(), "no Deployment in the install")
	g.Expect(deploy.Namespace).To(Equal(ns))

	// The manager's two pods run (kwok plays the kubelet); the PodDisruptionBudget counts them
	// and allows one eviction; the metrics Service has both as endpoints.
	g.Eventually(func(g Gomega) {
		g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(deploy), deploy)).To(Succeed())
		g.Expect(deploy.Status.AvailableReplicas).To(Equal(int32(2)))
	}).WithTimeout(60*time.Second).WithPolling(200*time.Millisecond).Should(Succeed(), "the manager's pods did not become available")
	pdb := &policyv1.PodDisruptionBudget{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: deploy.Name}}
	g.Eventually(func(g Gomega) {
		g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(pdb), pdb)).To(Succeed())
		g.Expect(pdb.Status.CurrentHealthy).To(Equal(int32(2)))
		g.Expect(pdb.Status.DisruptionsAllowed).To(Equal(int32(1)))
	}).WithTimeout(60*time.Second).WithPolling(200*time.Millisecond).Should(Succeed(), "the PodDisruptionBudget does not count the manager's pods")
	g.Eventually(func(g Gomega) {
		var eps discoveryv1.EndpointSliceList
		g.Expect(k8sClient.List(ctx, &eps, client.InNamespace(ns),
			client.MatchingLabels{discoveryv1.LabelServiceName: deploy.Name + "-metrics-service"})).To(Succeed())
		n := 0
		for _, s := range eps.Items {
			for _, p := range s.Ports {
				g.Expect(p.Port).To(HaveValue(Equal(int32(8443))))
			}
			n += len(s.Endpoints)
		}
		g.Expect(n).To(Equal(2))
	}).WithTimeout(60*time.Second).WithPolling(200*time.Millisecond).Should(Succeed(), "the metrics Service does not select the manager's pods")

	policy := ""
	for _, o := range objs {
		if o.GetKind() == "ValidatingAdmissionPolicy" && strings.Contains(o.GetName(), "replicaset-template") {
			policy = o.GetName()
		}
	}
	g.Expect(policy).NotTo(BeEmpty(), "no ReplicaSet template policy in the install")
	checkPolicyOnCluster(t, g, jane, "system:serviceaccount:"+ns+":"+sa, policy)
}

// applyInstall applies objs with server-side apply (Namespaces, then CRDs, then the rest),
// failing on any error or warning, and registers the removal of every object it created,
// CRDs excepted.
func applyInstall(t *testing.T, g *WithT, objs []*unstructured.Unstructured) {
	t.Helper()
	ctx := context.Background()
	w := &warnings{}
	cfg := rest.CopyConfig(restConfig)
	cfg.WarningHandler = w
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	g.Expect(err).NotTo(HaveOccurred())

	rank := func(o *unstructured.Unstructured) int {
		switch o.GetKind() {
		case "Namespace":
			return 0
		case "CustomResourceDefinition":
			return 1
		default:
			return 2
		}
	}
	ordered := slices.Clone(objs)
	slices.SortStableFunc(ordered, func(a, b *unstructured.Unstructured) int { return rank(a) - rank(b) })

	var created []*unstructured.Unstructured
	t.Cleanup(func() { removeInstall(t, created) })
	for _, o := range ordered {
		existing := &unstructured.Unstructured{}
		existing.SetGroupVersionKind(o.GroupVersionKind())
		err := k8sClient.Get(ctx, client.ObjectKeyFromObject(o), existing)
		if err != nil && !apierrors.IsNotFound(err) {
			t.Fatalf("reading %s: %v", install.Key(o), err)
		}
		if apierrors.IsNotFound(err) && o.GetKind() != "CustomResourceDefinition" {
			created = append(created, o)
		}
		g.Expect(c.Apply(ctx, client.ApplyConfigurationFromUnstructured(o.DeepCopy()),
			client.FieldOwner(installFieldManager), client.ForceOwnership)).To(Succeed(), "applying %s", install.Key(o))
		g.Expect(w.take()).To(BeEmpty(), "warnings applying %s", install.Key(o))
	}
}

// removeInstall deletes the objects in reverse order and waits until they are gone, so that
// the next form, or the next test, starts from a cluster without them (a Namespace is gone
// only after its contents: about 10 s).
func removeInstall(t *testing.T, created []*unstructured.Unstructured) {
	t.Helper()
	ctx := context.Background()
	for _, o := range slices.Backward(created) {
		if err := k8sClient.Delete(ctx, o.DeepCopy(), client.PropagationPolicy(metav1.DeletePropagationBackground)); client.IgnoreNotFound(err) != nil {
			t.Errorf("deleting %s: %v", install.Key(o), err)
		}
	}
	g := NewWithT(t)
	g.Eventually(func() []string {
		var left []string
		for _, o := range created {
			cur := &unstructured.Unstructured{}
			cur.SetGroupVersionKind(o.GroupVersionKind())
			if err := k8sClient.Get(ctx, client.ObjectKeyFromObject(o), cur); !apierrors.IsNotFound(err) {
				left = append(left, install.Key(o))
			}
		}
		return left
	}).WithTimeout(90*time.Second).WithPolling(500*time.Millisecond).Should(BeEmpty(), "the install's objects were not removed")
}

// checkPolicyOnCluster: in a fresh namespace where jane may get, update and patch ReplicaSets,
// her edit of a managed ReplicaSet's pod template is denied by the installed policy named
// policy (it may take a moment to load), while she may still scale it and edit the template of
// a ReplicaSet Cutover does not manage; the operator's identity (impersonated) may edit the template.
func checkPolicyOnCluster(t *testing.T, g *WithT, jane client.Client, operator, policy string) {
	t.Helper()
	ctx := context.Background()
	ns := newNamespace(t)
	g.Expect(k8sClient.Create(ctx, &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "replicaset-editor"},
		Rules:      []rbacv1.PolicyRule{{APIGroups: []string{"apps"}, Resources: []string{"replicasets"}, Verbs: []string{"get", "update", "patch"}}},
	})).To(Succeed())
	g.Expect(k8sClient.Create(ctx, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "jane-replicaset-editor"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "replicaset-editor"},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: "jane"}},
	})).To(Succeed())
	managed := installTestReplicaSet(ns, "shop-0123456789", map[string]string{"cutover.dev/rollout": "shop"})
	plain := installTestReplicaSet(ns, "plain", nil)
	g.Expect(k8sClient.Create(ctx, managed)).To(Succeed())
	g.Expect(k8sClient.Create(ctx, plain)).To(Succeed())

	attempt := 0
	g.Eventually(func(g Gomega) {
		attempt++
		err := setEnv(ctx, jane, managed, fmt.Sprintf("jane-%d", attempt))
		g.Expect(apierrors.IsForbidden(err)).To(BeTrue(), "jane's template edit: %v, want Forbidden", err)
		g.Expect(err.Error()).To(ContainSubstring("immutable"))
		g.Expect(err.Error()).To(ContainSubstring("Rollout shop"))
		// This form's own policy, not one left loaded by a form removed just before.
		g.Expect(err.Error()).To(ContainSubstring("'" + policy + "'"))
	}).WithTimeout(30*time.Second).WithPolling(200*time.Millisecond).Should(Succeed(), "the admission policy is not active")
	t.Logf("the policy denied jane's edit after %d attempt(s)", attempt)

	scale := client.RawPatch(types.MergePatchType, []byte(`{"spec":{"replicas":1}}`))
	g.Expect(jane.Patch(ctx, managed.DeepCopy(), scale)).To(Succeed(), "jane may scale a managed ReplicaSet")
	g.Expect(setEnv(ctx, jane, plain, "jane")).To(Succeed(), "jane may edit a ReplicaSet Cutover does not manage")

	cfg := rest.CopyConfig(restConfig)
	parts := strings.Split(operator, ":")
	cfg.Impersonate = rest.ImpersonationConfig{UserName: operator,
		Groups: []string{"system:serviceaccounts", "system:serviceaccounts:" + parts[2], "system:authenticated"}}
	op, err := client.New(cfg, client.Options{Scheme: scheme})
	g.Expect(err).NotTo(HaveOccurred())
	// The policy of a form removed just before may still be loaded for a moment, and it exempts
	// another identity: the operator's edit succeeds once only this form's policy is in force.
	g.Eventually(func() error { return setEnv(ctx, op, managed, "operator") }).WithTimeout(30*time.Second).
		WithPolling(250*time.Millisecond).Should(Succeed(), "the manager's own identity %s may edit the template", operator)
}

// setEnv sets the env var EDIT of the first container of rs's template, with a strategic merge
// patch (what kubectl edit sends), as c's user.
func setEnv(ctx context.Context, c client.Client, rs *appsv1.ReplicaSet, value string) error {
	patch := fmt.Sprintf(`{"spec":{"template":{"spec":{"containers":[{"name":"app","env":[{"name":"EDIT","value":%q}]}]}}}}`, value)
	return c.Patch(ctx, rs.DeepCopy(), client.RawPatch(types.StrategicMergePatchType, []byte(patch)))
}

// installTestReplicaSet is a ReplicaSet with no replicas (nothing runs), with extra labels.
func installTestReplicaSet(ns, name string, extra map[string]string) *appsv1.ReplicaSet {
	sel := map[string]string{"app": name}
	labels := map[string]string{"app": name}
	for k, v := range extra {
		labels[k] = v
	}
	rs := &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: labels},
		Spec: appsv1.ReplicaSetSpec{
			Replicas: ptr.To[int32](0),
			Selector: &metav1.LabelSelector{MatchLabels: sel},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: sel},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app",
					Image: "registry.example/shop@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"}}},
			},
		},
	}
	onFakeNodes(&rs.Spec.Template.Spec)
	return rs
}
