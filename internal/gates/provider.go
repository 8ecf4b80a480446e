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

package gates

import (
	"context"
	"errors"
	"fmt"

	cutoverv1alpha1 "github.com/cutover-dev/cutover/api/v1alpha1"
)

// MaxTextLength is the most characters Measurement.Text holds: the length of
// status.gates[].lastValue.
const MaxTextLength = 256

// Measurement is one measurement: Value is what the success condition sees as `result`; Text
// is the value as text for status.gates[].lastValue (at most MaxTextLength characters,
// truncated with "…").
type Measurement struct {
	// Value is the measurement as the success condition sees it.
	Value any
	// Text is the measurement as text.
	Text string
}

// Provider takes one measurement of a gate.
type Provider interface {
	// Measure takes one measurement of gate, with its placeholders replaced by vars. An error
	// means the measurement produced no value.
	Measure(ctx context.Context, gate cutoverv1alpha1.Gate, vars Vars) (Measurement, error)
}

// ErrNoMeasurement is returned for a gate that names no measurement (neither prometheus nor
// http), or one whose provider is not configured.
var ErrNoMeasurement = errors.New("no measurement")

// Providers is the Provider that hands each gate to the provider of the measurement it names.
type Providers struct {
	// Prometheus measures gates with spec.gates[].prometheus.
	Prometheus Provider
	// HTTP measures gates with spec.gates[].http.
	HTTP Provider
}

var _ Provider = Providers{}

// NewProviders returns Providers with a PrometheusProvider and an HTTPProvider that use the
// default HTTP transport.
func NewProviders() Providers {
	return Providers{Prometheus: &PrometheusProvider{}, HTTP: &HTTPProvider{}}
}

// Measure implements Provider: it dispatches by which of gate.Prometheus and gate.HTTP is set.
func (p Providers) Measure(ctx context.Context, gate cutoverv1alpha1.Gate, vars Vars) (Measurement, error) {
	var provider Provider
	var kind string
	switch {
	case gate.Prometheus != nil:
		provider, kind = p.Prometheus, "prometheus"
	case gate.HTTP != nil:
		provider, kind = p.HTTP, "http"
	default:
		return Measurement{}, fmt.Errorf("gate %q has neither prometheus nor http: %w", gate.Name, ErrNoMeasurement)
	}
	if provider == nil {
		return Measurement{}, fmt.Errorf("gate %q: no %s provider is configured: %w", gate.Name, kind, ErrNoMeasurement)
	}
	return provider.Measure(ctx, gate, vars)
}

// truncate returns s cut to at most n characters, the last of them "…" when it was cut.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
