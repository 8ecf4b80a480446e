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

// Package bench holds benchmarks of the Rollout controller against a real kube-apiserver and
// etcd started by envtest. Run them with `make bench`; see README.md for what each number means.
package bench

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"go.uber.org/zap/zapcore"
	networkingv1 "istio.io/client-go/pkg/apis/networking/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/clock"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	crmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	cutoverv1alpha1 "github.com/cutover-dev/cutover/api/v1alpha1"
	"github.com/cutover-dev/cutover/controllers"
	"github.com/cutover-dev/cutover/internal/image/registry"
	"github.com/cutover-dev/cutover/internal/plan"
	"github.com/cutover-dev/cutover/test/utils"
)

// repoRoot is the repository root relative to this package's directory, where go test runs.
const repoRoot = "../.."

// Scenario parameters. CUTOVER_BENCH_ROLLOUTS, CUTOVER_BENCH_CONCURRENCY and CUTOVER_BENCH_WAVE
// override the defaults, to explore; the figures in README.md use the defaults.
const (
	defaultRollouts    = 200
	defaultConcurrency = 10 // the manager's --concurrency default
	defaultWave        = 20
	stepsPerPhase      = 2 // canary steps each Rollout walks in a phase
	replicas           = 4
	phaseTimeout       = 90 * time.Second
)

var scheme = runtime.NewScheme()

func init() {
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(cutoverv1alpha1.AddToScheme(scheme))
	utilruntime.Must(networkingv1.AddToScheme(scheme))
}

