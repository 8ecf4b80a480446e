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
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	cutoverv1alpha1 "github.com/cutover-dev/cutover/api/v1alpha1"
	"github.com/cutover-dev/cutover/internal/gates"
)

var testVars = gates.Vars{Revision: "7d9f8b6c5", StableRevision: "5c6b8f9d7", Rollout: "web", Namespace: "shop"}

// newMeasurer returns a Measurer with the real providers and a fixed clock.
func newMeasurer(now time.Time) *gates.Measurer {
	return &gates.Measurer{Provider: gates.NewProviders(), Conditions: gates.NewConditions(), Now: func() time.Time { return now }}
}

func httpGate(name, url, condition string, timeout time.Duration) cutoverv1alpha1.Gate {
	gate := cutoverv1alpha1.Gate{Name: name, HTTP: &cutoverv1alpha1.HTTPGate{URL: url}, SuccessCondition: condition}
	if timeout > 0 {
		gate.HTTP.Timeout = &metav1.Duration{Duration: timeout}
	}
	return gate
}

// hangingServer answers no request until the client gives up or the test ends.
func hangingServer(t *testing.T) *httptest.Server {
	t.Helper()
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(func() {
		close(release)
		srv.Close()
	})
	return srv
}

func statusServer(t *testing.T) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("/ok", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"ok": true, "ratio": 0.995, "pods": [{"ready": true}, {"ready": true}]}`)
	})
	mux.HandleFunc("/fail", func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "boom:\n  the database is down", http.StatusInternalServerError)
	})
	mux.HandleFunc("/long", func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = io.WriteString(w, strings.Repeat("x", 1000))
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// okText is the measurement text of statusServer's /ok: its JSON body, compacted.
const okText = `status 200: {"ok":true,"ratio":0.995,"pods":[{"ready":true},{"ready":true}]}`

func TestHTTPGate(t *testing.T) {
	srv := statusServer(t)
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	m := newMeasurer(now)
	for _, tc := range []struct {
		path, condition string
		want            gates.Result
	}{
		{"/ok", "result.status == 200", gates.Result{Verdict: gates.VerdictPassed, Value: okText,
			Message: okText + ` meets "result.status == 200"`, At: now}},
		{"/fail", "result.status == 200", gates.Result{Verdict: gates.VerdictFailed, Value: "status 500: boom: the database is down",
			Message: `status 500: boom: the database is down does not meet "result.status == 200"`, At: now}},
		{"/ok", "result.json.ok && result.json.ratio >= 0.99 && result.json.pods.all(p, p.ready)",
			gates.Result{Verdict: gates.VerdictPassed, Value: okText, At: now}},
		{"/fail", `result.status < 500 || result.body.contains("database")`,
			gates.Result{Verdict: gates.VerdictPassed, Value: "status 500: boom: the database is down", At: now}},
		{"/long", "result.status == 200",
			gates.Result{Verdict: gates.VerdictFailed, Value: "status 503: " + strings.Repeat("x", 99) + "…", At: now}},
	} {
		t.Run(tc.path+" "+tc.condition, func(t *testing.T) {
			got := m.Measure(t.Context(), httpGate("g", srv.URL+tc.path, tc.condition, 0), testVars)
			if tc.want.Message == "" {
				tc.want.Message = got.Message
			}
			NewWithT(t).Expect(got).To(Equal(tc.want))
		})
	}
}

func TestHTTPGateConditionError(t *testing.T) {
	g := NewWithT(t)
	srv := statusServer(t)
	got := newMeasurer(time.Now()).Measure(t.Context(), httpGate("g", srv.URL+"/fail", "result.json.ok", 0), testVars)
	g.Expect(got.Verdict).To(Equal(gates.VerdictError))
	g.Expect(got.Value).To(Equal("status 500: boom: the database is down"))
	g.Expect(got.Message).To(Equal(`evaluating "result.json.ok" on status 500: boom: the database is down: no such key: json`))
}

// received is what a recording server saw of a request.
type received struct {
	method, uri, host, body string
	header                  http.Header
}

func TestHTTPGateRequest(t *testing.T) {
	g := NewWithT(t)
	got := make(chan received, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		got <- received{method: r.Method, uri: r.RequestURI, host: r.Host, body: string(body), header: r.Header}
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(srv.Close)
	gate := httpGate("g", srv.URL+"/check/${namespace}/${rollout}?rev=${revision}", "result.status == 202", 0)
	gate.HTTP.Method = http.MethodPost
	gate.HTTP.Body = `{"revision": "${revision}", "stable": "${stableRevision}", "other": "${other}"}`
	gate.HTTP.Headers = []cutoverv1alpha1.HTTPHeader{
		{Name: "X-Revision", Value: "${revision}"},
		{Name: "Authorization", Value: "Bearer token-of-${rollout}"},
		{Name: "X-Multi", Value: "a"},
		{Name: "X-Multi", Value: "b"},
		{Name: "Host", Value: "${rollout}.${namespace}.example"},
	}
	res := newMeasurer(time.Now()).Measure(t.Context(), gate, testVars)
	g.Expect(res.Verdict).To(Equal(gates.VerdictPassed), res.Message)
	var r received
	g.Expect(got).To(Receive(&r))
	g.Expect(r.method).To(Equal(http.MethodPost))
	g.Expect(r.uri).To(Equal("/check/shop/web?rev=7d9f8b6c5"))
	g.Expect(r.host).To(Equal("web.shop.example"))
	g.Expect(r.body).To(Equal(`{"revision": "7d9f8b6c5", "stable": "5c6b8f9d7", "other": "${other}"}`))
	g.Expect(r.header.Get("X-Revision")).To(Equal("7d9f8b6c5"))
	g.Expect(r.header.Get("Authorization")).To(Equal("Bearer token-of-web"))
	g.Expect(r.header.Values("X-Multi")).To(Equal([]string{"a", "b"}))
}

func TestHTTPProviderValue(t *testing.T) {
	g := NewWithT(t)
	big := strings.Repeat("y", gates.MaxBodySize+1000)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/big" {
			_, _ = io.WriteString(w, big)
			return
		}
		_, _ = io.WriteString(w, `{"count": 3}`)
	}))
	t.Cleanup(srv.Close)
	p := &gates.HTTPProvider{}

	m, err := p.Measure(t.Context(), httpGate("g", srv.URL+"/json", "true", 0), testVars)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(m.Value).To(Equal(map[string]any{"status": int64(200), "body": `{"count": 3}`, "json": map[string]any{"count": 3.0}}))
	g.Expect(m.Text).To(Equal(`status 200: {"count":3}`), "a JSON body is shown, compacted")

	m, err = p.Measure(t.Context(), httpGate("g", srv.URL+"/big", "true", 0), testVars)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(m.Value).To(HaveKeyWithValue("body", big[:gates.MaxBodySize]))
	g.Expect(m.Value).NotTo(HaveKey("json"))
	g.Expect(m.Text).To(Equal("status 200"), "a 2xx body that is not JSON is not shown")
}

func TestHTTPGateUnreachable(t *testing.T) {
	g := NewWithT(t)
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	res := newMeasurer(time.Now()).Measure(t.Context(), httpGate("g", url+"/healthz", "result.status == 200", 0), testVars)
	g.Expect(res.Verdict).To(Equal(gates.VerdictError))
	g.Expect(res.Value).To(BeEmpty())
	g.Expect(res.Message).To(HavePrefix(fmt.Sprintf("GET %s/healthz failed: ", url)))
	g.Expect(res.Message).To(ContainSubstring("connection refused"))
}

func TestHTTPGateTimeout(t *testing.T) {
	g := NewWithT(t)
	srv := hangingServer(t)
	start := time.Now()
	res := newMeasurer(time.Now()).Measure(t.Context(), httpGate("g", srv.URL, "result.status == 200", time.Second), testVars)
	g.Expect(time.Since(start)).To(BeNumerically("<", 3*time.Second))
	g.Expect(res.Verdict).To(Equal(gates.VerdictError))
	g.Expect(res.Message).To(Equal(fmt.Sprintf("GET %s got no response within 1s: context deadline exceeded", srv.URL)))
}

func TestMeasureAllIsConcurrent(t *testing.T) {
	g := NewWithT(t)
	hanging, ok := hangingServer(t), statusServer(t)
	specGates := []cutoverv1alpha1.Gate{
		httpGate("slow-1", hanging.URL, "result.status == 200", time.Second),
		httpGate("slow-2", hanging.URL+"/other", "result.status == 200", time.Second),
		httpGate("fine", ok.URL+"/ok", "result.status == 200", time.Second),
		{Name: "nothing", SuccessCondition: "true"},
	}
	start := time.Now()
	results := newMeasurer(time.Now()).MeasureAll(t.Context(), specGates, testVars)
	g.Expect(time.Since(start)).To(BeNumerically("<", 2500*time.Millisecond))
	g.Expect(results).To(HaveLen(4))
	g.Expect(results["slow-1"].Verdict).To(Equal(gates.VerdictError))
	g.Expect(results["slow-2"].Verdict).To(Equal(gates.VerdictError))
	g.Expect(results["fine"].Verdict).To(Equal(gates.VerdictPassed))
	g.Expect(results["nothing"].Verdict).To(Equal(gates.VerdictError))
	g.Expect(results["nothing"].Message).To(Equal(`gate "nothing" has neither prometheus nor http: no measurement`))
}

func TestMeasureHonoursCallerContext(t *testing.T) {
	g := NewWithT(t)
	srv := hangingServer(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	res := newMeasurer(time.Now()).Measure(ctx, httpGate("g", srv.URL, "true", time.Minute), testVars)
	g.Expect(res.Verdict).To(Equal(gates.VerdictError))
	g.Expect(res.Message).To(ContainSubstring("context canceled"))
}
