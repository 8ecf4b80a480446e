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
	"strings"
	"syscall"
	"testing"
	"time"

	. "github.com/onsi/gomega" //nolint:revive // Gomega's DSL reads best unqualified.

	cutoverv1alpha1 "github.com/cutover-dev/cutover/api/v1alpha1"
	"github.com/cutover-dev/cutover/internal/leaderfence"
	"github.com/cutover-dev/cutover/test/utils"
)

// haTakeoverMargin is what a takeover may take beyond the lease duration: the standby sees the
// last renewal up to one retry period late and takes the expired lease at its next poll, one
// more retry period (client-go waits a retry period plus up to 120% jitter: 2.2 s each here),
// and the machine is loaded.
const haTakeoverMargin = 6 * time.Second

// haPair is two managers competing for one Lease, and a canary paused at pause{} (50%) that the
// first one, the leader, brought there.
type haPair struct {
	w              world
	leader, backup *haManager
	leases         *utils.History
	stable, canary string
}

// givenHAPairMidCanary starts manager a, waits until it leads, starts b as its standby, then
// walks a Rollout to the pause{} of its canary.
func givenHAPairMidCanary(t *testing.T, g *WithT) haPair {
	t.Helper()
	g.SetDefaultEventuallyTimeout(e2eTimeout)
	g.SetDefaultEventuallyPollingInterval(200 * time.Millisecond)
	ns := newNamespace(t)
	p := haPair{w: world{g, ns}, leases: recordLeases(t, g, ns)}
	p.leader = startHAManager(t, ns, "cutover-ha-a")
	g.Eventually(p.leader.logText).Should(ContainSubstring("Successfully acquired lease"))
	p.backup = startHAManager(t, ns, "cutover-ha-b")
	g.Eventually(p.backup.logText).Should(ContainSubstring("Attempting to acquire leader lease"))

	p.stable = givenHealthy(t, p.w, e2eRollout(ns, "shop", image("a1"), standardSteps()...))
	p.w.setImage("shop", image("b2"))
	g.Eventually(func(g Gomega) {
		w := world{g, ns}
		r := w.rollout("shop")
		g.Expect(r.Status.Phase).To(Equal(cutoverv1alpha1.PhasePaused), r.Status.Message)
		p.canary = canaryOf(g, w, "shop", p.stable)
		g.Expect(w.sizes("shop")).To(Equal(map[string]int32{p.stable: 2, p.canary: 2}))
	}).Should(Succeed())
	g.Expect(leaseTerms(p.leases)).To(HaveLen(1), "one leader so far")
	g.Expect(p.backup.logText()).NotTo(ContainSubstring("Successfully acquired lease"), "the standby waits")
	return p
}

// waitTakeover waits for the standby to take the Lease from the first leader and returns the
// new term and how long after since it began.
func (p haPair) waitTakeover(t *testing.T, g *WithT, since time.Time) (leaseTerm, time.Duration) {
	t.Helper()
	var terms []leaseTerm
	g.Eventually(func() []leaseTerm { terms = leaseTerms(p.leases); return terms }).
		WithTimeout(haLeaseDuration + haTakeoverMargin + 10*time.Second).Should(HaveLen(2))
	g.Eventually(p.backup.logText).Should(ContainSubstring("Successfully acquired lease"))
	took := terms[1].acquire.Sub(since)
	t.Logf("the standby took the lease %v after the leader was stopped (lease %v)", took.Round(time.Millisecond), haLeaseDuration)
	g.Expect(took).To(BeNumerically("<=", haLeaseDuration+haTakeoverMargin))
	g.Expect(took).To(BeNumerically(">", haLeaseDuration-haRetryPeriod), "the standby waited for the lease to expire")
	return terms[1], took
}

// promoted waits until the canary of p is the stable revision, at 100%.
func (p haPair) waitPromoted(g *WithT) {
	g.Eventually(func(g Gomega) {
		w := world{g, p.w.ns}
		r := w.rollout("shop")
		g.Expect(r.Status.Phase).To(Equal(cutoverv1alpha1.PhaseHealthy), r.Status.Message)
		g.Expect(r.Status.StableRevision).To(Equal(p.canary))
		g.Expect(w.sizes("shop")).To(Equal(map[string]int32{p.canary: 4}))
		g.Expect(w.readyPods(p.canary)).To(Equal(4))
	}).Should(Succeed())
}

// inFlightAllowance is how long after a manager's death a request it had already sent may
// still be received by the API server.
const inFlightAllowance = 100 * time.Millisecond

