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
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"
)

// staleRetry is how soon a reconcile that found the cache behind Cutover's own write to the
// Rollout runs again. It polls: the watch event of a status write brings no round (see
// SetupWithManager).
const staleRetry = 25 * time.Millisecond

// watchEventRetry is the safety net of a reconcile that found the cache behind Cutover's own
// scale of a ReplicaSet or patch of a routing object. That write's watch event brings the next
// round as soon as the cache holds it.
const watchEventRetry = time.Second

// ownWrites remembers, for each Rollout, the resourceVersions that Cutover's own writes to it
// (or, in other instances, to its ReplicaSets or its routing objects) have replaced. The cache
// catches up with a write only when its watch event arrives, and a reconcile triggered meanwhile
// (by a ReplicaSet event, say) would read a copy older than what Cutover itself wrote: its status
// patch would be refused, or it would act on an annotation it has already removed. Such a
// reconcile is put off instead, without a request to the API server.
//
// Resource versions are only compared for equality. The memory is an optimisation: a new
// process starts from a fresh cache and needs none, and the optimistic lock on the status patch
// (the test operations of a routing patch) still refuses any stale copy this misses. One case
// it misses: a write of someone else's that lands between Cutover's read and its own write
// leaves a version that is neither recorded nor as new as Cutover's write.
type ownWrites struct {
	mu         sync.Mutex
	superseded map[types.NamespacedName]map[string]struct{}
}

// wrote records that Cutover replaced version before of the Rollout key with a write of its own
// that left version after. A write that changed nothing keeps the version (the API server does
// not bump it for a no-op patch), and then nothing was replaced.
func (o *ownWrites) wrote(key types.NamespacedName, before, after string) {
	if before == after {
		return
	}
	o.replaced(key, before)
}

// replaced records that Cutover's own writes replaced the versions rvs of objects under key.
// The routing objects' are named with their object (see traffic.Observed.Versions).
func (o *ownWrites) replaced(key types.NamespacedName, rvs ...string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, rv := range rvs {
		if rv == "" {
			continue
		}
		if o.superseded == nil {
			o.superseded = map[types.NamespacedName]map[string]struct{}{}
		}
		if o.superseded[key] == nil {
			o.superseded[key] = map[string]struct{}{}
		}
		o.superseded[key][rv] = struct{}{}
	}
}

// stale reports whether any of the versions rvs of the objects under key was replaced by one
// of Cutover's own writes. Any other version is at least as new as those writes (watch events
// of an object arrive in order, and a resourceVersion names one object's version only), so when
// none is stale the cache holds them all and the record of key is dropped.
func (o *ownWrites) stale(key types.NamespacedName, rvs ...string) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, rv := range rvs {
		if _, ok := o.superseded[key][rv]; ok {
			return true
		}
	}
	delete(o.superseded, key)
	return false
}

// forget drops the record of a Rollout that is gone.
func (o *ownWrites) forget(key types.NamespacedName) {
	o.mu.Lock()
	defer o.mu.Unlock()
	delete(o.superseded, key)
}

// deletionMemory is how long Cutover remembers a ReplicaSet it deleted: far longer than the
// cache takes to see the deletion.
const deletionMemory = time.Minute

// ownDeletions remembers the ReplicaSets Cutover deleted, by UID. Until the cache sees a
// deletion, a reconcile still finds the ReplicaSet and would delete it again, a write the API
// server answers with 404. A UID is never reused, so a ReplicaSet deleted once is skipped.
type ownDeletions struct {
	mu     sync.Mutex
	at     map[types.UID]time.Time
	pruned time.Time // when deleted last forgot old entries
}

// deleted records that Cutover deleted the ReplicaSet uid at now. At most once per
// deletionMemory it forgets the deletions older than that, so the memory stays bounded by the
// deletions of the last two intervals.
func (d *ownDeletions) deleted(uid types.UID, now time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.at == nil {
		d.at = map[types.UID]time.Time{}
	}
	if now.Sub(d.pruned) > deletionMemory {
		for u, t := range d.at {
			if now.Sub(t) > deletionMemory {
				delete(d.at, u)
			}
		}
		d.pruned = now
	}
	d.at[uid] = now
}

// done reports whether Cutover deleted the ReplicaSet uid less than deletionMemory ago. It
// looks at that one entry: a reconcile's cost does not grow with the deletions remembered.
func (d *ownDeletions) done(uid types.UID, now time.Time) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	t, ok := d.at[uid]
	if ok && now.Sub(t) > deletionMemory {
		delete(d.at, uid)
		return false
	}
	return ok
}
