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

package service_test

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	cutoverv1alpha1 "github.com/cutover-dev/cutover/api/v1alpha1"
	"github.com/cutover-dev/cutover/internal/rfc6902"
	"github.com/cutover-dev/cutover/internal/traffic"
	"github.com/cutover-dev/cutover/internal/traffic/service"
)

const (
	// userManager creates the Services, like a GitOps controller would.
	userManager = "argocd-controller"
	// owner is the Switcher's field manager.
	owner = "cutover"
	key   = cutoverv1alpha1.LabelRevision
)

// recordingClient passes reads and patches to the API server, records every patch, runs
// beforePatch (a concurrent writer) just before sending one, and refuses full writes.
type recordingClient struct {
	client.Client
	beforePatch func()

	mu      sync.Mutex
	patches []recordedPatch
}

type recordedPatch struct {
	patchType types.PatchType
	ops       []rfc6902.Op
	owner     string
}

func (c *recordingClient) Patch(ctx context.Context, obj client.Object, patch client.Patch, opts ...client.PatchOption) error {
	data, err := patch.Data(obj)
	if err != nil {
		return err
	}
	var ops []rfc6902.Op
	if patch.Type() == types.JSONPatchType {
		if err := json.Unmarshal(data, &ops); err != nil {
			return err
		}
	}
	po := &client.PatchOptions{}
	po.ApplyOptions(opts)
	c.mu.Lock()
	c.patches = append(c.patches, recordedPatch{patchType: patch.Type(), ops: ops, owner: po.FieldManager})
	hook := c.beforePatch
	c.mu.Unlock()
	if hook != nil {
		hook()
	}
	return c.Client.Patch(ctx, obj, patch, opts...)
}

func (c *recordingClient) Update(context.Context, client.Object, ...client.UpdateOption) error {
	return errors.New("the Switcher must not Update a whole object")
}

func (c *recordingClient) Apply(context.Context, runtime.ApplyConfiguration, ...client.ApplyOption) error {
	return errors.New("the Switcher must not apply a whole object")
}

func (c *recordingClient) recorded() []recordedPatch {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.patches)
}

// newSwitcher returns a Switcher on a recording client of the test API server.
func newSwitcher(t *testing.T) (*service.Switcher, *recordingClient) {
	t.Helper()
	rc := &recordingClient{Client: envClient(t)}
	return &service.Switcher{Client: rc, FieldOwner: owner}, rc
}

// newNamespace creates a namespace for one test.
func newNamespace(t *testing.T) string {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "svc-"}}
	if err := envClient(t).Create(t.Context(), ns); err != nil {
		t.Fatalf("creating a namespace: %v", err)
	}
	return ns.Name
}

// createService creates Service ns/name with selector, a port and an annotation, as userManager.
func createService(t *testing.T, ns, name string, selector map[string]string) *corev1.Service {
	t.Helper()
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{
			Namespace:   ns,
			Name:        name,
			Labels:      map[string]string{"app": "web"},
			Annotations: map[string]string{"example.com/team": "payments"},
		},
		Spec: corev1.ServiceSpec{
			Selector: selector,
			Ports: []corev1.ServicePort{{
				Name: "http", Port: 80, TargetPort: intstr.FromString("http"), Protocol: corev1.ProtocolTCP,
			}},
		},
	}
	if err := envClient(t).Create(t.Context(), svc, client.FieldOwner(userManager)); err != nil {
		t.Fatalf("creating Service %s/%s: %v", ns, name, err)
	}
	return svc
}

func getService(t *testing.T, ns, name string) *corev1.Service {
	t.Helper()
	svc := &corev1.Service{}
	if err := envClient(t).Get(t.Context(), client.ObjectKey{Namespace: ns, Name: name}, svc); err != nil {
		t.Fatalf("reading Service %s/%s: %v", ns, name, err)
	}
	return svc
}

// setRevisionKey changes the revision key as another writer would (a merge patch by
// userManager), to race the Switcher.
func setRevisionKey(t *testing.T, ns, name, value string) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"spec": map[string]any{"selector": map[string]string{key: value}}})
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
	if err := envClient(t).Patch(t.Context(), svc, client.RawPatch(types.MergePatchType, body),
		client.FieldOwner(userManager)); err != nil {
		t.Fatalf("setting %s on Service %s/%s: %v", key, ns, name, err)
	}
}

func point(t *testing.T, sw *service.Switcher, ns, name, revision string) bool {
	t.Helper()
	replaced, err := sw.Point(t.Context(), ns, name, revision)
	if err != nil {
		t.Fatalf("Point(%s/%s, %q): %v", ns, name, revision, err)
	}
	return replaced != ""
}

