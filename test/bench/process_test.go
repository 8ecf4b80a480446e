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

package bench

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"k8s.io/client-go/rest"

	"github.com/cutover-dev/cutover/test/utils"
)

// clockTicks is USER_HZ, the unit of the CPU times in /proc/PID/stat: 100 on Linux.
const clockTicks = 100

// buildManager builds the manager binary from this checkout, once per benchmark run.
func buildManager(b *testing.B) string {
	b.Helper()
	bin := filepath.Join(b.TempDir(), "cutover")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Dir = repoRoot
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("building the manager: %v\n%s", err, out)
	}
	return bin
}

// managerProcess is the manager binary running against the benchmark's API server, through a
// proxy that counts its writes.
type managerProcess struct {
	*manager
	pid         int
	pprofAddr   string
	metricsAddr string
}

// startManagerProcess starts the manager binary with its default flags, except for the
// addresses it binds (free ports of 127.0.0.1) and the log level. It talks to the API server
// through a reverse proxy in this process, whose transport counts every write as the in-process
// benchmark does. The process is killed when the benchmark ends.
func startManagerProcess(ctx context.Context, b *testing.B, cfg *rest.Config, bin string, book *rvBook) *managerProcess {
	b.Helper()
	wc := &writeCounter{n: map[string]int{}, metaPatches: map[string]int{}}
	proxyURL := startCountingProxy(b, cfg, wc, book)
	dir := b.TempDir()
	kubeconfig := filepath.Join(dir, "kubeconfig")
	kc := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters: [{name: bench, cluster: {server: %q}}]
users: [{name: bench, user: {}}]
contexts: [{name: bench, context: {cluster: bench, user: bench}}]
current-context: bench
`, proxyURL)
	if err := os.WriteFile(kubeconfig, []byte(kc), 0o600); err != nil {
		b.Fatalf("writing the manager's kubeconfig: %v", err)
	}
	probe, pprof, metricsAddr := utils.FreeAddress(b), utils.FreeAddress(b), utils.FreeAddress(b)
	logPath := filepath.Join(dir, "manager.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		b.Fatalf("creating the manager's log: %v", err)
	}
	args := []string{"--kubeconfig=" + kubeconfig, "--health-probe-bind-address=" + probe,
		"--pprof-bind-address=" + pprof, "--metrics-bind-address=" + metricsAddr, "--metrics-secure=false", "--zap-log-level=error"}
	// CUTOVER_BENCH_MANAGER_FLAGS adds flags, to explore (e.g. --concurrency=20).
	args = append(args, strings.Fields(os.Getenv("CUTOVER_BENCH_MANAGER_FLAGS"))...)
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	// CUTOVER_BENCH_MANAGER_ENV adds environment variables to the manager's alone (e.g. GOGC=200).
	cmd.Env = append(os.Environ(), strings.Fields(os.Getenv("CUTOVER_BENCH_MANAGER_ENV"))...)
	if err := cmd.Start(); err != nil {
		b.Fatalf("starting the manager: %v", err)
	}
	b.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		_ = logFile.Close()
		if b.Failed() {
			data, _ := os.ReadFile(logPath)
			b.Logf("manager log (last 4 KiB):\n%s", utils.Tail(data, 4096))
		}
	})
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get("http://" + probe + "/readyz")
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			b.Fatalf("the manager was not ready within 60s (last error: %v)", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return &managerProcess{manager: &manager{writes: wc}, pid: cmd.Process.Pid, pprofAddr: pprof, metricsAddr: metricsAddr}
}

// startCountingProxy serves a reverse proxy to the API server on plain HTTP (127.0.0.1 only),
// authenticating as cfg's user and counting the writes that pass, and returns its URL.
//
// Over plain HTTP the manager speaks HTTP/1.1 through Go's default transport, which keeps two
// idle connections: it dials often, about 5% of its CPU in a burst of 1,000. Serving HTTPS
// with HTTP/2 instead (one connection, as to an API server) was tried: the dialing went, TLS
// took as much CPU, and the burst latency on kwok measured 0.3–0.5 s higher, so it stays so.
func startCountingProxy(b *testing.B, cfg *rest.Config, wc *writeCounter, book *rvBook) string {
	b.Helper()
	target, err := url.Parse(cfg.Host)
	if err != nil {
		b.Fatalf("parsing the API server's address: %v", err)
	}
	rt, err := rest.TransportFor(cfg)
	if err != nil {
		b.Fatalf("building the API server transport: %v", err)
	}
	proxy := &httputil.ReverseProxy{
		Rewrite:       func(r *httputil.ProxyRequest) { r.SetURL(target) },
		Transport:     countingTransport{next: rt, writes: wc, book: book},
		FlushInterval: -1, // watches stream
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatalf("listening for the proxy: %v", err)
	}
	handler := http.Handler(proxy)
	if os.Getenv("CUTOVER_BENCH_TRACE") != "" {
		// The trace reads each write's body again: keep it.
		handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if raw, err := io.ReadAll(r.Body); err == nil {
				r.Body = io.NopCloser(bytes.NewReader(raw))
				r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(raw)), nil }
			}
			proxy.ServeHTTP(w, r)
		})
	}
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(l) }()
	b.Cleanup(func() { _ = srv.Close() })
	return "http://" + l.Addr().String()
}

// heapAtRest forces a garbage collection through the pprof endpoint and returns the heap in use
// (runtime.MemStats.HeapInuse) right after it. With CUTOVER_BENCH_PROFILES set it also saves the
// heap profile there, as file, and returns its path.
func (m *managerProcess) heapAtRest(b *testing.B, file string) (uint64, string) {
	b.Helper()
	saved := m.saveProfile(b, "heap?gc=1", file)
	text := m.get(b, "heap?gc=1&debug=1")
	sc := bufio.NewScanner(bytes.NewReader(text))
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "# HeapInuse = "); ok {
			n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 64)
			if err != nil {
				b.Fatalf("reading HeapInuse %q: %v", v, err)
			}
			return n, saved
		}
	}
	b.Fatal("the heap profile has no HeapInuse line")
	return 0, ""
}

// cpuProfile starts a CPU profile of the manager when CUTOVER_BENCH_PROFILES is set, for most of
// a burst of n changes (60 s per 1,000 Rollouts, at least 20 s), and returns a function that
// waits for it and returns the file it was saved to.
func (m *managerProcess) cpuProfile(b *testing.B, n int, file string) func() string {
	if os.Getenv("CUTOVER_BENCH_PROFILES") == "" {
		return func() string { return "" }
	}
	seconds := max(20, n*60/1000)
	done := make(chan string, 1)
	go func() { done <- m.saveProfile(b, fmt.Sprintf("profile?seconds=%d", seconds), file) }()
	return func() string { return <-done }
}

// apiServerProfile starts a CPU profile of the API server cfg reaches, like cpuProfile, through
// its own /debug/pprof (kube-apiserver serves it to an admin, as envtest's user is).
func apiServerProfile(b *testing.B, cfg *rest.Config, n int, file string) func() string {
	dir := os.Getenv("CUTOVER_BENCH_PROFILES")
	if dir == "" {
		return func() string { return "" }
	}
	c, err := rest.HTTPClientFor(cfg)
	if err != nil {
		b.Fatalf("building the API server's HTTP client: %v", err)
	}
	address := fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", strings.TrimSuffix(cfg.Host, "/"), max(20, n*60/1000))
	done := make(chan string, 1)
	go func() {
		resp, err := c.Get(address)
		if err != nil || resp.StatusCode != http.StatusOK {
			b.Logf("no API server profile (%s): %v %v", address, err, resp)
			done <- ""
			return
		}
		defer func() { _ = resp.Body.Close() }()
		data, _ := io.ReadAll(resp.Body)
		path := filepath.Join(dir, file)
		if err := os.WriteFile(path, data, 0o644); err != nil {
			b.Logf("writing %s: %v", path, err)
			path = ""
		}
		done <- path
	}()
	return func() string { return <-done }
}

// saveProfile fetches /debug/pprof/<what> into CUTOVER_BENCH_PROFILES/file, if that is set.
func (m *managerProcess) saveProfile(b *testing.B, what, file string) string {
	dir := os.Getenv("CUTOVER_BENCH_PROFILES")
	if dir == "" {
		return ""
	}
	path := filepath.Join(dir, file)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.Errorf("creating %s: %v", dir, err)
		return ""
	}
	if err := os.WriteFile(path, m.get(b, what), 0o644); err != nil {
		b.Errorf("saving the profile: %v", err)
		return ""
	}
	return path
}

func (m *managerProcess) get(b *testing.B, what string) []byte {
	return fetch(b, "http://"+m.pprofAddr+"/debug/pprof/"+what)
}

// fetch reads address's body; an error fails the benchmark.
func fetch(b *testing.B, address string) []byte {
	resp, err := http.Get(address)
	if err != nil {
		b.Errorf("reading %s: %v", address, err)
		return nil
	}
	defer func() { _ = resp.Body.Close() }()
	data, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		b.Errorf("reading %s: %d %v", address, resp.StatusCode, err)
	}
	return data
}

// reconciles is how many reconciles of Rollouts the manager has finished, whatever their
// result (controller-runtime's controller_runtime_reconcile_total of the rollout controller).
func (m *managerProcess) reconciles(b *testing.B) float64 {
	p := expfmt.NewTextParser(model.UTF8Validation)
	families, err := p.TextToMetricFamilies(bytes.NewReader(fetch(b, "http://"+m.metricsAddr+"/metrics")))
	if err != nil {
		b.Fatalf("parsing the manager's metrics: %v", err)
	}
	total, found := 0.0, false
	for _, mt := range families["controller_runtime_reconcile_total"].GetMetric() {
		for _, l := range mt.GetLabel() {
			if l.GetName() == "controller" && l.GetValue() == "rollout" {
				total += mt.GetCounter().GetValue()
				found = true
			}
		}
	}
	if !found {
		b.Fatal("the manager's metrics have no controller_runtime_reconcile_total of the rollout controller")
	}
	return total
}

// cpu is the CPU time (user and system) the manager has used so far.
func (m *managerProcess) cpu(b *testing.B) time.Duration { return processCPU(b, m.pid) }

// rss is the manager's resident set size now.
func (m *managerProcess) rss(b *testing.B) uint64 { return m.status(b, "VmRSS") }

// peakRSS is the largest resident set size the manager has had.
func (m *managerProcess) peakRSS(b *testing.B) uint64 { return m.status(b, "VmHWM") }

// status reads a size in kB from /proc/PID/status, in bytes.
func (m *managerProcess) status(b *testing.B, field string) uint64 {
	b.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", m.pid))
	if err != nil {
		b.Fatalf("reading the manager's status: %v", err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			kb, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				b.Fatalf("reading %s %q: %v", field, v, err)
			}
			return kb << 10
		}
	}
	b.Fatalf("no %s in the manager's status", field)
	return 0
}

// processCPU is the CPU time (utime + stime, all threads) process pid has used so far.
func processCPU(b *testing.B, pid int) time.Duration {
	b.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Fatalf("reading /proc/%d/stat: %v", pid, err)
	}
	// The command name (field 2) is in parentheses and may hold spaces; fields count from its end.
	fields := strings.Fields(string(data[bytes.LastIndexByte(data, ')')+1:]))
	// utime and stime are fields 14 and 15 of the whole line, 12 and 13 after the name.
	utime, err1 := strconv.ParseInt(fields[11], 10, 64)
	stime, err2 := strconv.ParseInt(fields[12], 10, 64)
	if err1 != nil || err2 != nil {
		b.Fatalf("parsing /proc/%d/stat: %v %v", pid, err1, err2)
	}
	return time.Duration(utime+stime) * time.Second / clockTicks
}

// apiServerPID finds the kube-apiserver serving host (https://127.0.0.1:PORT) among this
// machine's processes, by its --secure-port flag.
func apiServerPID(b *testing.B, host string) int {
	b.Helper()
	u, err := url.Parse(host)
	if err != nil {
		b.Fatalf("parsing %q: %v", host, err)
	}
	want := "--secure-port=" + u.Port()
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		data, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		args := strings.Split(string(data), "\x00")
		if len(args) > 0 && filepath.Base(args[0]) == "kube-apiserver" && slices.Contains(args, want) {
			pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(p)))
			return pid
		}
	}
	b.Fatalf("no kube-apiserver process with %s", want)
	return 0
}
