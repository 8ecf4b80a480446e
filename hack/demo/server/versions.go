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

package main

import (
	"fmt"
	"strconv"

	"github.com/google/go-containerregistry/pkg/crane"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// version is one release of the demo application.
type version struct {
	// Tag is the image tag, e.g. "v2".
	Tag string
	// ErrorRate is the share of requests the release answers with a 5xx (0..1): it is how the
	// release behaves, recorded in its image and reported for the pods that run it.
	ErrorRate float64
}

// versions are the releases pushed to the registry. v3 ships a bug: one request in four fails.
var versions = []version{
	{Tag: "v1", ErrorRate: 0.002},
	{Tag: "v2", ErrorRate: 0.001},
	{Tag: "v3", ErrorRate: 0.25},
}

// errorRateEnv is the environment variable that carries a release's error rate in its image.
const errorRateEnv = "PODINFO_ERROR_RATE"

// image builds the image of v: one small layer with the release's name, and a config whose
// label and environment say which release it is and how it behaves. The same v always gives the
// same digest.
func image(v version) (v1.Image, error) {
	img, err := crane.Image(map[string][]byte{"podinfo/VERSION": []byte(v.Tag + "\n")})
	if err != nil {
		return nil, err
	}
	return mutate.Config(img, v1.Config{
		Entrypoint: []string{"/podinfo"},
		Env:        []string{errorRateEnv + "=" + strconv.FormatFloat(v.ErrorRate, 'f', -1, 64)},
		Labels:     map[string]string{"org.opencontainers.image.version": v.Tag},
	})
}

// push writes every release to repo (e.g. "127.0.0.1:15000/demo/podinfo") over plain HTTP and
// returns each release by its digest.
func push(repo string) (map[v1.Hash]version, error) {
	byDigest := make(map[v1.Hash]version, len(versions))
	for _, v := range versions {
		ref, err := name.NewTag(repo+":"+v.Tag, name.Insecure)
		if err != nil {
			return nil, err
		}
		img, err := image(v)
		if err != nil {
			return nil, fmt.Errorf("building %s: %w", ref, err)
		}
		if err := remote.Write(ref, img); err != nil {
			return nil, fmt.Errorf("pushing %s: %w", ref, err)
		}
		digest, err := img.Digest()
		if err != nil {
			return nil, err
		}
		byDigest[digest] = v
	}
	return byDigest, nil
}
