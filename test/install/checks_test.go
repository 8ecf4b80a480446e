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

package install

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/cel-go/cel"
	"github.com/google/go-cmp/cmp"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
)

// typed converts the only object of kind in objs (namespace-scoped ones in any namespace)
// into out, and fails the test when there is not exactly one.
func typed(t *testing.T, objs []*unstructured.Unstructured, kind string, out any) {
	t.Helper()
	var found []*unstructured.Unstructured
	for _, o := range objs {
		if o.GetKind() == kind {
			found = append(found, o)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d objects of kind %s, want 1", len(found), kind)
	}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(found[0].Object, out); err != nil {
		t.Fatalf("%s: %v", Key(found[0]), err)
	}
}

// ofKind converts every object of kind into a T.
func ofKind[T any](t *testing.T, objs []*unstructured.Unstructured, kind string) []T {
	t.Helper()
	var out []T
	for _, o := range objs {
		if o.GetKind() != kind {
			continue
		}
		var v T
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, &v); err != nil {
			t.Fatalf("%s: %v", Key(o), err)
		}
		out = append(out, v)
	}
	return out
}

func deployment(t *testing.T, objs []*unstructured.Unstructured) *appsv1.Deployment {
	t.Helper()
	d := &appsv1.Deployment{}
	typed(t, objs, "Deployment", d)
	return d
}

func hasArg(args []string, arg string) bool { return slices.Contains(args, arg) }

// checkInstall checks one rendered install on its own: the manager runs as the ServiceAccount
// ns/sa, with two replicas, leader election, HTTPS metrics on :8443 and probes on :8081, a
// restricted security context, requests and limits, spread over nodes; the PodDisruptionBudget
// and the metrics Service select its pods; every binding names a role of the install and the
// ServiceAccount; the manager's ClusterRole has the generated rules; the admission policy's
// binding names it, and its exemption lets exactly that ServiceAccount through.
func checkInstall(t *testing.T, objs []*unstructured.Unstructured, ns, sa string) {
	t.Helper()
	sas := ofKind[corev1.ServiceAccount](t, objs, "ServiceAccount")
	if len(sas) != 1 || sas[0].Namespace != ns || sas[0].Name != sa {
		t.Errorf("ServiceAccounts %v, want only %s/%s", names(sas, func(s corev1.ServiceAccount) string { return s.Namespace + "/" + s.Name }), ns, sa)
	}
	d := deployment(t, objs)
	checkDeployment(t, d, ns, sa)
	pods := labels.Set(d.Spec.Template.Labels)

	pdb := &policyv1.PodDisruptionBudget{}
	typed(t, objs, "PodDisruptionBudget", pdb)
	if pdb.Namespace != ns || pdb.Spec.MinAvailable == nil || pdb.Spec.MinAvailable.IntValue() != 1 {
		t.Errorf("PodDisruptionBudget %s/%s minAvailable %v, want 1 in %s", pdb.Namespace, pdb.Name, pdb.Spec.MinAvailable, ns)
	}
	if pdb.Spec.Selector == nil || !labels.SelectorFromSet(pdb.Spec.Selector.MatchLabels).Matches(pods) {
		t.Errorf("the PodDisruptionBudget's selector %v does not select the manager's pods %v", pdb.Spec.Selector, pods)
	}

	svc := &corev1.Service{}
	typed(t, objs, "Service", svc)
	if svc.Namespace != ns || len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].Port != 8443 || svc.Spec.Ports[0].TargetPort.IntValue() != 8443 {
		t.Errorf("metrics Service %s/%s ports %+v, want 8443 -> 8443 in %s", svc.Namespace, svc.Name, svc.Spec.Ports, ns)
	}
	if len(svc.Spec.Selector) == 0 || !labels.SelectorFromSet(svc.Spec.Selector).Matches(pods) {
		t.Errorf("the metrics Service's selector %v does not select the manager's pods %v", svc.Spec.Selector, pods)
	}

	checkBindings(t, objs, ns, sa)
	checkManagerRules(t, objs)
	checkAdmissionPolicy(t, objs, ns, sa)
}

func names[T any](items []T, name func(T) string) []string {
	out := make([]string, 0, len(items))
	for _, it := range items {
		out = append(out, name(it))
	}
	return out
}

