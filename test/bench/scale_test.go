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

package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	networkingapi "istio.io/api/networking/v1"
	networkingv1 "istio.io/client-go/pkg/apis/networking/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	cutoverv1alpha1 "github.com/cutover-dev/cutover/api/v1alpha1"
	"github.com/cutover-dev/cutover/test/utils"
)

// Scale scenario parameters. CUTOVER_BENCH_SCALE lists the sizes (comma-separated); `make
// bench` runs 1000, `make bench-scale` runs 1000 and 5000. CUTOVER_BENCH_ROUTING lists the
// traffic routings to run each size with: istio (the default) and none (a replica-ratio
// canary, Service only).
const (
	defaultScale  = "1000"
	scaleReplicas = 2
	scaleSteps    = 4 // setWeight 20, pause 1s, setWeight 50, pause 1s
	// scaleTimeoutPer1000 bounds each wait, per 1,000 Rollouts.
	scaleTimeoutPer1000 = 5 * time.Minute
)

// BenchmarkScale runs the manager binary, as shipped (built from this checkout, all namespaces
// watched, default flags), against a real API server holding N Istio canary Rollouts, each
// with a Service, a VirtualService, a DestinationRule and 2 replicas, and reports:
//
//   - the manager's heap in use (after a forced GC) and RSS at rest, per 1,000 Rollouts;
//   - a burst: all N images changed at once and each Rollout walking 20% → pause 1s → 50% →
//     pause 1s → 100%: how long it takes to drain, in Rollouts per second, the manager's CPU
//     per canary step, the API server's CPU, the latency from an image change to its new
//     ReplicaSet, and the manager's writes per step, refused writes included.
//
// Each size runs on its own envtest control plane, so nothing of a smaller run stays cached.
// The manager reaches the API server through a proxy in this process that counts its writes.
func BenchmarkScale(b *testing.B) {
	assets, kubeconfig := os.Getenv("KUBEBUILDER_ASSETS"), os.Getenv("CUTOVER_BENCH_KUBECONFIG")
	if assets == "" && kubeconfig == "" {
		b.Skip("test/bench: neither KUBEBUILDER_ASSETS nor CUTOVER_BENCH_KUBECONFIG is set; see README.md")
	}
	setLogger()
	bin := buildManager(b)
	var tables []string
	for _, f := range strings.Split(envString("CUTOVER_BENCH_SCALE", defaultScale), ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			b.Fatalf("CUTOVER_BENCH_SCALE: %q is not a positive number", f)
		}
		for _, routing := range strings.Split(envString("CUTOVER_BENCH_ROUTING", "istio"), ",") {
			mesh := strings.TrimSpace(routing) == "istio"
			if !mesh && strings.TrimSpace(routing) != "none" {
				b.Fatalf("CUTOVER_BENCH_ROUTING: %q is neither istio nor none", routing)
			}
			name := fmt.Sprintf("rollouts-%d", n)
			if kubeconfig != "" {
				name = "kwok-" + name
			}
			if !mesh {
				name += "-no-mesh"
			}
			b.Run(name, func(b *testing.B) {
				tables = append(tables, runScale(b, assets, kubeconfig, bin, n, mesh))
			})
		}
	}
	fmt.Print(strings.Join(tables, ""))
}

// scaleResult is what one size measured.
type scaleResult struct {
	n                   int
	mesh                bool
	setup               time.Duration
	heapInuse, rss      uint64
	peakRSS             uint64
	drain               time.Duration
	managerCPU, apiCPU  time.Duration
	reconciles          float64
	create              summary
	writes              counts
	initialWritesPerRO  float64
	setupWrites         counts
	heapProfile, cpuPro string
	apiProfile          string
}

