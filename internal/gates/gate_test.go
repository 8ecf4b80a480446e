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

package gates_test

import (
	"context"
	"errors"
	"testing"
	"time"

	. "github.com/onsi/gomega"

	cutoverv1alpha1 "github.com/cutover-dev/cutover/api/v1alpha1"
	"github.com/cutover-dev/cutover/internal/gates"
)

// fixedProvider answers every measurement with m and err, and records the gates it saw.
type fixedProvider struct {
	m    gates.Measurement
	err  error
	seen []string
}

func (p *fixedProvider) Measure(_ context.Context, gate cutoverv1alpha1.Gate, _ gates.Vars) (gates.Measurement, error) {
	p.seen = append(p.seen, gate.Name)
	return p.m, p.err
}

func TestProvidersDispatch(t *testing.T) {
	g := NewWithT(t)
	prom, web := &fixedProvider{}, &fixedProvider{}
	p := gates.Providers{Prometheus: prom, HTTP: web}
	_, err := p.Measure(t.Context(), promGate("http://p", "up", "true", 0), testVars)
	g.Expect(err).NotTo(HaveOccurred())
	_, err = p.Measure(t.Context(), httpGate("web", "http://w", "true", 0), testVars)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(prom.seen).To(Equal([]string{"prom"}))
	g.Expect(web.seen).To(Equal([]string{"web"}))

	_, err = p.Measure(t.Context(), cutoverv1alpha1.Gate{Name: "none"}, testVars)
	g.Expect(errors.Is(err, gates.ErrNoMeasurement)).To(BeTrue())
	_, err = gates.Providers{}.Measure(t.Context(), httpGate("web", "http://w", "true", 0), testVars)
	g.Expect(err).To(MatchError(`gate "web": no http provider is configured: no measurement`))
}

func TestMeasurerVerdicts(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, tc := range []struct {
		name      string
		provider  *fixedProvider
		condition string
		want      gates.Result
	}{
		{"passed", &fixedProvider{m: gates.Measurement{Value: 0.995, Text: "0.995"}}, "result >= 0.99",
			gates.Result{Verdict: gates.VerdictPassed, Value: "0.995", Message: `0.995 meets "result >= 0.99"`, At: now}},
		{"failed", &fixedProvider{m: gates.Measurement{Value: 0.93, Text: "0.93"}}, "result >= 0.99",
			gates.Result{Verdict: gates.VerdictFailed, Value: "0.93", Message: `0.93 does not meet "result >= 0.99"`, At: now}},
		{"provider error", &fixedProvider{err: errors.New("query failed")}, "result >= 0.99",
			gates.Result{Verdict: gates.VerdictError, Message: "query failed", At: now}},
		{"bad condition", &fixedProvider{m: gates.Measurement{Value: 1.0, Text: "1"}}, "result >=",
			gates.Result{Verdict: gates.VerdictError, Value: "1", At: now}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := &gates.Measurer{Provider: tc.provider, Now: func() time.Time { return now }}
			got := m.Measure(t.Context(), promGate("http://p", "up", tc.condition, 0), testVars)
			if tc.want.Message == "" {
				NewWithT(t).Expect(got.Message).To(HavePrefix(`evaluating "result >=" on 1: ERROR: <input>:1:10: Syntax error`))
				tc.want.Message = got.Message
			}
			NewWithT(t).Expect(got).To(Equal(tc.want))
		})
	}
}

func TestMeasurerDefaults(t *testing.T) {
	g := NewWithT(t)
	srv := statusServer(t)
	res := (&gates.Measurer{}).Measure(t.Context(), httpGate("g", srv.URL+"/ok", "result.status == 200", 0), testVars)
	g.Expect(res.Verdict).To(Equal(gates.VerdictPassed), res.Message)
	g.Expect(res.At).To(BeTemporally("~", time.Now(), time.Minute))
}
