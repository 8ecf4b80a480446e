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

// Command apiref writes the field-by-field API reference of the Rollout API from the Go types
// of api/v1alpha1: their doc comments, JSON names and kubebuilder markers (defaults, bounds,
// CEL rules). `make api-docs` runs it; `make verify` fails when the committed reference is
// stale. The output depends only on the source, so it is the same on every run.
//
//	go run ./hack/apiref -api api/v1alpha1 -out docs/api-reference.md
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"
)

func main() {
	api := flag.String("api", "api/v1alpha1", "directory of the API package")
	out := flag.String("out", "docs/api-reference.md", "file to write")
	flag.Parse()
	if err := run(*api, *out); err != nil {
		fmt.Fprintln(os.Stderr, "apiref:", err)
		os.Exit(1)
	}
}

func run(dir, out string) error {
	pkg, err := load(dir)
	if err != nil {
		return err
	}
	var b strings.Builder
	render(&b, pkg, "Rollout")
	return os.WriteFile(out, []byte(b.String()), 0o644)
}
