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
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	networkingv1 "istio.io/client-go/pkg/apis/networking/v1"
	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	cutoverv1alpha1 "github.com/cutover-dev/cutover/api/v1alpha1"
	"github.com/cutover-dev/cutover/internal/plan"
)

// History records every version of the objects of one namespace that a watch delivers, in the
// order etcd wrote them. A watch that breaks (the API server went away) is opened again from
// the last version it delivered; when the API server no longer has that version (410 Gone), the
// objects are listed again and Relists counts it, since versions written in between may be
// missing from the record.
type History struct {
	mu       sync.Mutex
	versions []client.Object
	// Relists counts the watches that could not resume and listed the objects again.
	Relists atomic.Int32
	// Reconnects counts the watches opened again after they broke.
	Reconnects atomic.Int32
}

// Record starts one watch per list type in namespace ns, until ctx ends.
func (h *History) Record(ctx context.Context, c client.WithWatch, ns string, lists ...client.ObjectList) error {
	for _, l := range lists {
		w, err := c.Watch(ctx, l.DeepCopyObject().(client.ObjectList), client.InNamespace(ns))
		if err != nil {
			return err
		}
		go h.follow(ctx, c, ns, l, w)
	}
	return nil
}

// follow records the events of w, and opens the watch again when it breaks.
func (h *History) follow(ctx context.Context, c client.WithWatch, ns string, l client.ObjectList, w watch.Interface) {
	last := ""
	for {
		gone := false
		for ev := range w.ResultChan() {
			switch ev.Type {
			case watch.Added, watch.Modified:
				if obj, ok := ev.Object.(client.Object); ok {
					h.add(obj)
					last = obj.GetResourceVersion()
				}
			case watch.Deleted:
				if obj, ok := ev.Object.(client.Object); ok {
					last = obj.GetResourceVersion()
				}
			case watch.Bookmark:
				if obj, ok := ev.Object.(client.Object); ok {
					last = obj.GetResourceVersion()
				}
			case watch.Error:
				gone = apierrors.IsResourceExpired(apierrors.FromObject(ev.Object)) ||
					apierrors.IsGone(apierrors.FromObject(ev.Object))
			}
		}
		w.Stop()
		for {
			if ctx.Err() != nil {
				return
			}
			var err error
			if gone || last == "" {
				last, err = h.relist(ctx, c, ns, l)
			}
			if err == nil {
				w, err = c.Watch(ctx, l.DeepCopyObject().(client.ObjectList), client.InNamespace(ns),
					&client.ListOptions{Raw: &metav1.ListOptions{ResourceVersion: last, AllowWatchBookmarks: true}})
			}
			if err == nil {
				h.Reconnects.Add(1)
				break
			}
			gone = apierrors.IsResourceExpired(err) || apierrors.IsGone(err)
			select { // the API server is away: try again shortly
			case <-ctx.Done():
				return
			case <-time.After(200 * time.Millisecond):
			}
		}
	}
}

// relist records the current version of every object of l's type, and returns the list's
// resourceVersion to watch from.
func (h *History) relist(ctx context.Context, c client.WithWatch, ns string, l client.ObjectList) (string, error) {
	list := l.DeepCopyObject().(client.ObjectList)
	if err := c.List(ctx, list, client.InNamespace(ns)); err != nil {
		return "", err
	}
	h.Relists.Add(1)
	err := meta.EachListItem(list, func(o runtime.Object) error {
		if obj, ok := o.(client.Object); ok {
			h.add(obj.DeepCopyObject().(client.Object))
		}
		return nil
	})
	return list.GetResourceVersion(), err
}

func (h *History) add(obj client.Object) {
	h.mu.Lock()
	h.versions = append(h.versions, obj)
	h.mu.Unlock()
}

