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
	g := newTestGomega(t)
	g.SetDefaultEventuallyTimeout(3 * time.Minute)
	g.SetDefaultEventuallyPollingInterval(200 * time.Millisecond)
	ns := newNamespace(t)
	var mu sync.Mutex
	rnd := rand.New(rand.NewPCG(7, 30))
	refused, writes := &atomic.Int64{}, &atomic.Int64{}
	startManagerRefusing(t, ns, nil, func(req *http.Request) bool {
		if strings.Contains(req.URL.Path, "/events") {
			return false
		}
		writes.Add(1)
		mu.Lock()
		defer mu.Unlock()
		if rnd.Float64() < 0.3 {
			refused.Add(1)
			return true
		}
		return false
	})
	ctx := context.Background()
	name := func(i int) string { return fmt.Sprintf("web-%02d", i) }
	for i := range stormRollouts {
		g.Expect(k8sClient.Create(ctx, canaryRollout(ns, name(i), digestImage(1), time.Second))).To(Succeed())
	}
	templates := &templateLog{seen: map[types.UID]corev1.PodTemplateSpec{}}
	play := func(g Gomega) {
		rss := allReplicaSets(g, ns)
		templates.check(rss)
		markAllAvailable(g, ns)
	}
	phases := func(g Gomega, want cutoverv1alpha1.RolloutPhase, from, to int) {
		for i := from; i < to; i++ {
			r := getRollout(g, ns, name(i))
			g.Expect(r.Status.Phase).To(Equal(want), "%s: %s", name(i), r.Status.Message)
		}
	}
	g.Eventually(func(g Gomega) { play(g); phases(g, cutoverv1alpha1.PhaseHealthy, 0, stormRollouts) }).Should(Succeed())
	for i := range stormRollouts {
		setImage(g, ns, name(i), digestImage(2))
	}
	g.Eventually(func(g Gomega) { play(g); phases(g, cutoverv1alpha1.PhasePaused, 0, stormRollouts) }).Should(Succeed())
	half := stormRollouts / 2
	for i := range stormRollouts {
		if i < half {
			annotate(g, ns, name(i), cutoverv1alpha1.AnnotationPromote, cutoverv1alpha1.ValueTrue)
		} else {
			annotate(g, ns, name(i), cutoverv1alpha1.AnnotationAbort, cutoverv1alpha1.ValueTrue)
		}
	}
	g.Eventually(func(g Gomega) {
		play(g)
		phases(g, cutoverv1alpha1.PhaseHealthy, 0, half)
		phases(g, cutoverv1alpha1.PhaseAborted, half, stormRollouts)
		for i := range stormRollouts {
			r := getRollout(g, ns, name(i))
			g.Expect(r.Annotations).NotTo(HaveKey(cutoverv1alpha1.AnnotationPromote))
			g.Expect(r.Annotations).NotTo(HaveKey(cutoverv1alpha1.AnnotationAbort))
			g.Expect(r.Status.PendingRemoval).To(BeEmpty())
		}
	}).Should(Succeed())

	for i := range stormRollouts {
		r := getRollout(g, ns, name(i))
		reasons := eventReasons(g, ns, name(i))
		count := func(reason string) int {
			n := 0
			for _, x := range reasons {
				if x == reason {
					n++
				}
			}
			return n
		}
		if i < half {
			g.Expect(r.Status.LastAction).To(HaveField("Type", "Promote"), name(i))
			g.Expect(count("Promoted")).To(Equal(1), "%s: Promoted Events", name(i))
			g.Expect(count("Aborted")).To(BeZero(), name(i))
			g.Expect(sizes(g, ns, name(i))).To(HaveLen(1))
		} else {
			g.Expect(r.Status.LastAction).To(HaveField("Type", "Abort"), name(i))
			g.Expect(count("Aborted")).To(Equal(1), "%s: Aborted Events", name(i))
			g.Expect(count("Promoted")).To(BeZero(), name(i))
			g.Expect(sizes(g, ns, name(i))).To(Equal(map[string]int32{r.Status.StableRevision: 4}))
		}
		g.Expect(count("RevisionCreated")).To(Equal(2), "%s: one per revision", name(i))
	}
	g.Expect(templates.bad).To(BeEmpty(), "ReplicaSet templates changed")
	t.Logf("conflict storm: %d of %d writes refused with 409", refused.Load(), writes.Load())
	g.Expect(float64(refused.Load())/float64(writes.Load())).To(BeNumerically(">", 0.2))
}
