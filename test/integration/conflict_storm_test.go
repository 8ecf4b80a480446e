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
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/types"

	cutoverv1alpha1 "github.com/cutover-dev/cutover/api/v1alpha1"
)

// stormRollouts is how many Rollouts the conflict storm drives at once.
const stormRollouts = 50

// templateLog remembers the pod template of every ReplicaSet it sees, by UID, and reports any
// that changes.
type templateLog struct {
	mu   sync.Mutex
	seen map[types.UID]corev1.PodTemplateSpec
	bad  []string
}

func (l *templateLog) check(rss map[types.UID]appsv1.ReplicaSet) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for uid, rs := range rss {
		if old, ok := l.seen[uid]; ok {
			if !equality.Semantic.DeepEqual(old, rs.Spec.Template) {
				l.bad = append(l.bad, rs.Name)
			}
			continue
		}
		l.seen[uid] = rs.Spec.Template
	}
}

// TestConflictStorm: 30% of the manager's writes (all but Events) are refused with 409
// Conflict. 50 canaries walk to their pause{}; half are promoted and half aborted. Every one
// ends as asked, each action is taken exactly once (one Promoted or Aborted Event, and the
// matching status.lastAction), and no ReplicaSet template ever changes.
func TestConflictStorm(t *testing.T) {
	var mu sync.Mutex
	rnd := rand.New(rand.NewPCG(7, 30))
	refused, writes := &atomic.Int64{}, &atomic.Int64{}
	runStorm(t, stormRollouts, func(req *http.Request) int {
		if req.Method == http.MethodGet || strings.Contains(req.URL.Path, "/events") {
			return 0
		}
		writes.Add(1)
		mu.Lock()
		defer mu.Unlock()
		if rnd.Float64() < 0.3 {
			refused.Add(1)
			return http.StatusConflict
		}
		return 0
	}, nil)
	t.Logf("conflict storm: %d of %d writes refused with 409", refused.Load(), writes.Load())
	NewWithT(t).Expect(float64(refused.Load()) / float64(writes.Load())).To(BeNumerically(">", 0.2))
}

// TestThrottlingAndServerErrors: 20% of the manager's requests (reads and writes, but not
// watches and Events) are answered with 429 and a Retry-After, or with 500. The same outcome
// as the conflict storm, and while it lasts the conditions say what failed.
func TestThrottlingAndServerErrors(t *testing.T) {
	var mu sync.Mutex
	rnd := rand.New(rand.NewPCG(8, 20))
	faults := &atomic.Int64{}
	var messages sync.Map
	runStorm(t, 20, func(req *http.Request) int {
		if req.URL.Query().Get("watch") == "true" || strings.Contains(req.URL.Path, "/events") {
			return 0
		}
		mu.Lock()
		defer mu.Unlock()
		switch x := rnd.Float64(); {
		case x < 0.1:
			faults.Add(1)
			return http.StatusTooManyRequests
		case x < 0.2:
			faults.Add(1)
			return http.StatusInternalServerError
		}
		return 0
	}, func(r *cutoverv1alpha1.Rollout) {
		if c := condition(r, cutoverv1alpha1.ReadyCondition); c != nil && c.Reason == cutoverv1alpha1.ReasonProgressingWithRetry {
			messages.Store(c.Message, true)
		}
	})
	var seen []string
	messages.Range(func(k, _ any) bool { seen = append(seen, k.(string)); return true })
	t.Logf("%d requests failed; %d distinct retry messages, e.g. %q", faults.Load(), len(seen), seen)
	g := NewWithT(t)
	g.Expect(seen).NotTo(BeEmpty(), "no condition ever said what failed")
	for _, m := range seen {
		g.Expect(m).To(MatchRegexp(`retrying after an error: .*(Internal error|500|injected by the test)`), "the message names the failure")
	}
}

