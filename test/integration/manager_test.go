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
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-logr/logr"
	. "github.com/onsi/gomega"
	"go.uber.org/zap/zapcore"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/utils/clock"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	cutoverv1alpha1 "github.com/cutover-dev/cutover/api/v1alpha1"
	"github.com/cutover-dev/cutover/controllers"
	"github.com/cutover-dev/cutover/internal/gates"
	"github.com/cutover-dev/cutover/internal/image"
	"github.com/cutover-dev/cutover/internal/image/registry"
	"github.com/cutover-dev/cutover/internal/metrics"
	"github.com/cutover-dev/cutover/internal/traffic/istio"
	"github.com/cutover-dev/cutover/internal/traffic/service"
	"github.com/cutover-dev/cutover/test/utils"
)

// Eventually defaults for the controller tests.
const (
	waitTimeout = 20 * time.Second
	pollEvery   = 50 * time.Millisecond
)

var setLogger sync.Once

// runningManager is a Cutover manager started by a test, watching one namespace.
type runningManager struct {
	stop   context.CancelFunc
	done   chan struct{}
	writes *atomic.Int64 // API requests other than reads made by the manager
	events *atomic.Int64 // those of them that write Events
	// refused counts the writes the API server refused (any status of 400 or more).
	refused *atomic.Int64
}

// Stop stops the manager and waits for it to return, as a killed process would stop.
func (m *runningManager) Stop() {
	m.stop()
	<-m.done
}

// countingTransport counts the requests that change something (anything but GET, LIST, WATCH),
// and separately those that write Events.
type countingTransport struct {
	next           http.RoundTripper
	writes, events *atomic.Int64
	refused        *atomic.Int64 // writes the API server refused (400 or more)
	// fault, when set, picks requests to answer with an error status (409, 429 or 500)
	// instead of sending them; 0 sends the request.
	fault func(*http.Request) int
}

// faultReasons are the Status reasons of the error codes a fault may answer with.
var faultReasons = map[int]string{
	http.StatusConflict:            "Conflict",
	http.StatusTooManyRequests:     "TooManyRequests",
	http.StatusInternalServerError: "InternalError",
}

func (c countingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if code := 0; c.fault != nil {
		if code = c.fault(req); code != 0 {
			body := fmt.Sprintf(`{"kind":"Status","apiVersion":"v1","status":"Failure","reason":%q,"code":%d,`+
				`"message":"injected by the test: %d %s"}`, faultReasons[code], code, code, http.StatusText(code))
			h := http.Header{"Content-Type": []string{"application/json"}}
			if code == http.StatusTooManyRequests {
				h.Set("Retry-After", "1")
			}
			return &http.Response{StatusCode: code, Status: fmt.Sprintf("%d %s", code, http.StatusText(code)), Request: req,
				Header: h, Body: io.NopCloser(strings.NewReader(body)), ContentLength: int64(len(body))}, nil
		}
	}
	if req.Method == http.MethodGet || req.Method == http.MethodHead {
		return c.next.RoundTrip(req)
	}
	c.writes.Add(1)
	if strings.Contains(req.URL.Path, "/events") {
		c.events.Add(1)
	}
	resp, err := c.next.RoundTrip(req)
	if resp != nil && resp.StatusCode >= http.StatusBadRequest {
		c.refused.Add(1)
	}
	return resp, err
}

// startManager starts the Rollout controller on namespace ns with resolver images (a real
// registry resolver when nil). It stops when the test ends.
func startManager(t *testing.T, ns string, images image.Resolver) *runningManager {
	t.Helper()
	return startManagerWithFaults(t, ns, images, nil)
}

// startManagerRefusing is startManager with a transport that answers the writes refuse picks
// with 409 Conflict.
func startManagerRefusing(t *testing.T, ns string, images image.Resolver, refuse func(*http.Request) bool) *runningManager {
	t.Helper()
	return startManagerWithFaults(t, ns, images, func(req *http.Request) int {
		if req.Method != http.MethodGet && req.Method != http.MethodHead && refuse(req) {
			return http.StatusConflict
		}
		return 0
	})
}

// startManagerWithFaults is startManager with a transport that answers the requests fault
// picks with the error status it returns.
func startManagerWithFaults(t *testing.T, ns string, images image.Resolver, fault func(*http.Request) int) *runningManager {
	t.Helper()
	return startManagerOn(t, []string{ns}, images, fault)
}

