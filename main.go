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

// Command cutover is the Cutover manager: it runs the Rollout controller.
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	// Import all Kubernetes client auth plugins (e.g. Azure, GCP, OIDC, etc.)
	// to ensure that exec-entrypoint and run can make use of them.
	_ "k8s.io/client-go/plugin/pkg/client/auth"

	"github.com/KimMachineGun/automemlimit/memlimit"
	networkingv1 "istio.io/client-go/pkg/apis/networking/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	cutoverv1alpha1 "github.com/cutover-dev/cutover/api/v1alpha1"
	"github.com/cutover-dev/cutover/controllers"
	"github.com/cutover-dev/cutover/internal/gates"
	"github.com/cutover-dev/cutover/internal/image/registry"
	"github.com/cutover-dev/cutover/internal/metrics"
	"github.com/cutover-dev/cutover/internal/traffic"
	"github.com/cutover-dev/cutover/internal/traffic/istio"
	"github.com/cutover-dev/cutover/internal/traffic/service"
)

var (
	scheme   = runtime.NewScheme()
	setupLog = ctrl.Log.WithName("setup")
)

func init() {
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(cutoverv1alpha1.AddToScheme(scheme))
	utilruntime.Must(networkingv1.AddToScheme(scheme))
}

// istioRouter returns the Istio traffic router when the cluster serves networking.istio.io/v1,
// and nil otherwise: Rollouts that ask for Istio then get an InvalidSpec condition.
// allowCrossNamespace lets Rollouts name VirtualServices of other namespaces
// (--allow-cross-namespace-refs).
func istioRouter(mgr ctrl.Manager, allowCrossNamespace bool) traffic.Router {
	gk := schema.GroupKind{Group: "networking.istio.io", Kind: "VirtualService"}
	if _, err := mgr.GetRESTMapper().RESTMapping(gk, "v1"); err != nil {
		setupLog.Info("Istio networking.istio.io/v1 is not installed: Istio traffic routing is off")
		return nil
	}
	return &istio.Router{Client: mgr.GetClient(), FieldOwner: controllers.FieldOwner, AllowCrossNamespace: allowCrossNamespace}
}

// options are the manager's command-line flags.
type options struct {
	servingOptions
	probeAddr          string
	concurrency        int
	insecureRegistries string
	registryTimeout    time.Duration
	watchNamespaces    string
	allowCrossNS       bool
	pprofAddr          string
	shard              string
}

func parseFlags() (options, zap.Options) {
	var o options
	bindServingFlags(flag.CommandLine, &o.servingOptions)
	flag.StringVar(&o.probeAddr, "health-probe-bind-address", ":8081", "The address the probe endpoint binds to.")
	flag.IntVar(&o.concurrency, "concurrency", 10, "How many Rollouts are reconciled at the same time.")
	flag.StringVar(&o.insecureRegistries, "insecure-registries", "",
		"Comma-separated registry hosts reached over plain HTTP when resolving tags (for local registries).")
	flag.StringVar(&o.watchNamespaces, "watch-namespaces", "",
		"Comma-separated namespaces to watch; empty watches every namespace.")
	flag.BoolVar(&o.allowCrossNS, "allow-cross-namespace-refs", false,
		"Let a Rollout name a VirtualService of another namespace (\"namespace/name\"). Off by default; "+
			"the admission policy must also allow it for the Rollout's namespace (see docs/install.md).")
	flag.StringVar(&o.pprofAddr, "pprof-bind-address", "",
		"The address the pprof endpoint (/debug/pprof/) binds to, e.g. 127.0.0.1:8082; empty (the default) serves none. "+
			"It is unauthenticated: bind it to localhost and reach it with kubectl port-forward.")
	flag.StringVar(&o.shard, "shard", "",
		"Reconcile only the Rollouts labelled cutover.dev/shard=<shard>, with a leader election of this shard's own; "+
			"empty (the default shard) reconciles the Rollouts without that label. See docs/scaling.md.")
	flag.DurationVar(&o.registryTimeout, "registry-timeout", 30*time.Second, "Timeout of one tag resolution.")
	// Production logs by default: JSON, one object a line, info and above; --zap-devel switches
	// to the development encoder (console, debug level).
	zo := zap.Options{}
	zo.BindFlags(flag.CommandLine)
	flag.Parse()
	return o, zo
}

