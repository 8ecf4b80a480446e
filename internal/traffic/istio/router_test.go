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

package istio_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	networkingv1alpha3 "istio.io/api/networking/v1alpha3"
	networkingv1 "istio.io/client-go/pkg/apis/networking/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	cutoverv1alpha1 "github.com/cutover-dev/cutover/api/v1alpha1"
	"github.com/cutover-dev/cutover/internal/traffic"
	"github.com/cutover-dev/cutover/internal/traffic/istio"
)

const (
	gitopsManager = "argocd"
	routerManager = "cutover-test"
	handManager   = "kubectl-edit"
)

// newNamespace creates a namespace for one test.
func newNamespace(t *testing.T, c client.Client) string {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "istio-router-"}}
	if err := c.Create(context.Background(), ns); err != nil {
		t.Fatalf("creating a namespace: %v", err)
	}
	return ns.Name
}

// retries and userMatch are set on the "primary" route by the GitOps tool.
func retries() *networkingv1alpha3.HTTPRetry {
	return &networkingv1alpha3.HTTPRetry{Attempts: 3, PerTryTimeout: durationpb.New(2 * time.Second), RetryOn: "5xx"}
}

func userMatch() []*networkingv1alpha3.HTTPMatchRequest {
	return []*networkingv1alpha3.HTTPMatchRequest{{Headers: map[string]*networkingv1alpha3.StringMatch{
		"x-user": {MatchType: &networkingv1alpha3.StringMatch_Exact{Exact: "beta"}},
	}}}
}

// gitopsVirtualService is a VirtualService with two http routes, "primary" (with a header
// match and a retry policy) and "secondary", each sending everything to the stable subset.
func gitopsVirtualService(ns, name string) *networkingv1.VirtualService {
	dests := func() []*networkingv1alpha3.HTTPRouteDestination {
		return []*networkingv1alpha3.HTTPRouteDestination{
			{Destination: &networkingv1alpha3.Destination{Host: "checkout", Subset: "stable"}, Weight: 100},
			{Destination: &networkingv1alpha3.Destination{Host: "checkout", Subset: "canary"}},
		}
	}
	return &networkingv1.VirtualService{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: networkingv1alpha3.VirtualService{
			Hosts: []string{"checkout"},
			Http: []*networkingv1alpha3.HTTPRoute{
				{Name: "primary", Match: userMatch(), Retries: retries(), Route: dests()},
				{Name: "secondary", Route: dests()},
			},
		},
	}
}

// gitopsDestinationRule has a stable subset with a label of its own and a canary subset
// without labels.
func gitopsDestinationRule(ns string) *networkingv1.DestinationRule {
	return &networkingv1.DestinationRule{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "checkout"},
		Spec: networkingv1alpha3.DestinationRule{
			Host: "checkout",
			Subsets: []*networkingv1alpha3.Subset{
				{Name: "stable", Labels: map[string]string{"app": "checkout"}},
				{Name: "canary"},
			},
		},
	}
}

// rollout is a Rollout of ns routed by the VirtualServices named in vs.
func rollout(ns string, vs ...string) *cutoverv1alpha1.Rollout {
	ist := &cutoverv1alpha1.IstioTrafficRouting{
		DestinationRule: cutoverv1alpha1.IstioDestinationRule{Name: "checkout", StableSubset: "stable", CanarySubset: "canary"},
	}
	if len(vs) == 1 {
		ist.VirtualService = &cutoverv1alpha1.IstioVirtualService{Name: vs[0]}
	} else {
		for _, n := range vs {
			ist.VirtualServices = append(ist.VirtualServices, cutoverv1alpha1.IstioVirtualService{Name: n})
		}
	}
	return &cutoverv1alpha1.Rollout{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "checkout"},
		Spec:       cutoverv1alpha1.RolloutSpec{TrafficRouting: &cutoverv1alpha1.TrafficRouting{Istio: ist}},
	}
}

// create creates objects as the GitOps tool.
func create(t *testing.T, c client.Client, objs ...client.Object) {
	t.Helper()
	for _, o := range objs {
		if err := c.Create(context.Background(), o, client.FieldOwner(gitopsManager)); err != nil {
			t.Fatalf("creating %s: %v", o.GetName(), err)
		}
	}
}

