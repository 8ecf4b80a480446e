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

package integration

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	. "github.com/onsi/gomega"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	cutoverv1alpha1 "github.com/cutover-dev/cutover/api/v1alpha1"
	"github.com/cutover-dev/cutover/test/utils"
)

// shardWrites records, for one manager, how many writes it made about each Rollout
// ("namespace/name"): to the Rollout itself, its ReplicaSets (named <rollout>-<revision>), the
// routing objects it names (here named as the Rollout), and the Events about it. A write it
// cannot attribute is recorded under its method and path.
type shardWrites struct {
	mu     sync.Mutex
	byName map[string]int
}

// observe is a fault function that answers nothing: it only attributes the manager's writes.
func (w *shardWrites) observe(req *http.Request) int {
	if req.Method == http.MethodGet || req.Method == http.MethodHead {
		return 0
	}
	key := writeSubject(req)
	w.mu.Lock()
	defer w.mu.Unlock()
	w.byName[key]++
	return 0
}

// counts returns a copy of the counts.
func (w *shardWrites) counts() map[string]int {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make(map[string]int, len(w.byName))
	for k, v := range w.byName {
		out[k] = v
	}
	return out
}

var shardDecoder = serializer.NewCodecFactory(scheme).UniversalDeserializer()

// writeSubject is the Rollout ("namespace/name") a write is about, read from its path
// (/apis/<group>/<version>/namespaces/<ns>/<resource>[/<name>[/<subresource>]]) or, for a
// create, from its body (JSON or protobuf).
func writeSubject(req *http.Request) string {
	unknown := req.Method + " " + req.URL.Path
	parts := strings.Split(strings.Trim(req.URL.Path, "/"), "/")
	i := 0
	for i < len(parts) && parts[i] != "namespaces" {
		i++
	}
	if i+2 >= len(parts) {
		return unknown
	}
	ns, resource, name := parts[i+1], parts[i+2], ""
	if i+3 < len(parts) {
		name = parts[i+3]
	} else if name = createdName(req, resource); name == "" {
		return unknown
	}
	switch resource {
	case "rollouts", "virtualservices", "destinationrules":
	case "replicasets":
		name = name[:max(strings.LastIndexByte(name, '-'), 0)]
	case "events":
		if i+3 < len(parts) { // an Event's name is <regarding>.<suffix>
			name = name[:max(strings.LastIndexByte(name, '.'), 0)]
		}
	default:
		return unknown
	}
	return ns + "/" + name
}

// createdName is the name of the object a create sends, or for an Event, the name of the
// object it is about.
func createdName(req *http.Request, resource string) string {
	if req.Method != http.MethodPost || req.GetBody == nil {
		return ""
	}
	body, err := req.GetBody()
	if err != nil {
		return ""
	}
	defer func() { _ = body.Close() }()
	data, err := io.ReadAll(body)
	if err != nil {
		return ""
	}
	obj, _, err := shardDecoder.Decode(data, nil, nil)
	if err != nil {
		return ""
	}
	if e, ok := obj.(*eventsv1.Event); ok && resource == "events" {
		return e.Regarding.Name
	}
	if m, err := meta.Accessor(obj); err == nil {
		return m.GetName()
	}
	return ""
}

// shardFleet is one shard's Rollouts: plain canaries in a shared namespace and one Istio canary
// in a namespace of its own (its VirtualService and DestinationRule are named as it is).
type shardFleet struct {
	shard    string
	rollouts []client.ObjectKey
	writes   *shardWrites
}

// shardRollouts creates a shard's n Rollouts, the last one routed by Istio.
func shardRollouts(g *WithT, shard, plainNS, istioNS string, n int) *shardFleet {
	f := &shardFleet{shard: shard, writes: &shardWrites{byName: map[string]int{}}}
	prefix := shard
	if prefix == "" {
		prefix = "default"
	}
	for i := range n {
		var ro *cutoverv1alpha1.Rollout
		if i == n-1 {
			istioObjects(g, istioNS)
			ro = istioRollout(istioNS, "checkout", digestImage(1))
		} else {
			ro = canaryRollout(plainNS, fmt.Sprintf("%s-%02d", prefix, i), digestImage(1), 0)
		}
		ro.Spec.Replicas = ptr.To[int32](2)
		ro.Spec.Strategy.Canary.Steps = []cutoverv1alpha1.CanaryStep{{SetWeight: ptr.To[int32](50)}}
		if shard != "" {
			ro.Labels = map[string]string{cutoverv1alpha1.LabelShard: shard}
		}
		g.Expect(k8sClient.Create(context.Background(), ro)).To(Succeed())
		f.rollouts = append(f.rollouts, client.ObjectKeyFromObject(ro))
	}
	return f
}

