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

package leaderfence

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// backend answers every request with code and counts the requests that reached it.
type backend struct {
	code int
	hits int
}

func (b *backend) RoundTrip(req *http.Request) (*http.Response, error) {
	b.hits++
	rec := httptest.NewRecorder()
	rec.WriteHeader(b.code)
	return rec.Result(), nil
}

const leasePath = "/apis/coordination.k8s.io/v1/namespaces/ns/leases/cutover.cutover.dev"

func TestFence(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	now := t0
	f := &Fence{RenewDeadline: 10 * time.Second, Now: func() time.Time { return now }}
	leaseAPI := &backend{code: http.StatusOK}
	api := &backend{code: http.StatusOK}
	observe, guard := f.Observe(leaseAPI), f.Guard(api)
	do := func(rt http.RoundTripper, method, path string) error {
		req := httptest.NewRequest(method, "https://api"+path, nil)
		resp, err := rt.RoundTrip(req)
		if err == nil {
			_ = resp.Body.Close()
		}
		return err
	}
	rsPath := "/apis/apps/v1/namespaces/ns/replicasets/shop-1"

	steps := []struct {
		name    string
		at      time.Duration
		rt      http.RoundTripper
		method  string
		path    string
		refused bool
	}{
		{"no lease yet: a write is refused", 0, guard, http.MethodPatch, rsPath, true},
		{"no lease yet: a read passes", 0, guard, http.MethodGet, rsPath, false},
		{"no lease yet: a TokenReview passes", 0, guard, http.MethodPost, "/apis/authentication.k8s.io/v1/tokenreviews", false},
		{"no lease yet: a SubjectAccessReview passes", 0, guard, http.MethodPost, "/apis/authorization.k8s.io/v1/subjectaccessreviews", false},
		{"the lease is acquired", time.Second, observe, http.MethodPut, leasePath, false},
		{"a write right after", 2 * time.Second, guard, http.MethodPatch, rsPath, false},
		{"a delete just before the deadline", 11*time.Second - time.Nanosecond, guard, http.MethodDelete, rsPath, false},
		{"a create at the deadline", 11 * time.Second, guard, http.MethodPost, "/api/v1/namespaces/ns/events", true},
		{"a renewal sent later", 12 * time.Second, observe, http.MethodPut, leasePath, false},
		{"writes pass again", 13 * time.Second, guard, http.MethodPut, rsPath, false},
		{"a read of the lease does not renew", 21 * time.Second, observe, http.MethodGet, leasePath, false},
		{"so the write after the deadline is refused", 22 * time.Second, guard, http.MethodPatch, rsPath, true},
	}
	for _, s := range steps {
		now = t0.Add(s.at)
		err := do(s.rt, s.method, s.path)
		if got := err != nil; got != s.refused {
			t.Fatalf("%s: refused=%v, want %v (err %v)", s.name, got, s.refused, err)
		}
		if err != nil && !errors.Is(err, ErrLeaseExpired) {
			t.Fatalf("%s: %v is not ErrLeaseExpired", s.name, err)
		}
	}
	if api.hits != 6 {
		t.Errorf("the API saw %d requests through the guard, want 6 (3 of 9 refused)", api.hits)
	}
}

func TestFenceIgnoresFailedRenewals(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	f := &Fence{RenewDeadline: 10 * time.Second, Now: func() time.Time { return now }}
	for _, code := range []int{http.StatusConflict, http.StatusInternalServerError} {
		req := httptest.NewRequest(http.MethodPut, "https://api"+leasePath, nil)
		resp, err := f.Observe(&backend{code: code}).RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
	}
	req := httptest.NewRequest(http.MethodPatch, "https://api/apis/cutover.dev/v1alpha1/namespaces/ns/rollouts/shop/status", nil)
	if _, err := f.Guard(&backend{code: http.StatusOK}).RoundTrip(req); !errors.Is(err, ErrLeaseExpired) {
		t.Fatalf("a write after only refused renewals: err %v, want ErrLeaseExpired", err)
	}
}
