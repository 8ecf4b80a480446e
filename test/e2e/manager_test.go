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
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	cutoverv1alpha1 "github.com/cutover-dev/cutover/api/v1alpha1"
)

func init() {
	utilruntime.Must(cutoverv1alpha1.AddToScheme(scheme))
}

// managerProcess is the cutover binary, started as a user would start it.
type managerProcess struct {
	cmd *exec.Cmd
	log string
}

// startManager runs bin/cutover against the cluster as the install's identity (the
// ServiceAccount and RBAC config/default creates; see managerKubeconfig), watching namespace ns
// only, with its log in a file that is printed if the test fails. It is killed when the test
// ends. Extra args come after the defaults, so they override them.
func startManager(t *testing.T, ns string, args ...string) *managerProcess {
	t.Helper()
	return startManagerAs(t, managerKubeconfig(t), ns, args...)
}

// startManagerAs is startManager with the identity of the given kubeconfig.
func startManagerAs(t *testing.T, kubeconfig, ns string, args ...string) *managerProcess {
	t.Helper()
	bin := filepath.Join(os.Getenv("CUTOVER_BIN"), "cutover")
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("the manager binary %s is missing (run 'make build' or 'make test-e2e'): %v", bin, err)
	}
	logFile, err := os.CreateTemp("", "cutover-e2e-manager-*.log")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, append([]string{"--leader-elect=false", "--metrics-bind-address=0",
		"--health-probe-bind-address=0", "--watch-namespaces=" + ns, "--zap-log-level=debug"}, args...)...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", bin, err)
	}
	m := &managerProcess{cmd: cmd, log: logFile.Name()}
	t.Cleanup(func() {
		m.Kill()
		_ = logFile.Close()
		if t.Failed() {
			if b, err := os.ReadFile(m.log); err == nil {
				lines := strings.Split(string(b), "\n")
				t.Logf("----- manager log (last 80 lines) -----\n%s", strings.Join(lines[max(0, len(lines)-80):], "\n"))
			}
		}
		_ = os.Remove(m.log)
	})
	return m
}

// Kill stops the manager at once, with SIGKILL, as a crash would.
func (m *managerProcess) Kill() {
	if m.cmd.ProcessState != nil {
		return
	}
	_ = m.cmd.Process.Signal(syscall.SIGKILL)
	_ = m.cmd.Wait()
}

// e2eRollout is a canary Rollout without a mesh whose pods run on the kwok nodes.
func e2eRollout(ns, name, img string, steps ...cutoverv1alpha1.CanaryStep) *cutoverv1alpha1.Rollout {
	labels := map[string]string{"app": name}
	ro := &cutoverv1alpha1.Rollout{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: cutoverv1alpha1.RolloutSpec{
			Replicas: ptr.To[int32](4),
			Selector: &cutoverv1alpha1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: img}}},
			},
			Strategy: cutoverv1alpha1.RolloutStrategy{Canary: &cutoverv1alpha1.CanaryStrategy{Steps: steps}},
		},
	}
	onFakeNodes(&ro.Spec.Template.Spec)
	return ro
}

// standardSteps are 25% → pause 2s → 50% → pause{}.
func standardSteps() []cutoverv1alpha1.CanaryStep {
	return []cutoverv1alpha1.CanaryStep{
		{SetWeight: ptr.To[int32](25)},
		{Pause: &cutoverv1alpha1.PauseStep{Duration: &metav1.Duration{Duration: 2 * time.Second}}},
		{SetWeight: ptr.To[int32](50)},
		{Pause: &cutoverv1alpha1.PauseStep{}},
	}
}

// image returns a digest-pinned image reference made from seed.
func image(seed string) string {
	return "registry.example/app@sha256:" + strings.Repeat(seed, 64/len(seed))
}

// world reads what the tests assert on.
type world struct {
	g  gomega.Gomega
	ns string
}

func (w world) rollout(name string) *cutoverv1alpha1.Rollout {
	ro := &cutoverv1alpha1.Rollout{}
	w.g.Expect(k8sClient.Get(context.Background(), client.ObjectKey{Namespace: w.ns, Name: name}, ro)).To(gomega.Succeed())
	return ro
}

// replicaSets returns the live managed ReplicaSets of a Rollout by revision.
func (w world) replicaSets(name string) map[string]appsv1.ReplicaSet {
	list := &appsv1.ReplicaSetList{}
	w.g.Expect(k8sClient.List(context.Background(), list, client.InNamespace(w.ns),
		client.MatchingLabels{cutoverv1alpha1.LabelRollout: name})).To(gomega.Succeed())
	out := map[string]appsv1.ReplicaSet{}
	for _, rs := range list.Items {
		if rs.DeletionTimestamp.IsZero() {
			out[rs.Labels[cutoverv1alpha1.LabelRevision]] = rs
		}
	}
	return out
}

// sizes maps revision → spec.replicas.
func (w world) sizes(name string) map[string]int32 {
	out := map[string]int32{}
	for rev, rs := range w.replicaSets(name) {
		out[rev] = ptr.Deref(rs.Spec.Replicas, 1)
	}
	return out
}

// readyPods counts the Ready pods of a revision.
func (w world) readyPods(rev string) int {
	var pods corev1.PodList
	w.g.Expect(k8sClient.List(context.Background(), &pods, client.InNamespace(w.ns),
		client.MatchingLabels{cutoverv1alpha1.LabelRevision: rev})).To(gomega.Succeed())
	n := 0
	for i := range pods.Items {
		if pods.Items[i].DeletionTimestamp == nil && podReady(&pods.Items[i]) {
			n++
		}
	}
	return n
}

func (w world) patchRollout(name string, mutate func(*cutoverv1alpha1.Rollout)) {
	ro := w.rollout(name)
	orig := ro.DeepCopy()
	mutate(ro)
	w.g.Expect(k8sClient.Patch(context.Background(), ro, client.MergeFrom(orig))).To(gomega.Succeed())
}

func (w world) annotate(name, key, value string) {
	w.patchRollout(name, func(ro *cutoverv1alpha1.Rollout) {
		if ro.Annotations == nil {
			ro.Annotations = map[string]string{}
		}
		ro.Annotations[key] = value
	})
}

func (w world) setImage(name, img string) {
	w.patchRollout(name, func(ro *cutoverv1alpha1.Rollout) { ro.Spec.Template.Spec.Containers[0].Image = img })
}

// kubectl runs the project's kubectl against the cluster.
func kubectl(t *testing.T, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(os.Getenv("K8S_BIN"), "kubectl"),
		append([]string{"--kubeconfig", os.Getenv("CUTOVER_KUBECONFIG")}, args...)...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}
