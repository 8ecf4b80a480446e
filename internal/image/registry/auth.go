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

package registry

import (
	"context"

	"github.com/google/go-containerregistry/pkg/authn"
	k8schain "github.com/google/go-containerregistry/pkg/authn/kubernetes"
	corev1 "k8s.io/api/core/v1"
)

// keychain builds a keychain from the pull secrets that parse; a registry no secret matches is
// accessed anonymously. A malformed secret is skipped rather than failing the whole resolution:
// the kubelet would not be able to use it either.
func keychain(ctx context.Context, secrets []corev1.Secret) authn.Keychain {
	if len(secrets) == 0 {
		return authn.NewMultiKeychain()
	}
	if kc, err := k8schain.NewFromPullSecrets(ctx, secrets); err == nil {
		return kc
	}
	good := make([]corev1.Secret, 0, len(secrets))
	for _, s := range secrets {
		if _, err := k8schain.NewFromPullSecrets(ctx, []corev1.Secret{s}); err == nil {
			good = append(good, s)
		}
	}
	kc, err := k8schain.NewFromPullSecrets(ctx, good)
	if err != nil {
		return authn.NewMultiKeychain()
	}
	return kc
}
