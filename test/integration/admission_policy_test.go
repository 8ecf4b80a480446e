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

package integration

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"

	. "github.com/onsi/gomega"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	cutoverv1alpha1 "github.com/cutover-dev/cutover/api/v1alpha1"
)

// operatorUsername is the identity the shipped policy exempts: the operator's service account.
const operatorUsername = "system:serviceaccount:cutover-system:cutover-controller-manager"

// TestAdmissionPolicyDeniesTemplateEdits: the ValidatingAdmissionPolicy in config/admission-policy
// denies edits to the pod template of a ReplicaSet labelled cutover.dev/rollout by anyone but the
// operator, and leaves scaling, labels and other ReplicaSets alone. RBAC allows every edit tried
// here, so a denial is the policy's.
func TestAdmissionPolicyDeniesTemplateEdits(t *testing.T) {
	g := newTestGomega(t)
	ns := newNamespace(t)
	ctx := context.Background()
	installTemplatePolicy(t, g, ns)

	jane := userClient(t, envtest.User{Name: "jane"})
	operator := userClient(t, envtest.User{Name: operatorUsername, Groups: []string{"system:masters"}})
	role := &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "replicaset-editor"},
		Rules: []rbacv1.PolicyRule{{
			APIGroups: []string{"apps"}, Resources: []string{"replicasets"}, Verbs: []string{"get", "update", "patch"},
		}},
	}
	g.Expect(k8sClient.Create(ctx, role)).To(Succeed())
	g.Expect(k8sClient.Create(ctx, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "jane-replicaset-editor"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: role.Name},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: "jane"}},
	})).To(Succeed())

	managed := policyTestReplicaSet(ns, "x-0123456789", map[string]string{
		cutoverv1alpha1.LabelRollout: "x", cutoverv1alpha1.LabelRevision: "0123456789"})
	unmanaged := policyTestReplicaSet(ns, "plain", nil)
	g.Expect(k8sClient.Create(ctx, managed)).To(Succeed())
	g.Expect(k8sClient.Create(ctx, unmanaged)).To(Succeed())

	// The policy takes a moment to be loaded; until then an edit may go through. Each attempt
	// writes a new value, so that every attempt is a real template change.
	attempt := 0
	var denied string
	g.Eventually(func(g Gomega) {
		attempt++
		denied = fmt.Sprintf("jane-%d", attempt)
		err := setTemplateEnv(jane, ns, managed.Name, denied)
		g.Expect(err).To(HaveOccurred())
		g.Expect(apierrors.IsForbidden(err)).To(BeTrue(), "not Forbidden: %v", err)
		g.Expect(err.Error()).To(ContainSubstring("immutable"))
		g.Expect(err.Error()).To(ContainSubstring("Rollout x"))
	}).Should(Succeed())
	g.Expect(templateEnv(g, ns, managed.Name)).NotTo(Equal(denied))

	// Scaling and labelling a managed ReplicaSet stay allowed.
	g.Expect(patchReplicaSet(jane, ns, managed.Name, func(rs *appsv1.ReplicaSet) {
		rs.Spec.Replicas = ptr.To[int32](3)
	})).To(Succeed())
	g.Expect(patchReplicaSet(jane, ns, managed.Name, func(rs *appsv1.ReplicaSet) {
		rs.Labels["example.com/team"] = "shop"
	})).To(Succeed())
	cur := &appsv1.ReplicaSet{}
	g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: managed.Name}, cur)).To(Succeed())
	g.Expect(cur.Spec.Replicas).To(HaveValue(Equal(int32(3))))
	g.Expect(cur.Labels).To(HaveKeyWithValue("example.com/team", "shop"))

	// The operator may edit the template (it never does, but the policy does not stand in its way).
	g.Expect(setTemplateEnv(operator, ns, managed.Name, "operator")).To(Succeed())
	g.Expect(templateEnv(g, ns, managed.Name)).To(Equal("operator"))

	// A ReplicaSet that Cutover does not manage is none of the policy's business.
	g.Expect(setTemplateEnv(jane, ns, unmanaged.Name, "jane")).To(Succeed())
	g.Expect(templateEnv(g, ns, unmanaged.Name)).To(Equal("jane"))

	// And the policy is still in force for jane on the managed one.
	err := setTemplateEnv(jane, ns, managed.Name, "jane-again")
	g.Expect(apierrors.IsForbidden(err)).To(BeTrue(), "not Forbidden: %v", err)
	g.Expect(templateEnv(g, ns, managed.Name)).To(Equal("operator"))
}

// installTemplatePolicy creates the ValidatingAdmissionPolicy and its binding from
// config/admission-policy, with the binding limited to namespace ns so that no other test's
// ReplicaSets are affected, and deletes both when the test ends.
func installTemplatePolicy(t *testing.T, g *WithT, ns string) {
	t.Helper()
	installPolicyFile(t, g, "replicaset-template-policy.yaml", func(_ *admissionregistrationv1.ValidatingAdmissionPolicy,
		binding *admissionregistrationv1.ValidatingAdmissionPolicyBinding) {
		binding.Spec.MatchResources = &admissionregistrationv1.MatchResources{
			NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{corev1.LabelMetadataName: ns}},
		}
	})
}

