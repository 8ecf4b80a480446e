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
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	cutoverv1alpha1 "github.com/cutover-dev/cutover/api/v1alpha1"
)

// PrometheusProvider measures gates with spec.gates[].prometheus: an instant query, its
// placeholders expanded with Vars. `result` is a double for a scalar or a one-sample vector,
// and a list of doubles for a vector of several samples. An empty vector, a NaN, a range
// vector or a string is an error, never a value. Warnings from Prometheus are ignored.
//
// Use it through a pointer; the zero value is ready to use.
type PrometheusProvider struct {
	// Transport carries the requests; nil means the client library's default transport.
	Transport http.RoundTripper

	apis sync.Map // address → promv1.API
}

var _ Provider = (*PrometheusProvider)(nil)

// Measure implements Provider.
func (p *PrometheusProvider) Measure(ctx context.Context, gate cutoverv1alpha1.Gate, vars Vars) (Measurement, error) {
	if gate.Prometheus == nil {
		return Measurement{}, fmt.Errorf("gate %q has no prometheus measurement: %w", gate.Name, ErrNoMeasurement)
	}
	address, query := gate.Prometheus.Address, vars.Expand(gate.Prometheus.Query)
	client, err := p.apiFor(address)
	if err != nil {
		return Measurement{}, fmt.Errorf("the Prometheus address %q is not usable: %w", address, err)
	}
	timeout := gate.GetTimeout()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	value, _, _, err := client.Query(ctx, query, time.Now(), promv1.WithTimeout(timeout))
	if err != nil {
		if ctx.Err() != nil {
			return Measurement{}, fmt.Errorf("query %q at %s got no answer within %s: %w", query, address, timeout, err)
		}
		return Measurement{}, fmt.Errorf("query %q at %s failed: %w", query, address, err)
	}
	m, err := measurementOf(value)
	if err != nil {
		return Measurement{}, fmt.Errorf("query %q at %s %w", query, address, err)
	}
	return m, nil
}

// apiFor returns the cached client of address, creating it on first use.
func (p *PrometheusProvider) apiFor(address string) (promv1.API, error) {
	if c, ok := p.apis.Load(address); ok {
		return c.(promv1.API), nil
	}
	client, err := api.NewClient(api.Config{Address: address, RoundTripper: p.Transport})
	if err != nil {
		return nil, err
	}
	c, _ := p.apis.LoadOrStore(address, promv1.NewAPI(client))
	return c.(promv1.API), nil
}

// errNaN is the error of a NaN result; 0/0 is what a ratio gives without traffic.
var errNaN = errors.New("returned NaN (no traffic?)")

// measurementOf maps a query result to a Measurement. Its errors complete the sentence
// "query ... at ...".
func measurementOf(value model.Value) (Measurement, error) {
	switch v := value.(type) {
	case *model.Scalar:
		return floatMeasurement(float64(v.Value))
	case model.Vector:
		return vectorMeasurement(v)
	case model.Matrix:
		return Measurement{}, errors.New("returned a range vector; a gate needs a scalar or an instant vector")
	case nil:
		return Measurement{}, errors.New("returned no result")
	default:
		return Measurement{}, fmt.Errorf("returned a %s; a gate needs a scalar or an instant vector", value.Type())
	}
}

func floatMeasurement(f float64) (Measurement, error) {
	if math.IsNaN(f) {
		return Measurement{}, errNaN
	}
	return Measurement{Value: f, Text: formatFloat(f)}, nil
}

// vectorMeasurement gives a double for one sample and a list of doubles for several.
func vectorMeasurement(v model.Vector) (Measurement, error) {
	switch len(v) {
	case 0:
		return Measurement{}, errors.New("returned no samples (an empty vector)")
	case 1:
		if v[0].Histogram != nil {
			return Measurement{}, fmt.Errorf("returned a native histogram for %s; a gate needs a number", v[0].Metric)
		}
		return floatMeasurement(float64(v[0].Value))
	}
	values := make([]any, len(v))
	texts := make([]string, len(v))
	for i, s := range v {
		f := float64(s.Value)
		switch {
		case s.Histogram != nil:
			return Measurement{}, fmt.Errorf("returned a native histogram for %s; a gate needs a number", s.Metric)
		case math.IsNaN(f):
			return Measurement{}, fmt.Errorf("returned NaN for %s (no traffic?)", s.Metric)
		}
		values[i], texts[i] = f, formatFloat(f)
	}
	text := "[" + strings.Join(texts, ", ") + "]"
	return Measurement{Value: values, Text: truncate(text, MaxTextLength)}, nil
}

// formatFloat writes f without an exponent for ordinary magnitudes, as Prometheus does.
func formatFloat(f float64) string {
	if a := math.Abs(f); a != 0 && (a < 1e-6 || a >= 1e21) {
		return strconv.FormatFloat(f, 'g', -1, 64)
	}
	return strconv.FormatFloat(f, 'f', -1, 64)
}
