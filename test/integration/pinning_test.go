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
	"encoding/json"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	cutoverv1alpha1 "github.com/cutover-dev/cutover/api/v1alpha1"
	"github.com/cutover-dev/cutover/internal/image/registry"
)

// TestTagIsPinned: a tagged image is resolved through the registry once, when the revision is
// created, and the ReplicaSet runs it by digest; the pin is recorded on the ReplicaSet, in the
// status and in an ImageResolved Event.
func TestTagIsPinned(t *testing.T) {
	g := newTestGomega(t)
	ns := newNamespace(t)
	reg := startTestRegistry(t)
	digest := reg.push(t, "app:1.0")
	startManager(t, ns, reg.resolver())

	g.Expect(k8sClient.Create(context.Background(), canaryRollout(ns, "web", reg.host+"/app:1.0", time.Minute))).To(Succeed())

	want := reg.host + "/app@" + digest
	wantPins := []cutoverv1alpha1.ContainerImage{{Container: "app", Image: want}}
	var rev string
	g.Eventually(func(g Gomega) {
		rss := replicaSets(g, ns, "web")
		g.Expect(rss).To(HaveLen(1))
		for r, rs := range rss {
			rev = r
			g.Expect(rs.Name).To(Equal("web-" + r))
			g.Expect(rs.Spec.Template.Spec.Containers).To(HaveLen(1))
			g.Expect(rs.Spec.Template.Spec.Containers[0].Image).To(Equal(want))
			var pins []cutoverv1alpha1.ContainerImage
			g.Expect(json.Unmarshal([]byte(rs.Annotations[cutoverv1alpha1.AnnotationImagePins]), &pins)).To(Succeed(),
				"annotation %s: %q", cutoverv1alpha1.AnnotationImagePins, rs.Annotations[cutoverv1alpha1.AnnotationImagePins])
			g.Expect(pins).To(Equal(wantPins))
		}
	}).Should(Succeed())

	g.Eventually(func(g Gomega) {
		r := getRollout(g, ns, "web")
		g.Expect(r.Status.Images).To(Equal(wantPins))
		g.Expect(r.Status.CurrentRevision).To(Equal(rev))
	}).Should(Succeed())
	g.Eventually(func(g Gomega) []eventsv1.Event { return rolloutEvents(g, ns, "web", "ImageResolved") }).
		Should(ContainElement(And(
			HaveField("Type", corev1.EventTypeNormal),
			HaveField("Note", And(ContainSubstring(reg.host+"/app:1.0"), ContainSubstring(want)))),
		))

	// The revision becomes stable with the pinned image in its history record.
	waitHealthy(g, ns, "web", rev)
	r := getRollout(g, ns, "web")
	g.Expect(r.Status.History).NotTo(BeEmpty())
	g.Expect(r.Status.History[0].Revision).To(Equal(rev))
	g.Expect(r.Status.History[0].Images).To(Equal(wantPins))
}

