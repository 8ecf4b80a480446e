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
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	cutoverv1alpha1 "github.com/cutover-dev/cutover/api/v1alpha1"
	"github.com/cutover-dev/cutover/test/install"
)

// TestMissingVerbIsReported: a manager whose ClusterRole is the shipped one without create on
// replicasets cannot start a Rollout, and says so: Ready is False with a message naming the
// verb, the resource and the ServiceAccount; one Warning Event PermissionDenied, not one per
// retry; no status write per retry. Once the verb is granted back, the rollout goes on by
// itself.
func TestMissingVerbIsReported(t *testing.T) {
	g := NewWithT(t)
	g.SetDefaultEventuallyTimeout(e2eTimeout)
	g.SetDefaultEventuallyPollingInterval(200 * time.Millisecond)
	ctx := context.Background()
	ns := newNamespace(t)

	role := shippedManagerRole(t)
	role.Name = "cutover-e2e-" + ns
	for i, r := range role.Rules {
		if slices.Contains(r.APIGroups, "apps") && slices.Contains(r.Resources, "replicasets") {
			role.Rules[i].Verbs = slices.DeleteFunc(slices.Clone(r.Verbs), func(v string) bool { return v == "create" })
		}
	}
	g.Expect(k8sClient.Create(ctx, role)).To(Succeed())
	t.Cleanup(func() { _ = k8sClient.Delete(context.Background(), role) })
	user := bindServiceAccount(t, ns, "restricted-manager", rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role.Name})
	startManagerAs(t, user, ns)

	g.Expect(k8sClient.Create(ctx, e2eRollout(ns, "shop", image("a"), standardSteps()...))).To(Succeed())
	var rv string
	g.Eventually(func(g Gomega) {
		ro := world{g, ns}.rollout("shop")
		ready := condition(ro, cutoverv1alpha1.ReadyCondition)
		g.Expect(ready).NotTo(BeNil())
		g.Expect(ready.Status).To(Equal(metav1.ConditionFalse))
		g.Expect(ready.Message).To(ContainSubstring(`cannot create resource "replicasets" in API group "apps"`))
		g.Expect(ready.Message).To(ContainSubstring("system:serviceaccount:" + ns + ":restricted-manager"))
		g.Expect(ready.Message).To(ContainSubstring("RBAC section of docs/install.md"))
		rv = ro.ResourceVersion
	}).Should(Succeed())

	// The manager retries (its log shows it), but the status stays as written, no ReplicaSet
	// appears, and the Event is not repeated.
	g.Consistently(func(g Gomega) {
		g.Expect(world{g, ns}.rollout("shop").ResourceVersion).To(Equal(rv), "the status is rewritten on every retry")
		g.Expect(world{g, ns}.replicaSets("shop")).To(BeEmpty())
	}).WithTimeout(3 * time.Second).Should(Succeed())
	g.Expect(permissionEvents(g, ns)).To(ConsistOf(HaveField("Series", BeNil())),
		"one PermissionDenied Event, emitted once (a second emission would make it a series)")

	// Granting the verb is enough: the next check (every 15s) creates the ReplicaSet.
	g.Expect(k8sClient.Delete(ctx, role)).To(Succeed())
	granted := shippedManagerRole(t)
	granted.Name = role.Name
	g.Expect(k8sClient.Create(ctx, granted)).To(Succeed())
	g.Eventually(func(g Gomega) cutoverv1alpha1.RolloutPhase {
		return world{g, ns}.rollout("shop").Status.Phase
	}).WithTimeout(e2eTimeout).Should(Equal(cutoverv1alpha1.PhaseHealthy))
	g.Expect(permissionEvents(g, ns)).To(HaveLen(1))
}

