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
	"context"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	cutoverv1alpha1 "github.com/cutover-dev/cutover/api/v1alpha1"
	"github.com/cutover-dev/cutover/test/utils"
)

// The crash matrix: a manager dies just before, or just after, its k-th write of a canary walk
// with Istio (10% → 30% → pause{} → promote → 60% → 100%). A fresh manager then finishes the
// walk. Every version of the ReplicaSets, the VirtualService, the DestinationRule and the
// Rollout is recorded from a watch, and the invariants are checked on that whole history.
//
// A dead process writes nothing more: from the k-th write on (or the one after it), the
// crashing manager's writes, Events included, fail without reaching the API server, and the
// manager is stopped. CI runs a bounded sample of k; CUTOVER_CRASH_MATRIX=full runs every k up
// to the number of writes of a walk without a crash.

// crashPoint fails every write of a manager from write number at on; with after, write at
// itself still goes through. crashed is closed at the first write refused.
type crashPoint struct {
	at      int64
	after   bool
	writes  atomic.Int64
	once    sync.Once
	crashed chan struct{}
}

func (c *crashPoint) fault(req *http.Request) int {
	if req.Method == http.MethodGet || req.Method == http.MethodHead {
		return 0
	}
	n := c.writes.Add(1)
	if c.at <= 0 || n < c.at || n == c.at && c.after {
		return 0
	}
	c.once.Do(func() { close(c.crashed) })
	return http.StatusServiceUnavailable
}

// crashWalk runs one walk with a crash at write k (0: no crash) and returns how many writes
// the first manager made.
func crashWalk(t *testing.T, newRollout func(ns string) *cutoverv1alpha1.Rollout, k int64, after bool) int64 {
	g := newTestGomega(t)
	ns := newNamespace(t)
	istioObjects(g, ns)
	h := utils.RecordRollouts(t, cfg, scheme, ns)
	cp := &crashPoint{crashed: make(chan struct{})}
	m := startManagerWithFaults(t, ns, nil, cp.fault)
	g.Expect(k8sClient.Create(context.Background(), newRollout(ns))).To(Succeed())
	var stable string
	g.Eventually(func(g Gomega) {
		markAvailable(g, ns, "web")
		r := getRollout(g, ns, "web")
		g.Expect(r.Status.Phase).To(Equal(cutoverv1alpha1.PhaseHealthy), r.Status.Message)
		stable = r.Status.StableRevision
	}).Should(Succeed())
	base := cp.writes.Load()
	cp.at, cp.after = base+k, after
	if k == 0 {
		cp.at = 0
	}
	setImage(g, ns, "web", digestImage(2))
	promotes := 0
	drive := func(g Gomega) {
		markAvailable(g, ns, "web")
		r := getRollout(g, ns, "web")
		if r.Status.Phase == cutoverv1alpha1.PhasePaused && len(r.Status.PendingRemoval) == 0 &&
			r.Annotations[cutoverv1alpha1.AnnotationPromote] == "" {
			annotate(g, ns, "web", cutoverv1alpha1.AnnotationPromote, cutoverv1alpha1.ValueTrue)
			promotes++
		}
		g.Expect(r.Status.Phase).To(Equal(cutoverv1alpha1.PhaseHealthy), r.Status.Message)
		g.Expect(r.Status.StableRevision).NotTo(Equal(stable))
		g.Expect(sizes(g, ns, "web")).To(HaveLen(1))
	}
	crashed := false
	g.Eventually(func(g Gomega) bool {
		select {
		case <-cp.crashed:
			crashed = true
			return true
		default:
		}
		drive(g)
		return true
	}).WithTimeout(30 * time.Second).Should(BeTrue())
	if crashed {
		m.Stop()
		startManager(t, ns, nil)
		g.Eventually(drive).WithTimeout(30 * time.Second).Should(Succeed())
	}
	made := cp.writes.Load() - base
	// The history is complete once the watch delivered the final Rollout.
	g.Eventually(func() bool {
		for _, o := range slices.Backward(h.Ordered()) {
			if r, ok := o.(*cutoverv1alpha1.Rollout); ok {
				return r.Status.Phase == cutoverv1alpha1.PhaseHealthy && r.Status.StableRevision != stable
			}
		}
		return false
	}).Should(BeTrue())
	if bad := utils.CheckIstioHistory(h.Ordered(), primaryRoute, 4); len(bad) > 0 {
		t.Errorf("crash at write %d (after=%v): %s", k, after, strings.Join(bad, "; "))
	}
	g.Expect(promotes).To(Equal(1), "one promote given for the one wait, and taken once")
	return made
}

// primaryRoute is the route and subsets of the test's Istio objects (istioObjects).
var primaryRoute = utils.IstioRoute{Route: "primary", Stable: "stable", Canary: "canary"}

// crashSample is the bounded sample of k CI runs; CUTOVER_CRASH_MATRIX=full runs every k.
var crashSample = []int64{1, 2, 3, 5, 8, 11, 14}

// crashScenarios are the walks of the crash matrix: an Istio canary (10% → 30% → pause{} →
// promote → 60% → 100%) and an Istio blue-green switch (a promote switches the weight from 0 to
// 100; the old revision goes after scaleDownDelay).
var crashScenarios = map[string]func(ns string) *cutoverv1alpha1.Rollout{
	"canary": func(ns string) *cutoverv1alpha1.Rollout { return istioRollout(ns, "web", digestImage(1)) },
	"bluegreen": func(ns string) *cutoverv1alpha1.Rollout {
		ro := istioRollout(ns, "web", digestImage(1))
		ro.Spec.Strategy = cutoverv1alpha1.RolloutStrategy{BlueGreen: &cutoverv1alpha1.BlueGreenStrategy{
			AutoPromote: ptr.To(false), ScaleDownDelay: &metav1.Duration{Duration: time.Second}}}
		return ro
	},
}

func TestCrashAtEveryWrite(t *testing.T) {
	for _, name := range []string{"canary", "bluegreen"} {
		t.Run(name, func(t *testing.T) { crashMatrix(t, crashScenarios[name]) })
	}
}

func crashMatrix(t *testing.T, newRollout func(ns string) *cutoverv1alpha1.Rollout) {
	total := crashWalk(t, newRollout, 0, false)
	t.Logf("a walk without a crash makes %d writes", total)
	ks := crashSample
	if os.Getenv("CUTOVER_CRASH_MATRIX") == "full" {
		ks = nil
		for k := int64(1); k <= total; k++ {
			ks = append(ks, k)
		}
	}
	for _, k := range ks {
		if k > total {
			continue
		}
		for _, after := range []bool{false, true} {
			t.Run(fmt.Sprintf("k=%d after=%v", k, after), func(t *testing.T) { crashWalk(t, newRollout, k, after) })
		}
	}
}
