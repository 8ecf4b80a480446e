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
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	networkingv1 "istio.io/client-go/pkg/apis/networking/v1"
	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	cutoverv1alpha1 "github.com/cutover-dev/cutover/api/v1alpha1"
	"github.com/cutover-dev/cutover/internal/plan"
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

// history records every version of the objects of one namespace, in the order etcd wrote them.
type history struct {
	mu       sync.Mutex
	versions []client.Object
}

func (h *history) record(t *testing.T, ns string, lists ...client.ObjectList) {
	wc, err := client.NewWithWatch(cfg, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	for _, l := range lists {
		w, err := wc.Watch(ctx, l, client.InNamespace(ns))
		if err != nil {
			t.Fatal(err)
		}
		go func() {
			for ev := range w.ResultChan() {
				if obj, ok := ev.Object.(client.Object); ok && (ev.Type == watch.Added || ev.Type == watch.Modified) {
					h.mu.Lock()
					h.versions = append(h.versions, obj)
					h.mu.Unlock()
				}
			}
		}()
	}
}

// ordered returns the versions sorted by resourceVersion: one etcd orders them all.
func (h *history) ordered() []client.Object {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := slices.Clone(h.versions)
	rv := func(o client.Object) int64 { n, _ := strconv.ParseInt(o.GetResourceVersion(), 10, 64); return n }
	slices.SortStableFunc(out, func(a, b client.Object) int { return int(rv(a) - rv(b)) })
	return out
}

// crashWalk runs one walk with a crash at write k (0: no crash) and returns how many writes
// the first manager made.
func crashWalk(t *testing.T, newRollout func(ns string) *cutoverv1alpha1.Rollout, k int64, after bool) int64 {
	g := newTestGomega(t)
	ns := newNamespace(t)
	istioObjects(g, ns)
	h := &history{}
	h.record(t, ns, &appsv1.ReplicaSetList{}, &networkingv1.VirtualServiceList{}, &networkingv1.DestinationRuleList{},
		&cutoverv1alpha1.RolloutList{})
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
		for _, o := range slices.Backward(h.ordered()) {
			if r, ok := o.(*cutoverv1alpha1.Rollout); ok {
				return r.Status.Phase == cutoverv1alpha1.PhaseHealthy && r.Status.StableRevision != stable
			}
		}
		return false
	}).Should(BeTrue())
	if bad := checkHistory(h.ordered(), stable, 4); len(bad) > 0 {
		t.Errorf("crash at write %d (after=%v): %s", k, after, strings.Join(bad, "; "))
	}
	g.Expect(promotes).To(Equal(1), "one promote given for the one wait, and taken once")
	return made
}

// checkHistory replays every recorded version in etcd's order and checks the invariants on
// each: the managed route's weights sum to 100; the canary subset gets weight only while its
// revision has the available pods the weight needs; the stable revision keeps the pods its
// share needs; the step index of a revision never goes back; no ReplicaSet template changes.
func checkHistory(versions []client.Object, stable string, n int32) []string {
	var bad []string
	rss := map[string]*appsv1.ReplicaSet{} // by revision
	templates := map[string]*appsv1.ReplicaSet{}
	var dr *networkingv1.DestinationRule
	var vs *networkingv1.VirtualService
	steps := map[string]int32{}
	check := func(at string) {
		if vs == nil || dr == nil {
			return
		}
		var sw, cw int32
		for _, h := range vs.Spec.Http {
			if h.Name != "primary" {
				continue
			}
			for _, d := range h.Route {
				if d.Destination.Subset == "stable" {
					sw = d.Weight
				} else {
					cw = d.Weight
				}
			}
		}
		if sw+cw != 100 {
			bad = append(bad, fmt.Sprintf("%s: weights %d+%d", at, sw, cw))
		}
		labels := map[string]string{}
		for _, s := range dr.Spec.Subsets {
			labels[s.Name] = s.Labels[cutoverv1alpha1.LabelRevision]
		}
		for subset, w := range map[string]int32{"canary": cw, "stable": sw} {
			if w == 0 {
				continue
			}
			rev := labels[subset]
			if rev == "" {
				continue // the user's subset, before Cutover labels it
			}
			rs := rss[rev]
			need := plan.CanaryReplicas(n, w)
			if rs == nil || rs.Status.AvailableReplicas < need || ptr.Deref(rs.Spec.Replicas, 0) < need {
				have := "no ReplicaSet"
				if rs != nil {
					have = fmt.Sprintf("%d available of %d", rs.Status.AvailableReplicas, ptr.Deref(rs.Spec.Replicas, 0))
				}
				bad = append(bad, fmt.Sprintf("%s: %d%% on the %s subset (revision %s), which has %s; needs %d", at, w, subset, rev, have, need))
			}
		}
	}
	for _, o := range versions {
		at := fmt.Sprintf("%T %s rv %s", o, o.GetName(), o.GetResourceVersion())
		switch x := o.(type) {
		case *appsv1.ReplicaSet:
			rev := x.Labels[cutoverv1alpha1.LabelRevision]
			if old, ok := templates[string(x.UID)]; ok && !equality.Semantic.DeepEqual(old.Spec.Template, x.Spec.Template) {
				bad = append(bad, at+": template changed")
			}
			templates[string(x.UID)] = x
			rss[rev] = x
		case *networkingv1.VirtualService:
			vs = x
		case *networkingv1.DestinationRule:
			dr = x
		case *cutoverv1alpha1.Rollout:
			if idx := x.Status.CurrentStepIndex; idx != nil && x.Status.CurrentRevision != x.Status.StableRevision {
				if last, ok := steps[x.Status.CurrentRevision]; ok && *idx < last {
					bad = append(bad, fmt.Sprintf("%s: step of %s went back from %d to %d", at, x.Status.CurrentRevision, last, *idx))
				}
				steps[x.Status.CurrentRevision] = *idx
			}
		}
		check(at)
	}
	_ = stable
	return bad
}

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
