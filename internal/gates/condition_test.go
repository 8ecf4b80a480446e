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
	"encoding/json"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"

	cutoverv1alpha1 "github.com/cutover-dev/cutover/api/v1alpha1"
	"github.com/cutover-dev/cutover/internal/gates"
)

func TestConditionsEvaluate(t *testing.T) {
	var parsed any
	if err := json.Unmarshal([]byte(`{"ok": true, "count": 3, "items": [1, 2], "name": "Web"}`), &parsed); err != nil {
		t.Fatal(err)
	}
	response := map[string]any{"status": int64(200), "body": "All OK", "json": parsed}
	c := gates.NewConditions()
	for _, tc := range []struct {
		expr   string
		result any
		want   bool
	}{
		{"result >= 0.99", 0.995, true},
		{"result >= 0.99", 0.93, false},
		{"result >= 1", 1.5, true},
		{"result < 1", 1.5, false},
		{"result == 1", 1.0, true},
		{"result > 0.5", int64(1), true},
		{"result.all(x, x < 0.01)", []any{0.001, 0.002}, true},
		{"result.all(x, x < 0.01)", []any{0.001, 0.2}, false},
		{"size(result) == 2 && result.exists(x, x >= 0.2)", []any{0.001, 0.2}, true},
		{"result.status == 200", response, true},
		{"result.status == 200.0", response, true},
		{"result.status >= 200 && result.status < 300", response, true},
		{"result.status == 500", response, false},
		{"result.json.ok == true", response, true},
		{"result.json.ok", response, true},
		{"result.json.count == 3", response, true},
		{"result.json.count > 2", response, true},
		{"result.json.items.all(i, i < 3)", response, true},
		{`has(result.json) && result.json.name.lowerAscii() == "web"`, response, true},
		{`result.body.contains("OK")`, response, true},
		{`result.body.matches("^All")`, response, true},
		{"math.greatest(result, 0.5) == 0.7", 0.7, true},
	} {
		got, err := c.Evaluate(tc.expr, tc.result)
		if err != nil || got != tc.want {
			t.Errorf("Evaluate(%q, %v) = %v, %v; want %v", tc.expr, tc.result, got, err, tc.want)
		}
	}
}

func TestConditionsEvaluateErrors(t *testing.T) {
	g := NewWithT(t)
	c := gates.NewConditions()
	_, err := c.Evaluate("result.json.ok == true", map[string]any{"status": int64(200), "body": "x"})
	g.Expect(err).To(MatchError(ContainSubstring("no such key: json")))

	_, err = c.Evaluate("result.json", map[string]any{"json": 0.5})
	g.Expect(err).To(MatchError(ContainSubstring("gave 0.5, of type double, not a bool")))

	// `result + 1` type-checks as an int, and a double result has no int overload.
	_, err = c.Evaluate("result + 1 > 2", 0.5)
	g.Expect(err).To(MatchError(ContainSubstring("no such overload")))

	_, err = c.Evaluate("result >= ", 0.5)
	g.Expect(err).To(MatchError(ContainSubstring("Syntax error")))
}

func TestConditionsCostLimit(t *testing.T) {
	g := NewWithT(t)
	c := gates.NewConditions()
	// contains costs about a tenth of the string's length: 200 × 10 000 passes the limit.
	long := make([]any, 200)
	for i := range long {
		long[i] = strings.Repeat("a", 100_000)
	}
	_, err := c.Evaluate(`result.all(x, !x.contains("b"))`, long)
	g.Expect(err).To(MatchError(ContainSubstring("cost limit exceeded")))

	// The same expression over a few strings is well within the limit.
	g.Expect(c.Evaluate(`result.all(x, !x.contains("b"))`, long[:5])).To(BeTrue())
}

func TestConditionsEvalTimeout(t *testing.T) {
	g := NewWithT(t)
	c := gates.NewConditions()
	// Cost tracking makes a long comprehension slow before it is costly; the time bound
	// stops it.
	big := make([]any, 1_000_000)
	for i := range big {
		big[i] = float64(i)
	}
	start := time.Now()
	_, err := c.Evaluate("result.all(x, x >= 0.0)", big)
	g.Expect(err).To(MatchError(ContainSubstring("took longer than 1s")))
	g.Expect(time.Since(start)).To(BeNumerically("<", gates.EvalTimeout+2*time.Second))
}

func TestConditionsCompile(t *testing.T) {
	g := NewWithT(t)
	c := gates.NewConditions()
	g.Expect(c.Compile("result >= 0.99")).To(Succeed())
	g.Expect(c.Compile("result.status == 200 && result.json.ok")).To(Succeed())

	err := c.Compile("result >= ")
	g.Expect(err).To(MatchError(ContainSubstring("<input>:1:")))
	g.Expect(err).To(MatchError(ContainSubstring("Syntax error")))

	g.Expect(c.Compile("resutl >= 0.99")).To(MatchError(ContainSubstring("undeclared reference to 'resutl'")))
	g.Expect(c.Compile("1 + 1")).To(MatchError(ContainSubstring("must give a bool")))
	g.Expect(c.Compile(`"a" == 1`)).To(MatchError(ContainSubstring("no matching overload")))
	g.Expect(c.Compile("")).To(MatchError(ContainSubstring("empty")))
}

func TestConditionsCheck(t *testing.T) {
	g := NewWithT(t)
	c := gates.NewConditions()
	specGates := []cutoverv1alpha1.Gate{
		{Name: "a", SuccessCondition: "result >= 0.99"},
		{Name: "b", SuccessCondition: "result.status == 200"},
		{Name: "c", SuccessCondition: "result >>> 1"},
		{Name: "d", SuccessCondition: "nope"},
	}
	err := c.Check(specGates)
	g.Expect(err).To(HaveOccurred())
	g.Expect(strings.HasPrefix(err.Error(), "spec.gates[2].successCondition: ")).To(BeTrue(), err.Error())
	g.Expect(c.Check(specGates[:2])).To(Succeed())
	g.Expect(c.Check(nil)).To(Succeed())
}