// BenchmarkCanary200 runs 200 canary Rollouts (no mesh; 25% → pause{} → 50% → pause{}) on a
// real API server with one Cutover manager, and measures:
//
//   - create: spec.template change → ADD event of the new ReplicaSet;
//   - promote: cutover.dev/promote=true at pause{} → UPDATE event scaling the canary to 50%;
//   - the manager's API writes (by resource) and Events per canary step in both phases.
//
// Timestamps come from an informer on ReplicaSets, not from polling. Three sub-benchmarks write
// the changes to the 200 Rollouts: one Rollout at a time ("one-at-a-time", each settling before
// the next), in waves of CUTOVER_BENCH_WAVE ("waves-of-N") and all at once ("burst"). Select
// one with -bench, e.g. -bench 'Canary200/one-at-a-time'.
func BenchmarkCanary200(b *testing.B) {
	assets := os.Getenv("KUBEBUILDER_ASSETS")
	if assets == "" {
		b.Skip("test/bench: KUBEBUILDER_ASSETS is not set. This benchmark needs a real kube-apiserver and etcd: " +
			"run `make bench`, or `make control-plane` and KUBEBUILDER_ASSETS=$PWD/bin/k8s go test ./test/bench/ -run '^$' -bench . -benchtime 1x")
	}
	setLogger()
	env := &envtest.Environment{
		CRDDirectoryPaths:     []string{filepath.Join(repoRoot, "config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
		Scheme:                scheme,
		BinaryAssetsDirectory: assets,
	}
	cfg, err := env.Start()
	if err != nil {
		b.Fatalf("starting envtest (KUBEBUILDER_ASSETS=%s): %v", assets, err)
	}
	b.Cleanup(func() {
		if err := env.Stop(); err != nil {
			b.Logf("stopping envtest: %v", err)
		}
	})
	// Like the manager binary (controller-runtime's config loader): no client-side rate limit,
	// API Priority and Fairness only.
	cfg.QPS, cfg.Burst = -1, 0

	n := envInt(b, "CUTOVER_BENCH_ROLLOUTS", defaultRollouts)
	conc := envInt(b, "CUTOVER_BENCH_CONCURRENCY", defaultConcurrency)
	wave := envInt(b, "CUTOVER_BENCH_WAVE", defaultWave)
	// testing trims a benchmark's log to 10 lines, and anything printed while a sub-benchmark
	// runs would split its result line: the full tables are printed at the end.
	var tables []string
	for _, sc := range []struct {
		name string
		wave int
	}{
		{"one-at-a-time", 1},
		{fmt.Sprintf("waves-of-%d", wave), wave},
		{"burst", n},
	} {
		b.Run(sc.name, func(b *testing.B) {
			tables = append(tables, runScenario(b, cfg, scenario{rollouts: n, concurrency: conc, wave: sc.wave}))
		})
	}
	fmt.Print(strings.Join(tables, ""))
}

type scenario struct {
	rollouts    int
	concurrency int
	wave        int // Rollouts changed at once; the next wave starts when this one settled
}

// runScenario runs one scenario in a fresh namespace with a fresh manager, reports its metrics
// and returns a readable table. It runs once whatever b.N is: use -count to repeat it.
func runScenario(b *testing.B, cfg *rest.Config, sc scenario) string {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	began := time.Now()

	driver, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		b.Fatalf("creating the client: %v", err)
	}
	nsObj := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "bench-"}}
	if err := driver.Create(ctx, nsObj); err != nil {
		b.Fatalf("creating a namespace: %v", err)
	}
	ns := nsObj.Name

	obs := startObserver(ctx, b, cfg, driver, ns)
	mgr := startManager(ctx, b, cfg, ns, sc.concurrency, obs.book)

	names := make([]string, sc.rollouts)
	for i := range names {
		names[i] = fmt.Sprintf("ro-%03d", i)
	}

	// Setup: every Rollout on its first revision, Healthy.
	parallel(b, names, 16, func(name string) error {
		return driver.Create(ctx, canaryRollout(ns, name, digestImage(1)))
	})
	obs.waitFor(b, names, "Healthy on the first revision", func(ro *cutoverv1alpha1.Rollout) bool {
		return ro.Status.Phase == cutoverv1alpha1.PhaseHealthy && ro.Status.ObservedGeneration == ro.Generation &&
			ro.Status.StableRevision != ""
	})
	setupTook := time.Since(began)
	for _, name := range names {
		obs.setStable(name, obs.rollout(b, name).Status.StableRevision)
	}

	// (a) spec.template change → ADD of the new ReplicaSet; the Rollouts then settle at step 2
	// (pause{}, 25%).
	newImage := digestImage(2)
	atFirstPause := func(ro *cutoverv1alpha1.Rollout) bool {
		return ro.Status.Phase == cutoverv1alpha1.PhasePaused && ptr.Deref(ro.Status.CurrentStepIndex, -1) == 1 &&
			ro.Status.CanaryWeight == 25 && ro.Status.ObservedGeneration == ro.Generation
	}
	createPhase := mgr.phase(func() {
		for w := range slices.Chunk(names, sc.wave) {
			parallel(b, w, len(w), func(name string) error { return obs.changeImage(ctx, name, newImage) })
			obs.waitFor(b, w, "paused at step 2 (25%)", atFirstPause)
		}
	})

	// (b) promote at pause{} → UPDATE scaling the canary to 50%; the Rollouts then settle at
	// step 4 (pause{}, 50%). (c) counts the manager's writes over this phase.
	atSecondPause := func(ro *cutoverv1alpha1.Rollout) bool {
		return ro.Status.Phase == cutoverv1alpha1.PhasePaused && ptr.Deref(ro.Status.CurrentStepIndex, -1) == 3 &&
			ro.Status.CanaryWeight == 50 && ro.Status.ObservedGeneration == ro.Generation &&
			ro.Annotations[cutoverv1alpha1.AnnotationPromote] == "" && len(ro.Status.PendingRemoval) == 0
	}
	promotePhase := mgr.phase(func() {
		for w := range slices.Chunk(names, sc.wave) {
			parallel(b, w, len(w), func(name string) error {
				obs.arm(name, markPromote)
				patch := fmt.Sprintf(`{"metadata":{"annotations":{%q:"true"}}}`, cutoverv1alpha1.AnnotationPromote)
				err := driver.Patch(ctx, &cutoverv1alpha1.Rollout{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}},
					client.RawPatch(types.MergePatchType, []byte(patch)))
				obs.triggered(name, markPromote)
				return err
			})
			obs.waitFor(b, w, "paused at step 4 (50%)", atSecondPause)
		}
	})
	// Each phase walks every Rollout through two canary steps: setWeight 25 and pause{}, then
	// (after leaving the first pause) setWeight 50 and pause{}.
	steps := stepsPerPhase * len(names)

	create := obs.latencies(b, markCreate, names)
	promote := obs.latencies(b, markPromote, names)
	pw := promotePhase.writes
	events := pw.resource("events")
	nonEvent := pw.total() - events
	cw := createPhase.writes
	createEvents := cw.resource("events")
	createNonEvent := cw.total() - createEvents

	b.ReportMetric(0, "ns/op") // the scenario's wall time includes the setup; see the table
	b.ReportMetric(ms(create.p50), "p50-create-ms")
	b.ReportMetric(ms(create.p99), "p99-create-ms")
	b.ReportMetric(ms(create.max), "max-create-ms")
	b.ReportMetric(ms(promote.p50), "p50-promote-ms")
	b.ReportMetric(ms(promote.p99), "p99-promote-ms")
	b.ReportMetric(ms(promote.max), "max-promote-ms")
	b.ReportMetric(float64(nonEvent)/float64(steps), "writes/step")
	b.ReportMetric(float64(events)/float64(steps), "events/step")
	b.ReportMetric(float64(createNonEvent)/float64(steps), "create-writes/step")
	b.ReportMetric(float64(createEvents)/float64(steps), "create-events/step")
	b.ReportMetric(float64(cw.refused()+pw.refused()), "refused")
	b.ReportMetric(float64(cw.noOps()+pw.noOps()), "no-op")

	var t strings.Builder
	fmt.Fprintf(&t, "\n## %s: %d Rollouts × %d replicas, manager concurrency %d, changes in waves of %d\n",
		b.Name(), sc.rollouts, replicas, sc.concurrency, sc.wave)
	fmt.Fprintf(&t, "setup to Healthy %.1fs; create phase %.1fs; promote phase %.1fs (each until settled and quiet)\n",
		setupTook.Seconds(), createPhase.took.Seconds(), promotePhase.took.Seconds())
	fmt.Fprintf(&t, "\n%-42s %8s %8s %8s %8s   goal\n", "latency, ms (from watch events)", "p50", "p90", "p99", "max")
	fmt.Fprintf(&t, "%-42s %8.1f %8.1f %8.1f %8.1f   p99 ≤ 100\n", "(a) spec change → new ReplicaSet ADD",
		ms(create.p50), ms(create.p90), ms(create.p99), ms(create.max))
	fmt.Fprintf(&t, "%-42s %8.1f %8.1f %8.1f %8.1f   p99 ≤ 100\n", "(b) promote → canary scaled to 50%",
		ms(promote.p50), ms(promote.p90), ms(promote.p99), ms(promote.max))
	for _, ph := range []struct {
		what string
		w    counts
	}{
		{"create phase: new revision, setWeight 25, pause{}", cw},
		{"promote phase: promote, setWeight 50, pause{}", pw},
	} {
		ev := ph.w.resource("events")
		fmt.Fprintf(&t, "\n(c) manager writes, %s: %d steps (%d per Rollout)\n", ph.what, steps, stepsPerPhase)
		fmt.Fprintf(&t, "%-42s %8s %10s %12s\n", "resource, verb", "total", "per step", "per Rollout")
		for _, k := range ph.w.keys() {
			fmt.Fprintf(&t, "%-42s %8d %10.2f %12.2f\n", k, ph.w[k], float64(ph.w[k])/float64(steps), float64(ph.w[k])/float64(len(names)))
		}
		fmt.Fprintf(&t, "%-42s %8d %10.2f %12.2f   goal ≤ 3 per step\n", "= writes (all but events)", ph.w.total()-ev,
			float64(ph.w.total()-ev)/float64(steps), float64(ph.w.total()-ev)/float64(len(names)))
		fmt.Fprintf(&t, "%-42s %8d %10.2f %12.2f   goal ≤ 1 per step\n", "= events", ev,
			float64(ev)/float64(steps), float64(ev)/float64(len(names)))
		fmt.Fprintf(&t, "%-42s %8d %10s %12s   goal 0\n", "refused (→ status ≥ 300)", ph.w.refused(), "", "")
		fmt.Fprintf(&t, "%-42s %8d %10s %12s   goal 0\n", "no-op (changed nothing)", ph.w.noOps(), "", "")
	}
	fmt.Fprintf(&t, "Rollouts whose promote annotation was removed more than once: %d of %d\n", promotePhase.repeated, len(names))
	fmt.Fprintf(&t, "\nwhere the time goes%22s %14s\n", "create phase", "promote phase")
	for _, row := range []struct {
		what string
		f    func(p phaseStats) string
	}{
		{"reconciles per Rollout", func(p phaseStats) string {
			return fmt.Sprintf("%.2f", float64(p.reconciles.count)/float64(len(names)))
		}},
		{"reconcile time, mean ms", func(p phaseStats) string { return fmt.Sprintf("%.1f", p.reconciles.meanMs()) }},
		{"queue wait, mean ms", func(p phaseStats) string { return fmt.Sprintf("%.1f", p.queue.meanMs()) }},
		{"manager write round-trip, p50 ms", func(p phaseStats) string { return fmt.Sprintf("%.1f", ms(p.rtt.p50)) }},
		{"manager write round-trip, p99 ms", func(p phaseStats) string { return fmt.Sprintf("%.1f", ms(p.rtt.p99)) }},
		{"manager writes per Rollout (incl. events)", func(p phaseStats) string {
			return fmt.Sprintf("%.2f", float64(p.writes.total())/float64(len(names)))
		}},
	} {
		fmt.Fprintf(&t, "%-42s %12s %14s\n", row.what, row.f(createPhase), row.f(promotePhase))
	}
	b.Logf("(a) create p50/p99/max %.0f/%.0f/%.0f ms; (b) promote p50/p99/max %.0f/%.0f/%.0f ms; "+
		"(c) %.2f writes/step + %.2f events/step (full table at the end)",
		ms(create.p50), ms(create.p99), ms(create.max), ms(promote.p50), ms(promote.p99), ms(promote.max),
		float64(nonEvent)/float64(steps), float64(events)/float64(steps))
	return t.String()
}