func getVS(t *testing.T, c client.Client, ns, name string) *networkingv1.VirtualService {
	t.Helper()
	vs := &networkingv1.VirtualService{}
	if err := c.Get(context.Background(), types.NamespacedName{Namespace: ns, Name: name}, vs); err != nil {
		t.Fatalf("reading VirtualService %s/%s: %v", ns, name, err)
	}
	return vs
}

func getDR(t *testing.T, c client.Client, ns string) *networkingv1.DestinationRule {
	t.Helper()
	dr := &networkingv1.DestinationRule{}
	if err := c.Get(context.Background(), types.NamespacedName{Namespace: ns, Name: "checkout"}, dr); err != nil {
		t.Fatalf("reading DestinationRule %s/checkout: %v", ns, err)
	}
	return dr
}

// handPatch applies a JSON patch to obj as someone editing it by hand.
func handPatch(t *testing.T, c client.Client, obj client.Object, ops string) {
	t.Helper()
	if err := c.Patch(context.Background(), obj, client.RawPatch(types.JSONPatchType, []byte(ops)), client.FieldOwner(handManager)); err != nil {
		t.Fatalf("editing %s by hand: %v", obj.GetName(), err)
	}
}

// weights returns the [stable, canary] weights of each http route of vs.
func weights(vs *networkingv1.VirtualService) [][2]int32 {
	var out [][2]int32
	for _, r := range vs.Spec.Http {
		var w [2]int32
		for _, d := range r.Route {
			switch d.Destination.Subset {
			case "stable":
				w[0] = d.Weight
			case "canary":
				w[1] = d.Weight
			}
		}
		out = append(out, w)
	}
	return out
}

// fieldsOf returns the fieldsV1 JSON of manager's Update entry on obj ("" when it has none).
func fieldsOf(obj client.Object, manager string) string {
	for _, mf := range obj.GetManagedFields() {
		if mf.Manager == manager && mf.Subresource == "" && mf.FieldsV1 != nil {
			return mf.FieldsV1.GetRawString()
		}
	}
	return ""
}

