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
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/utils/ptr"

	cutoverv1alpha1 "github.com/cutover-dev/cutover/api/v1alpha1"
	"github.com/cutover-dev/cutover/internal/plugin"
)

// The tests of this file run kubectl-cutover's commands in process, with the standard kubectl
// flags (--kubeconfig, -n) pointing at the test API server, and check what each did to the
// real objects and what it printed.

// syncBuffer is a bytes.Buffer safe for a command writing while the test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// pluginRun is the outcome of one command.
type pluginRun struct {
	Stdout, Stderr string
	Code           int
	Err            error
}

// runPlugin runs `kubectl cutover ARGS...` as envtest's admin user until it returns or ctx ends.
func runPluginCtx(ctx context.Context, out *syncBuffer, args ...string) pluginRun {
	var stderr syncBuffer
	cmd := plugin.NewCommand(genericiooptions.IOStreams{In: strings.NewReader(""), Out: out, ErrOut: &stderr})
	cmd.SetArgs(append([]string{"--kubeconfig", kubeconfigPath}, args...))
	err := cmd.ExecuteContext(ctx)
	return pluginRun{Stdout: out.String(), Stderr: stderr.String(), Code: plugin.ExitCode(err), Err: err}
}

// runPlugin runs one command to its end, within a minute.
func runPlugin(args ...string) pluginRun {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	return runPluginCtx(ctx, &syncBuffer{}, args...)
}

// expectOK fails unless the command exited 0; it returns its standard output.
func expectOK(g Gomega, r pluginRun) string {
	g.ExpectWithOffset(1, r.Err).NotTo(HaveOccurred(), "stdout:\n%s\nstderr:\n%s", r.Stdout, r.Stderr)
	return r.Stdout
}

// startStatus runs `status NAME --timeout` in the background; the channel gets its outcome.
func startStatus(ns, name string, timeout time.Duration) <-chan pluginRun {
	done := make(chan pluginRun, 1)
	go func() { done <- runPlugin("-n", ns, "status", name, "--timeout", timeout.String()) }()
	return done
}

// TestPluginWritesTheContractsAnnotations runs each action command against a Rollout no
// controller watches, so the annotation it writes stays for the test to read: each writes
// exactly its annotation of the contract and nothing else.
func TestPluginWritesTheContractsAnnotations(t *testing.T) {
	ns := newNamespace(t)
	g := newWalkG(t)
	cases := []struct {
		args       []string
		key, value string
	}{
		{[]string{"promote", "web"}, cutoverv1alpha1.AnnotationPromote, "true"},
		{[]string{"promote", "web", "--full"}, cutoverv1alpha1.AnnotationPromote, "full"},
		{[]string{"abort", "web"}, cutoverv1alpha1.AnnotationAbort, "true"},
		{[]string{"retry", "web"}, cutoverv1alpha1.AnnotationRetry, "true"},
		{[]string{"approve", "web", "5c4b8f9d7e"}, cutoverv1alpha1.AnnotationPromote, "5c4b8f9d7e"},
	}
	for i, tc := range cases {
		name := "web"
		ro := canaryRollout(ns, name, digestImage(1), time.Minute)
		ro.Name = ro.Name + "-" + string(rune('a'+i))
		ro.Annotations = map[string]string{"team": "shop"}
		g.Expect(k8sClient.Create(context.Background(), ro)).To(Succeed())
		args := append([]string{"-n", ns}, tc.args...)
		args[3] = ro.Name
		out := expectOK(g, runPlugin(args...))
		g.Expect(out).To(ContainSubstring("rollout " + ns + "/" + ro.Name + " annotated " + tc.key + "=" + tc.value))
		after := getRollout(g, ns, ro.Name)
		g.Expect(after.Annotations).To(Equal(map[string]string{"team": "shop", tc.key: tc.value}), "%v", tc.args)
		g.Expect(after.Generation).To(Equal(int64(1)), "an annotation does not change the spec")
	}

	// Refusals write nothing and say why.
	ro := canaryRollout(ns, "web", digestImage(1), time.Minute)
	g.Expect(k8sClient.Create(context.Background(), ro)).To(Succeed())
	r := runPlugin("-n", ns, "approve", "web", "latest")
	g.Expect(r.Code).To(Equal(plugin.ExitError))
	g.Expect(r.Err).To(MatchError(ContainSubstring(`"latest" is not a revision hash`)))
	r = runPlugin("-n", ns, "promote", "nope")
	g.Expect(r.Code).To(Equal(plugin.ExitError))
	g.Expect(r.Err).To(MatchError(ContainSubstring("rollout " + ns + "/nope not found")))
	g.Expect(getRollout(g, ns, "web").Annotations).To(BeEmpty())
}