// TestNamespacedMode: a manager whose only rights are config/rbac-namespaced built for
// namespace A (a Role and a RoleBinding there, nothing cluster-scoped), started with
// --watch-namespaces=A, completes a rollout in A. Its token is refused in namespace B and
// cluster-wide, and a Rollout in B is never touched: no status, no ReplicaSet.
func TestNamespacedMode(t *testing.T) {
	g := NewWithT(t)
	g.SetDefaultEventuallyTimeout(e2eTimeout)
	g.SetDefaultEventuallyPollingInterval(200 * time.Millisecond)
	ctx := context.Background()
	a, b, home := newNamespace(t), newNamespace(t), newNamespace(t)

	// The namespaced RBAC as an overlay naming namespace A builds it, bound to a ServiceAccount
	// of its own instead of the install's (which the other tests bind cluster-wide).
	objs := namespacedRBAC(t, a)
	g.Expect(k8sClient.Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: home, Name: "manager"}})).To(Succeed())
	for _, o := range objs {
		g.Expect(o.GetNamespace()).To(Equal(a), "%s %s is not in the watched namespace", o.GetKind(), o.GetName())
		if o.GetKind() == "RoleBinding" {
			subjects, _, _ := unstructured.NestedSlice(o.Object, "subjects")
			g.Expect(subjects).To(ConsistOf(HaveKeyWithValue("namespace", installNamespace)), "the subject must stay the install's")
			g.Expect(unstructured.SetNestedSlice(o.Object, []any{map[string]any{
				"kind": "ServiceAccount", "name": "manager", "namespace": home}}, "subjects")).To(Succeed())
		}
	}
	g.Expect(applyObjects(ctx, objs)).To(Succeed())
	kubeconfig, err := serviceAccountKubeconfig(ctx, home, "manager")
	g.Expect(err).NotTo(HaveOccurred())
	t.Cleanup(func() { _ = os.Remove(kubeconfig) })
	m := startManagerAs(t, kubeconfig, a)

	// A rollout in A: first revision, then a canary walked to the end.
	stable := givenHealthy(t, world{g, a}, e2eRollout(a, "shop", image("a"), cutoverv1alpha1.CanaryStep{SetWeight: ptr.To[int32](50)}))
	world{g, a}.setImage("shop", image("b"))
	g.Eventually(func(g Gomega) {
		ro := world{g, a}.rollout("shop")
		g.Expect(ro.Status.Phase).To(Equal(cutoverv1alpha1.PhaseHealthy), ro.Status.Message)
		g.Expect(ro.Status.StableRevision).NotTo(Equal(stable))
		g.Expect(ro.Status.ObservedGeneration).To(Equal(ro.Generation))
	}).Should(Succeed())

	// B: a Rollout there is never reconciled, and the token is refused there and cluster-wide.
	g.Expect(k8sClient.Create(ctx, e2eRollout(b, "shop", image("a")))).To(Succeed())
	own, err := client.New(restConfigOf(t, kubeconfig), client.Options{Scheme: scheme})
	g.Expect(err).NotTo(HaveOccurred())
	err = own.List(ctx, &cutoverv1alpha1.RolloutList{}, client.InNamespace(b))
	g.Expect(apierrors.IsForbidden(err)).To(BeTrue(), "listing Rollouts in B: %v", err)
	err = own.Create(ctx, e2eReplicaSet(b))
	g.Expect(apierrors.IsForbidden(err)).To(BeTrue(), "creating a ReplicaSet in B: %v", err)
	err = own.List(ctx, &cutoverv1alpha1.RolloutList{})
	g.Expect(apierrors.IsForbidden(err)).To(BeTrue(), "listing Rollouts cluster-wide: %v", err)
	g.Consistently(func(g Gomega) {
		ro := world{g, b}.rollout("shop")
		g.Expect(ro.Status.Conditions).To(BeEmpty())
		g.Expect(ro.Finalizers).To(BeEmpty())
		g.Expect(world{g, b}.replicaSets("shop")).To(BeEmpty())
	}).WithTimeout(3 * time.Second).Should(Succeed())

	// And the manager never needed more than it had: no request of it was refused.
	log, err := os.ReadFile(m.log)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(strings.ToLower(string(log))).NotTo(ContainSubstring("forbidden"))
}