func TestRouterReconcile(t *testing.T) {
	c := envClient(t)
	ctx := context.Background()
	ns := newNamespace(t, c)
	create(t, c, gitopsVirtualService(ns, "checkout"), gitopsDestinationRule(ns))
	before := getVS(t, c, ns, "checkout")
	r := &istio.Router{Client: c, FieldOwner: routerManager}
	ro := rollout(ns, "checkout")

	obs, err := r.Reconcile(ctx, ro, traffic.Split{StableRevision: "s1", CanaryRevision: "c1", CanaryWeight: 20})
	if err != nil {
		t.Fatalf("Reconcile: %v", err)
	}
	if obs.StableRevision != "" || obs.CanaryRevision != "" || obs.CanaryWeight != 0 {
		t.Errorf("Observed before = %+v, want no revisions and weight 0", obs)
	}
	wantCorrected := []string{
		"DestinationRule " + ns + "/checkout /spec/subsets/0/labels/cutover.dev~1revision",
		"DestinationRule " + ns + "/checkout /spec/subsets/1/labels/cutover.dev~1revision",
		"VirtualService " + ns + "/checkout /spec/http/0/route/0/weight",
		"VirtualService " + ns + "/checkout /spec/http/0/route/1/weight",
		"VirtualService " + ns + "/checkout /spec/http/1/route/0/weight",
		"VirtualService " + ns + "/checkout /spec/http/1/route/1/weight",
	}
	if !slices.Equal(obs.Corrected, wantCorrected) {
		t.Errorf("Corrected = %q\nwant %q", obs.Corrected, wantCorrected)
	}

	vs := getVS(t, c, ns, "checkout")
	if got := weights(vs); !slices.Equal(got, [][2]int32{{80, 20}, {80, 20}}) {
		t.Errorf("weights = %v, want 80/20 on both routes", got)
	}
	if !proto.Equal(vs.Spec.Http[0].Retries, before.Spec.Http[0].Retries) ||
		len(vs.Spec.Http[0].Match) != 1 || !proto.Equal(vs.Spec.Http[0].Match[0], before.Spec.Http[0].Match[0]) {
		t.Errorf("retries or match changed: %v %v", vs.Spec.Http[0].Retries, vs.Spec.Http[0].Match)
	}
	dr := getDR(t, c, ns)
	if got := dr.Spec.Subsets[0].Labels; len(got) != 2 || got["app"] != "checkout" || got[cutoverv1alpha1.LabelRevision] != "s1" {
		t.Errorf("stable subset labels = %v", got)
	}
	if got := dr.Spec.Subsets[1].Labels; len(got) != 1 || got[cutoverv1alpha1.LabelRevision] != "c1" {
		t.Errorf("canary subset labels = %v", got)
	}

	// Managed fields. The router wrote with a JSON patch, not an update of the whole object, so
	// the GitOps tool keeps every field outside what the router wrote. The Istio CRDs declare
	// spec.http and spec.subsets as atomic lists (no x-kubernetes-list-type), so the API server
	// records a write of one weight or label as ownership of the whole list: per-weight
	// ownership (f:weight) cannot be seen, and the GitOps tool loses f:http / f:subsets, with
	// f:retries and f:match inside it. Should Istio make these lists granular, tighten this to
	// f:weight and the GitOps tool keeping f:retries.
	assertFields(t, "VirtualService", vs, routerManager, `{"f:spec":{"f:http":{}}}`)
	assertFields(t, "VirtualService", vs, gitopsManager, `{"f:spec":{".":{},"f:hosts":{}}}`)
	assertFields(t, "DestinationRule", dr, routerManager, `{"f:spec":{"f:subsets":{}}}`)
	assertFields(t, "DestinationRule", dr, gitopsManager, `{"f:spec":{".":{},"f:host":{}}}`)

	// Nothing to do: nothing is written.
	obs, err = r.Reconcile(ctx, ro, traffic.Split{StableRevision: "s1", CanaryRevision: "c1", CanaryWeight: 20})
	if err != nil {
		t.Fatalf("second Reconcile: %v", err)
	}
	if want := (traffic.Observed{StableRevision: "s1", CanaryRevision: "c1", CanaryWeight: 20}); !equalObserved(obs, want) {
		t.Errorf("second Reconcile observed %+v, want %+v", obs, want)
	}
	if got := getVS(t, c, ns, "checkout"); got.ResourceVersion != vs.ResourceVersion {
		t.Errorf("second Reconcile wrote the VirtualService")
	}
	if got := getDR(t, c, ns); got.ResourceVersion != dr.ResourceVersion {
		t.Errorf("second Reconcile wrote the DestinationRule")
	}
	obs, err = r.Observe(ctx, ro)
	if want := (traffic.Observed{StableRevision: "s1", CanaryRevision: "c1", CanaryWeight: 20}); err != nil || !equalObserved(obs, want) {
		t.Errorf("Observe = %+v, %v; want %+v", obs, err, want)
	}

	// Promotion: the canary revision becomes stable, all weight on stable; an empty canary
	// revision leaves the canary label alone.
	obs, err = r.Reconcile(ctx, ro, traffic.Split{StableRevision: "c1", CanaryWeight: 0})
	if err != nil {
		t.Fatalf("Reconcile to 0: %v", err)
	}
	if len(obs.Corrected) != 5 {
		t.Errorf("Corrected = %q, want the stable label and 4 weights", obs.Corrected)
	}
	if got := weights(getVS(t, c, ns, "checkout")); !slices.Equal(got, [][2]int32{{100, 0}, {100, 0}}) {
		t.Errorf("weights = %v, want 100/0 on both routes", got)
	}
	dr = getDR(t, c, ns)
	if s, cn := dr.Spec.Subsets[0].Labels[cutoverv1alpha1.LabelRevision], dr.Spec.Subsets[1].Labels[cutoverv1alpha1.LabelRevision]; s != "c1" || cn != "c1" {
		t.Errorf("subset revisions = %q, %q; want c1, c1", s, cn)
	}
}

func equalObserved(a, b traffic.Observed) bool {
	return a.StableRevision == b.StableRevision && a.CanaryRevision == b.CanaryRevision &&
		a.CanaryWeight == b.CanaryWeight && slices.Equal(a.Corrected, b.Corrected)
}