// phaseStats is what the manager did during one phase.
type phaseStats struct {
	took       time.Duration
	writes     counts
	rtt        summary
	reconciles histo // controller_runtime_reconcile_time_seconds{controller="rollout"}
	queue      histo // workqueue_queue_duration_seconds{name="rollout"}
	// repeated is how many Rollouts had their action annotation removed more than once: the
	// sign of a reconcile that acted again on a stale copy of the Rollout.
	repeated int
}

// phase runs fn, then waits for the manager to go quiet, so that the trailing writes of the
// phase (late status updates, Events sent asynchronously) are counted in it.
func (m *manager) phase(fn func()) phaseStats {
	m.waitQuiet()
	w0, n0, p0 := m.writes.snapshot(), len(m.writes.roundTrips(0)), m.writes.metaPatchSnapshot()
	r0, q0 := readHisto("controller_runtime_reconcile_time_seconds", "controller"), readHisto("workqueue_queue_duration_seconds", "name")
	start := time.Now()
	fn()
	took := time.Since(start)
	m.waitQuiet()
	st := phaseStats{took: took, writes: m.writes.snapshot().minus(w0), repeated: m.writes.repeatedMetaPatches(p0)}
	st.reconciles = readHisto("controller_runtime_reconcile_time_seconds", "controller").minus(r0)
	st.queue = readHisto("workqueue_queue_duration_seconds", "name").minus(q0)
	if rt := m.writes.roundTrips(n0); len(rt) > 0 {
		slices.Sort(rt)
		st.rtt = summary{p50: quantile(rt, 0.5), p90: quantile(rt, 0.9), p99: quantile(rt, 0.99), max: rt[len(rt)-1]}
	}
	return st
}