// startManagerOn is startManagerWithFaults watching several namespaces, for a table of cases
// that share one manager.
func startManagerOn(t *testing.T, namespaces []string, images image.Resolver, fault func(*http.Request) int) *runningManager {
	t.Helper()
	return startManagerLogging(t, namespaces, images, fault, logr.Logger{})
}

// startManagerLogging is startManagerOn with a logger of its own (the process's when zero).
func startManagerLogging(t *testing.T, namespaces []string, images image.Resolver, fault func(*http.Request) int, logger logr.Logger) *runningManager {
	t.Helper()
	return startShardManager(t, namespaces, images, fault, logger, "")
}

// startShardManager is startManagerLogging for one shard ("" is the default shard), with the
// cache the manager binary builds for --shard.
func startShardManager(t *testing.T, namespaces []string, images image.Resolver, fault func(*http.Request) int,
	logger logr.Logger, shard string) *runningManager {
	t.Helper()
	setLogger.Do(func() {
		// CUTOVER_TEST_LOG=1 shows the managers' logs; they are quiet otherwise.
		if os.Getenv("CUTOVER_TEST_LOG") != "" {
			ctrl.SetLogger(zap.New(zap.UseDevMode(true), zap.Level(zapcore.Level(-2))))
		} else {
			ctrl.SetLogger(logr.Discard())
		}
	})
	writes, events, refused := &atomic.Int64{}, &atomic.Int64{}, &atomic.Int64{}
	c := rest.CopyConfig(cfg)
	c.QPS, c.Burst = 500, 1000
	c.Wrap(func(rt http.RoundTripper) http.RoundTripper {
		return countingTransport{next: rt, writes: writes, events: events, refused: refused, fault: fault}
	})
	// The cache is the manager binary's, on the test's namespaces.
	cacheOpts, err := controllers.CacheOptions(namespaces, shard)
	if err != nil {
		t.Fatalf("shard %q: %v", shard, err)
	}
	mgr, err := ctrl.NewManager(c, ctrl.Options{
		Scheme:                 scheme,
		Logger:                 logger,
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		Cache:                  cacheOpts,
		// Several managers run in one test process; their controllers share a name.
		Controller: config.Controller{SkipNameValidation: ptr.To(true)},
	})
	if err != nil {
		t.Fatalf("creating manager: %v", err)
	}
	if images == nil {
		images = registry.New(registry.Options{Timeout: 5 * time.Second})
	}
	err = (&controllers.RolloutReconciler{
		Client:    mgr.GetClient(),
		APIReader: mgr.GetAPIReader(),
		Images:    images,
		Clock:     clock.RealClock{},
		Recorder:  mgr.GetEventRecorder("cutover"),
		Router:    &istio.Router{Client: mgr.GetClient(), FieldOwner: controllers.FieldOwner},
		Services:  &service.Switcher{Client: mgr.GetClient(), FieldOwner: controllers.FieldOwner},
		Gates:     &gates.Measurer{Conditions: gates.NewConditions()},
		Metrics:   metrics.Default,
	}).SetupWithManager(mgr)
	if err != nil {
		t.Fatalf("setting up the controller: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	m := &runningManager{stop: cancel, done: make(chan struct{}), writes: writes, events: events, refused: refused}
	go func() {
		defer close(m.done)
		if err := mgr.Start(ctx); err != nil {
			t.Errorf("manager stopped with an error: %v", err)
		}
	}()
	t.Cleanup(m.Stop)
	return m
}

// canaryRollout is a canary Rollout without a mesh: 4 replicas, 25% → pause → 50% → pause{}.
func canaryRollout(ns, name, img string, pause time.Duration) *cutoverv1alpha1.Rollout {
	labels := map[string]string{"app": name}
	return &cutoverv1alpha1.Rollout{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: cutoverv1alpha1.RolloutSpec{
			Replicas: ptr.To[int32](4),
			Selector: &cutoverv1alpha1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: img}}},
			},
			Strategy: cutoverv1alpha1.RolloutStrategy{Canary: &cutoverv1alpha1.CanaryStrategy{
				Steps: []cutoverv1alpha1.CanaryStep{
					{SetWeight: ptr.To[int32](25)},
					{Pause: &cutoverv1alpha1.PauseStep{Duration: &metav1.Duration{Duration: pause}}},
					{SetWeight: ptr.To[int32](50)},
					{Pause: &cutoverv1alpha1.PauseStep{}},
				},
			}},
		},
	}
}