func observe(t *testing.T, sw *service.Switcher, ns, name string) string {
	t.Helper()
	rev, _, err := sw.Observe(t.Context(), ns, name)
	if err != nil {
		t.Fatalf("Observe(%s/%s): %v", ns, name, err)
	}
	return rev
}

// withoutSelector returns svc's spec and metadata with the selector, resourceVersion and
// managedFields cleared: everything the Switcher must leave alone.
func withoutSelector(svc *corev1.Service) *corev1.Service {
	c := svc.DeepCopy()
	c.Spec.Selector = nil
	c.ResourceVersion = ""
	c.ManagedFields = nil
	c.Status = corev1.ServiceStatus{}
	return c
}

func TestPointAddsOnlyTheRevisionKey(t *testing.T) {
	sw, rc := newSwitcher(t)
	ns := newNamespace(t)
	createService(t, ns, "web", map[string]string{"app": "web"})
	orig := getService(t, ns, "web")

	if got := observe(t, sw, ns, "web"); got != "" {
		t.Fatalf("Observe before any Point = %q, want \"\"", got)
	}

	// Rev A: the key is added next to the user's.
	if !point(t, sw, ns, "web", "rev-a") {
		t.Fatal("Point(rev-a) on a Service without the key reported no change")
	}
	svc := getService(t, ns, "web")
	if want := map[string]string{"app": "web", key: "rev-a"}; !maps.Equal(svc.Spec.Selector, want) {
		t.Fatalf("selector = %v, want %v", svc.Spec.Selector, want)
	}
	if !reflect.DeepEqual(withoutSelector(svc), withoutSelector(orig)) {
		t.Fatalf("Point changed more than the selector:\nbefore %+v\nafter  %+v", withoutSelector(orig), withoutSelector(svc))
	}
	if got := observe(t, sw, ns, "web"); got != "rev-a" {
		t.Fatalf("Observe = %q, want rev-a", got)
	}

	// Rev A again: nothing to do, nothing written.
	npatches := len(rc.recorded())
	if point(t, sw, ns, "web", "rev-a") {
		t.Fatal("Point(rev-a) a second time reported a change")
	}
	if again := getService(t, ns, "web"); again.ResourceVersion != svc.ResourceVersion {
		t.Fatalf("resourceVersion %s -> %s on a no-op Point", svc.ResourceVersion, again.ResourceVersion)
	}
	if len(rc.recorded()) != npatches {
		t.Fatalf("a no-op Point sent a patch: %+v", rc.recorded()[npatches:])
	}

	// Rev B: replaced, guarded by a test of rev A.
	if !point(t, sw, ns, "web", "rev-b") {
		t.Fatal("Point(rev-b) reported no change")
	}
	svc = getService(t, ns, "web")
	if want := map[string]string{"app": "web", key: "rev-b"}; !maps.Equal(svc.Spec.Selector, want) {
		t.Fatalf("selector = %v, want %v", svc.Spec.Selector, want)
	}
	if !reflect.DeepEqual(withoutSelector(svc), withoutSelector(orig)) {
		t.Fatalf("Point changed more than the selector:\nbefore %+v\nafter  %+v", withoutSelector(orig), withoutSelector(svc))
	}

	// Every write was a JSON patch by the field owner touching only the revision key.
	patches := rc.recorded()
	if len(patches) != 2 {
		t.Fatalf("sent %d patches, want 2: %+v", len(patches), patches)
	}
	for _, p := range patches {
		if p.patchType != types.JSONPatchType || p.owner != owner {
			t.Errorf("patch type %s by %q, want %s by %q", p.patchType, p.owner, types.JSONPatchType, owner)
		}
		for _, op := range p.ops {
			if op.Path != service.RevisionPath {
				t.Errorf("patch op %+v touches %s, want only %s", op, op.Path, service.RevisionPath)
			}
		}
	}
	wantOps := []rfc6902.Op{
		{Op: "test", Path: service.RevisionPath, Value: "rev-a"},
		{Op: "replace", Path: service.RevisionPath, Value: "rev-b"},
	}
	if !reflect.DeepEqual(patches[1].ops, wantOps) {
		t.Errorf("second patch = %+v, want %+v", patches[1].ops, wantOps)
	}

	// Field ownership. The API server declares Service.spec.selector atomic
	// (+mapType=atomic), so managedFields cannot record ownership of single selector keys: the
	// manager that last wrote any key owns f:selector as a whole. Cutover must own that and
	// nothing else, and the user's manager keeps every other field it set.
	userBefore := managedFieldSet(t, orig, userManager)
	if !hasField(userBefore, "f:spec", "f:selector") {
		t.Fatalf("%s did not own f:spec.f:selector after creating the Service: %v", userManager, userBefore)
	}
	wantUser := withoutField(userBefore, "f:spec", "f:selector")
	if got := managedFieldSet(t, svc, userManager); !reflect.DeepEqual(got, wantUser) {
		t.Errorf("%s's fields after Point = %v, want %v", userManager, got, wantUser)
	}
	for _, path := range [][]string{
		{"f:spec", "f:ports"},
		{"f:metadata", "f:annotations", "f:example.com/team"},
		{"f:metadata", "f:labels", "f:app"},
	} {
		if !hasField(managedFieldSet(t, svc, userManager), path...) {
			t.Errorf("%s no longer owns %s", userManager, strings.Join(path, "."))
		}
	}
	wantOwner := map[string]any{"f:spec": map[string]any{"f:selector": map[string]any{}}}
	if got := managedFieldSet(t, svc, owner); !reflect.DeepEqual(got, wantOwner) {
		t.Errorf("%s's fields = %v, want only f:spec.f:selector %v", owner, got, wantOwner)
	}
}

