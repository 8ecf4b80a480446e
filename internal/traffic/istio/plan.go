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

package istio

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/go-openapi/jsonpointer"
	networkingv1alpha3 "istio.io/api/networking/v1alpha3"
	networkingv1 "istio.io/client-go/pkg/apis/networking/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	cutoverv1alpha1 "github.com/cutover-dev/cutover/api/v1alpha1"
	"github.com/cutover-dev/cutover/internal/rfc6902"
	"github.com/cutover-dev/cutover/internal/traffic"
)

// ObjectPatch is the JSON patch of one routing object.
type ObjectPatch struct {
	// Object is the object the patch was planned from (the one given to Plan). Router.Apply
	// sets its resourceVersion to the one the write left, and nothing else.
	Object client.Object
	// Ops are the operations. Each written field is preceded by test operations on the values
	// it was planned from (the name of its route or subset, the subset of its destination, its
	// old value when it has one), so that an edit made after the read fails the whole patch
	// instead of being overwritten.
	Ops []rfc6902.Op
	// Changed lists the fields the patch writes, formatted as in traffic.Observed.Corrected.
	Changed []string
}

// Patch returns p as a controller-runtime JSON patch.
func (p ObjectPatch) Patch() (client.Patch, error) {
	data, err := json.Marshal(p.Ops)
	if err != nil {
		return nil, fmt.Errorf("encoding the JSON patch of %s: %w", describe(p.Object), err)
	}
	return client.RawPatch(types.JSONPatchType, data), nil
}

// Plan validates the routing objects and returns the patches that bring them to desired, in the
// order they must be applied (the DestinationRule first, so a subset selects its revision
// before it gets weight; then the VirtualServices in the order of cfg), and what it found on
// them (Observed.Corrected lists every field the patches write). It does no I/O.
//
// vs holds the VirtualService of each reference of cfg (cfg.VirtualService, or each of
// cfg.VirtualServices), in that order; dr is cfg.DestinationRule. Every object is validated
// before any patch is built: on error there are no patches. An object that cannot carry the
// split yields an error wrapping traffic.ErrInvalidReference that names the object and what is
// wrong with it; several such errors are joined.
func Plan(vs []*networkingv1.VirtualService, dr *networkingv1.DestinationRule,
	cfg cutoverv1alpha1.IstioTrafficRouting, desired traffic.Split,
) (patches []ObjectPatch, observed traffic.Observed, err error) {
	return plan(vs, dr, cfg, desired, false)
}

// plan is Plan; crossNamespace allows VirtualServices of another namespace than the
// DestinationRule's (the Rollout's).
func plan(vs []*networkingv1.VirtualService, dr *networkingv1.DestinationRule,
	cfg cutoverv1alpha1.IstioTrafficRouting, desired traffic.Split, crossNamespace bool,
) (patches []ObjectPatch, observed traffic.Observed, err error) {
	if err := checkSplit(desired); err != nil {
		return nil, traffic.Observed{}, err
	}
	st, err := inspect(vs, dr, cfg, crossNamespace)
	if err != nil {
		return nil, traffic.Observed{}, err
	}
	observed = st.observe()

	b := newBuilder(KindDestinationRule, st.dr)
	b.label(st.stable, desired.StableRevision)
	b.label(st.canary, desired.CanaryRevision)
	patches = b.appendTo(patches)
	for _, v := range st.vss {
		b := newBuilder(KindVirtualService, v.obj)
		for _, r := range v.routes {
			b.route(r, 100-desired.CanaryWeight, desired.CanaryWeight)
		}
		patches = b.appendTo(patches)
	}
	for _, p := range patches {
		observed.Corrected = append(observed.Corrected, p.Changed...)
	}
	return patches, observed, nil
}

// checkSplit rejects a split no routing object should be given.
func checkSplit(s traffic.Split) error {
	switch {
	case s.StableRevision == "":
		return fmt.Errorf("invalid split: the stable revision is empty")
	case s.CanaryWeight < 0 || s.CanaryWeight > 100:
		return fmt.Errorf("invalid split: canary weight %d is not in 0..100", s.CanaryWeight)
	case s.CanaryRevision == "" && s.CanaryWeight != 0:
		return fmt.Errorf("invalid split: canary weight %d without a canary revision", s.CanaryWeight)
	}
	return nil
}

