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
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/controller/priorityqueue"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	cutoverv1alpha1 "github.com/cutover-dev/cutover/api/v1alpha1"
)

// TestChangesGoFirst: on controller-runtime's priority queue, a change to a Rollout is taken
// before the work already queued for others, and a round's requeue goes back at the normal
// priority.
func TestChangesGoFirst(t *testing.T) {
	q := priorityqueue.New[reconcile.Request]("rollout-test")
	defer q.ShutDown()
	req := func(name string) reconcile.Request {
		return reconcile.Request{NamespacedName: types.NamespacedName{Namespace: "shop", Name: name}}
	}
	q.Add(req("progressing-1"))
	q.Add(req("progressing-2"))
	changed := &cutoverv1alpha1.Rollout{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "changed", ResourceVersion: "2"}}
	old := changed.DeepCopy()
	old.ResourceVersion = "1"
	enqueueFirst().Update(context.Background(), event.UpdateEvent{ObjectOld: old, ObjectNew: changed}, q)
	got, prio, _ := q.GetWithPriority()
	if got != req("changed") || prio != userChangePriority {
		t.Errorf("first out: %v at priority %d, want the changed Rollout at %d", got, prio, userChangePriority)
	}

	scheme := testScheme()
	r := &RolloutReconciler{Client: fake.NewClientBuilder().WithScheme(scheme).Build()}
	res, err := r.Reconcile(context.Background(), req("gone"))
	if err != nil || res.Priority == nil || *res.Priority != normalPriority {
		t.Errorf("Reconcile = %+v, %v; want a result at the normal priority", res, err)
	}
}
