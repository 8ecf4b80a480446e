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

// Package imagebuild checks the manager's Dockerfile without a container engine: it parses the
// Dockerfile with BuildKit's own parser, carries out the build stage (its COPY and RUN steps) in a
// scratch directory, and checks what the final stage takes from it and how it runs.
package imagebuild

import (
	"bytes"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
)

// pinned is an image reference pinned by digest.
var pinned = regexp.MustCompile(`@sha256:[0-9a-f]{64}$`)

// Result is what a checked build produced.
type Result struct {
	// Binary is the builder-stage file the final stage copies, on this machine.
	Binary string
	// Entrypoint is the final image's entrypoint.
	Entrypoint []string
	// User is the final image's user.
	User string
	// Base is the final stage's base image.
	Base string
}

// Check parses dockerfile, carries out its build stages in scratch (a directory that stands for
// the builder's root filesystem) with the build context in context, and checks the final stage:
// a base pinned by digest, a numeric non-root user, an entrypoint that is the file it copies
// from the builder, and that file a statically linked executable.
func Check(dockerfile []byte, context, scratch string) (*Result, error) {
	ast, err := parser.Parse(bytes.NewReader(dockerfile))
	if err != nil {
		return nil, fmt.Errorf("parsing the Dockerfile: %w", err)
	}
	stages, metaArgs, err := instructions.Parse(ast.AST, nil)
	if err != nil {
		return nil, fmt.Errorf("parsing the Dockerfile: %w", err)
	}
	if len(stages) < 2 {
		return nil, fmt.Errorf("want a build stage and a final stage, found %d stage(s)", len(stages))
	}
	ignore, err := readIgnore(context)
	if err != nil {
		return nil, err
	}
	roots := map[string]string{}
	for i, st := range stages[:len(stages)-1] {
		root := filepath.Join(scratch, fmt.Sprintf("stage-%d", i))
		roots[st.Name], roots[strconv.Itoa(i)] = root, root
	}
	// What the final stage says is checked first, since building takes a while.
	res, err := checkFinal(stages[len(stages)-1], roots)
	if err != nil {
		return nil, err
	}
	for i, st := range stages[:len(stages)-1] {
		if err := buildStage(st, metaArgs, context, roots[st.Name], ignore); err != nil {
			return nil, fmt.Errorf("stage %d (%s): %w", i, st.Name, err)
		}
	}
	return res, checkStatic(res.Binary)
}

// buildStage carries out one build stage's WORKDIR, ARG, ENV, COPY and RUN steps in root. RUN
// steps run with this machine's shell and Go toolchain, as the stage's golang base would.
func buildStage(st instructions.Stage, metaArgs []instructions.ArgCommand, context, root string, ignore *patternmatcher.PatternMatcher) error {
	env := map[string]string{"TARGETOS": "linux", "TARGETARCH": runtime.GOARCH}
	for _, a := range metaArgs {
		setArgs(env, a)
	}
	workdir := "/"
	for _, c := range st.Commands {
		switch c := c.(type) {
		case *instructions.WorkdirCommand:
			workdir = path.Join(workdir, c.Path)
			if err := os.MkdirAll(filepath.Join(root, workdir), 0o755); err != nil {
				return err
			}
		case *instructions.ArgCommand:
			setArgs(env, *c)
		case *instructions.EnvCommand:
			for _, kv := range c.Env {
				env[kv.Key] = kv.Value
			}
		case *instructions.CopyCommand:
			if c.From != "" {
				return fmt.Errorf("line %d: COPY --from in a build stage is not supported by this check", c.Location()[0].Start.Line)
			}
			if err := copyFromContext(c.SourcePaths, c.DestPath, context, filepath.Join(root, workdir), ignore); err != nil {
				return fmt.Errorf("line %d: %s: %w", c.Location()[0].Start.Line, c.String(), err)
			}
		case *instructions.RunCommand:
			if err := run(c, env, filepath.Join(root, workdir)); err != nil {
				return fmt.Errorf("line %d: %s: %w", c.Location()[0].Start.Line, c.String(), err)
			}
		default:
			return fmt.Errorf("%s: not supported in a build stage by this check", c.Name())
		}
	}
	return nil
}

func setArgs(env map[string]string, a instructions.ArgCommand) {
	for _, kv := range a.Args {
		if _, set := env[kv.Key]; !set || kv.Value != nil {
			env[kv.Key] = kv.ValueString()
		}
	}
}

// run runs a RUN step with sh -c in dir. Only the stage's ARG and ENV values and what the Go
// toolchain needs (PATH, HOME, the module and build caches and proxy) come from this machine.
func run(c *instructions.RunCommand, env map[string]string, dir string) error {
	if !c.PrependShell || len(c.CmdLine) != 1 {
		return errors.New("only the shell form of RUN is supported by this check")
	}
	cmd := exec.Command("sh", "-c", c.CmdLine[0])
	cmd.Dir = dir
	for _, k := range []string{"PATH", "HOME", "GOPATH", "GOMODCACHE", "GOCACHE", "GOPROXY", "GONOSUMDB", "GOFLAGS", "GOTOOLCHAIN"} {
		if v, ok := os.LookupEnv(k); ok {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
	}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%w\n%s", err, out)
	}
	return nil
}