// runStorm starts a manager whose requests fault picks fail, and drives n canaries: each is
// created, changed to a new revision and walked to its pause{}; the first half is then promoted
// and the rest aborted. watch, when set, sees every Rollout each time the test polls. It checks
// that every one ends as asked, that each action was taken exactly once, and that no
// ReplicaSet template ever changed.
func runStorm(t *testing.T, n int, fault func(*http.Request) int, watch func(*cutoverv1alpha1.Rollout)) {
	g := newTestGomega(t)
	g.SetDefaultEventuallyTimeout(3 * time.Minute)
	g.SetDefaultEventuallyPollingInterval(200 * time.Millisecond)
	ns := newNamespace(t)
	startManagerWithFaults(t, ns, nil, fault)
	ctx := context.Background()
	name := func(i int) string { return fmt.Sprintf("web-%02d", i) }
	for i := range n {
		g.Expect(k8sClient.Create(ctx, canaryRollout(ns, name(i), digestImage(1), time.Second))).To(Succeed())
	}
	templates := &templateLog{seen: map[types.UID]corev1.PodTemplateSpec{}}
	play := func(g Gomega) {
		templates.check(allReplicaSets(g, ns))
		markAllAvailable(g, ns)
	}
	phases := func(g Gomega, want cutoverv1alpha1.RolloutPhase, from, to int) {
		for i := from; i < to; i++ {
			r := getRollout(g, ns, name(i))
			if watch != nil {
				watch(r)
			}
			g.Expect(r.Status.Phase).To(Equal(want), "%s: %s", name(i), r.Status.Message)
		}
	}
	g.Eventually(func(g Gomega) { play(g); phases(g, cutoverv1alpha1.PhaseHealthy, 0, n) }).Should(Succeed())
	for i := range n {
		setImage(g, ns, name(i), digestImage(2))
	}
	g.Eventually(func(g Gomega) { play(g); phases(g, cutoverv1alpha1.PhasePaused, 0, n) }).Should(Succeed())
	half := n / 2
	for i := range n {
		if i < half {
			annotate(g, ns, name(i), cutoverv1alpha1.AnnotationPromote, cutoverv1alpha1.ValueTrue)
		} else {
			annotate(g, ns, name(i), cutoverv1alpha1.AnnotationAbort, cutoverv1alpha1.ValueTrue)
		}
	}
	g.Eventually(func(g Gomega) {
		play(g)
		phases(g, cutoverv1alpha1.PhaseHealthy, 0, half)
		phases(g, cutoverv1alpha1.PhaseAborted, half, n)
		for i := range n {
			r := getRollout(g, ns, name(i))
			g.Expect(r.Annotations).NotTo(HaveKey(cutoverv1alpha1.AnnotationPromote))
			g.Expect(r.Annotations).NotTo(HaveKey(cutoverv1alpha1.AnnotationAbort))
			g.Expect(r.Status.PendingRemoval).To(BeEmpty())
			checkStormOutcome(g, ns, name(i), i < half)
		}
	}).Should(Succeed())
	g.Expect(templates.bad).To(BeEmpty(), "ReplicaSet templates changed")
}

// checkStormOutcome checks one Rollout of a storm: promoted or aborted, exactly once.
func checkStormOutcome(g Gomega, ns, name string, promoted bool) {
	r := getRollout(g, ns, name)
	count := func(reason string) int {
		k := 0
		for _, x := range eventReasons(g, ns, name) {
			if x == reason {
				k++
			}
		}
		return k
	}
	if r.Status.LastAction == nil {
		var notes []string
		for _, e := range rolloutEvents(g, ns, name, "") {
			notes = append(notes, e.Reason+": "+e.Note)
		}
		g.Expect(r.Status.LastAction).NotTo(BeNil(), "%s: no last action; history %v, events %v, phase %s: %s",
			name, historyOf(r), notes, r.Status.Phase, r.Status.Message)
	}
	if promoted {
		g.Expect(r.Status.LastAction).To(HaveField("Type", "Promote"), name)
		g.Expect(count("Promoted")).To(Equal(1), "%s: Promoted Events", name)
		g.Expect(count("Aborted")).To(BeZero(), name)
		g.Expect(sizes(g, ns, name)).To(HaveLen(1))
	} else {
		g.Expect(r.Status.LastAction).To(HaveField("Type", "Abort"), name)
		g.Expect(count("Aborted")).To(Equal(1), "%s: Aborted Events", name)
		g.Expect(count("Promoted")).To(BeZero(), name)
		g.Expect(sizes(g, ns, name)).To(Equal(map[string]int32{r.Status.StableRevision: 4}))
	}
	g.Expect(count("RevisionCreated")).To(Equal(2), "%s: one per revision", name)
}