// assertFields checks the fieldsV1 of manager on obj.
func assertFields(t *testing.T, kind string, obj client.Object, manager, want string) {
	t.Helper()
	if got := fieldsOf(obj, manager); got != want {
		t.Errorf("%s managed fields of %q = %s, want %s", kind, manager, got, want)
	}
}

// reconciled creates the GitOps objects in a new namespace and routes 20% to the canary.
func reconciled(t *testing.T) (client.Client, *istio.Router, *cutoverv1alpha1.Rollout, string) {
	t.Helper()
	c := envClient(t)
	ns := newNamespace(t, c)
	create(t, c, gitopsVirtualService(ns, "checkout"), gitopsDestinationRule(ns))
	r := &istio.Router{Client: c, FieldOwner: routerManager}
	ro := rollout(ns, "checkout")
	if _, err := r.Reconcile(context.Background(), ro, traffic.Split{StableRevision: "s1", CanaryRevision: "c1", CanaryWeight: 20}); err != nil {
		t.Fatalf("Reconcile: %v", err)
	}
	return c, r, ro, ns
}

func TestRouterRevertsDrift(t *testing.T) {
	c, r, ro, ns := reconciled(t)
	ctx := context.Background()

	// By hand: the weights of the primary route, its retries and the canary subset's label.
	handPatch(t, c, &networkingv1.VirtualService{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "checkout"}}, `[
		{"op": "replace", "path": "/spec/http/0/route/0/weight", "value": 50},
		{"op": "replace", "path": "/spec/http/0/route/1/weight", "value": 50},
		{"op": "replace", "path": "/spec/http/0/retries/attempts", "value": 5}]`)
	handPatch(t, c, &networkingv1.DestinationRule{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "checkout"}}, `[
		{"op": "replace", "path": "/spec/subsets/1/labels/cutover.dev~1revision", "value": "other"}]`)

	obs, err := r.Reconcile(ctx, ro, traffic.Split{StableRevision: "s1", CanaryRevision: "c1", CanaryWeight: 20})
	if err != nil {
		t.Fatalf("Reconcile: %v", err)
	}
	if obs.CanaryRevision != "other" || obs.CanaryWeight != -1 {
		t.Errorf("observed %+v, want canary revision \"other\" and weight -1 (the routes disagree)", obs)
	}
	want := []string{
		"DestinationRule " + ns + "/checkout /spec/subsets/1/labels/cutover.dev~1revision",
		"VirtualService " + ns + "/checkout /spec/http/0/route/0/weight",
		"VirtualService " + ns + "/checkout /spec/http/0/route/1/weight",
	}
	if !slices.Equal(obs.Corrected, want) {
		t.Errorf("Corrected = %q\nwant %q", obs.Corrected, want)
	}
	vs := getVS(t, c, ns, "checkout")
	if got := weights(vs); !slices.Equal(got, [][2]int32{{80, 20}, {80, 20}}) {
		t.Errorf("weights = %v, want 80/20 back on both routes", got)
	}
	if got := vs.Spec.Http[0].Retries.GetAttempts(); got != 5 {
		t.Errorf("retries.attempts = %d, want the hand edit (5) left alone", got)
	}
	if got := getDR(t, c, ns).Spec.Subsets[1].Labels[cutoverv1alpha1.LabelRevision]; got != "c1" {
		t.Errorf("canary label = %q, want c1 back", got)
	}
}

