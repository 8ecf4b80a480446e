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
	"encoding/json"
	"maps"
	"reflect"
	"testing"

	cutoverv1alpha1 "github.com/cutover-dev/cutover/api/v1alpha1"
	"github.com/cutover-dev/cutover/internal/traffic/service"
)

func TestRevisionPathEscapesSlash(t *testing.T) {
	if want := "/spec/selector/cutover.dev~1revision"; service.RevisionPath != want {
		t.Fatalf("RevisionPath = %q, want %q", service.RevisionPath, want)
	}
}

func TestSelectorPatch(t *testing.T) {
	const key = cutoverv1alpha1.LabelRevision
	tests := []struct {
		name     string
		selector map[string]string
		rv       string
		revision string
		want     string // the JSON patch; "" for none
	}{{
		name:     "key absent: add only the key",
		selector: map[string]string{"app": "web"},
		rv:       "42",
		revision: "a1",
		want:     `[{"op":"add","path":"/spec/selector/cutover.dev~1revision","value":"a1"}]`,
	}, {
		name:     "key present with another value: test the old value, replace",
		selector: map[string]string{"app": "web", key: "a1"},
		rv:       "42",
		revision: "b2",
		want: `[{"op":"test","path":"/spec/selector/cutover.dev~1revision","value":"a1"},` +
			`{"op":"replace","path":"/spec/selector/cutover.dev~1revision","value":"b2"}]`,
	}, {
		name:     "key present with an empty value: the test still carries it",
		selector: map[string]string{"app": "web", key: ""},
		rv:       "42",
		revision: "b2",
		want: `[{"op":"test","path":"/spec/selector/cutover.dev~1revision","value":""},` +
			`{"op":"replace","path":"/spec/selector/cutover.dev~1revision","value":"b2"}]`,
	}, {
		name:     "same value: no patch",
		selector: map[string]string{"app": "web", key: "a1"},
		rv:       "42",
		revision: "a1",
	}, {
		name:     "only the key, same value: no patch",
		selector: map[string]string{key: "a1"},
		revision: "a1",
	}, {
		name:     "nil selector: add the map with just the key, guarded by resourceVersion",
		selector: nil,
		rv:       "42",
		revision: "a1",
		want: `[{"op":"test","path":"/metadata/resourceVersion","value":"42"},` +
			`{"op":"add","path":"/spec/selector","value":{"cutover.dev/revision":"a1"}}]`,
	}, {
		name:     "empty selector: same as nil",
		selector: map[string]string{},
		rv:       "42",
		revision: "a1",
		want: `[{"op":"test","path":"/metadata/resourceVersion","value":"42"},` +
			`{"op":"add","path":"/spec/selector","value":{"cutover.dev/revision":"a1"}}]`,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := maps.Clone(tt.selector)
			ops := service.SelectorPatch(tt.selector, tt.rv, tt.revision)
			if !reflect.DeepEqual(tt.selector, before) {
				t.Errorf("SelectorPatch changed its input: %v, was %v", tt.selector, before)
			}
			if tt.want == "" {
				if ops != nil {
					t.Fatalf("SelectorPatch = %+v, want no patch", ops)
				}
				return
			}
			got, err := json.Marshal(ops)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("SelectorPatch =\n  %s\nwant\n  %s", got, tt.want)
			}
		})
	}
}
