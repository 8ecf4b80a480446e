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
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
)

// noOpSuffix marks the count of a write that changed nothing: "replicasets PATCH (no-op)".
const noOpSuffix = " (no-op)"

// rvBook remembers the resourceVersions each object has had, and when each was first seen, to
// tell a no-op write: one whose answer carries a resourceVersion the object already had before
// the write was sent. The API server answers a write that changes nothing with the object as it
// was, its resourceVersion unchanged; a write that changes something gets a resourceVersion
// nobody can have seen before it was sent. The versions come from the answers to the manager's
// writes and from the benchmark's informers (Rollouts, ReplicaSets and, in the scale benchmark,
// the routing objects): a no-op is caught when the version it answers with was seen before it
// was sent, so a no-op on a version only a lagging informer would show is missed. The count is
// a lower bound, exact for every object only the manager and the benchmark write.
type rvBook struct {
	mu   sync.Mutex
	seen map[string]map[string]time.Time // "resource/namespace/name" → resourceVersion → first seen
}

func newRVBook() *rvBook { return &rvBook{seen: map[string]map[string]time.Time{}} }

// saw records that object key had resourceVersion rv at time at.
func (k *rvBook) saw(key, rv string, at time.Time) {
	if k == nil || rv == "" {
		return
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	m := k.seen[key]
	if m == nil {
		m = map[string]time.Time{}
		k.seen[key] = m
	}
	if t, ok := m[rv]; !ok || at.Before(t) {
		m[rv] = at
	}
}

// before reports whether object key was seen with resourceVersion rv before time t.
func (k *rvBook) before(key, rv string, t time.Time) bool {
	if k == nil {
		return false
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	at, ok := k.seen[key][rv]
	return ok && at.Before(t)
}

// objectKey is "resource/namespace/name" of an API path naming one object, with any subresource
// left out (/apis/apps/v1/namespaces/x/replicasets/y/scale → replicasets/x/y); "" for a path
// that names no object (a create).
func objectKey(path string) string {
	parts, ns, ok := apiPath(path)
	if !ok || ns == "" || len(parts) < 2 {
		return ""
	}
	return parts[0] + "/" + ns + "/" + parts[1]
}

// responseVersion reads metadata.resourceVersion from an answer, JSON or protobuf (the
// built-in kinds' answers, and the metadata-only answers Cutover asks for), and puts the body
// back for the client; "" when the answer is neither or cannot be read.
func responseVersion(resp *http.Response) string {
	if resp == nil || resp.Body == nil {
		return ""
	}
	ct := resp.Header.Get("Content-Type")
	isJSON, isProto := strings.Contains(ct, "json"), strings.HasPrefix(ct, runtime.ContentTypeProtobuf)
	if !isJSON && !isProto {
		return ""
	}
	raw, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(raw))
	if err != nil {
		return ""
	}
	if isProto {
		obj, _, err := answerCodecs.UniversalDeserializer().Decode(raw, nil, nil)
		if err != nil {
			return ""
		}
		m, err := meta.Accessor(obj)
		if err != nil {
			return ""
		}
		return m.GetResourceVersion()
	}
	var obj struct {
		Metadata struct {
			ResourceVersion string `json:"resourceVersion"`
		} `json:"metadata"`
	}
	if json.Unmarshal(raw, &obj) != nil {
		return ""
	}
	return obj.Metadata.ResourceVersion
}

// answerCodecs decodes the protobuf answers: the built-in kinds and PartialObjectMetadata.
var answerCodecs = func() serializer.CodecFactory {
	s := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(s))
	utilruntime.Must(metav1.AddMetaToScheme(s))
	return serializer.NewCodecFactory(s)
}()

// noOps is the number of writes found to change nothing.
func (c counts) noOps() int {
	n := 0
	for k, v := range c {
		if strings.HasSuffix(k, noOpSuffix) {
			n += v
		}
	}
	return n
}