// TestRepushedTagChangesNothing: once a revision is pinned, pushing another image under the
// same tag changes nothing, whatever makes the controller reconcile again.
func TestRepushedTagChangesNothing(t *testing.T) {
	g := newTestGomega(t)
	ns := newNamespace(t)
	reg := startTestRegistry(t)
	first := reg.push(t, "app:1.0")
	startManager(t, ns, reg.resolver())
	ctx := context.Background()

	g.Expect(k8sClient.Create(ctx, canaryRollout(ns, "web", reg.host+"/app:1.0", time.Minute))).To(Succeed())
	var rev string
	g.Eventually(func(g Gomega) {
		rss := replicaSets(g, ns, "web")
		g.Expect(rss).To(HaveLen(1))
		for r := range rss {
			rev = r
		}
	}).Should(Succeed())
	waitHealthy(g, ns, "web", rev)

	before := replicaSets(g, ns, "web")[rev]
	pinned := reg.host + "/app@" + first
	g.Expect(before.Spec.Template.Spec.Containers[0].Image).To(Equal(pinned))
	ro := getRollout(g, ns, "web")
	images, current, stable := ro.Status.Images, ro.Status.CurrentRevision, ro.Status.StableRevision
	g.Expect(images).To(Equal([]cutoverv1alpha1.ContainerImage{{Container: "app", Image: pinned}}))

	// The tag now names another image.
	second := reg.push(t, "app:1.0")
	g.Expect(second).NotTo(Equal(first))

	// Reconciles that are not template changes: an unrelated annotation, and a scale 4 → 5.
	annotate(g, ns, "web", "example.com/note", "touched")
	ro = getRollout(g, ns, "web")
	orig := ro.DeepCopy()
	ro.Spec.Replicas = ptr.To[int32](5)
	g.Expect(k8sClient.Patch(ctx, ro, client.MergeFrom(orig))).To(Succeed())

	// The scale is carried out on the same ReplicaSet: the controller did reconcile.
	g.Eventually(func(g Gomega) map[string]int32 { return sizes(g, ns, "web") }).
		Should(Equal(map[string]int32{rev: 5}))
	waitHealthy(g, ns, "web", rev)

	unchanged := func(g Gomega) {
		rss := replicaSets(g, ns, "web")
		g.Expect(rss).To(HaveLen(1))
		g.Expect(rss).To(HaveKey(rev))
		rs := rss[rev]
		g.Expect(rs.UID).To(Equal(before.UID))
		g.Expect(rs.Spec.Template).To(Equal(before.Spec.Template))
		g.Expect(rs.Spec.Template.Spec.Containers[0].Image).To(Equal(pinned))
		r := getRollout(g, ns, "web")
		g.Expect(r.Status.Images).To(Equal(images))
		g.Expect(r.Status.CurrentRevision).To(Equal(current))
		g.Expect(r.Status.StableRevision).To(Equal(stable))
		for _, e := range rolloutEvents(g, ns, "web", "") {
			g.Expect(e.Note).NotTo(ContainSubstring(second), "an Event names the re-pushed image: %s: %s", e.Reason, e.Note)
		}
	}
	g.Consistently(unchanged, 2*time.Second).Should(Succeed())
}

// TestRequireDigestRejectsTag: with spec.imagePolicy.requireDigest a tag is refused, even one the
// registry could resolve: the Rollout stalls with InvalidSpec naming the container, and nothing
// is created.
func TestRequireDigestRejectsTag(t *testing.T) {
	g := newTestGomega(t)
	ns := newNamespace(t)
	reg := startTestRegistry(t)
	reg.push(t, "app:1.0")
	startManager(t, ns, reg.resolver())

	ro := canaryRollout(ns, "web", reg.host+"/app:1.0", time.Minute)
	ro.Spec.ImagePolicy.RequireDigest = true
	g.Expect(k8sClient.Create(context.Background(), ro)).To(Succeed())

	g.Eventually(func(g Gomega) {
		r := getRollout(g, ns, "web")
		stalled := condition(r, cutoverv1alpha1.StalledCondition)
		g.Expect(stalled).NotTo(BeNil())
		g.Expect(stalled.Status).To(Equal(metav1.ConditionTrue))
		g.Expect(stalled.Reason).To(Equal(cutoverv1alpha1.ReasonInvalidSpec))
		g.Expect(stalled.Message).To(ContainSubstring("spec.template.spec.containers[0]"))
		ready := condition(r, cutoverv1alpha1.ReadyCondition)
		g.Expect(ready).NotTo(BeNil())
		g.Expect(ready.Status).To(Equal(metav1.ConditionFalse))
		g.Expect(ready.Reason).To(Equal(cutoverv1alpha1.ReasonInvalidSpec))
		g.Expect(r.Status.ObservedGeneration).To(Equal(r.Generation))
	}).Should(Succeed())
	g.Eventually(func(g Gomega) []eventsv1.Event { return rolloutEvents(g, ns, "web", cutoverv1alpha1.ReasonInvalidSpec) }).
		Should(ContainElement(And(
			HaveField("Type", corev1.EventTypeWarning),
			HaveField("Note", ContainSubstring("spec.template.spec.containers[0]")))))

	g.Consistently(func(g Gomega) {
		g.Expect(replicaSets(g, ns, "web")).To(BeEmpty())
		g.Expect(getRollout(g, ns, "web").Status.Images).To(BeEmpty())
	}, 2*time.Second).Should(Succeed())
}

