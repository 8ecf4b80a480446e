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
	"context"
	"encoding/json"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	cutoverv1alpha1 "github.com/cutover-dev/cutover/api/v1alpha1"
	"github.com/cutover-dev/cutover/internal/rfc6902"
)

// patchStatus writes ro's status whole, locked on base's resourceVersion: a reconcile that
// started from a copy older than the last write is refused with 409. Only the status is
// serialized and sent, not the whole Rollout with its pod template, and the answer is asked for
// as metadata only: the status written is the one held, and the rest of a full answer would be
// decoded for nothing. ro takes the answer's metadata (its new resourceVersion), and the write
// is remembered for the cache (ownWrites).
func (r *RolloutReconciler) patchStatus(ctx context.Context, ro, base *cutoverv1alpha1.Rollout) error {
	body, err := statusPatch(base.ResourceVersion, ro.Status)
	if err != nil {
		return err
	}
	answer := &metav1.PartialObjectMetadata{
		TypeMeta:   metav1.TypeMeta{APIVersion: cutoverv1alpha1.GroupVersion.String(), Kind: "Rollout"},
		ObjectMeta: metav1.ObjectMeta{Namespace: ro.Namespace, Name: ro.Name},
	}
	if err := r.Status().Patch(ctx, answer, client.RawPatch(types.JSONPatchType, body), client.FieldOwner(FieldOwner)); err != nil {
		return err
	}
	ro.ObjectMeta = answer.ObjectMeta
	r.own.wrote(client.ObjectKeyFromObject(ro), base.ResourceVersion, ro.ResourceVersion)
	return nil
}

// statusPatch is the JSON patch (RFC 6902) that sets the status to st, as a whole, on the
// Rollout at resourceVersion rv. Setting metadata.resourceVersion makes it the patch's
// precondition (the API server refuses the write with 409 Conflict when the Rollout has moved
// on). One serialization of the status is cheaper than the two, and the diff, of a merge patch;
// the status has one writer, Cutover, so nothing of someone else's is replaced.
func statusPatch(rv string, st cutoverv1alpha1.RolloutStatus) ([]byte, error) {
	body, err := json.Marshal([]rfc6902.Op{
		{Op: rfc6902.Replace, Path: "/metadata/resourceVersion", Value: rv},
		{Op: rfc6902.Add, Path: "/status", Value: st},
	})
	if err != nil {
		return nil, fmt.Errorf("serializing the status: %w", err)
	}
	return body, nil
}