func runScale(b *testing.B, assets, kubeconfig, bin string, n int, mesh bool) string {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	began := time.Now()
	cfg, api := startScaleEnv(b, assets, kubeconfig)
	driver, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		b.Fatalf("creating the client: %v", err)
	}
	nsObj := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "scale-"}}
	if err := driver.Create(ctx, nsObj); err != nil {
		b.Fatalf("creating the namespace: %v", err)
	}
	ns := nsObj.Name
	obs := startObserverWith(ctx, b, cfg, driver, ns, kubeconfig == "")
	obs.timeout = time.Duration(max(n, 1000)) * scaleTimeoutPer1000 / 1000

	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("ro-%04d", i)
	}
	if mesh {
		obs.recordVersions(ctx, b, &networkingv1.VirtualService{}, "virtualservices")
		obs.recordVersions(ctx, b, &networkingv1.DestinationRule{}, "destinationrules")
	}
	parallel(b, names, 32, func(name string) error { return createScaleObjects(ctx, driver, ns, name, mesh) })

	mgr := startManagerProcess(ctx, b, cfg, bin, obs.book)
	if kubeconfig != "" {
		// The cluster outlives the benchmark: its namespace goes, while this manager still runs
		// (it is stopped by the cancel deferred above, which runs after this) to release the
		// Rollouts' traffic finalizers, so that the next scenario's manager (which watches every
		// namespace) finds nothing of this one.
		defer deleteNamespace(b, driver, nsObj)
	}
	obs.waitFor(b, names, "Healthy on the first revision", func(ro *cutoverv1alpha1.Rollout) bool {
		return ro.Status.Phase == cutoverv1alpha1.PhaseHealthy && ro.Status.ObservedGeneration == ro.Generation &&
			ro.Status.StableRevision != ""
	})
	mgr.waitQuiet()
	r := scaleResult{n: n, mesh: mesh, setup: time.Since(began)}
	r.setupWrites = mgr.writes.snapshot()
	r.initialWritesPerRO = float64(r.setupWrites.total()) / float64(n)
	for _, name := range names {
		obs.setStable(name, obs.rollout(b, name).Status.StableRevision)
	}
	r.heapInuse, r.heapProfile = mgr.heapAtRest(b, fmt.Sprintf("heap-%d.pb.gz", n))
	r.rss = mgr.rss(b)

	// The burst: every image changes at once; each Rollout walks its canary to the end.
	cpu0, api0, w0, rec0 := mgr.cpu(b), processCPU(b, api), mgr.writes.snapshot(), mgr.reconciles(b)
	stopProfile := mgr.cpuProfile(b, n, fmt.Sprintf("cpu-%d.pb.gz", n))
	stopAPIProfile := apiServerProfile(b, cfg, n, fmt.Sprintf("apiserver-cpu-%d.pb.gz", n))
	start := time.Now()
	newImage := digestImage(2)
	parallel(b, names, 50, func(name string) error { return obs.changeImage(ctx, name, newImage) })
	obs.waitFor(b, names, "Healthy on the new revision", func(ro *cutoverv1alpha1.Rollout) bool {
		return ro.Status.Phase == cutoverv1alpha1.PhaseHealthy && ro.Status.ObservedGeneration == ro.Generation &&
			ro.Status.StableRevision != "" && ro.Status.StableRevision != obs.stableOf(ro.Name)
	})
	r.drain = time.Since(start)
	r.cpuPro, r.apiProfile = stopProfile(), stopAPIProfile()
	mgr.waitQuiet()
	r.managerCPU, r.apiCPU = mgr.cpu(b)-cpu0, processCPU(b, api)-api0
	r.reconciles = mgr.reconciles(b) - rec0
	r.peakRSS = mgr.peakRSS(b)
	r.writes = mgr.writes.snapshot().minus(w0)
	r.create = obs.latencies(b, markCreate, names)
	return r.report(b)
}

