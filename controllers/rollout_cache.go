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
	"encoding/json"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/cache"
)

// lastAppliedAnnotation is kubectl's copy of the last applied object; nothing in Cutover reads it.
const lastAppliedAnnotation = "kubectl.kubernetes.io/last-applied-configuration"

// templateEditedFields is what TrimForCache leaves of a managedFields entry that edits a
// ReplicaSet's pod template: enough for templateEdited, a fraction of the original.
const templateEditedFields = `{"f:spec":{"f:template":{}}}`

// TrimForCache is the manager cache's transform (cache.Options.DefaultTransform): it drops what
// the controller never reads before an object is stored, so the cache's memory follows the
// number of objects, not the size of their history. It removes kubectl's last-applied
// annotation from every object and the managedFields of every object but ReplicaSets. Of a
// ReplicaSet's managedFields it keeps only the entries templateEdited looks for (another field
// manager owning a field of the pod template), reduced to that one fact.
//
// The controller never updates a cached object whole (it patches, and its merge patches diff
// two copies of the same trimmed object), so nothing trimmed is ever written back.
func TrimForCache(obj any) (any, error) {
	m, ok := obj.(metav1.Object)
	if !ok {
		return obj, nil
	}
	if a := m.GetAnnotations(); a != nil {
		if _, ok := a[lastAppliedAnnotation]; ok {
			delete(a, lastAppliedAnnotation)
			m.SetAnnotations(a)
		}
	}
	if _, ok := obj.(*appsv1.ReplicaSet); !ok {
		m.SetManagedFields(nil)
		return obj, nil
	}
	var kept []metav1.ManagedFieldsEntry
	for _, mf := range m.GetManagedFields() {
		if editsTemplate(mf) {
			kept = append(kept, metav1.ManagedFieldsEntry{Manager: mf.Manager, Operation: mf.Operation,
				FieldsType: mf.FieldsType, FieldsV1: metav1.NewFieldsV1(templateEditedFields)})
		}
	}
	m.SetManagedFields(kept)
	return obj, nil
}

// templateEdited reports whether a field manager other than Cutover owns a field of the
// ReplicaSet's pod template. The API server defaults a template on write, so comparing hashes
// would see drift everywhere; managedFields records exactly who set what.
func templateEdited(rs *appsv1.ReplicaSet) bool {
	for _, mf := range rs.ManagedFields {
		if editsTemplate(mf) {
			return true
		}
	}
	return false
}

// editsTemplate reports whether one managedFields entry is another manager's claim on a field
// of the pod template (status writes aside).
func editsTemplate(mf metav1.ManagedFieldsEntry) bool {
	if mf.Manager == FieldOwner || mf.Subresource != "" || mf.FieldsV1 == nil {
		return false
	}
	var fields struct {
		Spec map[string]json.RawMessage `json:"f:spec"`
	}
	if json.Unmarshal(mf.FieldsV1.GetRawBytes(), &fields) != nil {
		return false
	}
	_, ok := fields.Spec["f:template"]
	return ok
}

// CacheOptions is the manager's cache: the given namespaces (all when none), only the shard's
// Rollouts (ShardCacheOptions), and every object trimmed by TrimForCache. The manager binary,
// the integration tests and the benchmarks build their cache with it.
func CacheOptions(namespaces []string, shard string) (cache.Options, error) {
	opts := cache.Options{DefaultTransform: TrimForCache}
	if len(namespaces) > 0 {
		opts.DefaultNamespaces = map[string]cache.Config{}
		for _, ns := range namespaces {
			opts.DefaultNamespaces[ns] = cache.Config{}
		}
	}
	return ShardCacheOptions(opts, shard)
}
