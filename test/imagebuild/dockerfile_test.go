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

package imagebuild

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func readDockerfile(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestDockerfileBuilds carries out the Dockerfile's build stage and checks the image it would
// make: the root main.go built into a static binary, copied onto a base pinned by digest, run
// as a numeric non-root user. The binary must be the manager: it answers --help with its flags.
func TestDockerfileBuilds(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the manager")
	}
	res, err := Check(readDockerfile(t), filepath.Join("..", ".."), t.TempDir())
	if err != nil {
		t.Fatalf("the Dockerfile would not build a working image: %v", err)
	}
	t.Logf("base %s, user %s, entrypoint %v", res.Base, res.User, res.Entrypoint)
	out, _ := exec.Command(res.Binary, "--help").CombinedOutput()
	for _, flag := range []string{"-leader-elect", "-metrics-bind-address", "-watch-namespaces"} {
		if !strings.Contains(string(out), flag) {
			t.Errorf("the image's binary does not take %s: is it the manager?\n%s", flag, out)
		}
	}
}

// TestBrokenDockerfilesFail shows that the check fails for each way a Dockerfile can be wrong.
func TestBrokenDockerfilesFail(t *testing.T) {
	good := string(readDockerfile(t))
	cases := map[string]struct{ old, new, want string }{
		"a main package that does not exist": {" .\n", " ./cmd/main.go\n", "go build"},
		"a base pinned by tag only":          {"@sha256:", "-unpinned@sha256-", "not pinned by digest"},
		"root user":                          {"USER 65532:65532", "USER 0:0", "non-root"},
		"user by name":                       {"USER 65532:65532", "USER nonroot", "numeric non-root"},
		"entrypoint not copied":              {`ENTRYPOINT ["/manager"]`, `ENTRYPOINT ["/cutover"]`, "not a file the final stage copies"},
		"shell-form entrypoint":              {`ENTRYPOINT ["/manager"]`, `ENTRYPOINT /manager`, "exec form"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if !strings.Contains(good, tc.old) {
				t.Fatalf("the Dockerfile no longer contains %q: update this case", tc.old)
			}
			if tc.want == "go build" && testing.Short() {
				t.Skip("runs the build stage")
			}
			_, err := Check([]byte(strings.Replace(good, tc.old, tc.new, 1)), filepath.Join("..", ".."), t.TempDir())
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}