// TestPluginSetImage changes one container's image in spec.template and leaves the others; an
// unknown container is refused with its name and changes nothing.
func TestPluginSetImage(t *testing.T) {
	ns := newNamespace(t)
	g := newWalkG(t)
	ro := canaryRollout(ns, "web", digestImage(1), time.Minute)
	spec := &ro.Spec.Template.Spec
	spec.Containers = append(spec.Containers, corev1.Container{Name: "proxy", Image: "registry.example/proxy:1"})
	spec.InitContainers = []corev1.Container{{Name: "migrate", Image: "registry.example/migrate:1"}}
	g.Expect(k8sClient.Create(context.Background(), ro)).To(Succeed())

	out := expectOK(g, runPlugin("-n", ns, "set", "image", "web", "proxy="+digestImage(7), "init:migrate=registry.example/migrate:2"))
	g.Expect(out).To(ContainSubstring("container proxy image " + digestImage(7) + " (was registry.example/proxy:1)"))
	after := getRollout(g, ns, "web")
	g.Expect(after.Spec.Template.Spec.Containers[0].Image).To(Equal(digestImage(1)))
	g.Expect(after.Spec.Template.Spec.Containers[1].Image).To(Equal(digestImage(7)))
	g.Expect(after.Spec.Template.Spec.InitContainers[0].Image).To(Equal("registry.example/migrate:2"))
	g.Expect(after.Generation).To(Equal(int64(2)))

	r := runPlugin("-n", ns, "set", "image", "web", "web="+digestImage(8))
	g.Expect(r.Code).To(Equal(plugin.ExitError))
	g.Expect(r.Err).To(MatchError(ContainSubstring(`container "web" not found in spec.template: the template has "app", "proxy", "migrate" (init)`)))
	g.Expect(getRollout(g, ns, "web").Generation).To(Equal(int64(2)), "nothing was written")
}