// managedFieldSet returns the fieldsV1 of manager's Update entry on obj (nil when it has none).
func managedFieldSet(t *testing.T, obj metav1.Object, manager string) map[string]any {
	t.Helper()
	for _, mf := range obj.GetManagedFields() {
		if mf.Manager != manager || mf.Operation != metav1.ManagedFieldsOperationUpdate || mf.Subresource != "" {
			continue
		}
		fs := map[string]any{}
		if mf.FieldsV1 != nil {
			if err := json.Unmarshal(mf.FieldsV1.GetRawBytes(), &fs); err != nil {
				t.Fatalf("managedFields of %s: %v", manager, err)
			}
		}
		return fs
	}
	return nil
}

func hasField(fs map[string]any, path ...string) bool {
	var cur any = fs
	for _, p := range path {
		m, ok := cur.(map[string]any)
		if !ok {
			return false
		}
		if cur, ok = m[p]; !ok {
			return false
		}
	}
	return true
}

// withoutField returns a copy of fs without path, dropping parents it leaves empty (but for
// their "." marker, as the API server does).
func withoutField(fs map[string]any, path ...string) map[string]any {
	out := map[string]any{}
	for k, v := range fs {
		if k != path[0] {
			out[k] = v
			continue
		}
		if len(path) == 1 {
			continue
		}
		sub, ok := v.(map[string]any)
		if !ok {
			out[k] = v
			continue
		}
		rest := withoutField(sub, path[1:]...)
		if len(rest) > 0 {
			out[k] = rest
		}
	}
	return out
}

func TestPointNilSelectorAddsTheMap(t *testing.T) {
	sw, _ := newSwitcher(t)
	ns := newNamespace(t)
	createService(t, ns, "external", nil)
	orig := getService(t, ns, "external")

	if !point(t, sw, ns, "external", "rev-a") {
		t.Fatal("Point on a Service without a selector reported no change")
	}
	svc := getService(t, ns, "external")
	if want := map[string]string{key: "rev-a"}; !maps.Equal(svc.Spec.Selector, want) {
		t.Fatalf("selector = %v, want %v", svc.Spec.Selector, want)
	}
	if !reflect.DeepEqual(withoutSelector(svc), withoutSelector(orig)) {
		t.Fatalf("Point changed more than the selector:\nbefore %+v\nafter  %+v", withoutSelector(orig), withoutSelector(svc))
	}
	if point(t, sw, ns, "external", "rev-a") {
		t.Fatal("Point(rev-a) a second time reported a change")
	}
}

func TestMissingServiceIsReferenceNotFound(t *testing.T) {
	sw, rc := newSwitcher(t)
	ns := newNamespace(t)
	want := "Service " + ns + "/missing"
	calls := map[string]func() error{
		"Observe": func() error { _, _, err := sw.Observe(t.Context(), ns, "missing"); return err },
		"Point":   func() error { _, err := sw.Point(t.Context(), ns, "missing", "rev-a"); return err },
		"PointFrom absent": func() error {
			_, err := sw.PointFrom(t.Context(), ns, "missing", "", "rev-a")
			return err
		},
		"PointFrom present": func() error {
			_, err := sw.PointFrom(t.Context(), ns, "missing", "rev-a", "rev-b")
			return err
		},
	}
	for name, call := range calls {
		t.Run(name, func(t *testing.T) {
			err := call()
			if !errors.Is(err, traffic.ErrReferenceNotFound) {
				t.Fatalf("error = %v, want one wrapping traffic.ErrReferenceNotFound", err)
			}
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not name %q", err, want)
			}
		})
	}
	for _, p := range rc.recorded() {
		if len(p.ops) > 0 && p.ops[0].Op != "test" {
			t.Errorf("a patch of a missing Service was not guarded by a test: %+v", p.ops)
		}
	}
}