// TestUnreachableRegistryRetries: a registry that cannot be reached is a transient problem: the
// Rollout reports ImageResolutionFailed without stalling, creates nothing, and goes on by itself
// once the registry answers.
func TestUnreachableRegistryRetries(t *testing.T) {
	g := newTestGomega(t)
	ns := newNamespace(t)

	// An address nothing listens on (for now).
	l, err := net.Listen("tcp", "127.0.0.1:0")
	g.Expect(err).NotTo(HaveOccurred())
	host := l.Addr().String()
	g.Expect(l.Close()).To(Succeed())

	m := startManager(t, ns, registry.New(registry.Options{InsecureHosts: []string{host}, Timeout: 5 * time.Second}))
	g.Expect(k8sClient.Create(context.Background(), canaryRollout(ns, "web", host+"/app:1.0", time.Minute))).To(Succeed())

	g.Eventually(func(g Gomega) {
		r := getRollout(g, ns, "web")
		ready := condition(r, cutoverv1alpha1.ReadyCondition)
		g.Expect(ready).NotTo(BeNil())
		g.Expect(ready.Status).To(Equal(metav1.ConditionFalse))
		g.Expect(ready.Reason).To(Equal(cutoverv1alpha1.ReasonImageResolutionFailed))
		rec := condition(r, cutoverv1alpha1.ReconcilingCondition)
		g.Expect(rec).NotTo(BeNil())
		g.Expect(rec.Status).To(Equal(metav1.ConditionTrue))
		g.Expect(rec.Reason).To(Equal(cutoverv1alpha1.ReasonImageResolutionFailed))
		g.Expect(rec.Message).To(ContainSubstring(host + "/app:1.0"))
		g.Expect(condition(r, cutoverv1alpha1.StalledCondition)).To(BeNil())
	}).Should(Succeed())
	g.Eventually(func(g Gomega) []eventsv1.Event {
		return rolloutEvents(g, ns, "web", cutoverv1alpha1.ReasonImageResolutionFailed)
	}).Should(ContainElement(HaveField("Type", corev1.EventTypeWarning)))
	g.Consistently(func(g Gomega) {
		g.Expect(replicaSets(g, ns, "web")).To(BeEmpty())
		g.Expect(m.done).NotTo(BeClosed(), "the manager stopped")
	}, 2*time.Second).Should(Succeed())

	// The registry comes up on that address: the controller's own retry pins the tag, with no
	// change to the Rollout.
	l, err = net.Listen("tcp", host)
	if err != nil {
		t.Logf("skipping the recovery half: %s cannot be listened on again: %v", host, err)
		return
	}
	srv := httptest.NewUnstartedServer(quietRegistry())
	g.Expect(srv.Listener.Close()).To(Succeed())
	srv.Listener = l
	srv.Start()
	t.Cleanup(srv.Close)
	reg := &testRegistry{host: host}
	digest := reg.push(t, "app:1.0")

	g.Eventually(func(g Gomega) {
		rss := replicaSets(g, ns, "web")
		g.Expect(rss).To(HaveLen(1))
		for _, rs := range rss {
			g.Expect(rs.Spec.Template.Spec.Containers[0].Image).To(Equal(host + "/app@" + digest))
		}
	}, 40*time.Second).Should(Succeed())
	var rev string
	for r := range replicaSets(g, ns, "web") {
		rev = r
	}
	waitHealthy(g, ns, "web", rev)
}

// testRegistry is go-containerregistry's in-memory registry served over plain HTTP on loopback.
type testRegistry struct {
	host string // host:port, as written in image references
}

// quietRegistry is an in-memory registry handler that does not log every request.
func quietRegistry() http.Handler {
	return ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0)))
}

// startTestRegistry starts an in-memory registry for the test.
func startTestRegistry(t *testing.T) *testRegistry {
	t.Helper()
	srv := httptest.NewServer(quietRegistry())
	t.Cleanup(srv.Close)
	return &testRegistry{host: strings.TrimPrefix(srv.URL, "http://")}
}

// resolver is the production resolver, told that the registry speaks plain HTTP.
func (r *testRegistry) resolver() *registry.Resolver {
	return registry.New(registry.Options{InsecureHosts: []string{r.host}, Timeout: 5 * time.Second})
}

// push pushes a new random image as repo:tag and returns its manifest digest.
func (r *testRegistry) push(t *testing.T, repoTag string) string {
	t.Helper()
	ref, err := name.ParseReference(r.host+"/"+repoTag, name.Insecure)
	if err != nil {
		t.Fatalf("parsing %s: %v", repoTag, err)
	}
	img, err := random.Image(256, 1)
	if err != nil {
		t.Fatalf("making a random image: %v", err)
	}
	if err := remote.Write(ref, img); err != nil {
		t.Fatalf("pushing %s: %v", ref, err)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatalf("digest of the pushed image: %v", err)
	}
	return d.String()
}

