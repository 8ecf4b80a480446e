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
	"bufio"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	. "github.com/onsi/gomega" //nolint:revive // Gomega's DSL reads best unqualified.
	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/cutover-dev/cutover/test/utils"
)

// The leader-election timing of the HA tests: shorter than the 15s/10s/2s defaults so the
// tests are quick, long enough that a loaded 2-core machine renews in time.
const (
	haLeaseDuration = 6 * time.Second
	haRenewDeadline = 4 * time.Second
	haRetryPeriod   = time.Second
	// haLeaseName is the manager's LeaderElectionID.
	haLeaseName = "cutover.cutover.dev"
)

// haManager is one of several manager processes that compete for the lease. Its name is its
// argv[0], so its user agent (client-go derives it from argv[0]) starts with name+"/", which
// tells its requests apart in the audit log.
type haManager struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan struct{}
}

// startHAManager runs bin/cutover as name, with leader election in namespace ns (its Lease lives
// there too), watching ns only. It is killed when the test ends; its log is printed if the test
// failed.
func startHAManager(t *testing.T, ns, name string) *haManager {
	t.Helper()
	bin := filepath.Join(os.Getenv("CUTOVER_BIN"), "cutover")
	logFile, err := os.CreateTemp("", "cutover-e2e-"+name+"-*.log")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "--leader-elect=true", "--leader-election-namespace="+ns,
		"--leader-elect-lease-duration="+haLeaseDuration.String(),
		"--leader-elect-renew-deadline="+haRenewDeadline.String(),
		"--leader-elect-retry-period="+haRetryPeriod.String(),
		"--metrics-bind-address=0", "--health-probe-bind-address=0", "--watch-namespaces="+ns, "--zap-log-level=debug")
	cmd.Args[0] = name
	cmd.Env = append(os.Environ(), "KUBECONFIG="+os.Getenv("CUTOVER_KUBECONFIG"))
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", bin, err)
	}
	m := &haManager{name: name, cmd: cmd, log: logFile.Name(), done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(m.done) }()
	t.Cleanup(func() {
		m.kill()
		_ = logFile.Close()
		if t.Failed() {
			if b, err := os.ReadFile(m.log); err == nil {
				lines := strings.Split(string(b), "\n")
				t.Logf("----- %s log (last 60 lines) -----\n%s", name, strings.Join(lines[max(0, len(lines)-60):], "\n"))
			}
		}
		_ = os.Remove(m.log)
	})
	return m
}

// signal sends sig to the process.
func (m *haManager) signal(sig syscall.Signal) { _ = m.cmd.Process.Signal(sig) }

// kill stops the process with SIGKILL (after SIGCONT, in case it is stopped) and waits for it.
func (m *haManager) kill() {
	m.signal(syscall.SIGCONT)
	m.signal(syscall.SIGKILL)
	<-m.done
}

// exited tells whether the process has ended.
func (m *haManager) exited() bool {
	select {
	case <-m.done:
		return true
	default:
		return false
	}
}

// logText returns the process's log so far.
func (m *haManager) logText() string {
	b, _ := os.ReadFile(m.log)
	return string(b)
}

// wrote tells whether an audited request was made by this process.
func (m *haManager) wrote(e auditEntry) bool { return strings.HasPrefix(e.UserAgent, m.name+"/") }

// recordLeases records every version of the Leases of ns from a watch, until the test ends.
func recordLeases(t *testing.T, g Gomega, ns string) *utils.History {
	t.Helper()
	c, err := client.NewWithWatch(restConfig, client.Options{Scheme: scheme})
	g.Expect(err).NotTo(HaveOccurred())
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	h := &utils.History{}
	g.Expect(h.Record(ctx, c, ns, &coordinationv1.LeaseList{})).To(Succeed())
	return h
}

// leaseTerm is one holder's tenure as the watch saw it.
type leaseTerm struct {
	holder  string
	acquire time.Time
}

// leaseTerms returns the holders of the manager's Lease in order, one entry per change of holder.
func leaseTerms(h *utils.History) []leaseTerm {
	var out []leaseTerm
	for _, o := range h.Ordered() {
		l, ok := o.(*coordinationv1.Lease)
		if !ok || l.Name != haLeaseName || l.Spec.HolderIdentity == nil || *l.Spec.HolderIdentity == "" {
			continue
		}
		if len(out) > 0 && out[len(out)-1].holder == *l.Spec.HolderIdentity {
			continue
		}
		var at time.Time
		if l.Spec.AcquireTime != nil {
			at = l.Spec.AcquireTime.Time
		}
		out = append(out, leaseTerm{holder: *l.Spec.HolderIdentity, acquire: at})
	}
	return out
}

// auditEntry is the part of a kube-apiserver audit event (audit.k8s.io/v1, Metadata level) the
// HA tests read.
type auditEntry struct {
	Stage     string `json:"stage"`
	Verb      string `json:"verb"`
	UserAgent string `json:"userAgent"`
	User      struct {
		Username string `json:"username"`
	} `json:"user"`
	ObjectRef *struct {
		Resource    string `json:"resource"`
		Namespace   string `json:"namespace"`
		Name        string `json:"name"`
		Subresource string `json:"subresource"`
	} `json:"objectRef"`
	ResponseStatus *struct {
		Code int `json:"code"`
	} `json:"responseStatus"`
	RequestReceived metav1.MicroTime `json:"requestReceivedTimestamp"`
}

// String is a one-line summary for failure messages.
func (e auditEntry) String() string {
	code := 0
	if e.ResponseStatus != nil {
		code = e.ResponseStatus.Code
	}
	return e.RequestReceived.UTC().Format("15:04:05.000000") + " " + e.Verb + " " + e.ObjectRef.Resource + "/" +
		e.ObjectRef.Subresource + " " + e.ObjectRef.Name + " -> " + strconv.Itoa(code) + " by " + e.UserAgent
}

// lease tells whether the entry is about the manager's Lease.
func (e auditEntry) lease() bool {
	return e.ObjectRef.Resource == "leases" && e.ObjectRef.Name == haLeaseName
}

// succeeded tells whether the API server carried the write out.
func (e auditEntry) succeeded() bool {
	return e.ResponseStatus != nil && e.ResponseStatus.Code >= 200 && e.ResponseStatus.Code < 300
}

// auditWrites reads the completed write requests on namespace ns from the API server's audit
// log (hack/cluster-up.sh writes it to the cluster's logs directory, with the write verbs on
// the objects the manager writes).
func auditWrites(t *testing.T, g Gomega, ns string) []auditEntry {
	t.Helper()
	path := filepath.Join(os.Getenv("CUTOVER_CLUSTER_DIR"), "logs", "audit.log")
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("reading the audit log (CUTOVER_CLUSTER_DIR must name the cluster's directory, "+
			"and the cluster must have been started by a hack/cluster-up.sh that turns it on): %v", err)
	}
	defer func() { _ = f.Close() }()
	var out []auditEntry
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 1<<20), 16<<20)
	for sc.Scan() {
		line := sc.Bytes()
		if !strings.Contains(string(line), `"namespace":"`+ns+`"`) {
			continue
		}
		var e auditEntry
		g.Expect(json.Unmarshal(line, &e)).To(Succeed())
		if e.Stage == "ResponseComplete" && e.ObjectRef != nil && e.ObjectRef.Namespace == ns {
			out = append(out, e)
		}
	}
	g.Expect(sc.Err()).NotTo(HaveOccurred())
	return out
}
