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

package bench

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// TestCountingTransportTellsNoOps: a write answered with a resourceVersion the object already had
// before it was sent (seen in an earlier answer, or by an informer) is counted as a no-op; a
// write that moves the resourceVersion is not; the answer's body still reaches the client.
func TestCountingTransportTellsNoOps(t *testing.T) {
	var rv atomic.Int64
	rv.Store(10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if strings.Contains(string(body), "change") {
			rv.Add(1)
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = fmt.Fprintf(w, `{"metadata":{"name":"web","resourceVersion":"%d"}}`, rv.Load())
	}))
	defer srv.Close()
	wc := &writeCounter{n: map[string]int{}, metaPatches: map[string]int{}}
	book := newRVBook()
	client := &http.Client{Transport: countingTransport{next: http.DefaultTransport, writes: wc, book: book}}
	patch := func(path, body string) string {
		t.Helper()
		req, err := http.NewRequest(http.MethodPatch, srv.URL+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = resp.Body.Close() }()
		raw, _ := io.ReadAll(resp.Body)
		return string(raw)
	}
	const rs = "/apis/apps/v1/namespaces/ns/replicasets/web"
	if got := patch(rs, "change"); !strings.Contains(got, `"resourceVersion":"11"`) {
		t.Fatalf("the client got %q, want the answer's body", got)
	}
	patch(rs, "same")                                                    // answered with 11, which the first answer carried
	patch(rs+"/scale", "same")                                           // the same object through a subresource
	patch(rs, "change")                                                  // 12: a change
	book.saw("replicasets/ns/other", "12", time.Now().Add(-time.Second)) // an informer saw another object at 12
	patch("/apis/apps/v1/namespaces/ns/replicasets/other", "same")       // answered with 12, seen before
	got := wc.snapshot()
	if got.noOps() != 3 || got["replicasets PATCH"] != 2 || got["replicasets/scale PATCH (no-op)"] != 1 {
		t.Errorf("counts %v: want 3 no-ops (2 on the object, 1 through /scale) and 2 changing writes", got)
	}
	if got.total() != 5 {
		t.Errorf("total %d, want 5: a no-op is still a write", got.total())
	}
}

func TestObjectKey(t *testing.T) {
	for path, want := range map[string]string{
		"/apis/apps/v1/namespaces/x/replicasets/y":                  "replicasets/x/y",
		"/apis/cutover.dev/v1alpha1/namespaces/x/rollouts/y/status": "rollouts/x/y",
		"/api/v1/namespaces/x/services/y":                           "services/x/y",
		"/apis/apps/v1/namespaces/x/replicasets":                    "",
		"/apis/events.k8s.io/v1/namespaces/x/events":                "",
	} {
		if got := objectKey(path); got != want {
			t.Errorf("objectKey(%q) = %q, want %q", path, got, want)
		}
	}
}

// TestResponseVersionReadsProtobuf: the answers in protobuf (a ReplicaSet, and the metadata-only
// answer of Cutover's status writes) give their resourceVersion too, and the body stays whole.
func TestResponseVersionReadsProtobuf(t *testing.T) {
	info, ok := runtime.SerializerInfoForMediaType(answerCodecs.SupportedMediaTypes(), runtime.ContentTypeProtobuf)
	if !ok {
		t.Fatal("no protobuf serializer")
	}
	for _, tc := range []struct {
		obj runtime.Object
		gv  schema.GroupVersion
	}{
		{&appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: "web", ResourceVersion: "17"}}, appsv1.SchemeGroupVersion},
		{&metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Name: "web", ResourceVersion: "17"}}, metav1.SchemeGroupVersion},
	} {
		raw, err := runtime.Encode(answerCodecs.EncoderForVersion(info.Serializer, tc.gv), tc.obj)
		if err != nil {
			t.Fatal(err)
		}
		resp := &http.Response{Header: http.Header{"Content-Type": {runtime.ContentTypeProtobuf}}, Body: io.NopCloser(bytes.NewReader(raw))}
		if got := responseVersion(resp); got != "17" {
			t.Errorf("%T: resourceVersion %q, want 17", tc.obj, got)
		}
		if back, _ := io.ReadAll(resp.Body); !bytes.Equal(back, raw) {
			t.Errorf("%T: the body was not put back whole", tc.obj)
		}
	}
}