func TestRouterConcurrentEditFailsThePatch(t *testing.T) {
	c, r, ro, ns := reconciled(t)
	ctx := context.Background()
	staleVS, staleDR := getVS(t, c, ns, "checkout"), getDR(t, c, ns)

	// Between the router's read and its patch, someone moves the primary route to 70/30.
	handPatch(t, c, &networkingv1.VirtualService{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "checkout"}}, `[
		{"op": "replace", "path": "/spec/http/0/route/0/weight", "value": 70},
		{"op": "replace", "path": "/spec/http/0/route/1/weight", "value": 30}]`)

	patches, _, err := istio.Plan([]*networkingv1.VirtualService{staleVS}, staleDR, *ro.Spec.TrafficRouting.Istio,
		traffic.Split{StableRevision: "s1", CanaryRevision: "c1", CanaryWeight: 50})
	if err != nil || len(patches) != 1 {
		t.Fatalf("Plan = %d patches, %v; want one VirtualService patch", len(patches), err)
	}
	written, err := r.Apply(ctx, patches)
	if !errors.Is(err, istio.ErrConflict) || !apierrors.IsInvalid(err) {
		t.Fatalf("Apply of a stale patch = %v, want ErrConflict wrapping an Invalid error from the failed test", err)
	}
	if !strings.Contains(err.Error(), "VirtualService "+ns+"/checkout") || len(written) != 0 {
		t.Errorf("Apply = %q, %v; want the object named and nothing written", written, err)
	}
	if got := weights(getVS(t, c, ns, "checkout")); !slices.Equal(got, [][2]int32{{70, 30}, {80, 20}}) {
		t.Errorf("weights = %v, want the concurrent edit untouched", got)
	}
}

// TestApplyAsksOnlyForMetadata: Apply writes the planned weights and sets each patched object's
// resourceVersion to the one its write left; the rest of the object stays as it was planned
// from (the answer is metadata only).
func TestApplyAsksOnlyForMetadata(t *testing.T) {
	c, r, ro, ns := reconciled(t)
	vs, dr := getVS(t, c, ns, "checkout"), getDR(t, c, ns)
	patches, _, err := istio.Plan([]*networkingv1.VirtualService{vs}, dr, *ro.Spec.TrafficRouting.Istio,
		traffic.Split{StableRevision: "s1", CanaryRevision: "c1", CanaryWeight: 60})
	if err != nil || len(patches) != 1 {
		t.Fatalf("Plan = %d patches, %v; want one VirtualService patch", len(patches), err)
	}
	before := vs.ResourceVersion
	if _, err := r.Apply(context.Background(), patches); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	stored := getVS(t, c, ns, "checkout")
	if got := weights(stored); got[0] != [2]int32{40, 60} {
		t.Errorf("weights = %v, want the primary route at 40/60", got)
	}
	if vs.ResourceVersion == before || vs.ResourceVersion != stored.ResourceVersion {
		t.Errorf("resourceVersion after Apply = %s (was %s), want the stored %s", vs.ResourceVersion, before, stored.ResourceVersion)
	}
	if got := weights(vs); got[0] != [2]int32{80, 20} {
		t.Errorf("the planned-from object's weights = %v, want them untouched at 80/20", got)
	}
}

// TestRouterReportsTheVersionsItReplaced: Observe and Reconcile report the resourceVersions
// they read (the DestinationRule's, then the VirtualServices'), and Reconcile the ones its
// patches replaced, so that the caller can recognise a later read of a copy from before them.
func TestRouterReportsTheVersionsItReplaced(t *testing.T) {
	c, r, ro, ns := reconciled(t)
	ctx := context.Background()
	vs, dr := getVS(t, c, ns, "checkout"), getDR(t, c, ns)
	drAt := func(rv string) string { return istio.KindDestinationRule + "/" + ns + "/checkout@" + rv }
	vsAt := func(rv string) string { return istio.KindVirtualService + "/" + ns + "/checkout@" + rv }
	read := []string{drAt(dr.ResourceVersion), vsAt(vs.ResourceVersion)}

	obs, err := r.Observe(ctx, ro)
	if err != nil {
		t.Fatalf("Observe: %v", err)
	}
	if !slices.Equal(obs.Versions, read) || len(obs.Replaced) != 0 {
		t.Errorf("Observe: Versions %v, Replaced %v; want %v and nothing replaced", obs.Versions, obs.Replaced, read)
	}

	// A new weight patches the VirtualService only: the DestinationRule's subsets already
	// select s1 and c1.
	obs, err = r.Reconcile(ctx, ro, traffic.Split{StableRevision: "s1", CanaryRevision: "c1", CanaryWeight: 50})
	if err != nil {
		t.Fatalf("Reconcile: %v", err)
	}
	after := getVS(t, c, ns, "checkout").ResourceVersion
	if !slices.Equal(obs.Versions, read) || !slices.Equal(obs.Replaced, []string{vsAt(vs.ResourceVersion)}) || after == vs.ResourceVersion {
		t.Errorf("Reconcile to 50%%: Versions %v, Replaced %v (VirtualService now at %s); want %v and the VirtualService's %s replaced",
			obs.Versions, obs.Replaced, after, read, vs.ResourceVersion)
	}

	// The same split again writes nothing and replaces nothing.
	obs, err = r.Reconcile(ctx, ro, traffic.Split{StableRevision: "s1", CanaryRevision: "c1", CanaryWeight: 50})
	if err != nil {
		t.Fatalf("Reconcile again: %v", err)
	}
	if want := []string{drAt(dr.ResourceVersion), vsAt(after)}; !slices.Equal(obs.Versions, want) || len(obs.Replaced) != 0 {
		t.Errorf("Reconcile to the same split: Versions %v, Replaced %v; want %v and nothing replaced", obs.Versions, obs.Replaced, want)
	}
}

