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

package gates

import (
	"sync"
	"testing"
)

func TestConditionsCache(t *testing.T) {
	c := NewConditions()
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				if _, err := c.Evaluate("result >= 0.99", 1.0); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	// Concurrent first uses may each compile; later ones hit the cache.
	if n := c.compiled.Load(); n < 1 || n > 8 {
		t.Errorf("compiled %d times, want 1 to 8", n)
	}
	before := c.compiled.Load()
	for range 10 {
		if err := c.Compile("result >= 0.99"); err != nil {
			t.Fatal(err)
		}
	}
	if n := c.compiled.Load(); n != before {
		t.Errorf("a cached expression was compiled again (%d → %d)", before, n)
	}
	if err := c.Compile("result < 0.5"); err != nil {
		t.Fatal(err)
	}
	if n := c.compiled.Load(); n != before+1 {
		t.Errorf("a new expression: compiled %d times, want %d", n, before+1)
	}
}

func TestTruncate(t *testing.T) {
	for _, tc := range []struct {
		in   string
		n    int
		want string
	}{
		{"short", 10, "short"},
		{"exactly10!", 10, "exactly10!"},
		{"eleven char", 10, "eleven ch…"},
		{"ééééé", 5, "ééééé"}, // 10 bytes, 5 characters
		{"éééééé", 5, "éééé…"},
	} {
		if got := truncate(tc.in, tc.n); got != tc.want {
			t.Errorf("truncate(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
		}
	}
}
