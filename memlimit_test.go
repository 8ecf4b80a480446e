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

package main

import (
	"math"
	"runtime/debug"
	"testing"

	"github.com/KimMachineGun/automemlimit/memlimit"
	"github.com/go-logr/logr"
)

// TestSetMemoryLimit checks that the manager gives the Go runtime 90% of its container's memory
// limit, leaves the limit alone without one, and lets GOMEMLIMIT in the environment win.
func TestSetMemoryLimit(t *testing.T) {
	before := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(before) })
	t.Setenv("GOMEMLIMIT", "")
	t.Setenv("AUTOMEMLIMIT", "0.9")

	if got, want := setMemoryLimit(memlimit.Limit(400<<20), logr.Discard()), int64(360<<20); got != want || debug.SetMemoryLimit(-1) != want {
		t.Errorf("with a 400 MiB container limit: GOMEMLIMIT = %d (runtime %d), want %d", got, debug.SetMemoryLimit(-1), want)
	}
	noLimit := func() (uint64, error) { return 0, memlimit.ErrNoLimit }
	if got := setMemoryLimit(noLimit, logr.Discard()); got != math.MaxInt64 {
		t.Errorf("without a container limit: GOMEMLIMIT = %d, want none (%d)", got, int64(math.MaxInt64))
	}
	t.Setenv("GOMEMLIMIT", "100MiB")
	debug.SetMemoryLimit(100 << 20)
	if got := setMemoryLimit(memlimit.Limit(400<<20), logr.Discard()); got != 100<<20 {
		t.Errorf("with GOMEMLIMIT=100MiB set: limit = %d, want it kept (%d)", got, 100<<20)
	}
}