// histo is the count and sum of a histogram of seconds.
type histo struct {
	count   uint64
	seconds float64
}

func (h histo) minus(o histo) histo { return histo{h.count - o.count, h.seconds - o.seconds} }

func (h histo) meanMs() float64 {
	if h.count == 0 {
		return 0
	}
	return h.seconds / float64(h.count) * 1000
}

// readHisto reads a histogram of controller-runtime's metrics registry for the "rollout"
// controller (label key: "controller" or "name"). The registry is global, so callers take
// differences.
func readHisto(name, key string) histo {
	var h histo
	mfs, err := crmetrics.Registry.Gather()
	if err != nil {
		return h
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == key && l.GetValue() == "rollout" {
					h.count += m.GetHistogram().GetSampleCount()
					h.seconds += m.GetHistogram().GetSampleSum()
				}
			}
		}
	}
	return h
}

// ---- the manager under test ----

type manager struct {
	writes *writeCounter
}

// startManager starts a Cutover manager on namespace ns, as main.go builds it, with an HTTP
// transport that counts its writes. It stops when ctx is cancelled.
func startManager(ctx context.Context, b *testing.B, cfg *rest.Config, ns string, concurrency int, book *rvBook) *manager {
	b.Helper()
	wc := &writeCounter{n: map[string]int{}, metaPatches: map[string]int{}}
	c := rest.CopyConfig(cfg)
	c.Wrap(func(rt http.RoundTripper) http.RoundTripper {
		return countingTransport{next: rt, writes: wc, book: book}
	})
	cacheOpts, err := controllers.CacheOptions([]string{ns}, "")
	if err != nil {
		b.Fatalf("the manager's cache: %v", err)
	}
	mgr, err := ctrl.NewManager(c, ctrl.Options{
		Scheme:                 scheme,
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		Cache:                  cacheOpts,
		// Each sub-benchmark starts its own manager in this process; their controllers share a name.
		Controller: config.Controller{SkipNameValidation: ptr.To(true)},
	})
	if err != nil {
		b.Fatalf("creating the manager: %v", err)
	}
	err = (&controllers.RolloutReconciler{
		Client:    mgr.GetClient(),
		APIReader: mgr.GetAPIReader(),
		// Images are pinned to digests, so the registry is never asked.
		Images:      registry.New(registry.Options{Timeout: 5 * time.Second}),
		Clock:       clock.RealClock{},
		Recorder:    mgr.GetEventRecorder("cutover"),
		Concurrency: concurrency,
	}).SetupWithManager(mgr)
	if err != nil {
		b.Fatalf("setting up the controller: %v", err)
	}
	mctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := mgr.Start(mctx); err != nil {
			b.Errorf("manager stopped with an error: %v", err)
		}
	}()
	b.Cleanup(func() { stop(); <-done })
	if !mgr.GetCache().WaitForCacheSync(ctx) {
		b.Fatal("the manager's cache did not sync")
	}
	return &manager{writes: wc}
}

// waitQuiet waits until the manager has made no write for a second (at most 15s), so that the
// trailing writes of a phase (late status updates, Events sent asynchronously) are counted in
// that phase.
func (m *manager) waitQuiet() {
	const quiet, limit = time.Second, 15 * time.Second
	last, since, deadline := m.writes.snapshot().total(), time.Now(), time.Now().Add(limit)
	for time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
		if cur := m.writes.snapshot().total(); cur != last {
			last, since = cur, time.Now()
		} else if time.Since(since) >= quiet {
			return
		}
	}
}

// writeCounter counts write requests by "resource[/subresource] VERB", from the request path,
// and keeps their round-trip times.
type writeCounter struct {
	mu   sync.Mutex
	n    map[string]int
	durs []time.Duration
	// metaPatches counts the PATCHes of each Rollout's main resource (not its status): Cutover
	// patches a Rollout only to remove a one-shot action annotation it acted on.
	metaPatches map[string]int
}

type counts map[string]int

func (w *writeCounter) add(key, path string, took time.Duration) {
	w.mu.Lock()
	w.n[key]++
	w.durs = append(w.durs, took)
	if key == "rollouts PATCH" {
		w.metaPatches[path[strings.LastIndex(path, "/")+1:]]++
	}
	w.mu.Unlock()
}

