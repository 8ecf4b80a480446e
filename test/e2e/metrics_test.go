//go:build e2e

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

package e2e

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"testing"
	"time"

	. "github.com/onsi/gomega" //nolint:revive // Gomega's DSL reads best unqualified.

	"github.com/cutover-dev/cutover/test/utils"
)

// TestMetricsAuthEndToEnd starts the manager with its metrics served over HTTPS (the
// self-signed certificate of controller-runtime), then reads /metrics three ways: with the
// token of a ServiceAccount bound to the shipped metrics-reader ClusterRole (200 and Prometheus
// text), with the token of another ServiceAccount (403) and with no token (401).
func TestMetricsAuthEndToEnd(t *testing.T) {
	g := NewWithT(t)
	ns := newNamespace(t)
	url, reader, other, insecure := startSecuredMetrics(t, g, ns)

	// The authorizer may take a moment to see the new binding: RBAC's cache is refreshed
	// from a watch.
	g.Eventually(func(g Gomega) {
		r := getMetrics(g, insecure, url, reader)
		g.Expect(r.code).To(Equal(http.StatusOK), r.body)
		g.Expect(r.header.Get("Content-Type")).To(HavePrefix("text/plain"))
		g.Expect(r.body).To(MatchRegexp(`(?m)^controller_runtime_reconcile_total\{controller="[^"]+",result="success"\} `))
		g.Expect(r.body).To(ContainSubstring("# TYPE workqueue_adds_total counter"))
	}).WithTimeout(30 * time.Second).WithPolling(300 * time.Millisecond).Should(Succeed())

	for _, c := range []struct {
		who, token string
		want       int
	}{
		{"another ServiceAccount", other, http.StatusForbidden},
		{"no token", "", http.StatusUnauthorized},
	} {
		r := getMetrics(g, insecure, url, c.token)
		g.Expect(r.code).To(Equal(c.want), "%s: %s", c.who, r.body)
		g.Expect(r.body).NotTo(ContainSubstring("controller_runtime"), c.who)
	}
	// A token the API server does not know is refused too, though with 500: controller-runtime's
	// filter answers 500 when the TokenReview returns an error, and an unknown token is one.
	r := getMetrics(g, insecure, url, "not-a-token")
	g.Expect(r.code).To(BeNumerically(">=", 400), r.body)
	g.Expect(r.body).NotTo(ContainSubstring("controller_runtime"))
}

// TestMetricsCertificateEndToEnd gives the manager a certificate directory
// (--metrics-cert-path, as a mounted Secret would be): the metrics server serves that
// certificate, which verifies against its CA, over HTTP/1.1 only; a certificate written over it
// is served next without a restart.
func TestMetricsCertificateEndToEnd(t *testing.T) {
	g := NewWithT(t)
	ns := newNamespace(t)
	reader := serviceAccountToken(t, g, ns, "metrics-reader")
	bindMetricsReader(t, g, ns, "metrics-reader")

	ca := newTestCA(t)
	dir := t.TempDir()
	first := ca.writeServing(t, dir)
	addr := utils.FreeAddress(t)
	startManager(t, ns, "--metrics-bind-address="+addr, "--metrics-cert-path="+dir)

	pool := x509.NewCertPool()
	pool.AddCert(ca.cert)
	verified := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		// The client offers HTTP/2; the server must choose HTTP/1.1 (--enable-http2=false).
		ForceAttemptHTTP2: true,
		TLSClientConfig:   &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
	}}
	url := "https://" + addr + "/metrics"
	var r metricsReply
	g.Eventually(func(g Gomega) {
		r = getMetrics(g, verified, url, reader)
		g.Expect(r.code).To(Equal(http.StatusOK), r.body)
	}).WithTimeout(30 * time.Second).WithPolling(300 * time.Millisecond).Should(Succeed())
	g.Expect(r.tls.PeerCertificates[0].Raw).To(Equal(first.Raw), "the served certificate is the one of --metrics-cert-path")
	g.Expect(r.tls.NegotiatedProtocol).To(Equal("http/1.1"))
	g.Expect(r.proto).To(Equal(1))

	// Rotation: a new certificate in the same files is picked up by the certificate watcher.
	second := ca.writeServing(t, dir)
	g.Eventually(func(g Gomega) []byte {
		verified.CloseIdleConnections()
		return getMetrics(g, verified, url, reader).tls.PeerCertificates[0].Raw
	}).WithTimeout(30*time.Second).WithPolling(300*time.Millisecond).Should(Equal(second.Raw),
		"the rotated certificate is served")
	g.Expect(second.SerialNumber).NotTo(Equal(first.SerialNumber))
}

// metricsReply is what a GET of /metrics returned.
type metricsReply struct {
	code   int
	body   string
	header http.Header
	proto  int
	tls    *tls.ConnectionState
}

// getMetrics reads url with token as a bearer token (none when empty).
func getMetrics(g Gomega, c *http.Client, url, token string) metricsReply {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	g.Expect(err).NotTo(HaveOccurred())
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.Do(req)
	g.Expect(err).NotTo(HaveOccurred())
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	g.Expect(err).NotTo(HaveOccurred())
	return metricsReply{code: resp.StatusCode, body: string(body), header: resp.Header, proto: resp.ProtoMajor, tls: resp.TLS}
}
