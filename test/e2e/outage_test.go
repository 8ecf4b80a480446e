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
	"testing"
	"time"

	. "github.com/onsi/gomega" //nolint:revive // Gomega's DSL reads best unqualified.
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	cutoverv1alpha1 "github.com/cutover-dev/cutover/api/v1alpha1"
	"github.com/cutover-dev/cutover/test/utils"
)

// outage is how long kube-apiserver, then etcd, stay away in TestAPIServerAndEtcdOutage.
const outage = 20 * time.Second

// recovery bounds how long the rollout takes to go on after an outage: client-go's reflectors
// (the manager's informers, kube-controller-manager's, kwok's) retry with a backoff that grows
// to 30 s, with as much jitter again.
const recovery = 3 * time.Minute

// shopRoute is the route and subsets of createIstioObjects.
var shopRoute = utils.IstioRoute{Route: "primary", Stable: "stable", Canary: "canary"}

// component stops, kills or starts one component of the local control plane, with the
// arguments hack/cluster-up.sh started it with (hack/cluster-component.sh).
func component(t *testing.T, action, name string) {
	t.Helper()
	dir := os.Getenv("CUTOVER_CLUSTER_DIR")
	if dir == "" {
		dir = filepath.Dir(os.Getenv("CUTOVER_KUBECONFIG"))
	}
	cmd := exec.Command(filepath.Join("..", "..", "hack", "cluster-component.sh"), action, name)
	cmd.Env = append(os.Environ(), "CLUSTER_DIR="+dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v\n%s", action, name, err, out)
	}
}

// takeAway stops a component of the control plane, keeps it away for d, starts it again, and
// waits until the API server answers /readyz. It makes sure the component is started again
// even if the test fails in between.
func takeAway(t *testing.T, g Gomega, name string, d time.Duration) {
	t.Helper()
	component(t, "stop", name)
	started := false
	t.Cleanup(func() {
		if !started {
			component(t, "start", name)
		}
	})
	t.Logf("%s: %s stopped for %s", time.Now().Format("15:04:05.000"), name, d)
	<-time.After(d) // the outage itself, not a wait for a result
	component(t, "start", name)
	started = true
	cs, err := kubernetes.NewForConfig(restConfig)
	g.Expect(err).NotTo(HaveOccurred())
	g.Eventually(func() error {
		return cs.Discovery().RESTClient().Get().AbsPath("/readyz").Do(context.Background()).Error()
	}).WithTimeout(90*time.Second).WithPolling(250*time.Millisecond).Should(Succeed(), "the API server is not ready after %s came back", name)
	t.Logf("%s: %s is back; the API server is ready", time.Now().Format("15:04:05.000"), name)
}