// repeatedMetaPatches returns how many Rollouts were patched (outside status) more than once
// since the snapshot before.
func (w *writeCounter) repeatedMetaPatches(before map[string]int) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	for name, c := range w.metaPatches {
		if c-before[name] > 1 {
			n++
		}
	}
	return n
}

func (w *writeCounter) metaPatchSnapshot() map[string]int {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := map[string]int{}
	for k, v := range w.metaPatches {
		out[k] = v
	}
	return out
}

// trace prints, when CUTOVER_BENCH_TRACE names Rollouts (comma-separated), every write about
// them or their ReplicaSets, with its body: a tool to see what a step costs, off by default.
func (w *writeCounter) trace(req *http.Request, code int) {
	names := os.Getenv("CUTOVER_BENCH_TRACE")
	if names == "" || req.Body == nil || req.GetBody == nil {
		return
	}
	body, err := req.GetBody()
	if err != nil {
		return
	}
	defer func() { _ = body.Close() }()
	raw, _ := io.ReadAll(body)
	p, res := req.URL.Path, resourceOf(req.URL.Path)
	for name := range strings.SplitSeq(names, ",") {
		switch {
		// In protobuf, regarding.name is followed by regarding.uid: field 4 (0x22), 36 bytes (0x24).
		case res == "events" && bytes.Contains(raw, []byte(name+"\x22\x24")),
			res == "events" && bytes.Contains(raw, []byte(`"name":"`+name+`"`)):
			// Events may be sent as protobuf: print the printable runs only.
			fmt.Printf("TRACE %s %s %s %s %d %q\n", time.Now().Format("15:04:05.000"), name, req.Method, res, code, printable(raw))
		case strings.HasSuffix(p, "/"+name) || strings.Contains(p, "/"+name+"/") || strings.Contains(p, "/"+name+"-"):
			fmt.Printf("TRACE %s %s %s %s %d %s\n", time.Now().Format("15:04:05.000"), name, req.Method, res, code, raw)
		}
	}
}

// printable keeps the runs of at least 8 printable ASCII characters of raw.
func printable(raw []byte) string {
	var out, run []byte
	flush := func() {
		if len(run) >= 8 {
			out = append(append(out, run...), ' ')
		}
		run = run[:0]
	}
	for _, c := range raw {
		if c >= 0x20 && c < 0x7f {
			run = append(run, c)
		} else {
			flush()
		}
	}
	flush()
	return string(out)
}

// roundTrips returns the round-trip times of the writes made since the first'th.
func (w *writeCounter) roundTrips(first int) []time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.durs[min(first, len(w.durs)):])
}

func (w *writeCounter) snapshot() counts {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := counts{}
	for k, v := range w.n {
		out[k] = v
	}
	return out
}

func (c counts) minus(o counts) counts {
	out := counts{}
	for k, v := range c {
		if d := v - o[k]; d != 0 {
			out[k] = d
		}
	}
	return out
}

// refused is the number of writes the API server refused (any status of 300 or more).
func (c counts) refused() int {
	n := 0
	for k, v := range c {
		if strings.Contains(k, " → ") {
			n += v
		}
	}
	return n
}

func (c counts) total() int {
	t := 0
	for _, v := range c {
		t += v
	}
	return t
}

// resource sums the counts of one resource (any subresource excluded), all verbs.
func (c counts) resource(res string) int {
	t := 0
	for k, v := range c {
		if strings.HasPrefix(k, res+" ") {
			t += v
		}
	}
	return t
}

