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
	"log/slog"

	"github.com/KimMachineGun/automemlimit/memlimit"
	"github.com/go-logr/logr"
)

// memoryLimitRatio is the share of the container's memory limit given to the Go runtime as its
// soft limit: the rest covers what the runtime does not count (stacks, the binary, buffers).
const memoryLimitRatio = 0.9

// setMemoryLimit sets the Go runtime's soft memory limit (GOMEMLIMIT) to memoryLimitRatio of
// the limit the provider reports (the container's cgroup in main), so that the garbage collector
// works harder as the cache nears the limit instead of the OOM killer ending the manager. A
// GOMEMLIMIT or AUTOMEMLIMIT (a ratio, or "off") in the environment takes precedence; with no
// limit, nothing changes. It returns the limit in force.
func setMemoryLimit(provider memlimit.Provider, log logr.Logger) int64 {
	limit, err := memlimit.Set(memlimit.WithRatio(memoryLimitRatio), memlimit.WithProvider(provider),
		memlimit.WithLogger(slog.New(logr.ToSlogHandler(log))))
	if err != nil {
		log.Info("The Go memory limit is left as it was", "reason", err.Error())
	}
	return limit
}
