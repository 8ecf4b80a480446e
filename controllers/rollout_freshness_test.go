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
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/types"
)

func TestOwnWrites(t *testing.T) {
	var o ownWrites
	web := types.NamespacedName{Namespace: "shop", Name: "web"}
	api := types.NamespacedName{Namespace: "shop", Name: "api"}

	if o.stale(web, "10") {
		t.Fatal("a version nothing replaced is not stale")
	}
	// A reconcile read 10, wrote the status (11), then removed an annotation (12).
	o.wrote(web, "10", "11")
	o.wrote(web, "11", "12")
	for _, rv := range []string{"10", "11"} {
		if !o.stale(web, rv) {
			t.Errorf("version %s was replaced by Cutover's own write: want stale", rv)
		}
	}
	if o.stale(api, "10") {
		t.Error("another Rollout's versions are its own")
	}
	// The cache caught up: the record goes, and an old version is no longer recognised (a
	// restarted process could not recognise it either; the optimistic lock covers that).
	if o.stale(web, "12") {
		t.Error("version 12 is the latest: want fresh")
	}
	if o.stale(web, "10") {
		t.Error("the record should be dropped once the cache caught up")
	}
	o.wrote(web, "12", "13")
	o.forget(web)
	if o.stale(web, "12") {
		t.Error("a forgotten Rollout has no record")
	}
	o.wrote(web, "", "14")
	if o.stale(web, "") {
		t.Error("an empty version is never recorded")
	}
	// Several objects under one key (a Rollout's ReplicaSets): one stale copy is enough.
	o.wrote(api, "20", "21")
	if !o.stale(api, "30", "20") {
		t.Error("one of the versions read was replaced by Cutover's own write: want stale")
	}
	if o.stale(api, "30", "21") || o.stale(api, "20") {
		t.Error("every version read is current: want fresh, and the record dropped")
	}
	// A patch that changed nothing leaves the version as it was: that version is the latest,
	// and marking it stale would put every reconcile off for ever.
	o.wrote(web, "14", "14")
	if o.stale(web, "14") {
		t.Error("a no-op write replaced nothing: want fresh")
	}
}

// TestOwnDeletions: a ReplicaSet Cutover deleted is skipped until the memory lapses; others are
// not.
func TestOwnDeletions(t *testing.T) {
	var d ownDeletions
	t0 := time.Now()
	if d.done("a", t0) {
		t.Fatal("nothing was deleted yet")
	}
	d.deleted("a", t0)
	if !d.done("a", t0.Add(time.Second)) {
		t.Error("a ReplicaSet deleted a second ago must not be deleted again")
	}
	if d.done("b", t0.Add(time.Second)) {
		t.Error("another ReplicaSet must still be deleted")
	}
	if d.done("a", t0.Add(deletionMemory+time.Second)) {
		t.Error("the memory of a deletion must lapse")
	}
	if len(d.at) != 0 {
		t.Errorf("lapsed deletions must be forgotten, %d left", len(d.at))
	}
}
