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

package main

import (
	"crypto/tls"
	"flag"
	"fmt"
	"path/filepath"
	"time"

	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/certwatcher"
	"sigs.k8s.io/controller-runtime/pkg/metrics/filters"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/cutover-dev/cutover/internal/leaderfence"
)

// servingOptions are the flags of the metrics endpoint and of leader election.
type servingOptions struct {
	metricsAddr   string
	secureMetrics bool
	enableHTTP2   bool
	certPath      string
	certName      string
	certKey       string
	leaderElect   bool
	leaderNS      string
	leaseDuration time.Duration
	renewDeadline time.Duration
	retryPeriod   time.Duration
}

// bindServingFlags registers the metrics and leader-election flags. The names and defaults are
// kubebuilder's scaffold and client-go's usual 15s/10s/2s.
func bindServingFlags(fs *flag.FlagSet, o *servingOptions) {
	fs.StringVar(&o.metricsAddr, "metrics-bind-address", "0", "The address the metrics endpoint binds to. "+
		"Use :8443 for HTTPS or :8080 for HTTP, or leave as 0 to disable the metrics service.")
	fs.BoolVar(&o.secureMetrics, "metrics-secure", true,
		"Serve metrics over HTTPS with authentication and authorization.")
	fs.BoolVar(&o.enableHTTP2, "enable-http2", false, "Enable HTTP/2 for the metrics server.")
	fs.StringVar(&o.certPath, "metrics-cert-path", "",
		"Directory with the metrics server's certificate and key; self-signed when empty. "+
			"The files are watched, so a rotated certificate is served without a restart.")
	fs.StringVar(&o.certName, "metrics-cert-name", "tls.crt", "The metrics server's certificate file name.")
	fs.StringVar(&o.certKey, "metrics-cert-key", "tls.key", "The metrics server's key file name.")
	fs.BoolVar(&o.leaderElect, "leader-elect", false,
		"Enable leader election, so that only one manager is active.")
	fs.StringVar(&o.leaderNS, "leader-election-namespace", "",
		"Namespace of the leader-election Lease; empty means the namespace the manager runs in.")
	fs.DurationVar(&o.leaseDuration, "leader-elect-lease-duration", 15*time.Second,
		"How long a standby waits, after the last renewal it saw, before it takes the lease.")
	fs.DurationVar(&o.renewDeadline, "leader-elect-renew-deadline", 10*time.Second,
		"How long the leader tries to renew its lease before it gives up and exits.")
	fs.DurationVar(&o.retryPeriod, "leader-elect-retry-period", 2*time.Second,
		"How often the candidates try to acquire or renew the lease.")
}

// metricsOptions builds the metrics server's options: HTTPS with authentication and
// authorization (TokenReview and SubjectAccessReview) unless --metrics-secure=false, HTTP/2 off
// unless --enable-http2, and the certificate of --metrics-cert-path when given (controller-runtime
// generates a self-signed one otherwise). The returned watcher, if any, must be added to the
// manager so that it reloads a rotated certificate.
func metricsOptions(o servingOptions) (metricsserver.Options, *certwatcher.CertWatcher, error) {
	opts := metricsserver.Options{BindAddress: o.metricsAddr, SecureServing: o.secureMetrics}
	if !o.enableHTTP2 {
		// HTTP/2 stays off by default: Stream Cancellation and Rapid Reset CVEs.
		opts.TLSOpts = append(opts.TLSOpts, func(c *tls.Config) { c.NextProtos = []string{"http/1.1"} })
	}
	if !o.secureMetrics {
		return opts, nil, nil
	}
	opts.FilterProvider = filters.WithAuthenticationAndAuthorization
	if o.certPath == "" {
		return opts, nil, nil
	}
	cw, err := certwatcher.New(filepath.Join(o.certPath, o.certName), filepath.Join(o.certPath, o.certKey))
	if err != nil {
		return opts, nil, fmt.Errorf("loading the metrics certificate from %s: %w", o.certPath, err)
	}
	opts.TLSOpts = append(opts.TLSOpts, func(c *tls.Config) { c.GetCertificate = cw.GetCertificate })
	return opts, cw, nil
}

// fencedConfigs returns the manager's REST config and, with leader election, a separate one for
// the leader-election client. The two share a leaderfence.Fence: the leader-election client
// records each renewal of the Lease, and the manager's clients refuse to write once the last
// renewal is RenewDeadline old, so a leader that was frozen past its lease writes nothing when
// it wakes, in the seconds before client-go notices it lost the lease and the manager exits.
func fencedConfigs(cfg *rest.Config, o servingOptions) (*rest.Config, *rest.Config) {
	if !o.leaderElect {
		return cfg, nil
	}
	fence := &leaderfence.Fence{RenewDeadline: o.renewDeadline}
	leaderCfg := rest.CopyConfig(cfg)
	leaderCfg.Wrap(fence.Observe)
	cfg = rest.CopyConfig(cfg)
	cfg.Wrap(fence.Guard)
	return cfg, leaderCfg
}