func checkDeployment(t *testing.T, d *appsv1.Deployment, ns, sa string) {
	t.Helper()
	if d.Namespace != ns || d.Spec.Template.Spec.ServiceAccountName != sa {
		t.Errorf("Deployment %s/%s runs as %q, want %s in %s", d.Namespace, d.Name, d.Spec.Template.Spec.ServiceAccountName, sa, ns)
	}
	if d.Spec.Replicas == nil || *d.Spec.Replicas != 2 {
		t.Errorf("Deployment replicas %v, want 2", d.Spec.Replicas)
	}
	if len(d.Spec.Template.Spec.Containers) != 1 {
		t.Fatalf("%d containers, want 1", len(d.Spec.Template.Spec.Containers))
	}
	c := d.Spec.Template.Spec.Containers[0]
	for _, arg := range []string{"--leader-elect", "--metrics-bind-address=:8443", "--health-probe-bind-address=:8081", "--zap-log-level=info"} {
		if !hasArg(c.Args, arg) {
			t.Errorf("manager args %v lack %s", c.Args, arg)
		}
	}
	for name, p := range map[string]*corev1.Probe{"/healthz": c.LivenessProbe, "/readyz": c.ReadinessProbe} {
		if p == nil || p.HTTPGet == nil || p.HTTPGet.Path != name || p.HTTPGet.Port.IntValue() != 8081 {
			t.Errorf("probe %s: %+v, want an HTTP GET of %s on 8081", name, p, name)
		}
	}
	pod := d.Spec.Template.Spec.SecurityContext
	if pod == nil || pod.RunAsNonRoot == nil || !*pod.RunAsNonRoot || pod.SeccompProfile == nil ||
		pod.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("pod securityContext %+v: want runAsNonRoot and seccomp RuntimeDefault", pod)
	}
	sc := c.SecurityContext
	if sc == nil || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
		sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem ||
		sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) || len(sc.Capabilities.Add) > 0 {
		t.Errorf("container securityContext %+v: want no privilege escalation, read-only root, drop ALL", sc)
	}
	for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		req, lim := c.Resources.Requests[r], c.Resources.Limits[r]
		if req.IsZero() || lim.IsZero() || req.Cmp(lim) > 0 {
			t.Errorf("resources %+v: want a request and a limit (not below it) of %s", c.Resources, r)
		}
	}
	spread := d.Spec.Template.Spec.TopologySpreadConstraints
	if len(spread) != 1 || spread[0].TopologyKey != corev1.LabelHostname || spread[0].WhenUnsatisfiable != corev1.ScheduleAnyway ||
		spread[0].LabelSelector == nil || !labels.SelectorFromSet(spread[0].LabelSelector.MatchLabels).Matches(labels.Set(d.Spec.Template.Labels)) {
		t.Errorf("topologySpreadConstraints %+v: want the manager's pods spread over hostnames, ScheduleAnyway", spread)
	}
}

// checkBindings: every RoleBinding and ClusterRoleBinding names a role of the install (a Role
// in its own namespace) and binds the manager's ServiceAccount, and nothing else.
func checkBindings(t *testing.T, objs []*unstructured.Unstructured, ns, sa string) {
	t.Helper()
	roles := map[string]bool{}
	for _, r := range ofKind[rbacv1.Role](t, objs, "Role") {
		roles["Role "+r.Namespace+"/"+r.Name] = true
	}
	for _, r := range ofKind[rbacv1.ClusterRole](t, objs, "ClusterRole") {
		roles["ClusterRole /"+r.Name] = true
	}
	check := func(kind, bindingNS, name string, ref rbacv1.RoleRef, subjects []rbacv1.Subject) {
		refNS := ""
		if ref.Kind == "Role" {
			refNS = bindingNS
		}
		if !roles[ref.Kind+" "+refNS+"/"+ref.Name] {
			t.Errorf("%s %s/%s names %s %s, which the install does not have", kind, bindingNS, name, ref.Kind, ref.Name)
		}
		want := []rbacv1.Subject{{Kind: "ServiceAccount", Name: sa, Namespace: ns}}
		if d := cmp.Diff(want, subjects); d != "" {
			t.Errorf("%s %s/%s subjects (-want +got):\n%s", kind, bindingNS, name, d)
		}
	}
	bindings := 0
	for _, b := range ofKind[rbacv1.RoleBinding](t, objs, "RoleBinding") {
		check("RoleBinding", b.Namespace, b.Name, b.RoleRef, b.Subjects)
		bindings++
	}
	for _, b := range ofKind[rbacv1.ClusterRoleBinding](t, objs, "ClusterRoleBinding") {
		check("ClusterRoleBinding", "", b.Name, b.RoleRef, b.Subjects)
		bindings++
	}
	if bindings == 0 {
		t.Error("no RoleBinding or ClusterRoleBinding")
	}
}

// generatedRules are the rules of config/rbac/role.yaml, which controller-gen generates from the
// controllers' markers.
func generatedRules(t *testing.T) []rbacv1.PolicyRule {
	t.Helper()
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	objs, err := Kustomize(filepath.Join(root, "config", "rbac"))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range ofKind[rbacv1.ClusterRole](t, objs, "ClusterRole") {
		if r.Name == "manager-role" {
			return r.Rules
		}
	}
	t.Fatal("config/rbac has no ClusterRole manager-role")
	return nil
}