// TestAPIServerAndEtcdOutage walks an Istio canary 10% → pause{} → promote → 30% → pause 10s →
// 60% → 100%, and takes the control plane away in the middle: kube-apiserver for 20 s at the
// pause{}, then etcd for 20 s at 30%, while the timed pause runs. The manager keeps running
// through both. The rollout must finish, and the recorded history (a watch from the start,
// resumed after each outage) must show only the weights the plan calls for, in order, with the
// invariants on every version.
func TestAPIServerAndEtcdOutage(t *testing.T) {
	if os.Getenv("K8S_BIN") == "" {
		t.Skip("K8S_BIN is not set: the outage test starts the control plane's components again")
	}
	g := NewWithT(t)
	g.SetDefaultEventuallyTimeout(e2eTimeout)
	g.SetDefaultEventuallyPollingInterval(100 * time.Millisecond)
	ns := newNamespace(t)
	createIstioObjects(g, ns)
	h := utils.RecordRollouts(t, restConfig, scheme, ns)
	startManager(t, ns)
	w := world{g, ns}
	ro := e2eRollout(ns, "shop", image("a1"),
		cutoverv1alpha1.CanaryStep{SetWeight: ptr.To[int32](10)},
		cutoverv1alpha1.CanaryStep{Pause: &cutoverv1alpha1.PauseStep{}},
		cutoverv1alpha1.CanaryStep{SetWeight: ptr.To[int32](30)},
		cutoverv1alpha1.CanaryStep{Pause: &cutoverv1alpha1.PauseStep{Duration: &metav1.Duration{Duration: 10 * time.Second}}},
		cutoverv1alpha1.CanaryStep{SetWeight: ptr.To[int32](60)},
	)
	ro.Spec.TrafficRouting = &cutoverv1alpha1.TrafficRouting{Istio: &cutoverv1alpha1.IstioTrafficRouting{
		VirtualService:  &cutoverv1alpha1.IstioVirtualService{Name: "shop"},
		DestinationRule: cutoverv1alpha1.IstioDestinationRule{Name: "shop", StableSubset: "stable", CanarySubset: "canary"},
	}}
	stable := givenHealthy(t, w, ro)
	w.setImage("shop", image("b2"))

	atStep := func(index int32, weight int32, phase cutoverv1alpha1.RolloutPhase) func(g Gomega) {
		return func(g Gomega) {
			w := world{g, ns}
			r := w.rollout("shop")
			g.Expect(r.Status.CurrentStepIndex).To(HaveValue(Equal(index)), r.Status.Message)
			g.Expect(r.Status.Phase).To(Equal(phase), r.Status.Message)
			_, c, _, _, _ := w.weights()
			g.Expect(c).To(Equal(weight))
		}
	}
	// kube-apiserver goes away at the pause{} (10%); etcd during the timed pause at 30%, which
	// ends while it is away. After each outage, every client (the manager's informers, and
	// kube-controller-manager's) comes back on client-go's reflector backoff, up to about a
	// minute: hence the longer timeouts. WeightChanges below checks that no weight moved on
	// its own, at any time.
	g.Eventually(atStep(1, 10, cutoverv1alpha1.PhasePaused)).Should(Succeed())
	takeAway(t, g, "kube-apiserver", outage)
	w.annotate("shop", cutoverv1alpha1.AnnotationPromote, cutoverv1alpha1.ValueTrue)
	back := time.Now()
	g.Eventually(atStep(3, 30, cutoverv1alpha1.PhaseProgressing)).WithTimeout(recovery).Should(Succeed())
	t.Logf("the promote given when kube-apiserver came back reached 30%% after %s", time.Since(back).Round(time.Second))
	takeAway(t, g, "etcd", outage)
	back = time.Now()

	g.Eventually(func(g Gomega) {
		w := world{g, ns}
		r := w.rollout("shop")
		g.Expect(r.Status.Phase).To(Equal(cutoverv1alpha1.PhaseHealthy), r.Status.Message)
		g.Expect(r.Status.StableRevision).NotTo(Equal(stable))
		s, c, sr, cr, _ := w.weights()
		g.Expect([]any{s, c, sr, cr}).To(Equal([]any{int32(100), int32(0), r.Status.StableRevision, r.Status.StableRevision}))
		g.Expect(w.sizes("shop")).To(Equal(map[string]int32{r.Status.StableRevision: 4}), "the old ReplicaSet is deleted")
	}).WithTimeout(recovery).Should(Succeed())
	t.Logf("the rollout completed %s after etcd came back", time.Since(back).Round(time.Second))

	g.Eventually(func() bool { return historyEndsHealthy(h, stable) }).Should(BeTrue())
	versions := h.Ordered()
	t.Logf("history: %d versions; watches reopened %d times, %d relists",
		len(versions), h.Reconnects.Load(), h.Relists.Load())
	if bad := utils.CheckIstioHistory(versions, shopRoute, 4); len(bad) > 0 {
		t.Errorf("invariants broken on the recorded history:\n%s", strings.Join(bad, "\n"))
	}
	// The completion relabels the stable subset first (both subsets then select the new
	// revision) and puts the weights back to 100/0: no 100% on the canary subset in between.
	g.Expect(utils.WeightChanges(versions, "shop", shopRoute)).To(Equal([]int32{0, 10, 30, 60, 0}),
		"the canary weights, in the order the VirtualService took them")
}
