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

package controllers

import (
	"testing"

	cutoverv1alpha1 "github.com/cutover-dev/cutover/api/v1alpha1"
	"github.com/cutover-dev/cutover/internal/plan"
)

func TestTrafficReached(t *testing.T) {
	status := func(cur string, w int32) cutoverv1alpha1.RolloutStatus {
		return cutoverv1alpha1.RolloutStatus{StableRevision: "aaa", CurrentRevision: cur, CanaryWeight: w}
	}
	tests := []struct {
		name string
		out  *plan.Output
		want bool
	}{
		{"no plan", nil, false},
		{"no router: the ReplicaSets carry the weight", &plan.Output{Status: status("bbb", 50)}, true},
		{"the planned weight routed", &plan.Output{Status: status("bbb", 50),
			Traffic: &plan.Split{StableRevision: "aaa", CanaryRevision: "bbb", CanaryWeight: 50}}, true},
		{"held below it until the canary's pods are available", &plan.Output{Status: status("bbb", 50),
			Traffic: &plan.Split{StableRevision: "aaa", CanaryRevision: "bbb", CanaryWeight: 25}}, false},
		{"completed: both subsets on the new revision", &plan.Output{Status: status("bbb", 100),
			Traffic: &plan.Split{StableRevision: "bbb", CanaryRevision: "bbb"}}, true},
		{"blue-green before the switch", &plan.Output{Status: status("bbb", 0),
			Services: &plan.Services{Active: "aaa", Preview: "bbb"}}, false},
		{"blue-green switched", &plan.Output{Status: status("bbb", 100),
			Services: &plan.Services{Active: "bbb", Preview: "bbb"}}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := trafficReached(tc.out); got != tc.want {
				t.Errorf("trafficReached = %v, want %v", got, tc.want)
			}
		})
	}
}