// checkManagerRules: the manager's ClusterRole (the one bound by a ClusterRoleBinding whose
// name ends in manager-rolebinding) has exactly the generated rules.
func checkManagerRules(t *testing.T, objs []*unstructured.Unstructured) {
	t.Helper()
	want := generatedRules(t)
	found := false
	for _, r := range ofKind[rbacv1.ClusterRole](t, objs, "ClusterRole") {
		if strings.HasSuffix(r.Name, "manager-role") {
			found = true
			if d := cmp.Diff(want, r.Rules); d != "" {
				t.Errorf("ClusterRole %s rules differ from config/rbac/role.yaml (-want +got):\n%s", r.Name, d)
			}
		}
	}
	if !found {
		t.Error("no manager ClusterRole (…manager-role)")
	}
}

// checkAdmissionPolicy: one policy and one binding that names it, denying; the policy's
// matchCondition, evaluated with CEL, exempts the manager's ServiceAccount ns/sa and no other
// user (a plain user, the same name in another namespace, the default install's identity).
func checkAdmissionPolicy(t *testing.T, objs []*unstructured.Unstructured, ns, sa string) {
	t.Helper()
	// The cross-namespace reference policy (config/admission-policy/cross-namespace-refs-policy.yaml)
	// is the other policy of the install; it exempts nobody, and test/integration tries it.
	objs = slices.DeleteFunc(slices.Clone(objs), func(o *unstructured.Unstructured) bool {
		return strings.HasSuffix(o.GetName(), "cross-namespace-refs")
	})
	policy := &admissionregistrationv1.ValidatingAdmissionPolicy{}
	typed(t, objs, "ValidatingAdmissionPolicy", policy)
	binding := &admissionregistrationv1.ValidatingAdmissionPolicyBinding{}
	typed(t, objs, "ValidatingAdmissionPolicyBinding", binding)
	if binding.Spec.PolicyName != policy.Name {
		t.Errorf("binding %s names policy %q, the policy is %q", binding.Name, binding.Spec.PolicyName, policy.Name)
	}
	if !slices.Equal(binding.Spec.ValidationActions, []admissionregistrationv1.ValidationAction{admissionregistrationv1.Deny}) {
		t.Errorf("binding validationActions %v, want [Deny]", binding.Spec.ValidationActions)
	}
	if len(policy.Spec.MatchConditions) != 1 {
		t.Fatalf("policy matchConditions %+v, want one", policy.Spec.MatchConditions)
	}
	env, err := cel.NewEnv(cel.Variable("request", cel.DynType))
	if err != nil {
		t.Fatal(err)
	}
	ast, iss := env.Compile(policy.Spec.MatchConditions[0].Expression)
	if iss.Err() != nil {
		t.Fatalf("matchCondition %q: %v", policy.Spec.MatchConditions[0].Expression, iss.Err())
	}
	prg, err := env.Program(ast)
	if err != nil {
		t.Fatal(err)
	}
	operator := "system:serviceaccount:" + ns + ":" + sa
	for user, wantMatch := range map[string]bool{
		operator:                                false,
		"jane":                                  true,
		"system:serviceaccount:elsewhere:" + sa: true,
		"system:serviceaccount:" + ns + ":default":                              true,
		"system:serviceaccount:cutover-system:cutover-controller-manager-other": true,
	} {
		out, _, err := prg.Eval(map[string]any{"request": map[string]any{"userInfo": map[string]any{"username": user}}})
		if err != nil {
			t.Fatalf("evaluating the matchCondition for %s: %v", user, err)
		}
		if out.Value() != wantMatch {
			t.Errorf("the policy applies to %s: %v, want %v (the operator is %s; expression %q)",
				user, out.Value(), wantMatch, operator, policy.Spec.MatchConditions[0].Expression)
		}
	}
}

// checkRestrictedNamespace: the install creates namespace ns with the restricted Pod Security
// labels (enforce, audit and warn).
func checkRestrictedNamespace(t *testing.T, objs []*unstructured.Unstructured, ns string) {
	t.Helper()
	n := &corev1.Namespace{}
	typed(t, objs, "Namespace", n)
	if n.Name != ns {
		t.Errorf("Namespace %s, want %s", n.Name, ns)
	}
	for _, mode := range []string{"enforce", "audit", "warn"} {
		if got := n.Labels["pod-security.kubernetes.io/"+mode]; got != "restricted" {
			t.Errorf("namespace %s label pod-security.kubernetes.io/%s = %q, want restricted", ns, mode, got)
		}
	}
}
