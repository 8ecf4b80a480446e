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
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	cutoverv1alpha1 "github.com/cutover-dev/cutover/api/v1alpha1"
	"github.com/cutover-dev/cutover/internal/gates"
	"github.com/cutover-dev/cutover/test/utils"
)

// ratioQuery is the share of the revision's requests that did not fail.
const ratioQuery = `sum(rate(http_requests_total{revision="${revision}",code!~"5.."}[5s]))` +
	` / sum(rate(http_requests_total{revision="${revision}"}[5s]))`

func promGate(address, query, condition string, timeout time.Duration) cutoverv1alpha1.Gate {
	gate := cutoverv1alpha1.Gate{Name: "prom", SuccessCondition: condition,
		Prometheus: &cutoverv1alpha1.PrometheusGate{Address: address, Query: query}}
	if timeout > 0 {
		gate.Prometheus.Timeout = &metav1.Duration{Duration: timeout}
	}
	return gate
}

// TestPrometheusGate runs queries on a real Prometheus that scrapes an Exporter: 99 of every
// 100 requests of the new revision succeed.
func TestPrometheusGate(t *testing.T) {
	exporter := utils.NewExporter(t)
	exporter.SetRate(testVars.Revision, "200", 99)
	exporter.SetRate(testVars.Revision, "500", 1)
	exporter.SetRate(testVars.StableRevision, "200", 10)
	exporter.Set(testVars.Revision, 0.25)
	prom := utils.StartPrometheus(t, exporter.Target())
	m := newMeasurer(time.Now())
	measure := func(t *testing.T, query, condition string) gates.Result {
		return m.Measure(t.Context(), promGate(prom.URL(), query, condition, 0), testVars)
	}

	t.Run("a ratio meets its condition once there is data", func(t *testing.T) {
		NewWithT(t).Eventually(func(g Gomega) {
			res := measure(t, ratioQuery, "result >= 0.98")
			g.Expect(res.Verdict).To(Equal(gates.VerdictPassed), res.Message)
			g.Expect(strconv.ParseFloat(res.Value, 64)).To(BeNumerically("~", 0.99, 1e-9))
		}).WithContext(t.Context()).WithTimeout(30 * time.Second).WithPolling(250 * time.Millisecond).Should(Succeed())
	})
	t.Run("a ratio fails a stricter condition", func(t *testing.T) {
		res := measure(t, ratioQuery, "result >= 0.995")
		NewWithT(t).Expect(res).To(haveVerdict(gates.VerdictFailed, `does not meet "result >= 0.995"`))
	})
	t.Run("a gauge is one value", func(t *testing.T) {
		res := measure(t, `cutover_test_value{revision="${revision}"}`, "result == 0.25")
		NewWithT(t).Expect(res).To(haveVerdict(gates.VerdictPassed, `0.25 meets "result == 0.25"`))
	})
	t.Run("a scalar is one value", func(t *testing.T) {
		res := measure(t, `scalar(cutover_test_value{revision="${revision}"}) * 4`, "result == 1")
		NewWithT(t).Expect(res).To(haveVerdict(gates.VerdictPassed, `1 meets "result == 1"`))
	})
	t.Run("several samples are a list", func(t *testing.T) {
		g := NewWithT(t)
		query := `sum by (code) (rate(http_requests_total{revision="${revision}"}[5s]))`
		res := measure(t, query, "size(result) == 2 && result.all(x, x > 0.0) && result.exists(x, x > 10.0)")
		g.Expect(res.Verdict).To(Equal(gates.VerdictPassed), res.Message)
		g.Expect(res.Value).To(MatchRegexp(`^\[[0-9.]+, [0-9.]+\]$`))
		res = measure(t, query, "result.all(x, x < 10.0)")
		g.Expect(res.Verdict).To(Equal(gates.VerdictFailed), res.Message)
	})
	errorCases(t, measure, prom.URL())
}

// errorCases are queries that produce no value.
func errorCases(t *testing.T, measure func(*testing.T, string, string) gates.Result, address string) {
	for _, tc := range []struct{ name, query, message string }{
		{"an empty vector", `http_requests_total{revision="nope"}`, "returned no samples"},
		{"a NaN scalar", `0/0`, "returned NaN (no traffic?)"},
		{"a NaN sample", `vector(0) / vector(0)`, "returned NaN (no traffic?)"},
		{"a syntax error", `sum(rate(`, "failed: bad_data: invalid parameter \"query\": 1:10: parse error"},
		{"a range vector", `http_requests_total[5s]`, "returned a range vector"},
		// client_golang cannot decode a string result.
		{"a string", `"hello"`, `failed: bad_response: unexpected value type "string"`},
	} {
		t.Run(tc.name+" is an error", func(t *testing.T) {
			g := NewWithT(t)
			res := measure(t, tc.query, "true")
			g.Expect(res.Verdict).To(Equal(gates.VerdictError), res.Message)
			g.Expect(res.Value).To(BeEmpty())
			g.Expect(res.Message).To(HavePrefix("query %q at %s ", tc.query, address))
			g.Expect(res.Message).To(ContainSubstring(tc.message))
		})
	}
}

// haveVerdict matches a Result with this verdict whose message contains message.
func haveVerdict(verdict gates.Verdict, message string) OmegaMatcher {
	return And(
		WithTransform(func(r gates.Result) gates.Verdict { return r.Verdict }, Equal(verdict)),
		WithTransform(func(r gates.Result) string { return r.Message }, ContainSubstring(message)),
	)
}

func TestPrometheusGateUnreachable(t *testing.T) {
	g := NewWithT(t)
	srv := httptest.NewServer(nil)
	address := srv.URL
	srv.Close()
	res := newMeasurer(time.Now()).Measure(t.Context(), promGate(address, "up", "true", 0), testVars)
	g.Expect(res.Verdict).To(Equal(gates.VerdictError))
	g.Expect(res.Message).To(HavePrefix(`query "up" at ` + address + " failed: "))
	g.Expect(res.Message).To(ContainSubstring("connection refused"))

	res = newMeasurer(time.Now()).Measure(t.Context(), promGate("http://[::1", "up", "true", 0), testVars)
	g.Expect(res.Verdict).To(Equal(gates.VerdictError))
	g.Expect(res.Message).To(HavePrefix(`the Prometheus address "http://[::1" is not usable: `))
}

func TestPrometheusGateTimeout(t *testing.T) {
	g := NewWithT(t)
	srv := hangingServer(t)
	start := time.Now()
	res := newMeasurer(time.Now()).Measure(t.Context(), promGate(srv.URL, "up", "true", time.Second), testVars)
	g.Expect(time.Since(start)).To(BeNumerically("<", 3*time.Second))
	g.Expect(res.Verdict).To(Equal(gates.VerdictError))
	g.Expect(res.Message).To(HavePrefix(`query "up" at ` + srv.URL + " got no answer within 1s: "))
	g.Expect(strings.Contains(res.Message, "deadline exceeded")).To(BeTrue(), res.Message)
}
