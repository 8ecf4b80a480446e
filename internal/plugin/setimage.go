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

package plugin

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/cutover-dev/cutover/internal/rfc6902"
)

// ImageChange is one CONTAINER=IMAGE argument of `set image`.
type ImageChange struct {
	Container, Image string
}

// ParseImageChanges parses CONTAINER=IMAGE arguments; a container may be named once.
func ParseImageChanges(args []string) ([]ImageChange, error) {
	if len(args) == 0 {
		return nil, fmt.Errorf("set image needs at least one CONTAINER=IMAGE")
	}
	out := make([]ImageChange, 0, len(args))
	seen := map[string]bool{}
	for _, a := range args {
		name, img, ok := strings.Cut(a, "=")
		if !ok || name == "" || img == "" {
			return nil, fmt.Errorf("%q is not CONTAINER=IMAGE", a)
		}
		if seen[name] {
			return nil, fmt.Errorf("container %q is named twice", name)
		}
		seen[name] = true
		out = append(out, ImageChange{Container: name, Image: img})
	}
	return out, nil
}

// ImagePatch is the JSON patch that sets the images of spec.template's containers (init
// containers too, named as such or as "init:NAME", the form of status.images). Each replace is
// guarded by a test of the container's name at that index, so a template reordered in the
// meantime makes the patch fail instead of changing the wrong container. A container the
// template does not have is an error that names it and lists those it has. It also returns,
// for each change, the image it replaces.
func ImagePatch(spec *corev1.PodSpec, changes []ImageChange) ([]byte, []string, error) {
	var ops []rfc6902.Op
	previous := make([]string, 0, len(changes))
	for _, ch := range changes {
		field, idx := findContainer(spec, ch.Container)
		if idx < 0 {
			return nil, nil, fmt.Errorf("container %q not found in spec.template: the template has %s",
				ch.Container, containerNames(spec))
		}
		list := spec.Containers
		if field == "initContainers" {
			list = spec.InitContainers
		}
		base := fmt.Sprintf("/spec/template/spec/%s/%d", field, idx)
		ops = append(ops,
			rfc6902.Op{Op: rfc6902.Test, Path: base + "/name", Value: list[idx].Name},
			rfc6902.Op{Op: rfc6902.Replace, Path: base + "/image", Value: ch.Image})
		previous = append(previous, list[idx].Image)
	}
	b, err := json.Marshal(ops)
	return b, previous, err
}

// findContainer returns the list ("containers" or "initContainers") and index of the named
// container, or -1.
func findContainer(spec *corev1.PodSpec, name string) (string, int) {
	bare, isInit := strings.CutPrefix(name, "init:")
	if !isInit {
		if i := slices.IndexFunc(spec.Containers, func(c corev1.Container) bool { return c.Name == name }); i >= 0 {
			return "containers", i
		}
	}
	if i := slices.IndexFunc(spec.InitContainers, func(c corev1.Container) bool { return c.Name == bare }); i >= 0 {
		return "initContainers", i
	}
	return "", -1
}

func containerNames(spec *corev1.PodSpec) string {
	names := make([]string, 0, len(spec.Containers)+len(spec.InitContainers))
	for _, c := range spec.Containers {
		names = append(names, fmt.Sprintf("%q", c.Name))
	}
	for _, c := range spec.InitContainers {
		names = append(names, fmt.Sprintf("%q (init)", c.Name))
	}
	if len(names) == 0 {
		return "no containers"
	}
	return strings.Join(names, ", ")
}
