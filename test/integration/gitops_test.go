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
	"flag"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	cutoverv1alpha1 "github.com/cutover-dev/cutover/api/v1alpha1"
	"github.com/cutover-dev/cutover/test/gitops"
)

// gitopsFixtures, when set, makes TestGitOpsHealth write the live Rollout of each situation it
// checks into that directory: `go test ./test/integration -run TestGitOpsHealth
// -args -gitops-fixtures=$PWD/test/gitops/testdata` records test/gitops's fixtures.
var gitopsFixtures = flag.String("gitops-fixtures", "", "directory to record the GitOps fixtures into")

// gitopsCheck reads the live Rollout and checks that the shipped Argo CD health check and
// kstatus see it as gitops.Situations says for situation, and that the health message is the
// one of a condition (or the status) the controller wrote. It retries within the Eventually
// defaults, so it also waits for the situation to arise.
func gitopsCheck(t *testing.T, g *WithT, script, ns, name, situation string) {
	t.Helper()
	want, ok := gitops.Situations[situation]
	g.Expect(ok).To(BeTrue(), "unknown situation %s", situation)
	var live map[string]any
	g.Eventually(func(g Gomega) {
		u := &unstructured.Unstructured{}
		u.SetGroupVersionKind(cutoverv1alpha1.GroupVersion.WithKind("Rollout"))
		g.Expect(k8sClient.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, u)).To(Succeed())
		h, err := gitops.ArgoCDHealth(script, u.Object)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(h.Status).To(Equal(want.Health), "%s: %s", situation, h.Message)
		g.Expect(h.Message).NotTo(BeEmpty())
		res, err := gitops.Kstatus(u.Object)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(res.Status).To(Equal(want.Kstatus), "%s: %s", situation, res.Message)
		live = u.Object
	}).Should(Succeed())
	if *gitopsFixtures != "" {
		g.Expect(gitops.WriteFixture(*gitopsFixtures, situation, live)).To(Succeed())
	}
}

// untilPhase plays the ReplicaSet controller until the Rollout reaches phase.
func untilPhase(g *WithT, ns, name string, phase cutoverv1alpha1.RolloutPhase) {
	g.Eventually(func(g Gomega) {
		markAvailable(g, ns, name)
		g.Expect(getRollout(g, ns, name).Status.Phase).To(Equal(phase))
	}).Should(Succeed())
}

// TestGitOpsHealth drives a canary Rollout through every situation of gitops.Situations with
// the real controller, and checks each live object with the shipped Argo CD health check and
// with kstatus: the fixtures of test/gitops are what the controller really writes.
func TestGitOpsHealth(t *testing.T) {
	script, err := gitops.ReadScript(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	g := newWalkG(t)
	ns := newNamespace(t)
	ctx := context.Background()

	// Before any controller runs: the status the CRD defaults.
	ro := canaryRollout(ns, "web", digestImage(1), time.Hour)
	g.Expect(k8sClient.Create(ctx, ro)).To(Succeed())
	gitopsCheck(t, g, script, ns, "web", "fresh")

	m := startManager(t, ns, nil)
	untilPhase(g, ns, "web", cutoverv1alpha1.PhaseHealthy)
	gitopsCheck(t, g, script, ns, "web", "healthy")

	// A new spec while no controller runs: the Healthy status is of the old generation.
	m.Stop()
	setImage(g, ns, "web", digestImage(2))
	gitopsCheck(t, g, script, ns, "web", "stale")
	startManager(t, ns, nil)
	g.Eventually(func(g Gomega) {
		r := getRollout(g, ns, "web")
		g.Expect(r.Status.ObservedGeneration).To(Equal(r.Generation))
		g.Expect(r.Status.CurrentRevision).NotTo(Equal(r.Status.StableRevision))
	}).Should(Succeed())
	gitopsCheck(t, g, script, ns, "web", "progressing")

	g.Eventually(func(g Gomega) {
		markAvailable(g, ns, "web")
		g.Expect(stepOf(getRollout(g, ns, "web"))).To(Equal(int32(1)))
	}).Should(Succeed())
	gitopsCheck(t, g, script, ns, "web", "timed-pause")

	annotate(g, ns, "web", cutoverv1alpha1.AnnotationPromote, "true")
	g.Eventually(func(g Gomega) {
		markAvailable(g, ns, "web")
		g.Expect(stepOf(getRollout(g, ns, "web"))).To(Equal(int32(3)))
	}).Should(Succeed())
	gitopsCheck(t, g, script, ns, "web", "paused")

	setSpecPaused(g, ns, "web", true)
	gitopsCheck(t, g, script, ns, "web", "held")
	setSpecPaused(g, ns, "web", false)
	gitopsCheck(t, g, script, ns, "web", "paused")

	annotate(g, ns, "web", cutoverv1alpha1.AnnotationAbort, "true")
	gitopsCheck(t, g, script, ns, "web", "aborted")

	// Back to the stable template, then a spec the image policy refuses.
	setImage(g, ns, "web", digestImage(1))
	untilPhase(g, ns, "web", cutoverv1alpha1.PhaseHealthy)
	gitopsCheck(t, g, script, ns, "web", "healthy")
	r := getRollout(g, ns, "web")
	orig := r.DeepCopy()
	r.Spec.ImagePolicy.RequireDigest = true
	r.Spec.Template.Spec.Containers[0].Image = "registry.example/app:1.2"
	g.Expect(k8sClient.Patch(ctx, r, client.MergeFrom(orig))).To(Succeed())
	gitopsCheck(t, g, script, ns, "web", "degraded")
}

// TestGitOpsHealthBlueGreen checks a blue-green Rollout waiting for a promote with the shipped
// Argo CD health check and kstatus.
func TestGitOpsHealthBlueGreen(t *testing.T) {
	script, err := gitops.ReadScript(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	g := newWalkG(t)
	ns := newNamespace(t)
	createService(g, ns, "active")
	createService(g, ns, "preview")
	startManager(t, ns, nil)
	ro := blueGreenRollout(ns, digestImage(1), false, time.Second)
	ro.Spec.Replicas = ptr.To[int32](2)
	g.Expect(k8sClient.Create(context.Background(), ro)).To(Succeed())
	untilPhase(g, ns, "web", cutoverv1alpha1.PhaseHealthy)
	setImage(g, ns, "web", digestImage(2))
	untilPhase(g, ns, "web", cutoverv1alpha1.PhasePaused)
	gitopsCheck(t, g, script, ns, "web", "bluegreen-awaiting-promote")
}
