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

package fake_test

import (
	"context"
	"errors"
	"testing"

	"github.com/cutover-dev/cutover/internal/traffic"
	"github.com/cutover-dev/cutover/internal/traffic/fake"
)

func TestRouter(t *testing.T) {
	ctx := context.Background()
	f := &fake.Router{Observed: traffic.Observed{StableRevision: "s1", CanaryRevision: "c0", Corrected: []string{"x"}}}
	if _, ok := f.LastSplit(); ok {
		t.Fatal("LastSplit before any Reconcile")
	}
	obs, err := f.Reconcile(ctx, nil, traffic.Split{StableRevision: "s1", CanaryRevision: "c1", CanaryWeight: 10})
	if err != nil || obs.CanaryRevision != "c0" || len(obs.Corrected) != 1 {
		t.Errorf("Reconcile = %+v, %v; want the configured Observed", obs, err)
	}
	if obs, _ := f.Observe(ctx, nil); obs.CanaryRevision != "c0" {
		t.Errorf("without Follow, Observe = %+v, want the configured Observed", obs)
	}

	f.Follow = true
	_, _ = f.Reconcile(ctx, nil, traffic.Split{StableRevision: "s1", CanaryRevision: "c1", CanaryWeight: 30})
	_, _ = f.Reconcile(ctx, nil, traffic.Split{StableRevision: "c1", CanaryWeight: 0})
	obs, _ = f.Observe(ctx, nil)
	if want := (traffic.Observed{StableRevision: "c1", CanaryRevision: "c1"}); obs.StableRevision != want.StableRevision ||
		obs.CanaryRevision != want.CanaryRevision || obs.CanaryWeight != 0 || obs.Corrected != nil {
		t.Errorf("with Follow, Observe = %+v, want %+v", obs, want)
	}
	if last, ok := f.LastSplit(); !ok || last.StableRevision != "c1" || f.ReconcileCalls() != 3 || f.ObserveCalls() != 2 {
		t.Errorf("LastSplit = %+v, %v; calls %d/%d", last, ok, f.ReconcileCalls(), f.ObserveCalls())
	}

	boom := errors.New("boom")
	f.Set(traffic.Observed{}, boom)
	if _, err := f.Reconcile(ctx, nil, traffic.Split{StableRevision: "s2"}); !errors.Is(err, boom) {
		t.Errorf("Reconcile = %v, want the configured error", err)
	}
	if got := len(f.Splits()); got != 4 {
		t.Errorf("Splits = %d, want 4 (a failed call is recorded too)", got)
	}
	f.Reset()
	if f.ReconcileCalls() != 0 || f.ObserveCalls() != 0 {
		t.Error("Reset kept calls")
	}
}