// state is what inspect found on valid routing objects.
type state struct {
	dr             *networkingv1.DestinationRule
	stable, canary subsetRef
	vss            []vsState
}

// subsetRef is one of the two DestinationRule subsets.
type subsetRef struct {
	index  int
	name   string
	labels map[string]string
}

// vsState is a VirtualService and its managed http routes.
type vsState struct {
	obj    *networkingv1.VirtualService
	routes []routeRef
}

// routeRef is a managed http route and its two destinations.
type routeRef struct {
	index          int
	name           string
	stable, canary destRef
}

// destRef is a destination of a managed route.
type destRef struct {
	index  int
	subset string
	host   string
	weight int32
}

// observe reports the split the objects carry.
func (s *state) observe() traffic.Observed {
	o := traffic.Observed{
		StableRevision: s.stable.labels[cutoverv1alpha1.LabelRevision],
		CanaryRevision: s.canary.labels[cutoverv1alpha1.LabelRevision],
	}
	first := true
	for _, v := range s.vss {
		for _, r := range v.routes {
			switch {
			case first:
				o.CanaryWeight, first = r.canary.weight, false
			case o.CanaryWeight != r.canary.weight:
				o.CanaryWeight = -1
			}
		}
	}
	return o
}

// references returns the VirtualService references of cfg.
func references(cfg cutoverv1alpha1.IstioTrafficRouting) []cutoverv1alpha1.IstioVirtualService {
	if cfg.VirtualService != nil {
		return []cutoverv1alpha1.IstioVirtualService{*cfg.VirtualService}
	}
	return cfg.VirtualServices
}

// splitName splits a reference "namespace/name" or "name"; ns is "" for a bare name.
func splitName(ref string) (ns, name string) {
	if before, after, ok := strings.Cut(ref, "/"); ok {
		return before, after
	}
	return "", ref
}

// inspect validates every routing object and collects what Plan and Observe need. A
// VirtualService of another namespace is refused unless crossNamespace.
func inspect(vs []*networkingv1.VirtualService, dr *networkingv1.DestinationRule,
	cfg cutoverv1alpha1.IstioTrafficRouting, crossNamespace bool,
) (*state, error) {
	refs := references(cfg)
	switch {
	case len(refs) == 0:
		return nil, fmt.Errorf("spec.trafficRouting.istio names no VirtualService")
	case len(vs) != len(refs):
		return nil, fmt.Errorf("%d VirtualServices given for %d references", len(vs), len(refs))
	case dr == nil || dr.Name != cfg.DestinationRule.Name:
		return nil, fmt.Errorf("the DestinationRule given is not %q", cfg.DestinationRule.Name)
	}
	if !crossNamespace {
		if err := checkNamespaces(dr.Namespace, cfg); err != nil {
			return nil, err
		}
	}
	st := &state{dr: dr}
	var errs []error
	var err error
	if st.stable, err = findSubset(dr, cfg.DestinationRule.StableSubset); err != nil {
		errs = append(errs, err)
	}
	if st.canary, err = findSubset(dr, cfg.DestinationRule.CanarySubset); err != nil {
		errs = append(errs, err)
	}
	seen := map[types.NamespacedName]bool{}
	for i, ref := range refs {
		obj := vs[i]
		ns, name := splitName(ref.Name)
		if obj == nil || obj.Name != name || (ns != "" && obj.Namespace != ns) {
			return nil, fmt.Errorf("VirtualService %d given is not %q", i, ref.Name)
		}
		key := client.ObjectKeyFromObject(obj)
		if seen[key] {
			errs = append(errs, invalid(KindVirtualService, obj.Namespace, obj.Name, "referenced more than once"))
			continue
		}
		seen[key] = true
		routes, rerrs := inspectVirtualService(obj, ref.Routes, cfg.DestinationRule.StableSubset, cfg.DestinationRule.CanarySubset)
		errs = append(errs, rerrs...)
		errs = append(errs, checkHosts(obj, routes, dr)...)
		st.vss = append(st.vss, vsState{obj: obj, routes: routes})
	}
	if err := join(errs); err != nil {
		return nil, err
	}
	return st, nil
}