// readIgnore reads the context's .dockerignore, if any.
func readIgnore(context string) (*patternmatcher.PatternMatcher, error) {
	f, err := os.Open(filepath.Join(context, ".dockerignore"))
	if errors.Is(err, fs.ErrNotExist) {
		return patternmatcher.New(nil)
	}
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }()
	patterns, err := ignorefile.ReadAll(f)
	if err != nil {
		return nil, fmt.Errorf(".dockerignore: %w", err)
	}
	return patternmatcher.New(patterns)
}

// copyFromContext copies the sources (paths in the build context, "." for all of it) to dest
// (relative to dir unless absolute), leaving out what .dockerignore excludes, as a builder
// would send only the rest of the context.
func copyFromContext(sources []string, dest, context, dir string, ignore *patternmatcher.PatternMatcher) error {
	target := filepath.Join(dir, dest)
	for _, src := range sources {
		from := filepath.Join(context, filepath.Clean("/"+src))
		info, err := os.Stat(from)
		if err != nil {
			return fmt.Errorf("%s is not in the build context", src)
		}
		if !info.IsDir() {
			if excluded, _ := ignore.MatchesOrParentMatches(filepath.Clean(src)); excluded {
				return fmt.Errorf("%s is excluded by .dockerignore", src)
			}
			to := target
			if strings.HasSuffix(dest, "/") || len(sources) > 1 {
				to = filepath.Join(target, filepath.Base(src))
			}
			if err := copyFile(from, to); err != nil {
				return err
			}
			continue
		}
		err = filepath.WalkDir(from, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(context, p)
			if d.IsDir() || rel == "." {
				return nil
			}
			if excluded, _ := ignore.MatchesOrParentMatches(rel); excluded {
				return nil
			}
			relSrc, _ := filepath.Rel(from, p)
			return copyFile(p, filepath.Join(target, relSrc))
		})
		if err != nil {
			return err
		}
	}
	return nil
}

func copyFile(from, to string) error {
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		return err
	}
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer func() { _ = in.Close() }()
	out, err := os.Create(to)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		_ = out.Close()
		return err
	}
	return out.Close()
}

// checkFinal checks what the final stage says, and finds the file its entrypoint runs among the
// builder roots (built later).
func checkFinal(st instructions.Stage, roots map[string]string) (*Result, error) {
	res := &Result{Base: st.BaseName}
	if !pinned.MatchString(st.BaseName) {
		return nil, fmt.Errorf("the final stage's base %q is not pinned by digest (@sha256:...)", st.BaseName)
	}
	workdir := "/"
	copied := map[string]string{} // path in the image -> file on this machine
	for _, c := range st.Commands {
		switch c := c.(type) {
		case *instructions.WorkdirCommand:
			workdir = path.Join(workdir, c.Path)
		case *instructions.CopyCommand:
			root, ok := roots[c.From]
			if !ok {
				return nil, fmt.Errorf("COPY from %q: the final stage may only take files from a build stage", c.From)
			}
			for _, src := range c.SourcePaths {
				dst := path.Join(workdir, c.DestPath)
				if strings.HasSuffix(c.DestPath, "/") || c.DestPath == "." {
					dst = path.Join(dst, path.Base(src))
				}
				copied[dst] = filepath.Join(root, filepath.FromSlash(src))
			}
		case *instructions.UserCommand:
			res.User = c.User
		case *instructions.EntrypointCommand:
			res.Entrypoint = c.CmdLine
			if c.PrependShell {
				return nil, errors.New("ENTRYPOINT must use the exec form: the distroless base has no shell")
			}
		}
	}
	uid, _, _ := strings.Cut(res.User, ":")
	if n, err := strconv.Atoi(uid); err != nil || n == 0 {
		return nil, fmt.Errorf("USER %q: the image must run as a numeric non-root user (runAsNonRoot can only check a number)", res.User)
	}
	if len(res.Entrypoint) == 0 {
		return nil, errors.New("the final stage has no ENTRYPOINT")
	}
	bin, ok := copied[path.Clean(res.Entrypoint[0])]
	if !ok {
		return nil, fmt.Errorf("ENTRYPOINT %s is not a file the final stage copies from the build stage", res.Entrypoint[0])
	}
	res.Binary = bin
	return res, nil
}

// checkStatic checks that bin is an executable with no dynamic loader: the static distroless
// base has no libc.
func checkStatic(bin string) error {
	f, err := elf.Open(bin)
	if err != nil {
		return fmt.Errorf("the copied file %s: %w (the build stage did not produce it?)", filepath.Base(bin), err)
	}
	defer func() { _ = f.Close() }()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("%s is dynamically linked: build with CGO_ENABLED=0 for the static base", filepath.Base(bin))
		}
	}
	return nil
}