// The helpers below are shared by pinning_test.go, idle_test.go, drift_test.go and
// admission_policy_test.go.

// newTestGomega is a Gomega for a controller test, with the package's Eventually defaults.
func newTestGomega(t *testing.T) *WithT {
	g := NewWithT(t)
	g.SetDefaultEventuallyTimeout(waitTimeout)
	g.SetDefaultEventuallyPollingInterval(pollEvery)
	g.SetDefaultConsistentlyPollingInterval(pollEvery)
	return g
}

// waitHealthy plays the ReplicaSet controller until the Rollout is Healthy on revision rev, Ready
// and observed at its current generation.
func waitHealthy(g *WithT, ns, ro, rev string) {
	g.Eventually(func(g Gomega) {
		markAvailable(g, ns, ro)
		r := getRollout(g, ns, ro)
		g.Expect(r.Status.Phase).To(Equal(cutoverv1alpha1.PhaseHealthy), r.Status.Message)
		g.Expect(r.Status.StableRevision).To(Equal(rev))
		g.Expect(r.Status.CurrentRevision).To(Equal(rev))
		g.Expect(r.Status.ObservedGeneration).To(Equal(r.Generation))
		ready := condition(r, cutoverv1alpha1.ReadyCondition)
		g.Expect(ready).NotTo(BeNil())
		g.Expect(ready.Status).To(Equal(metav1.ConditionTrue))
	}).Should(Succeed())
}

// rolloutEvents lists the Events about a Rollout with the given reason (any reason when empty).
func rolloutEvents(g Gomega, ns, ro, reason string) []eventsv1.Event {
	list := &eventsv1.EventList{}
	g.Expect(k8sClient.List(context.Background(), list, client.InNamespace(ns))).To(Succeed())
	var out []eventsv1.Event
	for _, e := range list.Items {
		if e.Regarding.Kind == "Rollout" && e.Regarding.Name == ro && (reason == "" || e.Reason == reason) {
			out = append(out, e)
		}
	}
	return out
}

// TestGoingBackReusesThePinsOfAGoneRevision: a template rolled back to after its ReplicaSet was
// deleted is pinned from status.history, not resolved again: a tag re-pushed meanwhile does not
// change what the old template means.
func TestGoingBackReusesThePinsOfAGoneRevision(t *testing.T) {
	g := newTestGomega(t)
	ns := newNamespace(t)
	reg := startTestRegistry(t)
	first := reg.push(t, "app:1.0")
	reg.push(t, "app:2.0")
	startManager(t, ns, reg.resolver())
	ro := canaryRollout(ns, "web", reg.host+"/app:1.0", time.Second)
	ro.Spec.Strategy.Canary.Steps = nil
	g.Expect(k8sClient.Create(context.Background(), ro)).To(Succeed())
	var rev1 string
	g.Eventually(func(g Gomega) {
		markAvailable(g, ns, "web")
		r := getRollout(g, ns, "web")
		g.Expect(r.Status.Phase).To(Equal(cutoverv1alpha1.PhaseHealthy), r.Status.Message)
		rev1 = r.Status.StableRevision
	}).Should(Succeed())

	setImage(g, ns, "web", reg.host+"/app:2.0")
	g.Eventually(func(g Gomega) {
		markAvailable(g, ns, "web")
		r := getRollout(g, ns, "web")
		g.Expect(r.Status.Phase).To(Equal(cutoverv1alpha1.PhaseHealthy), r.Status.Message)
		g.Expect(r.Status.StableRevision).NotTo(Equal(rev1))
		g.Expect(sizes(g, ns, "web")).NotTo(HaveKey(rev1), "the first revision's ReplicaSet is gone")
	}).Should(Succeed())

	second := reg.push(t, "app:1.0")
	g.Expect(second).NotTo(Equal(first))
	setImage(g, ns, "web", reg.host+"/app:1.0")
	g.Eventually(func(g Gomega) {
		markAvailable(g, ns, "web")
		r := getRollout(g, ns, "web")
		g.Expect(r.Status.Phase).To(Equal(cutoverv1alpha1.PhaseHealthy), r.Status.Message)
		g.Expect(r.Status.StableRevision).To(Equal(rev1), "the same template is the same revision")
		rs := replicaSets(g, ns, "web")[rev1]
		g.Expect(rs.Spec.Template.Spec.Containers[0].Image).To(Equal(reg.host + "/app@" + first))
	}).Should(Succeed())
}
