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

package gitops

import (
	"os"
	"path/filepath"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
	"sigs.k8s.io/yaml"
)

// Want is how a GitOps tool must see a Rollout in one situation.
type Want struct {
	// Health is the Argo CD health status.
	Health string
	// Kstatus is kstatus's status, which Flux's `wait` and healthChecks read.
	Kstatus status.Status
}

// Situations maps each situation of a Rollout, named as its fixture in testdata (without
// .yaml), to how Argo CD and kstatus must see it. The integration test drives a live Rollout
// through each of them with the real controller and checks the same table.
var Situations = map[string]Want{
	// Created, not yet seen by the controller: status.observedGeneration is the CRD's -1.
	"fresh": {Progressing, status.InProgressStatus},
	// The first revision is stable, or a canary finished.
	"healthy": {Healthy, status.CurrentStatus},
	// A new spec the controller has not observed yet, over a Healthy status.
	"stale": {Progressing, status.InProgressStatus},
	// A canary step waiting for the new revision's pods.
	"progressing": {Progressing, status.InProgressStatus},
	// A timed pause: it ends by itself, nobody needs to act.
	"timed-pause": {Progressing, status.InProgressStatus},
	// A pause {} waiting for a promote.
	"paused": {Suspended, status.InProgressStatus},
	// Held by spec.paused.
	"held": {Suspended, status.InProgressStatus},
	// Blue-green with autoPromote false, its preview ready, waiting for a promote.
	"bluegreen-awaiting-promote": {Suspended, status.InProgressStatus},
	// Aborted by cutover.dev/abort: all traffic back on the stable revision.
	"aborted": {Degraded, status.FailedStatus},
	// A spec that cannot be carried out (an image policy violation).
	"degraded": {Degraded, status.FailedStatus},
}

// WriteFixture writes obj into dir as the fixture of situation name, without the fields that
// only say where and when it was recorded (managedFields, uid, resourceVersion), and with the
// namespace set to "shop".
func WriteFixture(dir, name string, obj map[string]any) error {
	u := (&unstructured.Unstructured{Object: obj}).DeepCopy()
	u.SetManagedFields(nil)
	u.SetUID("")
	u.SetResourceVersion("")
	u.SetNamespace("shop")
	b, err := yaml.Marshal(u.Object)
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, name+".yaml"), b, 0o644)
}
