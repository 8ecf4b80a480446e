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

// Package controllers holds the Kubernetes glue of Cutover: it observes the cluster, asks the
// pure planner in internal/plan what to do, applies the answer and writes the status once.
package controllers

import (
	"context"
	"fmt"

	networkingv1 "istio.io/client-go/pkg/apis/networking/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/tools/events"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/clock"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/controller/priorityqueue"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	cutoverv1alpha1 "github.com/cutover-dev/cutover/api/v1alpha1"
	"github.com/cutover-dev/cutover/internal/gates"
	"github.com/cutover-dev/cutover/internal/image"
	"github.com/cutover-dev/cutover/internal/metrics"
	"github.com/cutover-dev/cutover/internal/traffic"
	"github.com/cutover-dev/cutover/internal/traffic/service"
)

// FieldOwner is the field manager of every write Cutover makes.
const FieldOwner = "cutover"

// RolloutReconciler reconciles Rollouts. Its dependencies are injected by main.go.
type RolloutReconciler struct {
	client.Client
	// APIReader reads objects the manager does not cache (pull secrets).
	APIReader client.Reader
	// Images pins image tags to digests.
	Images image.Resolver
	// Clock is the time source; the planner never reads a clock itself.
	Clock clock.PassiveClock
	// Recorder emits Events.
	Recorder events.EventRecorder
	// Router drives the Istio routing objects; nil when the Istio API is not installed.
	Router traffic.Router
	// Gates measures health gates and judges them by their success conditions; nil measures
	// nothing (gates then never pass).
	Gates *gates.Measurer
	// Services points the blue-green Services at revisions.
	Services *service.Switcher
	// Concurrency is how many Rollouts are reconciled at once (default 1).
	Concurrency int
	// Metrics records the cutover_ metrics of each reconcile; nil records none.
	Metrics *metrics.Recorder

	own ownWrites
	// ownScales holds, under each Rollout's key, the ReplicaSet versions its scales replaced.
	ownScales ownWrites
	// ownRouting holds, under each Rollout's key, the routing object versions its patches
	// replaced.
	ownRouting ownWrites
	// deletions keeps a ReplicaSet from being deleted twice before the cache sees it go.
	deletions ownDeletions
}

// RBAC: exactly the API calls the manager makes; docs/install.md ("RBAC") gives the reason for
// each rule. Every read but the pull secrets' goes through the manager's cache, which only lists
// and watches, so no rule grants get except on secrets, which are read by name through the
// uncached API reader and never listed or watched. Nothing is ever updated: every write is a
// patch. rollouts/finalizers update is what an ownerReference with blockOwnerDeletion (the
// ReplicaSets') needs under the OwnerReferencesPermissionEnforcement admission plugin.
// Events go through events.k8s.io only; leader election's own rules are in config/rbac.
//
// +kubebuilder:rbac:groups=cutover.dev,resources=rollouts,verbs=list;watch;patch
// +kubebuilder:rbac:groups=cutover.dev,resources=rollouts/status,verbs=patch
// +kubebuilder:rbac:groups=cutover.dev,resources=rollouts/finalizers,verbs=update
// +kubebuilder:rbac:groups=networking.istio.io,resources=virtualservices;destinationrules,verbs=list;watch;patch
// +kubebuilder:rbac:groups=apps,resources=replicasets,verbs=list;watch;create;patch;delete
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get
// +kubebuilder:rbac:groups="",resources=services,verbs=list;watch;patch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// Reconcile observes a Rollout and its ReplicaSets, plans the next step, applies it, and writes
// the status once; Events follow the status write. Whatever it asks to look at again goes back
// into the queue at the normal priority, even when this round ran first for a change to the
// Rollout itself (see SetupWithManager).
func (r *RolloutReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	res, err := r.reconcile(ctx, req)
	if res.Priority == nil {
		res.Priority = ptr.To(normalPriority)
	}
	return res, err
}

// Queue priorities. A change made to a Rollout (its spec, an action annotation) is reconciled
// before the work that follows earlier changes (pods becoming available, pauses running out,
// the watch events of Cutover's own writes): in a burst of changes, the time to act on each one
// is not spent behind the other Rollouts' progress.
const (
	normalPriority     = 0
	userChangePriority = 10
)