// TestLeaderKilledMidCanaryEndToEnd SIGKILLs the leader at a canary's pause{} and promotes: the
// standby takes the lease within the lease duration (plus the margin) and finishes the rollout.
// The audit log shows the standby wrote nothing before it held the lease.
func TestLeaderKilledMidCanaryEndToEnd(t *testing.T) {
	g := NewWithT(t)
	p := givenHAPairMidCanary(t, g)

	stopped := time.Now()
	p.leader.kill()
	// A request the leader wrote to its socket just before it died may still reach the API
	// server after the process is gone (CI saw an Event's POST received 0.4 ms after the kill):
	// the leader may have nothing received later than its death plus this allowance.
	killed := time.Now().Add(inFlightAllowance)
	p.w.annotate("shop", cutoverv1alpha1.AnnotationPromote, "true")
	term, _ := p.waitTakeover(t, g, stopped)
	p.waitPromoted(g)

	var byBackup int
	for _, e := range auditWrites(t, g, p.w.ns) {
		switch {
		case p.leader.wrote(e):
			g.Expect(e.RequestReceived.Time).To(BeTemporally("<", killed), "a write by the killed leader received after its death: %s", e)
		case p.backup.wrote(e):
			g.Expect(e.RequestReceived.Time.After(term.acquire) || e.lease()).To(BeTrue(),
				"a write by the standby before it held the lease: %s", e)
			if !e.lease() && e.succeeded() {
				byBackup++
			}
		}
	}
	g.Expect(byBackup).To(BeNumerically(">", 0), "the new leader's writes are in the audit log")
	g.Expect(leaseTerms(p.leases)).To(HaveLen(2))
}

// TestLeaderStoppedPastLeaseEndToEnd SIGSTOPs the leader mid-canary for longer than its lease.
// The standby takes over and promotes; then, with new work waiting (a new image), the stopped
// leader is continued. It must exit (it lost the lease) and make no write after the standby took
// the lease: the audit log is checked for any write request of its user agent after that time,
// and the Lease's watched history for its holder coming back.
func TestLeaderStoppedPastLeaseEndToEnd(t *testing.T) {
	g := NewWithT(t)
	p := givenHAPairMidCanary(t, g)

	stopped := time.Now()
	p.leader.signal(syscall.SIGSTOP)
	term, _ := p.waitTakeover(t, g, stopped)
	p.w.annotate("shop", cutoverv1alpha1.AnnotationPromote, "true")
	p.waitPromoted(g)

	// New work, then wake the old leader: its informers deliver the promotion and the new image
	// at once, so a reconcile that ran before it noticed the lost lease would write.
	p.w.setImage("shop", image("c3"))
	continued := time.Now()
	p.leader.signal(syscall.SIGCONT)
	g.Eventually(p.leader.exited).WithTimeout(haRenewDeadline+20*time.Second).Should(BeTrue(),
		"the old leader exits once it sees it lost the lease")
	t.Logf("stopped for %v; the old leader exited %v after SIGCONT", continued.Sub(stopped).Round(time.Millisecond),
		time.Since(continued).Round(time.Millisecond))
	g.Expect(p.leader.cmd.ProcessState.ExitCode()).NotTo(Equal(0))
	logText := p.leader.logText()
	g.Expect(logText).To(ContainSubstring("leader election lost"))
	// The old leader did try to write after it woke (without the fence of internal/leaderfence it
	// created and scaled ReplicaSets and patched status for RenewDeadline): the fence refused.
	refused := strings.Count(logText, leaderfence.ErrLeaseExpired.Error())
	t.Logf("writes the fence refused to the old leader: %d", refused)
	g.Expect(refused).To(BeNumerically(">", 0), "the old leader had work when it woke")

	// The new leader carries the new revision to its pause{}.
	g.Eventually(func(g Gomega) {
		r := world{g, p.w.ns}.rollout("shop")
		g.Expect(r.Status.Phase).To(Equal(cutoverv1alpha1.PhasePaused), r.Status.Message)
		g.Expect(r.Status.StableRevision).To(Equal(p.canary))
	}).Should(Succeed())

	var late, leaseTries []string
	for _, e := range auditWrites(t, g, p.w.ns) {
		if !p.leader.wrote(e) || e.RequestReceived.Time.Before(term.acquire) {
			continue
		}
		if e.lease() && !e.succeeded() {
			leaseTries = append(leaseTries, e.String()) // a refused attempt on the Lease is harmless
			continue
		}
		late = append(late, e.String())
	}
	t.Logf("refused Lease writes of the old leader after it lost the lease: %d %v", len(leaseTries), leaseTries)
	g.Expect(late).To(BeEmpty(), "writes of the old leader after the standby took the lease at %s",
		term.acquire.UTC().Format("15:04:05.000000"))
	g.Expect(leaseTerms(p.leases)).To(HaveLen(2), "the old leader never held the lease again")
}