func TestPointFromStaleExpectationFails(t *testing.T) {
	sw, rc := newSwitcher(t)
	ns := newNamespace(t)
	createService(t, ns, "web", map[string]string{"app": "web", key: "rev-a"})

	seen := observe(t, sw, ns, "web")
	if seen != "rev-a" {
		t.Fatalf("Observe = %q, want rev-a", seen)
	}
	setRevisionKey(t, ns, "web", "rev-x") // someone else moves the key after the Observe
	before := getService(t, ns, "web")

	changed, err := sw.PointFrom(t.Context(), ns, "web", seen, "rev-b")
	if !apierrors.IsConflict(err) || changed {
		t.Fatalf("PointFrom(%s -> rev-b) after a concurrent edit = %v, %v; want a Conflict", seen, changed, err)
	}
	if !strings.Contains(err.Error(), `"rev-x"`) || !strings.Contains(err.Error(), `"rev-a"`) {
		t.Errorf("conflict %q does not say what was found and expected", err)
	}
	// The patch reached the API server and its test op rejected it.
	patches := rc.recorded()
	if len(patches) != 1 || len(patches[0].ops) == 0 || patches[0].ops[0].Op != "test" {
		t.Fatalf("patches sent = %+v, want one guarded by a test", patches)
	}
	after := getService(t, ns, "web")
	if after.ResourceVersion != before.ResourceVersion || after.Spec.Selector[key] != "rev-x" {
		t.Fatalf("the rejected patch wrote: selector %v, resourceVersion %s -> %s",
			after.Spec.Selector, before.ResourceVersion, after.ResourceVersion)
	}

	// With the current value it goes through.
	changed, err = sw.PointFrom(t.Context(), ns, "web", "rev-x", "rev-b")
	if err != nil || !changed {
		t.Fatalf("PointFrom(rev-x -> rev-b) = %v, %v; want a change", changed, err)
	}
	if want := map[string]string{"app": "web", key: "rev-b"}; !maps.Equal(getService(t, ns, "web").Spec.Selector, want) {
		t.Fatalf("selector = %v, want %v", getService(t, ns, "web").Spec.Selector, want)
	}

	// Nothing to move: no request.
	n := len(rc.recorded())
	if changed, err := sw.PointFrom(t.Context(), ns, "web", "rev-b", "rev-b"); err != nil || changed {
		t.Fatalf("PointFrom(rev-b -> rev-b) = %v, %v; want no change", changed, err)
	}
	// Expected absent, but present: Conflict without a patch.
	if _, err := sw.PointFrom(t.Context(), ns, "web", "", "rev-c"); !apierrors.IsConflict(err) {
		t.Fatalf("PointFrom(absent -> rev-c) with the key set = %v; want a Conflict", err)
	}
	if len(rc.recorded()) != n {
		t.Fatalf("sent patches %+v, want none", rc.recorded()[n:])
	}
	if got := getService(t, ns, "web").Spec.Selector[key]; got != "rev-b" {
		t.Fatalf("selector key = %q, want rev-b", got)
	}
}

func TestPointFromAbsent(t *testing.T) {
	sw, _ := newSwitcher(t)
	ns := newNamespace(t)
	createService(t, ns, "web", map[string]string{"app": "web"})
	changed, err := sw.PointFrom(t.Context(), ns, "web", "", "rev-a")
	if err != nil || !changed {
		t.Fatalf("PointFrom(absent -> rev-a) = %v, %v; want a change", changed, err)
	}
	if want := map[string]string{"app": "web", key: "rev-a"}; !maps.Equal(getService(t, ns, "web").Spec.Selector, want) {
		t.Fatalf("selector = %v, want %v", getService(t, ns, "web").Spec.Selector, want)
	}
}

