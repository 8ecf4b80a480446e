package plan

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"

	corev1 "k8s.io/api/core/v1"

	cutoverv1alpha1 "github.com/cutover-dev/cutover/api/v1alpha1"
)

// HashLength is the number of hex digits in a revision hash.
const HashLength = 10

// TemplateHash computes the revision hash of a pod template.
//
// The algorithm is part of the public contract and golden tests keep it stable:
//
//  1. Remove the cutover.dev/revision label from the template (the hash cannot cover itself).
//  2. Encode the template as JSON.
//  3. Prune the encoding: drop null values, empty objects and empty arrays, recursively. A
//     dependency bump that adds a new optional field to PodTemplateSpec then changes nothing,
//     because an unset field encodes as null or {} and is pruned. This is what keeps an upgrade
//     of Cutover from re-rolling every Rollout.
//  4. Re-encode with object keys sorted, so the Go field order does not matter either.
//  5. Take the SHA-256 of those bytes and keep the first 10 hex digits.
//
// The revision hash of a Rollout is TemplateHash of its template after image pinning, so two
// templates that differ only in how an image was written (tag or digest) but pin to the same
// digest are the same revision.
func TemplateHash(tmpl *corev1.PodTemplateSpec) (string, error) {
	t := tmpl.DeepCopy()
	delete(t.Labels, cutoverv1alpha1.LabelRevision)
	if len(t.Labels) == 0 {
		t.Labels = nil
	}
	raw, err := json.Marshal(t)
	if err != nil {
		return "", fmt.Errorf("encoding pod template: %w", err)
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return "", fmt.Errorf("decoding pod template: %w", err)
	}
	canon, err := json.Marshal(prune(v)) // encoding/json sorts map keys
	if err != nil {
		return "", fmt.Errorf("encoding canonical pod template: %w", err)
	}
	sum := sha256.Sum256(canon)
	return hex.EncodeToString(sum[:])[:HashLength], nil
}

// prune removes nulls, empty objects and empty arrays from a decoded JSON value.
func prune(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			if p := prune(e); !isEmpty(p) {
				out[k] = p
			}
		}
		return out
	case []any:
		out := make([]any, 0, len(x))
		for _, e := range x {
			// Elements are kept even when empty: their position carries meaning.
			out = append(out, prune(e))
		}
		return out
	default:
		return v
	}
}

func isEmpty(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case map[string]any:
		return len(x) == 0
	case []any:
		return len(x) == 0
	default:
		return false
	}
}
