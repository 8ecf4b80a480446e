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

// Package gitops runs what GitOps tools run on a Rollout: the Argo CD health check shipped in
// config/argocd, executed the way Argo CD executes it, and kstatus, which Flux's health checks
// (and `kubectl wait`-style tools) use. The unit tests run both on fixture Rollouts; the
// integration tests run them on live Rollouts driven by the real controller.
package gitops

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	lua "github.com/yuin/gopher-lua"
)

// ScriptFile and ConfigMapFile are the Argo CD health check and the argocd-cm snippet that
// embeds it, relative to the repository root.
const (
	ScriptFile    = "config/argocd/health.lua"
	ConfigMapFile = "config/argocd/argocd-cm.yaml"
	// ConfigMapKey is the argocd-cm key Argo CD reads the Rollout's health check from.
	ConfigMapKey = "resource.customizations.health.cutover.dev_Rollout"
)

// The health statuses Argo CD accepts from a script.
const (
	Healthy     = "Healthy"
	Progressing = "Progressing"
	Suspended   = "Suspended"
	Degraded    = "Degraded"
	Missing     = "Missing"
	Unknown     = "Unknown"
)

// Health is what a health check returns.
type Health struct {
	Status  string
	Message string
}

// ReadScript reads the shipped health check from the repository rooted at root.
func ReadScript(root string) (string, error) {
	b, err := os.ReadFile(filepath.Join(root, ScriptFile))
	return string(b), err
}

// ArgoCDHealth runs script on obj (an object as the API server returns it, decoded into
// unstructured content) the way Argo CD runs a health check from argocd-cm: a VM without the
// standard libraries except base, table and package, the object in the global `obj` (JSON
// arrays as 1-based tables), a one-second limit, and a table with status and message as the
// result. A result Argo CD would reject (not a table, an unknown status) is an error here.
func ArgoCDHealth(script string, obj map[string]any) (Health, error) {
	l := lua.NewState(lua.Options{SkipOpenLibs: true})
	defer l.Close()
	for _, lib := range []struct {
		name string
		open lua.LGFunction
	}{{lua.LoadLibName, lua.OpenPackage}, {lua.BaseLibName, lua.OpenBase}, {lua.TabLibName, lua.OpenTable}} {
		if err := l.CallByParam(lua.P{Fn: l.NewFunction(lib.open), Protect: true}, lua.LString(lib.name)); err != nil {
			return Health{}, fmt.Errorf("opening the %s library: %w", lib.name, err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	l.SetContext(ctx)
	l.SetGlobal("obj", toLua(l, obj))
	if err := l.DoString(script); err != nil {
		return Health{}, fmt.Errorf("running the health check: %w", err)
	}
	ret, ok := l.Get(-1).(*lua.LTable)
	if !ok {
		return Health{}, fmt.Errorf("the health check returned %s, not a table", l.Get(-1).Type())
	}
	h := Health{Status: luaString(ret.RawGetString("status")), Message: luaString(ret.RawGetString("message"))}
	switch h.Status {
	case Healthy, Progressing, Suspended, Degraded, Missing, Unknown:
		return h, nil
	}
	return h, fmt.Errorf("the health check returned status %q, which Argo CD does not know", h.Status)
}

func luaString(v lua.LValue) string {
	if s, ok := v.(lua.LString); ok {
		return string(s)
	}
	return ""
}

// toLua converts unstructured content to Lua values as Argo CD does: maps become tables with
// string keys, slices 1-based tables, numbers LNumber, and nil (or anything else) nil.
func toLua(l *lua.LState, v any) lua.LValue {
	switch v := v.(type) {
	case map[string]any:
		t := l.CreateTable(0, len(v))
		for k, item := range v {
			t.RawSetString(k, toLua(l, item))
		}
		return t
	case []any:
		t := l.CreateTable(len(v), 0)
		for _, item := range v {
			t.Append(toLua(l, item))
		}
		return t
	case string:
		return lua.LString(v)
	case bool:
		return lua.LBool(v)
	case int64:
		return lua.LNumber(v)
	case int:
		return lua.LNumber(v)
	case float64:
		return lua.LNumber(v)
	}
	return lua.LNil
}
