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

// Package leaderfence keeps a manager that may have lost its leader-election lease from
// writing.
//
// client-go's leader elector notices a lost lease only when its renew loop gives up, up to
// RenewDeadline after it wakes. A leader that was stopped (SIGSTOP, a frozen VM, a long GC
// pause) past its lease wakes up still believing it leads, while another manager already
// holds the lease; for that time both write. The e2e test TestLeaderStoppedPastLeaseEndToEnd
// saw it: the old leader created and scaled ReplicaSets and patched status for 4 s.
//
// A Fence closes that window from the client side. Observe wraps the transport of the
// leader-election client and records, for each successful write of the Lease (acquire or
// renew), the time the request was sent. Guard wraps the transport of every other client and
// refuses a write once RenewDeadline has passed since that time: a standby takes the lease no
// sooner than LeaseDuration after it saw the last renewal, so a write sent before
// last-renewal+RenewDeadline reaches the API server (LeaseDuration-RenewDeadline of margin) before
// anyone else can lead. A request already past the guard when the process stopped can still go
// out; only a fencing token checked by the API server would close that.
package leaderfence

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Fence records lease renewals and refuses writes when the last one is too old.
type Fence struct {
	// RenewDeadline is how long after a renewal was sent writes are allowed.
	RenewDeadline time.Duration
	// Now returns the current time; time.Now when nil. Times carry a monotonic reading, so a
	// wall-clock step does not move the fence.
	Now func() time.Time

	mu         sync.Mutex
	validUntil time.Time
}

// ErrLeaseExpired is returned, wrapped, for a refused write.
var ErrLeaseExpired = fmt.Errorf("leader-election lease not renewed in time: this manager may no longer lead")

func (f *Fence) now() time.Time {
	if f.Now != nil {
		return f.Now()
	}
	return time.Now()
}

// Observe wraps the leader-election client's transport: a successful create or update of a
// Lease moves the fence to the request's send time plus RenewDeadline.
func (f *Fence) Observe(rt http.RoundTripper) http.RoundTripper {
	return roundTripper(func(req *http.Request) (*http.Response, error) {
		sent := f.now()
		resp, err := rt.RoundTrip(req)
		if err == nil && isLeaseWrite(req) && resp.StatusCode >= 200 && resp.StatusCode < 300 {
			f.mu.Lock()
			if until := sent.Add(f.RenewDeadline); until.After(f.validUntil) {
				f.validUntil = until
			}
			f.mu.Unlock()
		}
		return resp, err
	})
}

// Guard wraps the transport of the manager's other clients: a write (any method but GET, HEAD
// and OPTIONS) is refused unless the lease was renewed less than RenewDeadline ago. Reviews of
// tokens and access (the metrics endpoint's authentication) are not writes and always pass.
func (f *Fence) Guard(rt http.RoundTripper) http.RoundTripper {
	return roundTripper(func(req *http.Request) (*http.Response, error) {
		if isWrite(req) {
			f.mu.Lock()
			until := f.validUntil
			f.mu.Unlock()
			if now := f.now(); !now.Before(until) {
				return nil, fmt.Errorf("refusing %s %s: %w (last renewal valid until %s, now %s)", req.Method,
					req.URL.Path, ErrLeaseExpired, until.Format(time.RFC3339Nano), now.Format(time.RFC3339Nano))
			}
		}
		return rt.RoundTrip(req)
	})
}

func isWrite(req *http.Request) bool {
	switch req.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return false
	}
	p := req.URL.Path
	return !strings.HasPrefix(p, "/apis/authentication.k8s.io/") && !strings.HasPrefix(p, "/apis/authorization.k8s.io/")
}

func isLeaseWrite(req *http.Request) bool {
	if req.Method != http.MethodPut && req.Method != http.MethodPost {
		return false
	}
	p := req.URL.Path
	return strings.HasPrefix(p, "/apis/coordination.k8s.io/") &&
		(strings.HasSuffix(p, "/leases") || strings.Contains(p, "/leases/"))
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(req *http.Request) (*http.Response, error) { return f(req) }
