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

package utils

import (
	"context"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// MarkAvailable plays the ReplicaSet controller that envtest lacks for one ReplicaSet: it
// reports all its replicas ready and available, for its current generation. It retries on
// conflicts with other writers and does nothing when the status already says so.
func MarkAvailable(ctx context.Context, c client.Client, key client.ObjectKey) error {
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		cur := &appsv1.ReplicaSet{}
		if err := c.Get(ctx, key, cur); err != nil {
			return err
		}
		want := ptr.Deref(cur.Spec.Replicas, 1)
		if cur.Status.AvailableReplicas == want && cur.Status.ObservedGeneration == cur.Generation {
			return nil
		}
		cur.Status = appsv1.ReplicaSetStatus{Replicas: want, ReadyReplicas: want, AvailableReplicas: want,
			FullyLabeledReplicas: want, ObservedGeneration: cur.Generation}
		return c.Status().Update(ctx, cur)
	})
}
