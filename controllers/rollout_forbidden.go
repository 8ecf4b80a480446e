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
	"errors"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"

	cutoverv1alpha1 "github.com/cutover-dev/cutover/api/v1alpha1"
	"github.com/cutover-dev/cutover/internal/plan"
)

// EventPermissionDenied is an addition to the contract's Event reasons: the API server refused
// one of the manager's requests (HTTP 403), so the rollout cannot go on until an admin grants
// the permission. It is emitted once, when the Ready condition starts saying so.
const EventPermissionDenied = "PermissionDenied"

// permissionRecheck is how often a refused request is tried again. A refusal is fixed by a
// person (a RoleBinding, a ClusterRole rule) in a way the manager does not watch, so it is
// neither backed off for ever, as an error would be, nor retried at once.
const permissionRecheck = 15 * time.Second

// permissionHint ends the Ready message of a refused request. The API server's own message,
// which comes before it, names the verb, the resource, the namespace and the user (the
// manager's ServiceAccount).
const permissionHint = " (the manager's identity lacks this permission: grant it as the RBAC section of docs/install.md lists; tried again every 15s)"

// permissionDenied reports whether err is the API server refusing a request of the manager:
// RBAC, or an admission policy. A namespace being deleted also answers 403, but is no
// permission problem: that one is retried as any other error.
func permissionDenied(err error) bool {
	var st apierrors.APIStatus
	if err == nil || !errors.As(err, &st) || !apierrors.IsForbidden(err) {
		return false
	}
	return !apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause)
}

// retryMessage is the Ready and Reconciling message of a reconcile that failed with err.
func retryMessage(err error) string {
	msg := "retrying after an error: " + err.Error()
	if permissionDenied(err) {
		msg += permissionHint
	}
	return msg
}

// permissionEvent is the Warning Event of a refused request, when the status write that was
// just made is the first to report it (the Ready message changed): a retry that is refused
// again adds no Event.
func permissionEvent(before, after *cutoverv1alpha1.Rollout, err error) []plan.Event {
	if !permissionDenied(err) {
		return nil
	}
	now := apimeta.FindStatusCondition(after.Status.Conditions, cutoverv1alpha1.ReadyCondition)
	was := apimeta.FindStatusCondition(before.Status.Conditions, cutoverv1alpha1.ReadyCondition)
	if now == nil || (was != nil && was.Message == now.Message) {
		return nil
	}
	return []plan.Event{{Warning: true, Reason: EventPermissionDenied, Message: now.Message}}
}