func (c counts) keys() []string {
	out := make([]string, 0, len(c))
	for k := range c {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// countingTransport counts the requests that change something (anything but GET and HEAD;
// watches are GETs).
type countingTransport struct {
	next   http.RoundTripper
	writes *writeCounter
	// book tells the writes that changed nothing (counted as "<resource> <verb> (no-op)");
	// nil tells none.
	book *rvBook
}

func (c countingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method == http.MethodGet || req.Method == http.MethodHead {
		return c.next.RoundTrip(req)
	}
	start := time.Now()
	resp, err := c.next.RoundTrip(req)
	key := resourceOf(req.URL.Path) + " " + req.Method
	code := 0
	if resp != nil {
		code = resp.StatusCode
	}
	if code >= 300 {
		// A refused write (409 for a stale copy) still costs the API server a request.
		key += fmt.Sprintf(" → %d", code)
	} else if obj := objectKey(req.URL.Path); c.book != nil && obj != "" &&
		(req.Method == http.MethodPatch || req.Method == http.MethodPut) {
		rv := responseVersion(resp)
		if c.book.before(obj, rv, start) {
			key += noOpSuffix
		}
		c.book.saw(obj, rv, time.Now())
	}
	c.writes.trace(req, code)
	c.writes.add(key, req.URL.Path, time.Since(start))
	return resp, err
}

// resourceOf turns an API path into "resource" or "resource/subresource":
// /apis/apps/v1/namespaces/x/replicasets/y → replicasets,
// /apis/cutover.dev/v1alpha1/namespaces/x/rollouts/y/status → rollouts/status,
// /apis/events.k8s.io/v1/namespaces/x/events → events.
func resourceOf(path string) string {
	parts, _, ok := apiPath(path)
	if !ok {
		return path
	}
	switch len(parts) {
	case 0:
		return path
	case 1, 2:
		return parts[0]
	default:
		return parts[0] + "/" + parts[2]
	}
}

// apiPath splits an API path after its group and version, and after namespaces/<ns> when it
// has them: /apis/apps/v1/namespaces/x/replicasets/y/scale → [replicasets y scale], "x". ok is
// false for a path outside /api and /apis.
func apiPath(path string) (parts []string, ns string, ok bool) {
	parts = strings.Split(strings.Trim(path, "/"), "/")
	switch {
	case len(parts) >= 2 && parts[0] == "api":
		parts = parts[2:]
	case len(parts) >= 3 && parts[0] == "apis":
		parts = parts[3:]
	default:
		return nil, "", false
	}
	if len(parts) >= 3 && parts[0] == "namespaces" {
		ns, parts = parts[1], parts[2:]
	}
	return parts, ns, true
}

// ---- the observer: timestamps from a watch, and the ReplicaSet controller envtest lacks ----

type mark int

const (
	markCreate  mark = iota // the new revision's ReplicaSet was added
	markPromote             // the canary ReplicaSet's spec.replicas went to the 50% size
)

type observer struct {
	ns     string
	cache  cache.Cache
	driver client.Client

	mu      sync.Mutex
	stable  map[string]string // Rollout → stable revision before the spec change
	armed   map[mark]map[string]bool
	trigger map[mark]map[string]time.Time // when the write that starts the clock returned
	seen    map[mark]map[string]time.Time // when the watch delivered the awaited event

	queue workqueue.TypedInterface[types.NamespacedName]
	// timeout bounds each waitFor; phaseTimeout when zero.
	timeout time.Duration
	// book records the resourceVersions the informers see, to tell the manager's no-op writes.
	book *rvBook
}

// startObserver starts an informer cache on namespace ns (its own connection, whose requests
// are not counted), records watch timestamps, and plays the ReplicaSet controller: every
// ReplicaSet gets status.availableReplicas = spec.replicas as soon as it is seen.
func startObserver(ctx context.Context, b *testing.B, cfg *rest.Config, driver client.Client, ns string) *observer {
	b.Helper()
	return startObserverWith(ctx, b, cfg, driver, ns, true)
}

// startObserverWith is startObserver; playReplicaSets false leaves ReplicaSets to a real
// kube-controller-manager (the local control plane, whose kwok nodes make the pods Ready).
func startObserverWith(ctx context.Context, b *testing.B, cfg *rest.Config, driver client.Client, ns string, playReplicaSets bool) *observer {
	b.Helper()
	c, err := cache.New(cfg, cache.Options{Scheme: scheme, DefaultNamespaces: map[string]cache.Config{ns: {}}})
	if err != nil {
		b.Fatalf("creating the observer cache: %v", err)
	}
	o := &observer{
		ns: ns, cache: c, driver: driver,
		stable:  map[string]string{},
		armed:   map[mark]map[string]bool{markCreate: {}, markPromote: {}},
		trigger: map[mark]map[string]time.Time{markCreate: {}, markPromote: {}},
		seen:    map[mark]map[string]time.Time{markCreate: {}, markPromote: {}},
		queue:   workqueue.NewTyped[types.NamespacedName](),
		book:    newRVBook(),
	}
	inf, err := c.GetInformer(ctx, &appsv1.ReplicaSet{})
	if err != nil {
		b.Fatalf("getting the ReplicaSet informer: %v", err)
	}
	if _, err := inf.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) {
			now := time.Now()
			if rs, ok := obj.(*appsv1.ReplicaSet); ok {
				o.onAdd(rs, now)
				if playReplicaSets {
					o.enqueue(rs)
				}
			}
		},
		UpdateFunc: func(oldObj, newObj any) {
			now := time.Now()
			old, ok1 := oldObj.(*appsv1.ReplicaSet)
			rs, ok2 := newObj.(*appsv1.ReplicaSet)
			if ok1 && ok2 {
				o.onUpdate(old, rs, now)
				if playReplicaSets {
					o.enqueue(rs)
				}
			}
		},
	}); err != nil {
		b.Fatalf("adding the ReplicaSet handler: %v", err)
	}
	o.recordVersions(ctx, b, &appsv1.ReplicaSet{}, "replicasets")
	o.recordVersions(ctx, b, &cutoverv1alpha1.Rollout{}, "rollouts")
	cctx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := c.Start(cctx); err != nil {
			b.Errorf("observer cache stopped with an error: %v", err)
		}
	}()
	if playReplicaSets {
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				o.runReplicaSetController(cctx)
			}()
		}
	}
	b.Cleanup(func() { stop(); o.queue.ShutDown(); wg.Wait() })
	if !c.WaitForCacheSync(ctx) {
		b.Fatal("the observer cache did not sync")
	}
	return o
}