// markNamespacesAvailable plays the ReplicaSet controller for the ReplicaSets of the namespaces
// that are not yet available.
func markNamespacesAvailable(g Gomega, namespaces []string) {
	for _, ns := range namespaces {
		for _, rs := range allReplicaSets(g, ns) {
			if rs.Status.AvailableReplicas == ptr.Deref(rs.Spec.Replicas, 1) && rs.Status.ObservedGeneration == rs.Generation {
				continue
			}
			err := utils.MarkAvailable(context.Background(), k8sClient, client.ObjectKeyFromObject(&rs))
			g.Expect(client.IgnoreNotFound(err)).To(Succeed())
		}
	}
}

// stableRevisions waits until every Rollout is Healthy at its current generation on a stable
// revision other than before's, and returns the stable revisions.
func stableRevisions(g *WithT, namespaces []string, keys []client.ObjectKey, before map[client.ObjectKey]string) map[client.ObjectKey]string {
	out := map[client.ObjectKey]string{}
	g.Eventually(func(g Gomega) {
		markNamespacesAvailable(g, namespaces)
		for _, key := range keys {
			if _, done := out[key]; done {
				continue
			}
			ro := getRollout(g, key.Namespace, key.Name)
			g.Expect(ro.Status.Phase).To(Equal(cutoverv1alpha1.PhaseHealthy), "%s: %s", key, ro.Status.Message)
			g.Expect(ro.Status.ObservedGeneration).To(Equal(ro.Generation), "%s", key)
			g.Expect(ro.Status.StableRevision).NotTo(Or(BeEmpty(), Equal(before[key])), "%s", key)
			out[key] = ro.Status.StableRevision
		}
	}).WithTimeout(45 * time.Second).WithPolling(250 * time.Millisecond).Should(Succeed())
	return out
}

// TestShardsSplitRollouts: two managers, one for shard "a" and one for the default shard, run
// 100 Rollouts (50 labelled cutover.dev/shard=a, 50 without the label; one of each routed by
// Istio). All 100 are rolled out and then complete a new revision, and each manager's writes
// are all about its own shard's Rollouts: none touches the other shard's Rollouts, ReplicaSets,
// VirtualServices, DestinationRules or Events, and each wrote about every one of its own.
func TestShardsSplitRollouts(t *testing.T) {
	g := newTestGomega(t)
	plainNS, istioA, istioDefault := newNamespace(t), newNamespace(t), newNamespace(t)
	namespaces := []string{plainNS, istioA, istioDefault}
	fleets := []*shardFleet{
		shardRollouts(g, "a", plainNS, istioA, 50),
		shardRollouts(g, "", plainNS, istioDefault, 50),
	}
	var all []client.ObjectKey
	for _, f := range fleets {
		startShardManager(t, namespaces, nil, f.writes.observe, logr.Logger{}, f.shard)
		all = append(all, f.rollouts...)
	}

	first := stableRevisions(g, namespaces, all, nil)
	for _, key := range all {
		setImage(g, key.Namespace, key.Name, digestImage(2))
	}
	stableRevisions(g, namespaces, all, first)

	for _, f := range fleets {
		counts := f.writes.counts()
		total := 0
		for _, n := range counts {
			total += n
		}
		t.Logf("shard %q: %d writes about %d Rollouts", f.shard, total, len(f.rollouts))
		for _, key := range f.rollouts {
			g.Expect(counts).To(HaveKeyWithValue(key.String(), BeNumerically(">", 0)),
				"shard %q made no write about its Rollout %s", f.shard, key)
			delete(counts, key.String())
		}
		g.Expect(counts).To(BeEmpty(), "shard %q wrote about objects of no Rollout of its own", f.shard)
	}
}