func (r *RolloutReconciler) reconcile(ctx context.Context, req ctrl.Request) (res ctrl.Result, retErr error) {
	ro := &cutoverv1alpha1.Rollout{}
	if err := r.Get(ctx, req.NamespacedName, ro); err != nil {
		if apierrors.IsNotFound(err) {
			r.own.forget(req.NamespacedName)
			r.ownScales.forget(req.NamespacedName)
			r.ownRouting.forget(req.NamespacedName)
			r.Metrics.Forget(req.Namespace, req.Name)
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if r.own.stale(req.NamespacedName, ro.ResourceVersion) {
		ctrl.LoggerFrom(ctx).V(1).Info("Waiting for the cache to see Cutover's own write", "resourceVersion", ro.ResourceVersion)
		return ctrl.Result{RequeueAfter: staleRetry}, nil
	}
	if !ro.DeletionTimestamp.IsZero() {
		// ReplicaSets are owned by the Rollout and go with it through garbage collection; the
		// routing goes back to the stable revision first.
		return r.reconcileDelete(ctx, ro)
	}
	s := &rolloutScope{rollout: ro, base: ro.DeepCopy(), now: r.Clock.Now()}
	defer func() { res, retErr = r.finalizeStatus(ctx, s, res, retErr) }()
	return runPhases(ctx, s,
		phase{"observe", r.observe},
		phase{"gates", r.measureGates},
		phase{"plan", r.plan},
		phase{"replicasets", r.reconcileReplicaSets},
		phase{"traffic", r.reconcileTraffic},
		phase{"services", r.reconcileServices},
	)
}

// enqueueFirst enqueues an updated Rollout at userChangePriority (with a priority queue, the
// controller-runtime default).
func enqueueFirst() handler.EventHandler {
	return handler.Funcs{UpdateFunc: func(_ context.Context, e event.UpdateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
		req := reconcile.Request{NamespacedName: client.ObjectKeyFromObject(e.ObjectNew)}
		if pq, ok := q.(priorityqueue.PriorityQueue[reconcile.Request]); ok {
			pq.AddWithOpts(priorityqueue.AddOpts{Priority: ptr.To(userChangePriority)}, req)
			return
		}
		q.Add(req)
	}}
}

// SetupWithManager registers the controller: Rollouts (on spec or annotation changes) and the
// ReplicaSets they control.
func (r *RolloutReconciler) SetupWithManager(mgr ctrl.Manager) error {
	if err := mgr.GetFieldIndexer().IndexField(context.Background(), &cutoverv1alpha1.Rollout{}, routingRefIndex, routingRefs); err != nil {
		return fmt.Errorf("indexing Rollouts by routing object: %w", err)
	}
	if err := mgr.GetFieldIndexer().IndexField(context.Background(), &appsv1.ReplicaSet{}, replicaSetOwnerIndex, replicaSetOwner); err != nil {
		return fmt.Errorf("indexing ReplicaSets by owner Rollout: %w", err)
	}
	changed := predicate.Or(predicate.GenerationChangedPredicate{}, predicate.AnnotationChangedPredicate{})
	b := ctrl.NewControllerManagedBy(mgr).
		// Creations and deletions through For; a change to the spec or the annotations goes to
		// the head of the queue (see userChangePriority).
		For(&cutoverv1alpha1.Rollout{}, builder.WithPredicates(predicate.Funcs{UpdateFunc: func(event.UpdateEvent) bool { return false }})).
		Watches(&cutoverv1alpha1.Rollout{}, enqueueFirst(), builder.WithPredicates(changed)).
		Watches(&appsv1.ReplicaSet{}, handler.EnqueueRequestsFromMapFunc(ownerRollout)).
		WithOptions(controller.Options{MaxConcurrentReconciles: max(r.Concurrency, 1)}).
		Named("rollout")
	if r.Services != nil {
		b = b.Watches(&corev1.Service{}, handler.EnqueueRequestsFromMapFunc(r.rolloutsNaming(kindService)))
	}
	if r.Router != nil {
		// The referenced routing objects: an out-of-band edit is put back, and an object created
		// late lets a blocked rollout go on.
		b = b.Watches(&networkingv1.VirtualService{}, handler.EnqueueRequestsFromMapFunc(r.rolloutsNaming(kindVirtualService))).
			Watches(&networkingv1.DestinationRule{}, handler.EnqueueRequestsFromMapFunc(r.rolloutsNaming(kindDestinationRule)))
	}
	return b.Complete(r)
}