// TestLeaderElectionAsInstallIdentity: the install's identity may hold the leader-election
// Lease in its own namespace with the leader-election Role alone (a Lease get, create and
// update, core Events), runs a rollout as leader, and releases the Lease on SIGTERM; no request
// of the manager is refused.
func TestLeaderElectionAsInstallIdentity(t *testing.T) {
	g := NewWithT(t)
	g.SetDefaultEventuallyTimeout(e2eTimeout)
	g.SetDefaultEventuallyPollingInterval(200 * time.Millisecond)
	ctx := context.Background()
	ns := newNamespace(t)
	lease := &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Namespace: installNamespace, Name: "cutover.cutover.dev"}}
	// A Lease left by an earlier run would make this manager wait for it to expire.
	g.Expect(client.IgnoreNotFound(k8sClient.Delete(ctx, lease))).To(Succeed())
	t.Cleanup(func() { _ = k8sClient.Delete(context.Background(), lease) })

	m := startManager(t, ns, "--leader-elect=true", "--leader-election-namespace="+installNamespace)
	g.Eventually(func(g Gomega) {
		g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(lease), lease)).To(Succeed())
		g.Expect(ptr.Deref(lease.Spec.HolderIdentity, "")).NotTo(BeEmpty())
	}).Should(Succeed())
	givenHealthy(t, world{g, ns}, e2eRollout(ns, "shop", image("a")))

	// SIGTERM releases the Lease (LeaderElectionReleaseOnCancel): an update.
	g.Expect(m.cmd.Process.Signal(syscall.SIGTERM)).To(Succeed())
	g.Eventually(func(g Gomega) string {
		g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(lease), lease)).To(Succeed())
		return ptr.Deref(lease.Spec.HolderIdentity, "")
	}).Should(BeEmpty())
	_ = m.cmd.Wait()
	log, err := os.ReadFile(m.log)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(strings.ToLower(string(log))).NotTo(ContainSubstring("forbidden"))
}

// shippedManagerRole is the ClusterRole config/rbac/role.yaml ships (generated from the
// controller's RBAC markers).
func shippedManagerRole(t *testing.T) *rbacv1.ClusterRole {
	t.Helper()
	root, err := install.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(root, "config", "rbac", "role.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	objs, err := install.Decode(data)
	if err != nil || len(objs) != 1 {
		t.Fatalf("config/rbac/role.yaml: %d objects, %v", len(objs), err)
	}
	role := &rbacv1.ClusterRole{}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(objs[0].Object, role); err != nil {
		t.Fatal(err)
	}
	return role
}

// bindServiceAccount creates the ServiceAccount ns/name, binds ref to it in ns, and returns a
// kubeconfig with its token.
func bindServiceAccount(t *testing.T, ns, name string, ref rbacv1.RoleRef) string {
	t.Helper()
	g := NewWithT(t)
	ctx := context.Background()
	g.Expect(k8sClient.Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}})).To(Succeed())
	g.Expect(k8sClient.Create(ctx, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		RoleRef:    ref,
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: ns, Name: name}},
	})).To(Succeed())
	kubeconfig, err := serviceAccountKubeconfig(ctx, ns, name)
	g.Expect(err).NotTo(HaveOccurred())
	t.Cleanup(func() { _ = os.Remove(kubeconfig) })
	return kubeconfig
}

// namespacedRBAC builds config/rbac-namespaced the way docs/install.md tells: from an overlay
// that only names the namespace.
func namespacedRBAC(t *testing.T, ns string) []*unstructured.Unstructured {
	t.Helper()
	root, err := install.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	rel, err := filepath.Rel(dir, filepath.Join(root, "config", "rbac-namespaced"))
	if err != nil {
		t.Fatal(err)
	}
	overlay := "namespace: " + ns + "\nresources:\n- " + filepath.ToSlash(rel) + "\n"
	if err := os.WriteFile(filepath.Join(dir, "kustomization.yaml"), []byte(overlay), 0o600); err != nil {
		t.Fatal(err)
	}
	objs, err := install.Kustomize(dir)
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

// e2eReplicaSet is a plain ReplicaSet of namespace ns.
func e2eReplicaSet(ns string) *appsv1.ReplicaSet {
	labels := map[string]string{"app": "probe"}
	return &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "probe"},
		Spec: appsv1.ReplicaSetSpec{
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: image("a")}}},
			},
		},
	}
}

// permissionEvents lists the PermissionDenied Events of namespace ns.
func permissionEvents(g Gomega, ns string) []eventsv1.Event {
	list := &eventsv1.EventList{}
	g.Expect(k8sClient.List(context.Background(), list, client.InNamespace(ns))).To(Succeed())
	return slices.DeleteFunc(list.Items, func(e eventsv1.Event) bool { return e.Reason != "PermissionDenied" })
}