// cacheOptions is the manager's cache (controllers.CacheOptions) for the comma-separated
// namespaces of --watch-namespaces (all when empty) and the shard of --shard.
func cacheOptions(namespaces, shard string) (cache.Options, error) {
	var list []string
	if namespaces != "" {
		for _, ns := range strings.Split(namespaces, ",") {
			list = append(list, strings.TrimSpace(ns))
		}
	}
	opts, err := controllers.CacheOptions(list, shard)
	if err != nil {
		return opts, fmt.Errorf("--shard: %w", err)
	}
	return opts, nil
}

func main() {
	o, zo := parseFlags()
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&zo)))
	setMemoryLimit(memlimit.FromCgroup, setupLog)

	metricsOpts, certWatcher, err := metricsOptions(o.servingOptions)
	if err != nil {
		setupLog.Error(err, "Failed to set up the metrics server")
		os.Exit(1)
	}

	cacheOpts, err := cacheOptions(o.watchNamespaces, o.shard)
	if err != nil {
		setupLog.Error(err, "Invalid flag")
		os.Exit(1)
	}
	cfg, leaderCfg := fencedConfigs(ctrl.GetConfigOrDie(), o.servingOptions)
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                        scheme,
		Metrics:                       metricsOpts,
		HealthProbeBindAddress:        o.probeAddr,
		PprofBindAddress:              o.pprofAddr,
		LeaderElection:                o.leaderElect,
		LeaderElectionID:              controllers.LeaderElectionID(o.shard),
		LeaderElectionNamespace:       o.leaderNS,
		LeaderElectionConfig:          leaderCfg,
		LeaderElectionReleaseOnCancel: true,
		LeaseDuration:                 &o.leaseDuration,
		RenewDeadline:                 &o.renewDeadline,
		RetryPeriod:                   &o.retryPeriod,
		Cache:                         cacheOpts,
		Client:                        clientOptions(),
	})
	if err != nil {
		setupLog.Error(err, "Failed to start manager")
		os.Exit(1)
	}

	var insecure []string
	if o.insecureRegistries != "" {
		insecure = strings.Split(o.insecureRegistries, ",")
	}
	if err := (&controllers.RolloutReconciler{
		Client:      mgr.GetClient(),
		APIReader:   mgr.GetAPIReader(),
		Images:      registry.New(registry.Options{InsecureHosts: insecure, Timeout: o.registryTimeout}),
		Clock:       clock.RealClock{},
		Recorder:    mgr.GetEventRecorder("cutover"),
		Router:      istioRouter(mgr, o.allowCrossNS),
		Services:    &service.Switcher{Client: mgr.GetClient(), FieldOwner: controllers.FieldOwner},
		Gates:       &gates.Measurer{Provider: gates.NewProviders(), Conditions: gates.NewConditions()},
		Concurrency: o.concurrency,
		Metrics:     metrics.Default,
	}).SetupWithManager(mgr); err != nil {
		setupLog.Error(err, "Failed to create controller", "controller", "rollout")
		os.Exit(1)
	}

	if certWatcher != nil {
		if err := mgr.Add(certWatcher); err != nil {
			setupLog.Error(err, "Failed to add the metrics certificate watcher")
			os.Exit(1)
		}
	}
	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		setupLog.Error(err, "Failed to set up health check")
		os.Exit(1)
	}
	if err := mgr.AddReadyzCheck("readyz", healthz.Ping); err != nil {
		setupLog.Error(err, "Failed to set up ready check")
		os.Exit(1)
	}

	setupLog.Info("Starting manager", "shard", o.shard, "leaseName", controllers.LeaderElectionID(o.shard))
	if err := mgr.Start(ctrl.SetupSignalHandler()); err != nil {
		setupLog.Error(err, "Failed to run manager")
		os.Exit(1)
	}
}