func TestRouterValidatesEverythingBeforePatching(t *testing.T) {
	c := envClient(t)
	ctx := context.Background()
	ns := newNamespace(t, c)
	internal := gitopsVirtualService(ns, "checkout-internal")
	internal.Spec.Http[1].Route = internal.Spec.Http[1].Route[:1] // "secondary" loses its canary destination
	create(t, c, gitopsVirtualService(ns, "checkout"), gitopsDestinationRule(ns), internal)
	dr, vs := getDR(t, c, ns), getVS(t, c, ns, "checkout")
	r := &istio.Router{Client: c, FieldOwner: routerManager}
	ro := rollout(ns, "checkout", ns+"/checkout-internal")
	split := traffic.Split{StableRevision: "s1", CanaryRevision: "c1", CanaryWeight: 10}

	_, err := r.Reconcile(ctx, ro, split)
	if !errors.Is(err, traffic.ErrInvalidReference) {
		t.Fatalf("Reconcile = %v, want ErrInvalidReference", err)
	}
	want := "VirtualService " + ns + `/checkout-internal: http route "secondary" has no destination with subset "canary"`
	if err.Error() != want {
		t.Errorf("error = %q\nwant %q", err, want)
	}
	if getDR(t, c, ns).ResourceVersion != dr.ResourceVersion || getVS(t, c, ns, "checkout").ResourceVersion != vs.ResourceVersion {
		t.Errorf("the valid objects were patched although another one is invalid")
	}

	// Fixed: both VirtualServices, the second one named as "namespace/name", get the split.
	handPatch(t, c, internal, `[{"op": "add", "path": "/spec/http/1/route/-",
		"value": {"destination": {"host": "checkout", "subset": "canary"}}}]`)
	if _, err := r.Reconcile(ctx, ro, split); err != nil {
		t.Fatalf("Reconcile: %v", err)
	}
	for _, key := range []types.NamespacedName{{Namespace: ns, Name: "checkout"}, {Namespace: ns, Name: "checkout-internal"}} {
		if got := weights(getVS(t, c, key.Namespace, key.Name)); !slices.Equal(got, [][2]int32{{90, 10}, {90, 10}}) {
			t.Errorf("%s weights = %v, want 90/10", key, got)
		}
	}
}

func TestRouterReferenceNotFound(t *testing.T) {
	c := envClient(t)
	ctx := context.Background()
	ns := newNamespace(t, c)
	create(t, c, gitopsVirtualService(ns, "checkout"))
	vs := getVS(t, c, ns, "checkout")
	r := &istio.Router{Client: c, FieldOwner: routerManager}
	ro := rollout(ns, "checkout", "nope")

	_, err := r.Reconcile(ctx, ro, traffic.Split{StableRevision: "s1"})
	if !errors.Is(err, traffic.ErrReferenceNotFound) {
		t.Fatalf("Reconcile = %v, want ErrReferenceNotFound", err)
	}
	for _, want := range []string{"DestinationRule " + ns + "/checkout: not found", "VirtualService " + ns + "/nope: not found"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if getVS(t, c, ns, "checkout").ResourceVersion != vs.ResourceVersion {
		t.Errorf("the VirtualService was patched although the DestinationRule is missing")
	}
	if _, err := r.Observe(ctx, ro); !errors.Is(err, traffic.ErrReferenceNotFound) {
		t.Errorf("Observe = %v, want ErrReferenceNotFound", err)
	}
}