// report records the benchmark's metrics and returns a readable table.
func (r scaleResult) report(b *testing.B) string {
	per1000 := func(v uint64) float64 { return float64(v) / (1 << 20) * 1000 / float64(r.n) }
	steps := float64(r.n * scaleSteps)
	events := r.writes.resource("events")
	writes := r.writes.total() - events
	refused, noOps := r.writes.refused(), r.writes.noOps()
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(per1000(r.heapInuse), "heap-MiB/1000")
	b.ReportMetric(float64(r.rss)/(1<<20), "rss-MiB")
	b.ReportMetric(float64(r.peakRSS)/(1<<20), "peak-rss-MiB")
	b.ReportMetric(float64(r.n)/r.drain.Seconds(), "rollouts/s")
	b.ReportMetric(ms(r.managerCPU)/steps, "cpu-ms/step")
	b.ReportMetric(float64(writes)/steps, "writes/step")
	b.ReportMetric(r.reconciles/steps, "reconciles/step")
	b.ReportMetric(float64(events)/steps, "events/step")
	b.ReportMetric(float64(refused), "refused")
	b.ReportMetric(float64(noOps), "no-op")
	b.ReportMetric(ms(r.create.p50), "p50-create-ms")
	b.ReportMetric(ms(r.create.p99), "p99-create-ms")

	var t strings.Builder
	where := "envtest, ReplicaSets made available by the benchmark"
	if strings.Contains(b.Name(), "kwok-") {
		where = "the local control plane, pods run by kube-controller-manager and kwok"
	}
	what := "Istio canary Rollouts (Service, VirtualService, DestinationRule"
	if !r.mesh {
		what = "replica-ratio canary Rollouts, no mesh (Service"
	}
	fmt.Fprintf(&t, "\n## %s: %d %s, %d replicas each), the manager binary with its default flags, on %s\n",
		b.Name(), r.n, what, scaleReplicas, where)
	fmt.Fprintf(&t, "setup (objects created, every Rollout Healthy, manager quiet): %.1fs; %.1f writes per Rollout to get there, %d refused\n",
		r.setup.Seconds(), r.initialWritesPerRO, r.setupWrites.refused())
	for _, k := range r.setupWrites.keys() {
		fmt.Fprintf(&t, "    %-48s %8d %8.2f per Rollout\n", k, r.setupWrites[k], float64(r.setupWrites[k])/float64(r.n))
	}
	fmt.Fprintf(&t, "%-52s %10.1f MiB  (%.1f MiB per 1,000 Rollouts; goal ≤ 50)\n", "heap in use at rest, after a forced GC",
		float64(r.heapInuse)/(1<<20), per1000(r.heapInuse))
	fmt.Fprintf(&t, "%-52s %10.1f MiB  (%.1f MiB per 1,000 Rollouts)\n", "RSS at rest", float64(r.rss)/(1<<20), per1000(r.rss))
	fmt.Fprintf(&t, "%-52s %10.1f MiB\n", "peak RSS (setup and burst)", float64(r.peakRSS)/(1<<20))
	fmt.Fprintf(&t, "burst: all %d images changed at once, each Rollout walks %d steps to Healthy\n", r.n, scaleSteps)
	fmt.Fprintf(&t, "%-52s %10.1f s    (%.1f Rollouts/s)\n", "  drained in", r.drain.Seconds(), float64(r.n)/r.drain.Seconds())
	fmt.Fprintf(&t, "%-52s %10.1f s    (%.2f ms per canary step; goal ≤ 2)\n", "  manager CPU", r.managerCPU.Seconds(), ms(r.managerCPU)/steps)
	fmt.Fprintf(&t, "%-52s %10.1f s    (%.2f ms per canary step)\n", "  API server CPU", r.apiCPU.Seconds(), ms(r.apiCPU)/steps)
	fmt.Fprintf(&t, "%-52s %10.0f      (%.2f per canary step, %.1f per Rollout)\n", "  reconciles", r.reconciles, r.reconciles/steps, r.reconciles/float64(r.n))
	fmt.Fprintf(&t, "%-52s %10.0f / %.0f / %.0f ms (p50 / p99 / max)\n", "  image change → new ReplicaSet",
		ms(r.create.p50), ms(r.create.p99), ms(r.create.max))
	fmt.Fprintf(&t, "%-52s %10.2f      (+ %.2f Events; %d refused, %d no-op; goal ≤ 3 + 1)\n", "  manager writes per canary step",
		float64(writes)/steps, float64(events)/steps, refused, noOps)
	for _, k := range r.writes.keys() {
		fmt.Fprintf(&t, "    %-48s %8d %8.2f per Rollout\n", k, r.writes[k], float64(r.writes[k])/float64(r.n))
	}
	if r.heapProfile != "" || r.cpuPro != "" {
		fmt.Fprintf(&t, "profiles: %s %s %s\n", r.heapProfile, r.cpuPro, r.apiProfile)
	}
	return t.String()
}

