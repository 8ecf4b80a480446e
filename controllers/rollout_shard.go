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
	"fmt"
	"maps"
	"strings"

	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	cutoverv1alpha1 "github.com/cutover-dev/cutover/api/v1alpha1"
)

// ValidateShard checks a shard name: empty (the default shard) or a DNS-1123 label, since it is
// both the value of the cutover.dev/shard label and part of the shard's Lease name.
func ValidateShard(shard string) error {
	if shard == "" {
		return nil
	}
	if errs := validation.IsDNS1123Label(shard); len(errs) > 0 {
		return fmt.Errorf("invalid shard name %q: %s (the name is the value of the %s label on the shard's Rollouts "+
			"and part of its leader-election Lease's name)", shard, strings.Join(errs, "; "), cutoverv1alpha1.LabelShard)
	}
	return nil
}

// ShardSelector selects the Rollouts of a shard: those labelled cutover.dev/shard=<shard>, or,
// for the default shard (""), those without the label. Every Rollout is in exactly one shard.
func ShardSelector(shard string) (labels.Selector, error) {
	if err := ValidateShard(shard); err != nil {
		return nil, err
	}
	op, values := selection.Equals, []string{shard}
	if shard == "" {
		op, values = selection.DoesNotExist, nil
	}
	req, err := labels.NewRequirement(cutoverv1alpha1.LabelShard, op, values)
	if err != nil {
		return nil, err
	}
	return labels.NewSelector().Add(*req), nil
}

// ShardCacheOptions returns opts with the Rollout informer limited to the shard's Rollouts, so
// a manager neither caches nor reconciles another shard's. The other informers are left as
// they are: ReplicaSets are found by their owner reference, not a label (see
// replicaSetOwnerIndex), and routing objects are not owned by a Rollout at all.
func ShardCacheOptions(opts cache.Options, shard string) (cache.Options, error) {
	sel, err := ShardSelector(shard)
	if err != nil {
		return opts, err
	}
	byObject := maps.Clone(opts.ByObject)
	if byObject == nil {
		byObject = map[client.Object]cache.ByObject{}
	}
	byObject[&cutoverv1alpha1.Rollout{}] = cache.ByObject{Label: sel}
	opts.ByObject = byObject
	return opts, nil
}

// LeaderElectionID is the name of a shard's leader-election Lease: cutover.cutover.dev for the
// default shard and cutover-<shard>.cutover.dev for the others, so each shard elects its own
// leader.
func LeaderElectionID(shard string) string {
	if shard == "" {
		return "cutover.cutover.dev"
	}
	return "cutover-" + shard + ".cutover.dev"
}