// RecordRollouts records, from now until the test ends, every version of the ReplicaSets,
// VirtualServices, DestinationRules and Rollouts of namespace ns: what the invariants of a
// rollout are checked on.
func RecordRollouts(t testing.TB, cfg *rest.Config, scheme *runtime.Scheme, ns string) *History {
	t.Helper()
	wc, err := client.NewWithWatch(cfg, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	h := &History{}
	if err := h.Record(ctx, wc, ns, &appsv1.ReplicaSetList{}, &networkingv1.VirtualServiceList{},
		&networkingv1.DestinationRuleList{}, &cutoverv1alpha1.RolloutList{}); err != nil {
		t.Fatal(err)
	}
	return h
}

// Ordered returns the recorded versions sorted by resourceVersion (one etcd orders them all),
// each version once.
func (h *History) Ordered() []client.Object {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := slices.Clone(h.versions)
	rv := func(o client.Object) int64 { n, _ := strconv.ParseInt(o.GetResourceVersion(), 10, 64); return n }
	slices.SortStableFunc(out, func(a, b client.Object) int { return cmp.Compare(rv(a), rv(b)) })
	return slices.CompactFunc(out, func(a, b client.Object) bool {
		return a.GetUID() == b.GetUID() && a.GetResourceVersion() == b.GetResourceVersion()
	})
}

// IstioRoute names the route and subsets that CheckIstioHistory reads.
type IstioRoute struct {
	// Route is the name of the managed http route of the VirtualService.
	Route string
	// Stable and Canary are the DestinationRule's subset names.
	Stable, Canary string
}

// CheckIstioHistory replays versions (from History.Ordered) and checks the invariants on each:
// the managed route's weights sum to 100; a subset gets weight only while its revision's
// ReplicaSet has the available pods the weight needs out of n; the step index of a revision
// never goes back; no ReplicaSet's template changes. It returns one line per violation.
func CheckIstioHistory(versions []client.Object, r IstioRoute, n int32) []string {
	s := &istioReplay{route: r, n: n, rss: map[string]*appsv1.ReplicaSet{},
		templates: map[string]*appsv1.ReplicaSet{}, steps: map[string]int32{}}
	for _, o := range versions {
		at := fmt.Sprintf("%T %s rv %s", o, o.GetName(), o.GetResourceVersion())
		s.apply(o, at)
		s.check(at)
	}
	return s.bad
}

// istioReplay is the state of the world at one point of a replayed history.
type istioReplay struct {
	route     IstioRoute
	n         int32
	rss       map[string]*appsv1.ReplicaSet // by revision
	templates map[string]*appsv1.ReplicaSet // by UID
	steps     map[string]int32              // the last step index of each revision
	dr        *networkingv1.DestinationRule
	vs        *networkingv1.VirtualService
	bad       []string
}

// apply takes in one version, and checks what a single version shows: a changed template, a
// step that goes back.
func (s *istioReplay) apply(o client.Object, at string) {
	switch x := o.(type) {
	case *appsv1.ReplicaSet:
		if old, ok := s.templates[string(x.UID)]; ok && !equality.Semantic.DeepEqual(old.Spec.Template, x.Spec.Template) {
			s.bad = append(s.bad, at+": template changed")
		}
		s.templates[string(x.UID)] = x
		s.rss[x.Labels[cutoverv1alpha1.LabelRevision]] = x
	case *networkingv1.VirtualService:
		s.vs = x
	case *networkingv1.DestinationRule:
		s.dr = x
	case *cutoverv1alpha1.Rollout:
		if idx := x.Status.CurrentStepIndex; idx != nil && x.Status.CurrentRevision != x.Status.StableRevision {
			if last, ok := s.steps[x.Status.CurrentRevision]; ok && *idx < last {
				s.bad = append(s.bad, fmt.Sprintf("%s: step of %s went back from %d to %d", at, x.Status.CurrentRevision, last, *idx))
			}
			s.steps[x.Status.CurrentRevision] = *idx
		}
	}
}

// check checks the routing at this point: the weights sum to 100, and every subset with
// weight has the available pods it needs.
func (s *istioReplay) check(at string) {
	if s.vs == nil || s.dr == nil {
		return
	}
	sw, cw := RouteWeights(s.vs, s.route)
	if sw+cw != 100 {
		s.bad = append(s.bad, fmt.Sprintf("%s: weights %d+%d", at, sw, cw))
	}
	labels := map[string]string{}
	for _, sub := range s.dr.Spec.Subsets {
		labels[sub.Name] = sub.Labels[cutoverv1alpha1.LabelRevision]
	}
	for subset, w := range map[string]int32{s.route.Canary: cw, s.route.Stable: sw} {
		rev := labels[subset]
		if w == 0 || rev == "" { // no weight, or the user's subset before Cutover labels it
			continue
		}
		rs := s.rss[rev]
		need := plan.CanaryReplicas(s.n, w)
		if rs != nil && rs.Status.AvailableReplicas >= need && ptr.Deref(rs.Spec.Replicas, 0) >= need {
			continue
		}
		have := "no ReplicaSet"
		if rs != nil {
			have = fmt.Sprintf("%d available of %d", rs.Status.AvailableReplicas, ptr.Deref(rs.Spec.Replicas, 0))
		}
		s.bad = append(s.bad, fmt.Sprintf("%s: %d%% on the %s subset (revision %s), which has %s; needs %d",
			at, w, subset, rev, have, need))
	}
}

// RouteWeights returns the weights of r's stable and canary subsets on r's route of vs.
func RouteWeights(vs *networkingv1.VirtualService, r IstioRoute) (stable, canary int32) {
	for _, h := range vs.Spec.Http {
		if h.Name != r.Route {
			continue
		}
		for _, d := range h.Route {
			switch d.Destination.GetSubset() {
			case r.Stable:
				stable = d.Weight
			case r.Canary:
				canary = d.Weight
			}
		}
	}
	return stable, canary
}

// WeightChanges returns the canary weights of r's route in the order the versions of the
// VirtualService named name set them, each change once (consecutive repeats dropped).
func WeightChanges(versions []client.Object, name string, r IstioRoute) []int32 {
	var out []int32
	for _, o := range versions {
		vs, ok := o.(*networkingv1.VirtualService)
		if !ok || vs.Name != name {
			continue
		}
		_, c := RouteWeights(vs, r)
		if len(out) == 0 || out[len(out)-1] != c {
			out = append(out, c)
		}
	}
	return out
}
