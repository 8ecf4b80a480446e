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

package utils

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Exporter is a /metrics endpoint for a test Prometheus to scrape (see StartPrometheus). It
// exposes two metrics the test controls:
//
//   - http_requests_total{revision, code}, a counter, raised by Add, and on every scrape by
//     the amounts SetRate configures, so that rate(http_requests_total[5s]) is steady without a
//     goroutine feeding it;
//   - cutover_test_value{revision}, a gauge set by Set.
type Exporter struct {
	server   *httptest.Server
	requests *prometheus.CounterVec
	values   *prometheus.GaugeVec

	mu    sync.Mutex
	rates map[[2]string]float64 // {revision, code} → increase per scrape
}

// NewExporter starts an Exporter; it stops when the test ends.
func NewExporter(t testing.TB) *Exporter {
	t.Helper()
	e := &Exporter{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "http_requests_total", Help: "Requests served, by revision and status code.",
		}, []string{"revision", "code"}),
		values: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "cutover_test_value", Help: "A value a test sets, by revision.",
		}, []string{"revision"}),
		rates: map[[2]string]float64{},
	}
	registry := prometheus.NewRegistry()
	registry.MustRegister(e.requests, e.values)
	metrics := promhttp.HandlerFor(registry, promhttp.HandlerOpts{})
	mux := http.NewServeMux()
	mux.HandleFunc("/metrics", func(w http.ResponseWriter, r *http.Request) {
		e.scraped()
		metrics.ServeHTTP(w, r)
	})
	e.server = httptest.NewServer(mux)
	t.Cleanup(e.server.Close)
	return e
}

// Target returns the host:port to scrape.
func (e *Exporter) Target() string { return strings.TrimPrefix(e.server.URL, "http://") }

// Add raises http_requests_total{revision, code} by n.
func (e *Exporter) Add(revision, code string, n float64) {
	e.requests.WithLabelValues(revision, code).Add(n)
}

// SetRate makes every scrape raise http_requests_total{revision, code} by perScrape before it
// is served; zero stops it. With the one-second scrapes of StartPrometheus, perScrape is the
// per-second rate.
func (e *Exporter) SetRate(revision, code string, perScrape float64) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if perScrape == 0 {
		delete(e.rates, [2]string{revision, code})
		return
	}
	e.rates[[2]string{revision, code}] = perScrape
}

// Set sets cutover_test_value{revision} to v.
func (e *Exporter) Set(revision string, v float64) {
	e.values.WithLabelValues(revision).Set(v)
}

// scraped applies the rates of SetRate.
func (e *Exporter) scraped() {
	e.mu.Lock()
	defer e.mu.Unlock()
	for k, n := range e.rates {
		e.requests.WithLabelValues(k[0], k[1]).Add(n)
	}
}
