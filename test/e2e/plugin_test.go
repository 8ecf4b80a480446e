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
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	. "github.com/onsi/gomega"

	cutoverv1alpha1 "github.com/cutover-dev/cutover/api/v1alpha1"
)

// pluginResult is what a run of the built kubectl-cutover binary printed and its exit code.
type pluginResult struct {
	Stdout, Stderr string
	Code           int
}

// plugin runs the built kubectl-cutover binary against the cluster as the admin, as a user
// would, and returns what it printed and its exit code.
func plugin(t *testing.T, args ...string) pluginResult {
	t.Helper()
	bin := filepath.Join(os.Getenv("CUTOVER_BIN"), "kubectl-cutover")
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("the plugin binary %s is missing (run 'make build' or 'make test-e2e'): %v", bin, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append([]string{"--kubeconfig", os.Getenv("CUTOVER_KUBECONFIG")}, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("running %s: %v", bin, err)
	}
	r := pluginResult{Stdout: stdout.String(), Stderr: stderr.String(), Code: cmd.ProcessState.ExitCode()}
	t.Logf("kubectl cutover %v: exit %d\n%s%s", args, r.Code, r.Stdout, r.Stderr)
	return r
}

// TestPluginPromoteAndAbortEndToEnd drives a canary on the local control plane with the built
// plugin alone: set image starts a revision, promote takes it from pause{} to Healthy (status
// exits 0), and abort sends the next one back to stable (status exits 2). kubectl finds the
// plugin on PATH as `kubectl cutover`.
func TestPluginPromoteAndAbortEndToEnd(t *testing.T) {
	g, ns, w, stable := givenShop(t)

	// set image → 25% → pause 2s → 50% → pause{}.
	g.Expect(plugin(t, "-n", ns, "set", "image", "shop", "app="+image("b2")).Code).To(Equal(0))
	var canary string
	g.Eventually(func(g Gomega) {
		w := world{g, ns}
		r := w.rollout("shop")
		g.Expect(r.Status.Phase).To(Equal(cutoverv1alpha1.PhasePaused), r.Status.Message)
		g.Expect(stepOf(r)).To(Equal(int32(3)))
		canary = canaryOf(g, w, "shop", stable)
		g.Expect(w.readyPods(canary)).To(Equal(2))
	}).Should(Succeed())
	tree := plugin(t, "-n", ns, "get", "rollout", "shop")
	g.Expect(tree.Code).To(Equal(0))
	g.Expect(tree.Stdout).To(ContainSubstring("Traffic:     50% to " + canary + ", 50% to " + stable))
	g.Expect(tree.Stdout).To(ContainSubstring("image app: " + image("b2")))

	promote := plugin(t, "-n", ns, "promote", "shop")
	g.Expect(promote.Code).To(Equal(0))
	g.Expect(promote.Stdout).To(ContainSubstring("rollout " + ns + "/shop annotated cutover.dev/promote=true"))
	healthy := plugin(t, "-n", ns, "status", "shop", "--timeout", "60s")
	g.Expect(healthy.Code).To(Equal(0), healthy.Stderr)
	g.Expect(healthy.Stdout).To(ContainSubstring("is Healthy: revision " + canary))
	g.Eventually(func(g Gomega) {
		w := world{g, ns}
		r := w.rollout("shop")
		g.Expect(r.Status.LastAction).To(HaveField("Type", "Promote"))
		g.Expect(r.Status.StableRevision).To(Equal(canary))
		g.Expect(w.readyPods(canary)).To(Equal(4))
	}).Should(Succeed())

	// A third revision, aborted at pause{}: all traffic back on the promoted one.
	g.Expect(plugin(t, "-n", ns, "set", "image", "shop", "app="+image("c3")).Code).To(Equal(0))
	g.Eventually(func(g Gomega) {
		r := world{g, ns}.rollout("shop")
		g.Expect(r.Status.Phase).To(Equal(cutoverv1alpha1.PhasePaused), r.Status.Message)
		g.Expect(r.Status.CurrentRevision).NotTo(Equal(canary))
	}).Should(Succeed())
	third := w.rollout("shop").Status.CurrentRevision
	abort := plugin(t, "-n", ns, "abort", "shop")
	g.Expect(abort.Code).To(Equal(0))
	g.Expect(abort.Stdout).To(ContainSubstring("rollout " + ns + "/shop annotated cutover.dev/abort=true"))
	aborted := plugin(t, "-n", ns, "status", "shop", "--timeout", "60s")
	g.Expect(aborted.Code).To(Equal(2), "status exits 2 on Aborted")
	g.Expect(aborted.Stderr).To(ContainSubstring("rollout " + ns + "/shop is Aborted (Aborted)"))
	g.Eventually(func(g Gomega) {
		w := world{g, ns}
		r := w.rollout("shop")
		g.Expect(r.Status.LastAction).To(HaveField("Type", "Abort"))
		g.Expect(r.Annotations).NotTo(HaveKey(cutoverv1alpha1.AnnotationAbort))
		g.Expect(w.sizes("shop")).To(Equal(map[string]int32{canary: 4}))
		g.Expect(w.readyPods(canary)).To(Equal(4))
	}).Should(Succeed())
	history := plugin(t, "-n", ns, "history", "shop")
	g.Expect(history.Stdout).To(ContainSubstring(third + "  Aborted"))

	// kubectl finds the plugin on PATH.
	path := os.Getenv("CUTOVER_BIN") + string(os.PathListSeparator) + os.Getenv("PATH")
	// kubectl takes no flag before a plugin's name: the kubeconfig comes from KUBECONFIG.
	cmd := exec.Command(filepath.Join(os.Getenv("K8S_BIN"), "kubectl"), "cutover", "-n", ns, "list")
	cmd.Env = append(os.Environ(), "PATH="+path, "KUBECONFIG="+os.Getenv("CUTOVER_KUBECONFIG"))
	out, err := cmd.CombinedOutput()
	g.Expect(err).NotTo(HaveOccurred(), string(out))
	g.Expect(string(out)).To(MatchRegexp(`(?m)^shop\s+Aborted\s+Canary`))
}

// stepOf is status.currentStepIndex, -1 when unset.
func stepOf(ro *cutoverv1alpha1.Rollout) int32 {
	if ro.Status.CurrentStepIndex == nil {
		return -1
	}
	return *ro.Status.CurrentStepIndex
}
