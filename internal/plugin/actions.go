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
	"encoding/json"
	"fmt"
	"regexp"

	cutoverv1alpha1 "github.com/cutover-dev/cutover/api/v1alpha1"
	"github.com/cutover-dev/cutover/internal/plan"
)

// Action is one of the contract's action annotations: the key and value the plugin writes,
// and what the operator does when it reads them.
type Action struct {
	Key, Value string
	// Effect says, in words, what the operator does with the annotation.
	Effect string
}

// The one-shot actions of the contract. The operator acts on each once, records it in an
// Event and status.lastAction, and removes the annotation.
var (
	ActionPromote = Action{Key: cutoverv1alpha1.AnnotationPromote, Value: cutoverv1alpha1.ValueTrue,
		Effect: "leave the current pause or waiting gate (blue-green: switch now)"}
	ActionPromoteFull = Action{Key: cutoverv1alpha1.AnnotationPromote, Value: cutoverv1alpha1.ValueFull,
		Effect: "skip every remaining step and gate and go to 100%"}
	ActionAbort = Action{Key: cutoverv1alpha1.AnnotationAbort, Value: cutoverv1alpha1.ValueTrue,
		Effect: "route all traffic back to the stable revision and tear the new one down"}
	ActionRetry = Action{Key: cutoverv1alpha1.AnnotationRetry, Value: cutoverv1alpha1.ValueTrue,
		Effect: "start the aborted revision again from step 0"}
)

// revisionPattern is the shape of a revision hash (plan.HashLength hex digits).
var revisionPattern = regexp.MustCompile(fmt.Sprintf("^[0-9a-f]{%d}$", plan.HashLength))

// ApproveAction is the declarative approval of one revision: cutover.dev/promote=<revision>
// promotes through every pause that revision reaches. Unlike the one-shot actions it is never
// removed, so it is safe to keep in Git.
func ApproveAction(revision string) (Action, error) {
	if !revisionPattern.MatchString(revision) {
		return Action{}, fmt.Errorf("%q is not a revision hash: a revision is %d hex digits, as in status.currentRevision "+
			"(see `kubectl cutover history NAME`)", revision, plan.HashLength)
	}
	return Action{Key: cutoverv1alpha1.AnnotationPromote, Value: revision,
		Effect: "approve revision " + revision + ": promote through every pause it reaches (kept; a no-op for any other revision)"}, nil
}

// MergePatch is the JSON merge patch that writes the action's annotation and nothing else.
func (a Action) MergePatch() []byte {
	patch := map[string]any{"metadata": map[string]any{"annotations": map[string]string{a.Key: a.Value}}}
	b, _ := json.Marshal(patch) // a map of strings always marshals
	return b
}

// Describe says what the plugin did, for the given Rollout.
func (a Action) Describe(namespace, name string) string {
	return fmt.Sprintf("rollout %s/%s annotated %s=%s: the operator will %s", namespace, name, a.Key, a.Value, a.Effect)
}