// changeImage writes a new image to a Rollout's first container, and starts the clock of its
// create latency (markCreate) around that write.
// recordVersions feeds the resourceVersions of every object of obj's kind that the observer's cache
// sees into the book, under resource.
func (o *observer) recordVersions(ctx context.Context, b *testing.B, obj client.Object, resource string) {
	b.Helper()
	inf, err := o.cache.GetInformer(ctx, obj)
	if err != nil {
		b.Fatalf("getting the %s informer: %v", resource, err)
	}
	saw := func(x any) {
		if m, ok := x.(metav1.Object); ok {
			o.book.saw(resource+"/"+m.GetNamespace()+"/"+m.GetName(), m.GetResourceVersion(), time.Now())
		}
	}
	if _, err := inf.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
		AddFunc: saw, UpdateFunc: func(_, x any) { saw(x) },
	}); err != nil {
		b.Fatalf("adding the %s handler: %v", resource, err)
	}
}

func (o *observer) changeImage(ctx context.Context, name, image string) error {
	o.arm(name, markCreate)
	patch := fmt.Sprintf(`[{"op":"replace","path":"/spec/template/spec/containers/0/image","value":%q}]`, image)
	ro := &cutoverv1alpha1.Rollout{ObjectMeta: metav1.ObjectMeta{Namespace: o.ns, Name: name}}
	err := o.driver.Patch(ctx, ro, client.RawPatch(types.JSONPatchType, []byte(patch)))
	o.triggered(name, markCreate)
	o.book.saw("rollouts/"+o.ns+"/"+name, ro.ResourceVersion, time.Now())
	return err
}

// stableOf is the stable revision recorded for a Rollout before its spec change.
func (o *observer) stableOf(name string) string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.stable[name]
}

func (o *observer) setStable(name, rev string) {
	o.mu.Lock()
	o.stable[name] = rev
	o.mu.Unlock()
}

// arm starts waiting for m on a Rollout; it is called before the write that should cause it.
func (o *observer) arm(name string, m mark) {
	o.mu.Lock()
	o.armed[m][name] = true
	o.mu.Unlock()
}

// triggered records when the write that should cause m returned.
func (o *observer) triggered(name string, m mark) {
	now := time.Now()
	o.mu.Lock()
	o.trigger[m][name] = now
	o.mu.Unlock()
}

func (o *observer) record(m mark, name string, at time.Time) {
	if o.armed[m][name] {
		if _, done := o.seen[m][name]; !done {
			o.seen[m][name] = at
		}
	}
}

func (o *observer) onAdd(rs *appsv1.ReplicaSet, at time.Time) {
	name, rev := rs.Labels[cutoverv1alpha1.LabelRollout], rs.Labels[cutoverv1alpha1.LabelRevision]
	o.mu.Lock()
	defer o.mu.Unlock()
	if name != "" && rev != o.stable[name] {
		o.record(markCreate, name, at)
	}
}

func (o *observer) onUpdate(old, rs *appsv1.ReplicaSet, at time.Time) {
	name, rev := rs.Labels[cutoverv1alpha1.LabelRollout], rs.Labels[cutoverv1alpha1.LabelRevision]
	was, now := ptr.Deref(old.Spec.Replicas, 1), ptr.Deref(rs.Spec.Replicas, 1)
	o.mu.Lock()
	defer o.mu.Unlock()
	if name != "" && rev != o.stable[name] && was != now && now == plan.CanaryReplicas(replicas, 50) {
		o.record(markPromote, name, at)
	}
}

func (o *observer) enqueue(rs *appsv1.ReplicaSet) {
	if rs.Status.AvailableReplicas != ptr.Deref(rs.Spec.Replicas, 1) || rs.Status.ObservedGeneration != rs.Generation {
		o.queue.Add(client.ObjectKeyFromObject(rs))
	}
}

// runReplicaSetController makes ReplicaSets report spec.replicas pods ready and available, at
// once, retrying on conflicts with the manager's own writes.
func (o *observer) runReplicaSetController(ctx context.Context) {
	for {
		key, shutdown := o.queue.Get()
		if shutdown {
			return
		}
		err := utils.MarkAvailable(ctx, o.driver, key)
		if err != nil && !apierrors.IsNotFound(err) && ctx.Err() == nil {
			// Try again later; the benchmark times out if it never succeeds.
			go func() { time.Sleep(100 * time.Millisecond); o.queue.Add(key) }()
		}
		o.queue.Done(key)
	}
}

// rollout reads a Rollout from the observer cache.
func (o *observer) rollout(b *testing.B, name string) *cutoverv1alpha1.Rollout {
	b.Helper()
	ro := &cutoverv1alpha1.Rollout{}
	if err := o.cache.Get(context.Background(), client.ObjectKey{Namespace: o.ns, Name: name}, ro); err != nil {
		b.Fatalf("reading Rollout %s: %v", name, err)
	}
	return ro
}