// installPolicyFile reads one policy and its cluster-wide binding from a file of
// config/admission-policy, lets scope narrow (or rename) them so that no other test's objects
// are judged, creates both, and deletes them when the test ends.
func installPolicyFile(t *testing.T, g *WithT, file string,
	scope func(*admissionregistrationv1.ValidatingAdmissionPolicy, *admissionregistrationv1.ValidatingAdmissionPolicyBinding)) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot, "config", "admission-policy", file))
	g.Expect(err).NotTo(HaveOccurred())
	decoder := serializer.NewCodecFactory(scheme).UniversalDeserializer()
	var policy *admissionregistrationv1.ValidatingAdmissionPolicy
	var binding *admissionregistrationv1.ValidatingAdmissionPolicyBinding
	for _, doc := range splitYAML(g, data) {
		obj, _, err := decoder.Decode(doc, nil, nil)
		g.Expect(err).NotTo(HaveOccurred())
		switch o := obj.(type) {
		case *admissionregistrationv1.ValidatingAdmissionPolicy:
			policy = o
		case *admissionregistrationv1.ValidatingAdmissionPolicyBinding:
			binding = o
		default:
			t.Fatalf("unexpected object %T in the admission policy file", obj)
		}
	}
	g.Expect(policy).NotTo(BeNil(), "no ValidatingAdmissionPolicy in the file")
	g.Expect(binding).NotTo(BeNil(), "no ValidatingAdmissionPolicyBinding in the file")
	g.Expect(binding.Spec.PolicyName).To(Equal(policy.Name))
	g.Expect(binding.Spec.MatchResources).To(BeNil(), "the shipped binding is cluster-wide; the test scopes it")
	scope(policy, binding)
	ctx := context.Background()
	for _, o := range []client.Object{policy, binding} {
		g.Expect(k8sClient.Create(ctx, o)).To(Succeed())
		t.Cleanup(func() {
			if err := k8sClient.Delete(context.Background(), o); client.IgnoreNotFound(err) != nil {
				t.Errorf("deleting %s: %v", o.GetName(), err)
			}
		})
	}
}

// splitYAML returns the non-empty documents of a multi-document YAML file.
func splitYAML(g *WithT, data []byte) [][]byte {
	var docs [][]byte
	reader := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	for {
		doc, err := reader.Read()
		if errors.Is(err, io.EOF) {
			return docs
		}
		g.Expect(err).NotTo(HaveOccurred())
		if len(bytes.TrimSpace(doc)) > 0 {
			docs = append(docs, doc)
		}
	}
}

// userClient is a client of the test API server authenticated as user.
func userClient(t *testing.T, user envtest.User) client.Client {
	t.Helper()
	u, err := testEnv.AddUser(user, nil)
	if err != nil {
		t.Fatalf("adding user %s: %v", user.Name, err)
	}
	c, err := client.New(u.Config(), client.Options{Scheme: scheme})
	if err != nil {
		t.Fatalf("client for %s: %v", user.Name, err)
	}
	return c
}

// policyTestReplicaSet is a plain ReplicaSet with extra labels; nothing runs its pods.
func policyTestReplicaSet(ns, name string, extra map[string]string) *appsv1.ReplicaSet {
	sel := map[string]string{"app": name}
	labels := map[string]string{"app": name}
	for k, v := range extra {
		labels[k] = v
	}
	return &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: labels},
		Spec: appsv1.ReplicaSetSpec{
			Replicas: ptr.To[int32](2),
			Selector: &metav1.LabelSelector{MatchLabels: sel},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: sel},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: digestImage(1)}}},
			},
		},
	}
}

// patchReplicaSet reads a ReplicaSet as c's user and patches it with mutate, as kubectl would
// (strategic merge patch).
func patchReplicaSet(c client.Client, ns, name string, mutate func(*appsv1.ReplicaSet)) error {
	rs := &appsv1.ReplicaSet{}
	if err := c.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, rs); err != nil {
		return err
	}
	orig := rs.DeepCopy()
	mutate(rs)
	return c.Patch(context.Background(), rs, client.StrategicMergeFrom(orig))
}

// setTemplateEnv sets the env var EDIT of the template's first container to value, as c's user.
func setTemplateEnv(c client.Client, ns, name, value string) error {
	return patchReplicaSet(c, ns, name, func(rs *appsv1.ReplicaSet) {
		rs.Spec.Template.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "EDIT", Value: value}}
	})
}

// templateEnv reads the env var EDIT of a ReplicaSet's template ("" when unset).
func templateEnv(g Gomega, ns, name string) string {
	rs := &appsv1.ReplicaSet{}
	g.Expect(k8sClient.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, rs)).To(Succeed())
	for _, e := range rs.Spec.Template.Spec.Containers[0].Env {
		if e.Name == "EDIT" {
			return e.Value
		}
	}
	return ""
}
