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
	"context"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	cutoverv1alpha1 "github.com/cutover-dev/cutover/api/v1alpha1"
)

// watchRollout follows one Rollout (and, with withReplicaSets, its managed ReplicaSets) from
// watches: informers list once, then watch, re-listing and re-watching by themselves when a
// watch ends. After the first sync and after every change it calls onChange with a fresh
// Snapshot (Rollout nil once it is deleted). It returns when onChange says done or fails, or
// when ctx ends (nil then: the caller tells a timeout from an interrupt).
func (e *env) watchRollout(ctx context.Context, c client.WithWatch, ns, name string, withReplicaSets bool,
	onChange func(Snapshot) (done bool, err error)) error {
	// One read first, so a missing Rollout, a missing CRD or a refusal is reported at once
	// instead of being retried by the informer forever.
	if _, err := getRollout(ctx, c, ns, name); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	changed := make(chan struct{}, 1)
	notify := func() {
		select {
		case changed <- struct{}{}:
		default: // a redraw is already due; it will read the latest state
		}
	}
	handler := cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { notify() },
		UpdateFunc: func(any, any) { notify() },
		DeleteFunc: func(any) { notify() },
	}
	byName := fields.OneTermEqualSelector("metadata.name", name).String()
	roStore, roInformer := cache.NewInformerWithOptions(cache.InformerOptions{
		ListerWatcher: listWatch(c, ns, func() client.ObjectList { return &cutoverv1alpha1.RolloutList{} }, byName, ""),
		ObjectType:    &cutoverv1alpha1.Rollout{},
		Handler:       handler,
	})
	synced := []cache.InformerSynced{roInformer.HasSynced}
	go roInformer.RunWithContext(ctx)
	var rsStore cache.Store
	if withReplicaSets {
		owned := labels.SelectorFromSet(labels.Set{cutoverv1alpha1.LabelRollout: name}).String()
		var rsInformer cache.Controller
		rsStore, rsInformer = cache.NewInformerWithOptions(cache.InformerOptions{
			ListerWatcher: listWatch(c, ns, func() client.ObjectList { return &appsv1.ReplicaSetList{} }, "", owned),
			ObjectType:    &appsv1.ReplicaSet{},
			Handler:       handler,
		})
		synced = append(synced, rsInformer.HasSynced)
		go rsInformer.RunWithContext(ctx)
	}
	if !cache.WaitForCacheSync(ctx.Done(), synced...) {
		return nil
	}
	for {
		s := Snapshot{Now: e.now()}
		if obj, ok, _ := roStore.GetByKey(ns + "/" + name); ok {
			s.Rollout = obj.(*cutoverv1alpha1.Rollout)
		}
		if rsStore != nil {
			for _, obj := range rsStore.List() {
				s.ReplicaSets = append(s.ReplicaSets, *obj.(*appsv1.ReplicaSet))
			}
		}
		if done, err := onChange(s); done || err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return nil
		case <-changed:
		}
	}
}

// listWatch lists and watches one kind in ns with the given field and label selectors,
// through the controller-runtime client.
func listWatch(c client.WithWatch, ns string, newList func() client.ObjectList, fieldSel, labelSel string) cache.ListerWatcher {
	opts := func(o metav1.ListOptions) *client.ListOptions {
		o.FieldSelector, o.LabelSelector = fieldSel, labelSel
		return &client.ListOptions{Namespace: ns, Raw: &o}
	}
	return &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			list := newList()
			if err := c.List(ctx, list, opts(o)); err != nil {
				return nil, fmt.Errorf("listing: %w", err)
			}
			return list, nil
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			return c.Watch(ctx, newList(), opts(o))
		},
	}
}
