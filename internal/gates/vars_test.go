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
	"testing"

	"github.com/cutover-dev/cutover/internal/gates"
)

func TestVarsExpand(t *testing.T) {
	vars := gates.Vars{Revision: "7d9f8b6c5", StableRevision: "5c6b8f9d7", Rollout: "web", Namespace: "shop"}
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"no placeholders", "no placeholders"},
		{`rate(x{revision="${revision}"}[1m])`, `rate(x{revision="7d9f8b6c5"}[1m])`},
		{"${stableRevision}/${revision}", "5c6b8f9d7/7d9f8b6c5"},
		{"http://${rollout}.${namespace}.svc/healthz", "http://web.shop.svc/healthz"},
		{"${revision}${revision}", "7d9f8b6c57d9f8b6c5"},
		{"${unknown} and ${Revision} stay", "${unknown} and ${Revision} stay"},
		{"$revision {revision} ${revision", "$revision {revision} ${revision"},
		{"$${revision}}", "$7d9f8b6c5}"},
	} {
		if got := vars.Expand(tc.in); got != tc.want {
			t.Errorf("Expand(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestVarsExpandDoesNotRecurse(t *testing.T) {
	vars := gates.Vars{Revision: "${namespace}", Namespace: "shop"}
	if got := vars.Expand("${revision}"); got != "${namespace}" {
		t.Errorf("Expand expanded a value: got %q", got)
	}
	if got := (gates.Vars{}).Expand("a${revision}b"); got != "ab" {
		t.Errorf("empty value: got %q, want %q", got, "ab")
	}
}