// startScaleEnv starts envtest with the Cutover and Istio CRDs, or connects to the cluster of
// kubeconfig when it is set (the local control plane of `make cluster-up`, whose
// kube-controller-manager and kwok run the ReplicaSets' pods), and returns the configuration
// (no client-side rate limit) and the API server's process id.
func startScaleEnv(b *testing.B, assets, kubeconfig string) (*rest.Config, int) {
	b.Helper()
	if kubeconfig != "" {
		cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
		if err != nil {
			b.Fatalf("reading CUTOVER_BENCH_KUBECONFIG: %v", err)
		}
		cfg.QPS, cfg.Burst = -1, 0
		return cfg, apiServerPID(b, cfg.Host)
	}
	istio, err := utils.IstioCRDFile(repoRoot)
	if err != nil {
		b.Fatalf("locating the Istio CRDs: %v", err)
	}
	env := &envtest.Environment{
		CRDDirectoryPaths:     []string{filepath.Join(repoRoot, "config", "crd", "bases"), istio},
		ErrorIfCRDPathMissing: true,
		Scheme:                scheme,
		BinaryAssetsDirectory: assets,
	}
	// envtest's default Service range (a /24) holds 254 Services.
	env.ControlPlane.GetAPIServer().Configure().Set("service-cluster-ip-range", "10.0.0.0/16")
	cfg, err := env.Start()
	if err != nil {
		b.Fatalf("starting envtest: %v", err)
	}
	b.Cleanup(func() {
		if err := env.Stop(); err != nil {
			b.Logf("stopping envtest: %v", err)
		}
	})
	cfg.QPS, cfg.Burst = -1, 0
	return cfg, apiServerPID(b, cfg.Host)
}

// createScaleObjects creates one Rollout and the Service, VirtualService and DestinationRule it
// routes through; without mesh, the Rollout and its Service only (a replica-ratio canary).
func createScaleObjects(ctx context.Context, c client.Client, ns, name string, mesh bool) error {
	labels := map[string]string{"app": name}
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: corev1.ServiceSpec{Selector: labels, Ports: []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromInt32(8080)}}}}
	vs := &networkingv1.VirtualService{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: networkingapi.VirtualService{Hosts: []string{name}, Http: []*networkingapi.HTTPRoute{{
			Name: "primary",
			Route: []*networkingapi.HTTPRouteDestination{
				{Destination: &networkingapi.Destination{Host: name, Subset: "stable"}, Weight: 100},
				{Destination: &networkingapi.Destination{Host: name, Subset: "canary"}, Weight: 0},
			},
		}}}}
	dr := &networkingv1.DestinationRule{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: networkingapi.DestinationRule{Host: name, Subsets: []*networkingapi.Subset{
			{Name: "stable", Labels: labels}, {Name: "canary", Labels: labels},
		}}}
	ro := &cutoverv1alpha1.Rollout{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: cutoverv1alpha1.RolloutSpec{
			Replicas: ptr.To[int32](scaleReplicas),
			Selector: &cutoverv1alpha1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: digestImage(1)}}},
			},
			TrafficRouting: &cutoverv1alpha1.TrafficRouting{Istio: &cutoverv1alpha1.IstioTrafficRouting{
				VirtualService:  &cutoverv1alpha1.IstioVirtualService{Name: name, Routes: []string{"primary"}},
				DestinationRule: cutoverv1alpha1.IstioDestinationRule{Name: name, StableSubset: "stable", CanarySubset: "canary"},
			}},
			Strategy: cutoverv1alpha1.RolloutStrategy{Canary: &cutoverv1alpha1.CanaryStrategy{
				Steps: []cutoverv1alpha1.CanaryStep{
					{SetWeight: ptr.To[int32](20)},
					{Pause: &cutoverv1alpha1.PauseStep{Duration: &metav1.Duration{Duration: time.Second}}},
					{SetWeight: ptr.To[int32](50)},
					{Pause: &cutoverv1alpha1.PauseStep{Duration: &metav1.Duration{Duration: time.Second}}},
				},
			}},
		},
	}
	objs := []client.Object{svc, vs, dr, ro}
	if !mesh {
		ro.Spec.TrafficRouting = nil
		objs = []client.Object{svc, ro}
	}
	for _, o := range objs {
		if err := c.Create(ctx, o); err != nil {
			return fmt.Errorf("creating %T %s: %w", o, name, err)
		}
	}
	return nil
}

// deleteNamespace deletes ns and waits, for up to five minutes, until it is gone.
func deleteNamespace(b *testing.B, c client.Client, ns *corev1.Namespace) {
	ctx := context.Background()
	if err := c.Delete(ctx, ns); client.IgnoreNotFound(err) != nil {
		b.Logf("deleting namespace %s: %v", ns.Name, err)
		return
	}
	deadline := time.Now().Add(5 * time.Minute)
	for time.Now().Before(deadline) {
		if err := c.Get(ctx, client.ObjectKeyFromObject(ns), &corev1.Namespace{}); apierrors.IsNotFound(err) {
			return
		}
		time.Sleep(time.Second)
	}
	b.Logf("namespace %s still there after 5 minutes", ns.Name)
}

func envString(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
