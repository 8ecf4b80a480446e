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
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	. "github.com/onsi/gomega"

	cutoverv1alpha1 "github.com/cutover-dev/cutover/api/v1alpha1"
)

// TestRevisionCreatedSurvivesAStatusConflict: the first status write after an image change (the
// round that finds the new revision's ReplicaSet created, as the round that created it writes no
// status) is refused with 409. The ReplicaSet exists, so the next round creates nothing, yet it
// records the revision again and announces it: exactly one RevisionCreated for it.
func TestRevisionCreatedSurvivesAStatusConflict(t *testing.T) {
	g := newTestGomega(t)
	ns := newNamespace(t)
	var armed atomic.Bool
	refused := &atomic.Int32{}
	startManagerRefusing(t, ns, nil, func(req *http.Request) bool {
		if req.Method == http.MethodPatch && strings.HasSuffix(req.URL.Path, "/status") && armed.CompareAndSwap(true, false) {
			refused.Add(1)
			return true
		}
		return false
	})
	g.Expect(k8sClient.Create(context.Background(), canaryRollout(ns, "web", digestImage(1), time.Second))).To(Succeed())
	var stable string
	g.Eventually(func(g Gomega) {
		markAvailable(g, ns, "web")
		r := getRollout(g, ns, "web")
		g.Expect(r.Status.Phase).To(Equal(cutoverv1alpha1.PhaseHealthy), r.Status.Message)
		stable = r.Status.StableRevision
	}).Should(Succeed())

	armed.Store(true)
	setImage(g, ns, "web", digestImage(2))
	var canary string
	g.Eventually(func(g Gomega) {
		r := getRollout(g, ns, "web")
		g.Expect(r.Status.CurrentRevision).NotTo(Equal(stable))
		canary = r.Status.CurrentRevision
	}).Should(Succeed())
	g.Expect(refused.Load()).To(Equal(int32(1)), "the status write of the create round was refused")
	created := func(g Gomega) int {
		n := 0
		for _, e := range rolloutEvents(g, ns, "web", "RevisionCreated") {
			if strings.Contains(e.Note, canary) {
				n++
			}
		}
		return n
	}
	g.Eventually(created).Should(Equal(1))
	g.Consistently(created, time.Second, pollEvery).Should(Equal(1))
}