// findSubset finds the subset named name in dr.
func findSubset(dr *networkingv1.DestinationRule, name string) (subsetRef, error) {
	found := subsetRef{index: -1, name: name}
	n := 0
	for i, s := range dr.Spec.Subsets {
		if s != nil && s.Name == name {
			if n == 0 {
				found.index, found.labels = i, s.Labels
			}
			n++
		}
	}
	switch n {
	case 0:
		return found, invalid(KindDestinationRule, dr.Namespace, dr.Name, "has no subset %q", name)
	case 1:
		return found, nil
	default:
		return found, invalid(KindDestinationRule, dr.Namespace, dr.Name, "has %d subsets named %q", n, name)
	}
}

// inspectVirtualService validates the managed http routes of vs: every http route, or those
// named in names.
func inspectVirtualService(vs *networkingv1.VirtualService, names []string, stable, canary string) ([]routeRef, []error) {
	spec := &vs.Spec
	if len(spec.Http) == 0 {
		if len(spec.Tcp)+len(spec.Tls) > 0 {
			return nil, []error{invalid(KindVirtualService, vs.Namespace, vs.Name,
				"has no http route; tcp/tls routes are not supported yet")}
		}
		return nil, []error{invalid(KindVirtualService, vs.Namespace, vs.Name, "has no http route")}
	}
	var errs []error
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	for _, n := range names {
		switch c := countHTTPRoutes(vs, n); {
		case c == 0:
			errs = append(errs, missingRoute(vs, n))
		case c > 1:
			errs = append(errs, invalid(KindVirtualService, vs.Namespace, vs.Name,
				"has %d http routes named %q: a named route must be one route", c, n))
		}
	}
	var routes []routeRef
	for i, r := range spec.Http {
		if r == nil || (len(names) > 0 && !want[r.Name]) {
			continue
		}
		ref, rerrs := inspectRoute(vs, i, r.Name, r.Route, stable, canary)
		errs = append(errs, rerrs...)
		routes = append(routes, ref)
	}
	return routes, errs
}

// countHTTPRoutes counts the http routes of vs named name.
func countHTTPRoutes(vs *networkingv1.VirtualService, name string) int {
	n := 0
	for _, r := range vs.Spec.Http {
		if r != nil && r.Name == name {
			n++
		}
	}
	return n
}

// checkNamespaces refuses a VirtualService reference to a namespace other than ns, the
// Rollout's: a Rollout never changes another namespace's traffic.
func checkNamespaces(ns string, cfg cutoverv1alpha1.IstioTrafficRouting) error {
	var errs []error
	for i, ref := range references(cfg) {
		if rns, name := splitName(ref.Name); rns != "" && rns != ns {
			field := "spec.trafficRouting.istio.virtualService.name"
			if cfg.VirtualService == nil {
				field = fmt.Sprintf("spec.trafficRouting.istio.virtualServices[%d].name", i)
			}
			errs = append(errs, invalid(KindVirtualService, rns, name,
				"is in another namespace than the Rollout (%s); a Rollout routes only objects in its own namespace, "+
					"unless the manager runs with --allow-cross-namespace-refs", field))
		}
	}
	return join(errs)
}

// checkHosts reports each managed route whose stable or canary destination is a host other
// than the DestinationRule's: the subsets would not apply to it, and its traffic would fail.
func checkHosts(vs *networkingv1.VirtualService, routes []routeRef, dr *networkingv1.DestinationRule) []error {
	var errs []error
	for _, r := range routes {
		for _, d := range []destRef{r.stable, r.canary} {
			if d.index < 0 || sameHost(d.host, vs.Namespace, dr.Spec.Host, dr.Namespace) {
				continue
			}
			errs = append(errs, invalid(KindVirtualService, vs.Namespace, vs.Name,
				"%s sends subset %q to host %q, but DestinationRule %s/%s is for host %q: its subsets do not apply there",
				routeLabel(r.index, r.name), d.subset, d.host, dr.Namespace, dr.Name, dr.Spec.Host))
		}
	}
	return errs
}

