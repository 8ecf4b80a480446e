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
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"sigs.k8s.io/yaml"
)

// Prometheus is a Prometheus server started for a test by StartPrometheus. It scrapes its
// targets every second.
type Prometheus struct {
	url string
}

// prometheusReadyTimeout bounds the wait for /-/ready.
const prometheusReadyTimeout = 30 * time.Second

// StartPrometheus starts a Prometheus server that scrapes the /metrics endpoints of targets
// (host:port) every second, waits until it is ready, and stops it when the test ends. The
// binary is $PROMETHEUS_BIN, else prometheus on the PATH, else /usr/bin/prometheus; without
// one the test fails. Its output goes to prometheus.log in a temporary directory, and its tail
// is logged when the test fails.
//
// Ready does not mean measured: the first samples appear a few seconds after start (about
// 5 s with Prometheus 2.42), and rate() needs two of them, so tests should poll for data.
func StartPrometheus(t testing.TB, targets ...string) *Prometheus {
	t.Helper()
	bin := prometheusBinary(t)
	dir := t.TempDir()
	addr := FreeAddress(t)
	logPath := filepath.Join(dir, "prometheus.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatalf("creating the Prometheus log: %v", err)
	}
	cmd := exec.Command(bin,
		"--config.file="+writePrometheusConfig(t, dir, targets),
		"--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr,
		"--log.level=warn")
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		_ = logFile.Close()
		t.Fatalf("starting %s: %v", bin, err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
		_ = logFile.Close()
		if t.Failed() {
			t.Logf("the tail of the Prometheus log:\n%s", fileTail(logPath))
		}
	})
	p := &Prometheus{url: "http://" + addr}
	p.waitReady(t, exited, logPath)
	return p
}

// URL returns the server's address, http://127.0.0.1:port.
func (p *Prometheus) URL() string { return p.url }

// waitReady polls /-/ready until it answers 200, and fails the test if the process exits or
// the deadline passes first.
func (p *Prometheus) waitReady(t testing.TB, exited <-chan struct{}, logPath string) {
	t.Helper()
	client := &http.Client{Timeout: time.Second}
	deadline := time.After(prometheusReadyTimeout)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		resp, err := client.Get(p.url + "/-/ready")
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case <-exited:
			t.Fatalf("Prometheus exited before it was ready; its log:\n%s", fileTail(logPath))
		case <-deadline:
			t.Fatalf("Prometheus at %s was not ready within %s (last error: %v)", p.url, prometheusReadyTimeout, err)
		case <-tick.C:
		}
	}
}

// prometheusBinary finds the prometheus binary or fails the test.
func prometheusBinary(t testing.TB) string {
	t.Helper()
	if bin := os.Getenv("PROMETHEUS_BIN"); bin != "" {
		return bin
	}
	if bin, err := exec.LookPath("prometheus"); err == nil {
		return bin
	}
	const debian = "/usr/bin/prometheus"
	if _, err := os.Stat(debian); err == nil {
		return debian
	}
	t.Fatalf("no prometheus binary: set PROMETHEUS_BIN, or install Debian's prometheus package (apt-get install prometheus)")
	return ""
}

// writePrometheusConfig writes a configuration that scrapes targets every second into dir and
// returns its path.
func writePrometheusConfig(t testing.TB, dir string, targets []string) string {
	t.Helper()
	if targets == nil {
		targets = []string{}
	}
	config := map[string]any{
		"global": map[string]any{"scrape_interval": "1s", "scrape_timeout": "1s", "evaluation_interval": "1s"},
		"scrape_configs": []any{map[string]any{
			"job_name":       "test",
			"static_configs": []any{map[string]any{"targets": targets}},
		}},
	}
	data, err := yaml.Marshal(config)
	if err != nil {
		t.Fatalf("encoding the Prometheus configuration: %v", err)
	}
	path := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatalf("writing the Prometheus configuration: %v", err)
	}
	return path
}

// FreeAddress returns 127.0.0.1:<a TCP port that was free a moment ago>.
func FreeAddress(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("finding a free port: %v", err)
	}
	defer func() { _ = l.Close() }()
	return l.Addr().String()
}

// fileTail returns the last 4 KiB of the file at path, or why it cannot.
func fileTail(path string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return "(" + err.Error() + ")"
	}
	return string(Tail(data, 4096))
}

// Tail returns the last n bytes of data.
func Tail(data []byte, n int) []byte {
	if len(data) > n {
		return data[len(data)-n:]
	}
	return data
}