// TestPluginDrivesACanary walks a canary with the plugin alone (set image, promote, abort,
// retry, promote --full) under a real manager, and checks get, get --watch, list, history
// and status against the objects at each stage.
func TestPluginDrivesACanary(t *testing.T) {
	ns := newNamespace(t)
	g := newWalkG(t)
	startManager(t, ns, nil)
	stable := createStable(g, manualCanaryRollout(ns, "web", digestImage(1)))
	g.Expect(expectOK(g, runPlugin("-n", ns, "status", "web", "--timeout", "10s"))).
		To(ContainSubstring("rollout " + ns + "/web is Healthy: revision " + stable))

	// get --watch follows the rollout from here on, in the piped form.
	watchCtx, stopWatch := context.WithCancel(context.Background())
	watchOut := &syncBuffer{}
	watched := make(chan pluginRun, 1)
	go func() { watched <- runPluginCtx(watchCtx, watchOut, "-n", ns, "get", "rollout", "web", "--watch") }()
	defer stopWatch()

	expectOK(g, runPlugin("-n", ns, "set", "image", "web", "app="+digestImage(2)))
	canary := walkToFirstPause(g, ns, "web", stable, digestImage(2))
	g.Eventually(func(g Gomega) cutoverv1alpha1.RolloutPhase { return getRollout(g, ns, "web").Status.Phase }).
		Should(Equal(cutoverv1alpha1.PhasePaused))

	tree := expectOK(g, runPlugin("-n", ns, "get", "rollout", "web"))
	g.Expect(tree).To(ContainSubstring("Rollout " + ns + "/web  Paused"))
	g.Expect(tree).To(ContainSubstring("Step:        2/4: pause (until promoted)"))
	g.Expect(tree).To(ContainSubstring("Traffic:     25% to " + canary + ", 75% to " + stable))
	g.Expect(tree).To(ContainSubstring("revision " + canary + "  current  weight 25"))
	g.Expect(tree).To(ContainSubstring("image app: " + digestImage(2)))
	g.Expect(tree).To(ContainSubstring("image app: " + digestImage(1)))
	g.Expect(tree).To(ContainSubstring("replicaset web-" + canary + "  desired 1, current 1, ready 1, available 1"))
	g.Expect(tree).To(ContainSubstring("replicaset web-" + stable + "  desired 3, current 3, ready 3, available 3"))

	list := expectOK(g, runPlugin("-n", ns, "list"))
	g.Expect(list).To(MatchRegexp(`(?m)^web\s+Paused\s+Canary\s+2/4\s+25\s+\d/4\s+` + stable + `\s+` + canary))
	all := expectOK(g, runPlugin("list", "-A"))
	g.Expect(all).To(MatchRegexp(`(?m)^` + ns + `\s+web\s+Paused`))

	// status while paused at pause{} only waits: the timeout passes.
	r := runPlugin("-n", ns, "status", "web", "--timeout", "1s")
	g.Expect(r.Code).To(Equal(plugin.ExitTimeout), "stdout:\n%s", r.Stdout)
	g.Expect(r.Err).To(MatchError(ContainSubstring("timed out after 1s: rollout " + ns + "/web is Paused")))

	// promote: on to 50% and the second pause{}.
	g.Expect(expectOK(g, runPlugin("-n", ns, "promote", "web"))).To(ContainSubstring("annotated cutover.dev/promote=true"))
	g.Eventually(func(g Gomega) {
		markAvailable(g, ns, "web")
		r := getRollout(g, ns, "web")
		g.Expect(stepOf(r)).To(Equal(int32(3)))
		g.Expect(r.Status.LastAction).To(HaveField("Type", "Promote"))
		g.Expect(sizes(g, ns, "web")).To(Equal(map[string]int32{stable: 2, canary: 2}))
	}).Should(Succeed())
	g.Eventually(watchOut.String).Should(ContainSubstring("Traffic:     50% to " + canary + ", 50% to " + stable))

	// abort: status exits 2 with the reason; history records it.
	abortStatus := startStatus(ns, "web", 30*time.Second)
	expectOK(g, runPlugin("-n", ns, "abort", "web"))
	g.Eventually(abortStatus).Should(Receive(SatisfyAll(
		HaveField("Code", plugin.ExitAborted),
		HaveField("Err", MatchError(ContainSubstring("rollout "+ns+"/web is Aborted (Aborted)"))))))
	history := expectOK(g, runPlugin("-n", ns, "history", "web"))
	g.Expect(history).To(MatchRegexp(canary + `  Aborted\n(.*\n)*  image app: ` + regexpQuote(digestImage(2))))
	g.Expect(history).To(ContainSubstring(stable + "  Promoted"))
	g.Expect(strings.Index(history, canary)).To(BeNumerically("<", strings.Index(history, stable)), "newest first")

	// retry, then promote --full; status waits from the watch and exits 0 once Healthy.
	expectOK(g, runPlugin("-n", ns, "retry", "web"))
	g.Eventually(func(g Gomega) string { return getRollout(g, ns, "web").Status.LastAction.Type }).Should(Equal("Retry"))
	healthy := startStatus(ns, "web", 30*time.Second)
	expectOK(g, runPlugin("-n", ns, "promote", "web", "--full"))
	finishCanary(g, ns, "web", canary)
	g.Eventually(healthy).Should(Receive(SatisfyAll(HaveField("Code", plugin.ExitOK),
		HaveField("Stdout", ContainSubstring("is Healthy: revision "+canary)))))
	g.Expect(expectOK(g, runPlugin("-n", ns, "history", "web"))).To(ContainSubstring(canary + "  Promoted"))

	// The watch drew one block per change, the last one the healthy rollout.
	g.Eventually(watchOut.String).Should(ContainSubstring("revision " + canary + "  current,stable  weight 100"))
	stopWatch()
	g.Eventually(watched).Should(Receive(HaveField("Err", BeNil())))
	blocks := strings.Split(watchOut.String(), "\n\nRollout ")
	t.Logf("get --watch drew %d blocks; the last:\nRollout %s", len(blocks), blocks[len(blocks)-1])
	g.Expect(len(blocks)).To(BeNumerically(">=", 4))
	g.Expect(watchOut.String()).NotTo(ContainSubstring("\x1b["), "a pipe gets no escape sequences")
}

// TestPluginStatusDegraded exits 3 when the first revision's pods never become available within
// spec.progressDeadlineSeconds.
func TestPluginStatusDegraded(t *testing.T) {
	ns := newNamespace(t)
	g := newWalkG(t)
	startManager(t, ns, nil)
	ro := canaryRollout(ns, "stuck", digestImage(1), time.Minute)
	ro.Spec.ProgressDeadlineSeconds = ptr.To[int32](1)
	g.Expect(k8sClient.Create(context.Background(), ro)).To(Succeed())
	r := runPlugin("-n", ns, "status", "stuck", "--timeout", "20s")
	g.Expect(r.Code).To(Equal(plugin.ExitDegraded), "stdout:\n%s\nerr: %v", r.Stdout, r.Err)
	g.Expect(r.Err).To(MatchError(ContainSubstring("rollout " + ns + "/stuck is Degraded (ProgressDeadlineExceeded)")))
	g.Expect(r.Stdout).To(ContainSubstring("is Progressing"), "status prints the states it waited through")
}

// regexpQuote escapes s for a regular expression.
func regexpQuote(s string) string {
	return strings.NewReplacer(".", `\.`, "/", `\/`, ":", `\:`, "@", `\@`).Replace(s)
}