// sameHost reports whether host, written in a VirtualService of namespace ns, is the host of a
// DestinationRule of namespace drNS, as Istio resolves short names: "checkout" in namespace
// shop is "checkout.shop.svc.<cluster domain>". A wildcard DestinationRule host is not judged.
func sameHost(host, ns, drHost, drNS string) bool {
	if strings.HasPrefix(drHost, "*") {
		return true
	}
	return serviceHost(host, ns) == serviceHost(drHost, drNS)
}

// serviceHost returns host resolved in namespace ns, up to the cluster domain: a short name
// "checkout" is "checkout.<ns>.svc", "checkout.shop.svc.cluster.local" is "checkout.shop.svc";
// any other name is kept as written.
func serviceHost(host, ns string) string {
	h := strings.ToLower(strings.TrimSuffix(host, "."))
	if h != "" && !strings.Contains(h, ".") {
		return h + "." + ns + ".svc"
	}
	if parts := strings.SplitN(h, ".", 4); len(parts) >= 3 && parts[2] == "svc" {
		return strings.Join(parts[:3], ".")
	}
	return h
}

// missingRoute is the error for a named route that is not an http route of vs.
func missingRoute(vs *networkingv1.VirtualService, name string) error {
	if len(vs.Spec.Tcp)+len(vs.Spec.Tls) > 0 {
		return invalid(KindVirtualService, vs.Namespace, vs.Name,
			"has no http route named %q (tcp/tls routes are not supported yet)", name)
	}
	return invalid(KindVirtualService, vs.Namespace, vs.Name, "has no http route named %q", name)
}

// routeLabel names an http route in messages: its name, or its index when it has none.
func routeLabel(i int, name string) string {
	if name == "" {
		return fmt.Sprintf("http route #%d (unnamed)", i)
	}
	return fmt.Sprintf("http route %q", name)
}

// inspectRoute checks that the destinations of a managed route are exactly one destination with
// the stable subset and one with the canary subset.
func inspectRoute(vs *networkingv1.VirtualService, i int, name string, dests []*networkingv1alpha3.HTTPRouteDestination,
	stable, canary string,
) (routeRef, []error) {
	ref := routeRef{index: i, name: name, stable: destRef{index: -1, subset: stable}, canary: destRef{index: -1, subset: canary}}
	var nStable, nCanary int
	var others []string
	for j, d := range dests {
		subset, host := d.GetDestination().GetSubset(), d.GetDestination().GetHost()
		switch {
		case d.GetDestination() != nil && subset == stable:
			nStable++
			ref.stable.index, ref.stable.host, ref.stable.weight = j, host, d.GetWeight()
		case d.GetDestination() != nil && subset == canary:
			nCanary++
			ref.canary.index, ref.canary.host, ref.canary.weight = j, host, d.GetWeight()
		default:
			others = append(others, fmt.Sprintf("host %q subset %q", host, subset))
		}
	}
	label := routeLabel(i, name)
	var errs []error
	for _, c := range []struct {
		subset string
		n      int
	}{{stable, nStable}, {canary, nCanary}} {
		switch {
		case c.n == 0:
			errs = append(errs, invalid(KindVirtualService, vs.Namespace, vs.Name,
				"%s has no destination with subset %q", label, c.subset))
		case c.n > 1:
			errs = append(errs, invalid(KindVirtualService, vs.Namespace, vs.Name,
				"%s has %d destinations with subset %q", label, c.n, c.subset))
		}
	}
	if len(others) > 0 {
		errs = append(errs, invalid(KindVirtualService, vs.Namespace, vs.Name,
			"%s has a destination other than subsets %q and %q (%s): the weights of a managed route could not sum to 100",
			label, stable, canary, strings.Join(others, ", ")))
	}
	return ref, errs
}

