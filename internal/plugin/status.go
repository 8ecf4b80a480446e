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

package plugin

import (
	"errors"
	"fmt"

	apimeta "k8s.io/apimachinery/pkg/api/meta"

	cutoverv1alpha1 "github.com/cutover-dev/cutover/api/v1alpha1"
)

// Exit codes of the plugin. `status` uses all of them; other commands exit 0 or ExitError.
const (
	// ExitOK: the command did what it says; for `status`, the Rollout is Healthy at its
	// current generation.
	ExitOK = 0
	// ExitError: the command failed (bad arguments, unreachable API server, Rollout not
	// found, permission denied).
	ExitError = 1
	// ExitAborted: `status` saw the Rollout Aborted at its current generation.
	ExitAborted = 2
	// ExitDegraded: `status` saw the Rollout Degraded at its current generation.
	ExitDegraded = 3
	// ExitTimeout: `status --timeout` passed before the Rollout was Healthy.
	ExitTimeout = 4
)

// CodeError is an error with the exit code the plugin exits with.
type CodeError struct {
	Code int
	Err  error
}

func (e *CodeError) Error() string { return e.Err.Error() }
func (e *CodeError) Unwrap() error { return e.Err }

// ExitCode is the process exit code for the error a command returned: ExitOK for nil, the
// code of a CodeError, else ExitError.
func ExitCode(err error) int {
	if err == nil {
		return ExitOK
	}
	var ce *CodeError
	if errors.As(err, &ce) {
		return ce.Code
	}
	return ExitError
}

// Verdict is what `status` makes of a Rollout at one instant.
type Verdict struct {
	// Done is true when `status` stops waiting; Code is then its exit code.
	Done bool
	Code int
	// Reason says why, in words.
	Reason string
}

// Evaluate decides whether a Rollout is finished. Nothing is decided from a status that
// describes an older generation than the spec (status.observedGeneration < generation): a spec
// just changed would otherwise be reported from the previous revision's outcome.
func Evaluate(ro *cutoverv1alpha1.Rollout) Verdict {
	id := ro.Namespace + "/" + ro.Name
	if ro.Status.ObservedGeneration < ro.Generation {
		return Verdict{Reason: fmt.Sprintf("rollout %s: waiting for the controller to observe generation %d (status is of generation %d)",
			id, ro.Generation, ro.Status.ObservedGeneration)}
	}
	msg := orDash(ro.Status.Message)
	switch ro.Status.Phase {
	case cutoverv1alpha1.PhaseHealthy:
		return Verdict{Done: true, Code: ExitOK, Reason: fmt.Sprintf("rollout %s is Healthy: revision %s serves all traffic",
			id, orDash(ro.Status.StableRevision))}
	case cutoverv1alpha1.PhaseAborted:
		return Verdict{Done: true, Code: ExitAborted, Reason: fmt.Sprintf("rollout %s is Aborted%s: %s", id, stalledReason(ro), msg)}
	case cutoverv1alpha1.PhaseDegraded:
		return Verdict{Done: true, Code: ExitDegraded, Reason: fmt.Sprintf("rollout %s is Degraded%s: %s", id, stalledReason(ro), msg)}
	default:
		return Verdict{Reason: fmt.Sprintf("rollout %s is %s: %s", id, orDash(string(ro.Status.Phase)), msg)}
	}
}

// stalledReason is " (<reason>)" from the Stalled condition, if it is present.
func stalledReason(ro *cutoverv1alpha1.Rollout) string {
	if c := apimeta.FindStatusCondition(ro.Status.Conditions, cutoverv1alpha1.StalledCondition); c != nil && c.Reason != "" {
		return " (" + c.Reason + ")"
	}
	return ""
}
