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
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/ext"

	cutoverv1alpha1 "github.com/cutover-dev/cutover/api/v1alpha1"
)

// CostLimit bounds the work of one evaluation of a success condition, in CEL cost units
// (roughly one per operation and per comprehension step).
const CostLimit = 1_000_000

// EvalTimeout bounds the time of one evaluation of a success condition. The cost limit alone
// does not bound it well: with cost tracking on, cel-go takes time quadratic in the length of a
// list a comprehension walks (about 1.5 s for `result.all(x, x >= 0.0)` over 30 000 numbers,
// against 15 ms untracked).
const EvalTimeout = time.Second

// interruptEvery is how many comprehension steps pass between checks of EvalTimeout.
const interruptEvery = 100

// maxPrograms bounds the cache; when it is full it starts over, so expressions of deleted
// Rollouts do not pile up.
const maxPrograms = 1024

// Conditions compiles success conditions once and caches the programs by expression text.
// Safe for concurrent use.
//
// A condition sees one variable, `result`, of type dyn: a double, a list of doubles or a map,
// as the provider made it. Numbers of different types compare as numbers (`result >= 1` with a
// double result, `result.json.count == 3` with a JSON number), and the CEL strings and math
// extensions are available.
type Conditions struct {
	env      *cel.Env
	mu       sync.RWMutex
	programs map[string]cel.Program
	compiled atomic.Int64 // compilations done, for tests
}

// NewConditions returns an empty cache. It panics only if the fixed CEL environment cannot
// be built, which is a programming error.
func NewConditions() *Conditions {
	env, err := cel.NewEnv(
		cel.Variable("result", cel.DynType),
		cel.CrossTypeNumericComparisons(true),
		ext.Strings(),
		ext.Math(),
	)
	if err != nil {
		panic(fmt.Sprintf("gates: building the CEL environment: %v", err))
	}
	return &Conditions{env: env, programs: map[string]cel.Program{}}
}

// Compile type-checks expr (variable `result` of type dyn; output must be bool or dyn) and
// caches the program. The error is the compiler's message.
func (c *Conditions) Compile(expr string) error {
	_, err := c.program(expr)
	return err
}

// Check compiles every spec.gates[i].successCondition and returns an error naming the field,
// e.g. `spec.gates[2].successCondition: <compiler message>`, for the first that fails; nil
// when all compile.
func (c *Conditions) Check(gates []cutoverv1alpha1.Gate) error {
	for i := range gates {
		if err := c.Compile(gates[i].SuccessCondition); err != nil {
			return fmt.Errorf("spec.gates[%d].successCondition: %w", i, err)
		}
	}
	return nil
}

// Evaluate runs expr against result with a cost limit (CostLimit) and returns whether it is
// true. A non-bool output, an evaluation error (e.g. no such key), or exceeding the cost limit
// or EvalTimeout is an error. expr is compiled first if it is not cached.
func (c *Conditions) Evaluate(expr string, result any) (bool, error) {
	prg, err := c.program(expr)
	if err != nil {
		return false, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), EvalTimeout)
	defer cancel()
	out, _, err := prg.ContextEval(ctx, map[string]any{"result": result})
	if err != nil {
		if ctx.Err() != nil {
			return false, fmt.Errorf("the condition took longer than %s: %w", EvalTimeout, err)
		}
		return false, err
	}
	b, ok := out.Value().(bool)
	if !ok {
		return false, fmt.Errorf("the condition gave %v, of type %s, not a bool", out.Value(), out.Type().TypeName())
	}
	return b, nil
}

// program returns the cached program of expr, compiling it on a miss.
func (c *Conditions) program(expr string) (cel.Program, error) {
	c.mu.RLock()
	prg, ok := c.programs[expr]
	c.mu.RUnlock()
	if ok {
		return prg, nil
	}
	prg, err := c.compile(expr)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.programs) >= maxPrograms {
		c.programs = map[string]cel.Program{}
	}
	c.programs[expr] = prg
	return prg, nil
}

func (c *Conditions) compile(expr string) (cel.Program, error) {
	c.compiled.Add(1)
	if expr == "" {
		return nil, errors.New("the condition is empty")
	}
	ast, issues := c.env.Compile(expr)
	if issues != nil && issues.Err() != nil {
		return nil, issues.Err()
	}
	if out := ast.OutputType(); !out.IsExactType(cel.BoolType) && !out.IsExactType(cel.DynType) {
		return nil, fmt.Errorf("the condition gives a value of type %s; it must give a bool", out)
	}
	return c.env.Program(ast, cel.CostLimit(CostLimit), cel.InterruptCheckFrequency(interruptEvery))
}
