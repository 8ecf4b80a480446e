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

// Package gates takes the measurements of a Rollout's gates (Prometheus queries and HTTP
// requests) and judges them with their CEL success conditions.
package gates

import (
	"context"
	"fmt"
	"sync"
	"time"

	cutoverv1alpha1 "github.com/cutover-dev/cutover/api/v1alpha1"
)

// MaxMessageLength is the most characters Result.Message holds: the length of
// status.gates[].message.
const MaxMessageLength = 1024

// Verdict is the outcome of one measurement.
type Verdict string

// The verdicts of a measurement.
const (
	// VerdictPassed is a value that meets the success condition.
	VerdictPassed Verdict = "Passed"
	// VerdictFailed is a value that does not meet the success condition.
	VerdictFailed Verdict = "Failed"
	// VerdictError is a measurement that produced no value, or a value the condition could
	// not judge.
	VerdictError Verdict = "Error"
)

// Result is one measurement judged by the success condition.
type Result struct {
	// Verdict is the outcome.
	Verdict Verdict
	// Value is the measurement as text (Measurement.Text); empty when there was none.
	Value string
	// Message says what the measurement found, in words (at most MaxMessageLength
	// characters).
	Message string
	// At is when the measurement started.
	At time.Time
}

// Measurer measures gates and judges them.
type Measurer struct {
	// Provider takes the measurements; nil means NewProviders().
	Provider Provider
	// Conditions judges them; nil means a cache shared by the Measurers that have none.
	Conditions *Conditions
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

var (
	defaultConditions = sync.OnceValue(NewConditions)
	defaultProviders  = sync.OnceValue(NewProviders)
)

// Measure takes one measurement of gate under a context bounded by gate.GetTimeout() and
// judges it. A provider error or a condition evaluation error gives VerdictError with a
// message; a false condition gives VerdictFailed with a message like
// `0.93 does not meet "result >= 0.99"`; true gives VerdictPassed.
func (m *Measurer) Measure(ctx context.Context, gate cutoverv1alpha1.Gate, vars Vars) Result {
	res := Result{At: m.now()}
	ctx, cancel := context.WithTimeout(ctx, gate.GetTimeout())
	defer cancel()
	measurement, err := m.provider().Measure(ctx, gate, vars)
	if err != nil {
		return res.with(VerdictError, err.Error())
	}
	res.Value = truncate(measurement.Text, MaxTextLength)
	ok, err := m.conditions().Evaluate(gate.SuccessCondition, measurement.Value)
	switch {
	case err != nil:
		return res.with(VerdictError, fmt.Sprintf("evaluating %q on %s: %v", gate.SuccessCondition, measurement.Text, err))
	case ok:
		return res.with(VerdictPassed, fmt.Sprintf("%s meets %q", measurement.Text, gate.SuccessCondition))
	default:
		return res.with(VerdictFailed, fmt.Sprintf("%s does not meet %q", measurement.Text, gate.SuccessCondition))
	}
}

// MeasureAll measures several gates concurrently (one goroutine each), so a reconcile waits
// at most for the longest timeout, not their sum. Returns results by gate name.
func (m *Measurer) MeasureAll(ctx context.Context, gates []cutoverv1alpha1.Gate, vars Vars) map[string]Result {
	results := make(map[string]Result, len(gates))
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, gate := range gates {
		wg.Go(func() {
			res := m.Measure(ctx, gate, vars)
			mu.Lock()
			defer mu.Unlock()
			results[gate.Name] = res
		})
	}
	wg.Wait()
	return results
}

func (r Result) with(v Verdict, message string) Result {
	r.Verdict, r.Message = v, truncate(message, MaxMessageLength)
	return r
}

func (m *Measurer) now() time.Time {
	if m.Now == nil {
		return time.Now()
	}
	return m.Now()
}

func (m *Measurer) provider() Provider {
	if m.Provider == nil {
		return defaultProviders()
	}
	return m.Provider
}

func (m *Measurer) conditions() *Conditions {
	if m.Conditions == nil {
		return defaultConditions()
	}
	return m.Conditions
}