// digestImage is an image reference pinned to a digest made from seed.
func digestImage(seed byte) string {
	d := make([]byte, 64)
	for i := range d {
		d[i] = "0123456789abcdef"[(int(seed)+i)%16]
	}
	return "registry.example/app@sha256:" + string(d)
}

// replicaSets lists the managed ReplicaSets of a Rollout by revision.
func replicaSets(g Gomega, ns, name string) map[string]appsv1.ReplicaSet {
	list := &appsv1.ReplicaSetList{}
	g.Expect(k8sClient.List(context.Background(), list, client.InNamespace(ns),
		client.MatchingLabels{cutoverv1alpha1.LabelRollout: name})).To(Succeed())
	out := map[string]appsv1.ReplicaSet{}
	for _, rs := range list.Items {
		if rs.DeletionTimestamp.IsZero() {
			out[rs.Labels[cutoverv1alpha1.LabelRevision]] = rs
		}
	}
	return out
}

// markAvailable plays the ReplicaSet controller that envtest lacks: every ReplicaSet of the
// Rollout reports all its replicas ready and available. It retries on conflicts with the
// controller's own writes.
func markAvailable(g Gomega, ns, name string) {
	for _, rs := range replicaSets(g, ns, name) {
		err := utils.MarkAvailable(context.Background(), k8sClient, client.ObjectKeyFromObject(&rs))
		// The controller may delete a ReplicaSet as soon as another one is available.
		g.Expect(client.IgnoreNotFound(err)).To(Succeed())
	}
}

// expectCountsSettled checks that each ReplicaSet of a Rollout counts the pods of its size: the
// test, playing the ReplicaSet controller, has seen every scale (markAvailable may have run
// just before the last one).
func expectCountsSettled(g Gomega, ns, name string) {
	for rev, rs := range replicaSets(g, ns, name) {
		g.Expect(rs.Status.AvailableReplicas).To(Equal(ptr.Deref(rs.Spec.Replicas, 1)), "revision %s", rev)
		g.Expect(rs.Status.ObservedGeneration).To(Equal(rs.Generation), "revision %s", rev)
	}
}

// getRollout reads a Rollout.
func getRollout(g Gomega, ns, name string) *cutoverv1alpha1.Rollout {
	ro := &cutoverv1alpha1.Rollout{}
	g.Expect(k8sClient.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, ro)).To(Succeed())
	return ro
}

// condition returns a condition of a Rollout, or nil.
func condition(ro *cutoverv1alpha1.Rollout, typ string) *metav1.Condition {
	return apimeta.FindStatusCondition(ro.Status.Conditions, typ)
}

// sizes maps each revision of a Rollout to its ReplicaSet's spec.replicas.
func sizes(g Gomega, ns, name string) map[string]int32 {
	out := map[string]int32{}
	for rev, rs := range replicaSets(g, ns, name) {
		out[rev] = ptr.Deref(rs.Spec.Replicas, 1)
	}
	return out
}

// eventReasons lists the reasons of the Events about a Rollout.
func eventReasons(g Gomega, ns, name string) []string {
	list := &eventsv1.EventList{}
	g.Expect(k8sClient.List(context.Background(), list, client.InNamespace(ns))).To(Succeed())
	var out []string
	for _, e := range list.Items {
		if e.Regarding.Name == name && e.Regarding.Kind == "Rollout" {
			out = append(out, e.Reason)
		}
	}
	return out
}

// annotate sets an annotation on a Rollout.
func annotate(g Gomega, ns, name, key, value string) {
	ro := getRollout(g, ns, name)
	orig := ro.DeepCopy()
	if ro.Annotations == nil {
		ro.Annotations = map[string]string{}
	}
	ro.Annotations[key] = value
	g.Expect(k8sClient.Patch(context.Background(), ro, client.MergeFrom(orig))).To(Succeed())
}

// setImage changes the image of the Rollout's first container.
func setImage(g Gomega, ns, name, img string) {
	ro := getRollout(g, ns, name)
	orig := ro.DeepCopy()
	ro.Spec.Template.Spec.Containers[0].Image = img
	g.Expect(k8sClient.Patch(context.Background(), ro, client.MergeFrom(orig))).To(Succeed())
}