// A concurrent write between Point's read and its patch fails the patch instead of being
// overwritten.
func TestPointRaceFailsTheTest(t *testing.T) {
	t.Run("revision key moved", func(t *testing.T) {
		sw, rc := newSwitcher(t)
		ns := newNamespace(t)
		createService(t, ns, "web", map[string]string{"app": "web", key: "rev-a"})
		rc.beforePatch = func() { setRevisionKey(t, ns, "web", "rev-x") }

		replaced, err := sw.Point(t.Context(), ns, "web", "rev-b")
		if !apierrors.IsConflict(err) || replaced != "" {
			t.Fatalf("Point(rev-b) racing an edit = %q, %v; want a Conflict and nothing replaced", replaced, err)
		}
		if want := map[string]string{"app": "web", key: "rev-x"}; !maps.Equal(getService(t, ns, "web").Spec.Selector, want) {
			t.Fatalf("selector = %v, want the concurrent edit %v", getService(t, ns, "web").Spec.Selector, want)
		}
	})
	t.Run("selector added to a Service without one", func(t *testing.T) {
		sw, rc := newSwitcher(t)
		ns := newNamespace(t)
		createService(t, ns, "web", nil)
		rc.beforePatch = func() {
			body := []byte(`{"spec":{"selector":{"app":"web"}}}`)
			svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web"}}
			if err := envClient(t).Patch(t.Context(), svc, client.RawPatch(types.MergePatchType, body)); err != nil {
				t.Errorf("adding a selector: %v", err)
			}
		}

		replaced, err := sw.Point(t.Context(), ns, "web", "rev-a")
		if !apierrors.IsConflict(err) || replaced != "" {
			t.Fatalf("Point(rev-a) racing a new selector = %q, %v; want a Conflict and nothing replaced", replaced, err)
		}
		if want := map[string]string{"app": "web"}; !maps.Equal(getService(t, ns, "web").Spec.Selector, want) {
			t.Fatalf("selector = %v, want the concurrent edit %v kept", getService(t, ns, "web").Spec.Selector, want)
		}

		// The next Point reads the new selector and adds the key to it.
		rc.beforePatch = nil
		if !point(t, sw, ns, "web", "rev-a") {
			t.Fatal("Point(rev-a) after the race reported no change")
		}
		if want := map[string]string{"app": "web", key: "rev-a"}; !maps.Equal(getService(t, ns, "web").Spec.Selector, want) {
			t.Fatalf("selector = %v, want %v", getService(t, ns, "web").Spec.Selector, want)
		}
	})
}

func TestPointRejectsBadRevisions(t *testing.T) {
	sw, _ := newSwitcher(t)
	ns := newNamespace(t)
	createService(t, ns, "web", map[string]string{"app": "web", key: "rev-a"})

	if _, err := sw.Point(t.Context(), ns, "web", ""); err == nil {
		t.Error("Point to an empty revision succeeded")
	}
	if _, err := sw.PointFrom(t.Context(), ns, "web", "rev-a", ""); err == nil {
		t.Error("PointFrom to an empty revision succeeded")
	}
	// Not a label value: the API server's validation error, not a Conflict.
	_, err := sw.Point(t.Context(), ns, "web", "not a label value!")
	if err == nil || apierrors.IsConflict(err) || !apierrors.IsInvalid(err) {
		t.Fatalf("Point to an invalid label value = %v; want the API server's Invalid error", err)
	}
	if got := getService(t, ns, "web").Spec.Selector[key]; got != "rev-a" {
		t.Fatalf("selector key = %q, want rev-a", got)
	}
}

// TestSwitcherReportsTheVersionItReplaced: Observe names the version of the Service it read,
// and Point the version its patch replaced (nothing when the Service already selected the
// revision), so that the caller can recognise a later read of a copy from before the patch.
func TestSwitcherReportsTheVersionItReplaced(t *testing.T) {
	sw, _ := newSwitcher(t)
	ns := newNamespace(t)
	createService(t, ns, "web", map[string]string{"app": "web", key: "rev-a"})
	at := func(rv string) string { return service.Kind + "/" + ns + "/web@" + rv }
	read := getService(t, ns, "web").ResourceVersion

	rev, version, err := sw.Observe(t.Context(), ns, "web")
	if err != nil || rev != "rev-a" || version != at(read) {
		t.Fatalf("Observe = %q, %q, %v; want rev-a at %q", rev, version, err, at(read))
	}
	replaced, err := sw.Point(t.Context(), ns, "web", "rev-b")
	if err != nil || replaced != at(read) {
		t.Fatalf("Point(rev-b) = %q, %v; want the version read, %q, replaced", replaced, err, at(read))
	}
	after := getService(t, ns, "web").ResourceVersion
	if after == read {
		t.Fatalf("the switch left resourceVersion %s: the test needs a write that moves it", after)
	}
	if replaced, err := sw.Point(t.Context(), ns, "web", "rev-b"); err != nil || replaced != "" {
		t.Errorf("Point(rev-b) again = %q, %v; want nothing replaced", replaced, err)
	}
	if _, version, _ := sw.Observe(t.Context(), ns, "web"); version != at(after) {
		t.Errorf("Observe after the switch names %q, want %q", version, at(after))
	}
}