// waitFor waits until ok holds for every named Rollout, reading the observer cache. This is
// not a measurement: it only says when a phase is over.
func (o *observer) waitFor(b *testing.B, names []string, what string, ok func(*cutoverv1alpha1.Rollout) bool) {
	b.Helper()
	pending := map[string]bool{}
	for _, n := range names {
		pending[n] = true
	}
	timeout := cmp.Or(o.timeout, phaseTimeout)
	deadline := time.Now().Add(timeout)
	for {
		list := &cutoverv1alpha1.RolloutList{}
		if err := o.cache.List(context.Background(), list, client.UnsafeDisableDeepCopy); err != nil {
			b.Fatalf("listing Rollouts: %v", err)
		}
		for i := range list.Items {
			if ro := &list.Items[i]; pending[ro.Name] && ok(ro) {
				delete(pending, ro.Name)
			}
		}
		if len(pending) == 0 {
			return
		}
		if time.Now().After(deadline) {
			var stuck []string
			for i := range list.Items {
				if ro := &list.Items[i]; pending[ro.Name] && len(stuck) < 5 {
					stuck = append(stuck, fmt.Sprintf("%s: phase %s, step %v, weight %d, message %q",
						ro.Name, ro.Status.Phase, ptr.Deref(ro.Status.CurrentStepIndex, -1), ro.Status.CanaryWeight, ro.Status.Message))
				}
			}
			b.Fatalf("%d of %d Rollouts not %s after %s; for example:\n%s", len(pending), len(names), what,
				timeout, strings.Join(stuck, "\n"))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

type summary struct{ p50, p90, p99, max time.Duration }

// latencies returns the distribution of seen − trigger for mark m; every Rollout must have both.
func (o *observer) latencies(b *testing.B, m mark, names []string) summary {
	b.Helper()
	o.mu.Lock()
	defer o.mu.Unlock()
	var ds []time.Duration
	var missing []string
	for _, n := range names {
		t0, ok0 := o.trigger[m][n]
		t1, ok1 := o.seen[m][n]
		if !ok0 || !ok1 {
			missing = append(missing, n)
			continue
		}
		ds = append(ds, t1.Sub(t0))
	}
	if len(missing) > 0 {
		b.Fatalf("no watch event recorded for %d Rollouts (mark %d), e.g. %v", len(missing), m, missing[:min(5, len(missing))])
	}
	slices.Sort(ds)
	return summary{p50: quantile(ds, 0.50), p90: quantile(ds, 0.90), p99: quantile(ds, 0.99), max: ds[len(ds)-1]}
}

// quantile is the nearest-rank quantile of sorted values.
func quantile(sorted []time.Duration, q float64) time.Duration {
	i := int(float64(len(sorted))*q+0.999999) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

// ---- helpers ----

// canaryRollout is a canary Rollout without a mesh: 4 replicas, 25% → pause{} → 50% → pause{}.
func canaryRollout(ns, name, img string) *cutoverv1alpha1.Rollout {
	labels := map[string]string{"app": name}
	return &cutoverv1alpha1.Rollout{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: cutoverv1alpha1.RolloutSpec{
			Replicas: ptr.To[int32](replicas),
			Selector: &cutoverv1alpha1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: img}}},
			},
			Strategy: cutoverv1alpha1.RolloutStrategy{Canary: &cutoverv1alpha1.CanaryStrategy{
				Steps: []cutoverv1alpha1.CanaryStep{
					{SetWeight: ptr.To[int32](25)},
					{Pause: &cutoverv1alpha1.PauseStep{}},
					{SetWeight: ptr.To[int32](50)},
					{Pause: &cutoverv1alpha1.PauseStep{}},
				},
			}},
		},
	}
}

// digestImage is an image reference pinned to a digest made from seed; nothing pulls it.
func digestImage(seed byte) string {
	d := make([]byte, 64)
	for i := range d {
		d[i] = "0123456789abcdef"[(int(seed)+i)%16]
	}
	return "registry.example/app@sha256:" + string(d)
}

// parallel runs fn for every name, at most width at a time, and fails on the first error.
func parallel(b *testing.B, names []string, width int, fn func(name string) error) {
	b.Helper()
	sem := make(chan struct{}, max(width, 1))
	errs := make(chan error, len(names))
	var wg sync.WaitGroup
	for _, n := range names {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if err := fn(n); err != nil {
				errs <- fmt.Errorf("%s: %w", n, err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		b.Fatal(err)
	}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func envInt(b *testing.B, key string, def int) int {
	v := os.Getenv(key)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		b.Fatalf("%s=%q: want a positive integer", key, v)
	}
	return n
}

var loggerOnce sync.Once

// setLogger keeps the manager quiet unless CUTOVER_TEST_LOG is set.
func setLogger() {
	loggerOnce.Do(func() {
		if os.Getenv("CUTOVER_TEST_LOG") != "" {
			ctrl.SetLogger(zap.New(zap.UseDevMode(true), zap.Level(zapcore.Level(-2))))
		} else {
			ctrl.SetLogger(logr.Discard())
		}
	})
}