// builder collects the operations of one object's patch.
type builder struct {
	kind    string
	obj     client.Object
	ops     []rfc6902.Op
	changed []string
}

func newBuilder(kind string, obj client.Object) *builder {
	return &builder{kind: kind, obj: obj}
}

// appendTo appends the patch to patches when it writes anything.
func (b *builder) appendTo(patches []ObjectPatch) []ObjectPatch {
	if len(b.changed) == 0 {
		return patches
	}
	return append(patches, ObjectPatch{Object: b.obj, Ops: b.ops, Changed: b.changed})
}

// test guards path with its current value. A string that JSON could encode in more than one
// way is not guarded (the server compares the encodings byte for byte).
func (b *builder) test(path string, value any) {
	if s, ok := value.(string); ok && !plainString(s) {
		return
	}
	b.ops = append(b.ops, rfc6902.Op{Op: rfc6902.Test, Path: path, Value: value})
}

// write sets path to value: a test of the old value and a replace when it had one, an add
// otherwise.
func (b *builder) write(path string, old any, hadOld bool, value any) {
	if hadOld {
		b.test(path, old)
		b.ops = append(b.ops, rfc6902.Op{Op: rfc6902.Replace, Path: path, Value: value})
	} else {
		b.ops = append(b.ops, rfc6902.Op{Op: rfc6902.Add, Path: path, Value: value})
	}
	b.changed = append(b.changed, b.field(path))
}

// field formats a written field for Observed.Corrected.
func (b *builder) field(path string) string {
	return fmt.Sprintf("%s %s/%s %s", b.kind, b.obj.GetNamespace(), b.obj.GetName(), path)
}

// label sets the revision label of subset s to rev; an empty rev leaves it as it is.
func (b *builder) label(s subsetRef, rev string) {
	old, ok := s.labels[cutoverv1alpha1.LabelRevision]
	if rev == "" || (ok && old == rev) {
		return
	}
	base := fmt.Sprintf("/spec/subsets/%d", s.index)
	b.test(base+"/name", s.name)
	path := base + "/labels/" + jsonpointer.Escape(cutoverv1alpha1.LabelRevision)
	if len(s.labels) == 0 {
		// The labels map may be absent: add the whole map.
		b.ops = append(b.ops, rfc6902.Op{Op: rfc6902.Add, Path: base + "/labels",
			Value: map[string]string{cutoverv1alpha1.LabelRevision: rev}})
		b.changed = append(b.changed, b.field(path))
		return
	}
	b.write(path, old, ok, rev)
}

// route sets the weights of a managed route's two destinations.
func (b *builder) route(r routeRef, stableWeight, canaryWeight int32) {
	if r.stable.weight == stableWeight && r.canary.weight == canaryWeight {
		return
	}
	base := fmt.Sprintf("/spec/http/%d", r.index)
	if r.name != "" {
		b.test(base+"/name", r.name)
	}
	b.weight(base, r.stable, stableWeight)
	b.weight(base, r.canary, canaryWeight)
}

// weight sets the weight of destination d of the route at base. An absent weight is 0.
func (b *builder) weight(base string, d destRef, want int32) {
	if d.weight == want {
		return
	}
	dest := fmt.Sprintf("%s/route/%d", base, d.index)
	b.test(dest+"/destination/subset", d.subset)
	b.write(dest+"/weight", d.weight, d.weight != 0, want)
}

// plainString reports whether s is printable ASCII that JSON encoders leave as it is.
func plainString(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c > 0x7e || strings.IndexByte(`"\<>&`, c) >= 0 {
			return false
		}
	}
	return true
}

// describe names an object in messages.
func describe(obj client.Object) string {
	return fmt.Sprintf("%s %s/%s", kindOf(obj), obj.GetNamespace(), obj.GetName())
}

// kindOf is the kind of a routing object.
func kindOf(obj client.Object) string {
	if _, ok := obj.(*networkingv1.DestinationRule); ok {
		return KindDestinationRule
	}
	return KindVirtualService
}
