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

package registry_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	corev1 "k8s.io/api/core/v1"

	"github.com/cutover-dev/cutover/internal/image"
	"github.com/cutover-dev/cutover/internal/image/registry"
)

var fast = remote.Backoff{Duration: time.Millisecond, Factor: 1, Steps: 2}

// newResolver returns a resolver with a quick retry schedule for tests.
func newResolver(opts registry.Options) *registry.Resolver {
	if opts.Backoff == nil {
		opts.Backoff = &fast
	}
	return registry.New(opts)
}

// serve starts an in-process registry behind wrap (nil for none) and returns its host:port.
func serve(t *testing.T, wrap func(http.Handler) http.Handler) (*httptest.Server, string) {
	t.Helper()
	var h = ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0)))
	if wrap != nil {
		h = wrap(h)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv, strings.TrimPrefix(srv.URL, "http://")
}

// push writes a random image under ref and returns its digest.
func push(t *testing.T, ref string, opts ...remote.Option) v1.Hash {
	t.Helper()
	img, err := random.Image(256, 1)
	if err != nil {
		t.Fatal(err)
	}
	tag, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(tag, img, opts...); err != nil {
		t.Fatalf("push %s: %v", ref, err)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestResolveTag(t *testing.T) {
	_, host := serve(t, nil)
	ref := host + "/team/app:1.2"
	d1 := push(t, ref)
	r := newResolver(registry.Options{})
	got, err := r.Resolve(context.Background(), ref, nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := host + "/team/app@" + d1.String(); got != want {
		t.Fatalf("Resolve = %q; want %q", got, want)
	}
	if !image.DigestOnly(got) {
		t.Errorf("%q is not digest-only", got)
	}

	// A re-pushed tag: the resolver sees the registry (the controller records pins instead).
	d2 := push(t, ref)
	got, err = r.Resolve(context.Background(), ref, nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := host + "/team/app@" + d2.String(); got != want || d1 == d2 {
		t.Fatalf("after re-push Resolve = %q; want %q", got, want)
	}

	// No tag means latest.
	d3 := push(t, host+"/team/app:latest")
	if got, err := r.Resolve(context.Background(), host+"/team/app", nil); err != nil || got != host+"/team/app@"+d3.String() {
		t.Fatalf("Resolve(untagged) = %q, %v", got, err)
	}
}

func TestResolveDigestWithoutNetwork(t *testing.T) {
	srv, host := serve(t, nil)
	srv.Close()
	d := "sha256:" + strings.Repeat("ab", 32)
	r := newResolver(registry.Options{})
	for in, want := range map[string]string{
		host + "/app@" + d:    host + "/app@" + d,
		host + "/app:v1@" + d: host + "/app@" + d,
		"nginx:1.27@" + d:     "nginx@" + d,
		"ghcr.io/acme/x@" + d: "ghcr.io/acme/x@" + d,
	} {
		if got, err := r.Resolve(context.Background(), in, nil); err != nil || got != want {
			t.Errorf("Resolve(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

func TestResolveErrors(t *testing.T) {
	_, host := serve(t, nil)
	push(t, host+"/app:1")
	r := newResolver(registry.Options{})

	_, err := r.Resolve(context.Background(), host+"/app:missing", nil)
	if !errors.Is(err, image.ErrNotFound) || image.IsTransient(err) || !strings.Contains(err.Error(), host+"/app:missing") {
		t.Errorf("unknown tag: err = %v; want ErrNotFound naming the image", err)
	}
	_, err = r.Resolve(context.Background(), host+"/nothing:1", nil)
	if !errors.Is(err, image.ErrNotFound) {
		t.Errorf("unknown repository: err = %v; want ErrNotFound", err)
	}
	for _, bad := range []string{host + "/app:", "Upper/Case:1", "http://" + host + "/app:1"} {
		if _, err := r.Resolve(context.Background(), bad, nil); !errors.Is(err, image.ErrInvalidReference) || image.IsTransient(err) {
			t.Errorf("Resolve(%q): err = %v; want ErrInvalidReference", bad, err)
		}
	}

	closed, closedHost := serve(t, nil)
	closed.Close()
	_, err = r.Resolve(context.Background(), closedHost+"/app:1", nil)
	if !image.IsTransient(err) || !errors.Is(err, image.ErrUnavailable) {
		t.Errorf("closed server: err = %v; want transient ErrUnavailable", err)
	}

	_, downHost := serve(t, func(http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) })
	})
	_, err = r.Resolve(context.Background(), downHost+"/app:1", nil)
	if !image.IsTransient(err) || !errors.Is(err, image.ErrUnavailable) {
		t.Errorf("503: err = %v; want transient ErrUnavailable", err)
	}
}

func TestResolveTimeout(t *testing.T) {
	_, host := serve(t, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			if strings.Contains(req.URL.Path, "/manifests/") {
				<-req.Context().Done()
				return
			}
			h.ServeHTTP(w, req)
		})
	})
	r := newResolver(registry.Options{Timeout: 200 * time.Millisecond})
	start := time.Now()
	_, err := r.Resolve(context.Background(), host+"/app:1", nil)
	if !image.IsTransient(err) || !errors.Is(err, image.ErrUnavailable) {
		t.Errorf("hanging registry: err = %v; want transient ErrUnavailable", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Errorf("timeout not honoured: took %v", time.Since(start))
	}
}

// stripDigest drops Docker-Content-Digest from HEAD responses.
type stripDigest struct{ http.ResponseWriter }

func (s stripDigest) WriteHeader(code int) {
	s.Header().Del("Docker-Content-Digest")
	s.ResponseWriter.WriteHeader(code)
}

func TestResolveFallsBackToGet(t *testing.T) {
	var gets atomic.Int32
	_, host := serve(t, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			if strings.Contains(req.URL.Path, "/manifests/") {
				switch req.Method {
				case http.MethodHead:
					w = stripDigest{w}
				case http.MethodGet:
					gets.Add(1)
				}
			}
			h.ServeHTTP(w, req)
		})
	})
	d := push(t, host+"/app:1")
	got, err := newResolver(registry.Options{}).Resolve(context.Background(), host+"/app:1", nil)
	if err != nil || got != host+"/app@"+d.String() {
		t.Fatalf("Resolve = %q, %v; want digest %s", got, err, d)
	}
	if gets.Load() == 0 {
		t.Errorf("no GET fallback happened")
	}
}

// dockerConfig returns a kubernetes.io/dockerconfigjson pull secret for host.
func dockerConfig(t *testing.T, host, user, pass string) corev1.Secret {
	t.Helper()
	b, err := json.Marshal(map[string]any{"auths": map[string]any{host: map[string]string{"username": user, "password": pass}}})
	if err != nil {
		t.Fatal(err)
	}
	return corev1.Secret{Type: corev1.SecretTypeDockerConfigJson, Data: map[string][]byte{corev1.DockerConfigJsonKey: b}}
}

func TestResolveWithPullSecret(t *testing.T) {
	_, host := serve(t, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			if u, p, ok := req.BasicAuth(); !ok || u != "robot" || p != "s3cret" {
				w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			h.ServeHTTP(w, req)
		})
	})
	ref := host + "/private/app:1"
	d := push(t, ref, remote.WithAuth(&authn.Basic{Username: "robot", Password: "s3cret"}))
	r := newResolver(registry.Options{})

	malformed := corev1.Secret{Type: corev1.SecretTypeDockerConfigJson, Data: map[string][]byte{corev1.DockerConfigJsonKey: []byte("{not json")}}
	good := dockerConfig(t, host, "robot", "s3cret")
	got, err := r.Resolve(context.Background(), ref, []corev1.Secret{malformed, good})
	if err != nil || got != host+"/private/app@"+d.String() {
		t.Fatalf("with pull secret: Resolve = %q, %v", got, err)
	}

	for desc, secrets := range map[string][]corev1.Secret{
		"no secret":      nil,
		"other registry": {dockerConfig(t, "registry.example", "robot", "s3cret")},
		"wrong password": {dockerConfig(t, host, "robot", "nope")},
	} {
		_, err := r.Resolve(context.Background(), ref, secrets)
		if !errors.Is(err, image.ErrUnauthorized) || image.IsTransient(err) || !strings.Contains(err.Error(), ref) {
			t.Errorf("%s: err = %v; want ErrUnauthorized naming the image", desc, err)
		}
	}
}

func TestInsecureHosts(t *testing.T) {
	srv, host := serve(t, nil)
	d := push(t, host+"/app:1")
	// Every connection goes to the test server, whatever the host name.
	transport := &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, srv.Listener.Addr().String())
	}}
	ref := "registry.test/app:1"
	got, err := newResolver(registry.Options{InsecureHosts: []string{"registry.test"}, Transport: transport}).
		Resolve(context.Background(), ref, nil)
	if err != nil || got != "registry.test/app@"+d.String() {
		t.Fatalf("insecure host: Resolve = %q, %v", got, err)
	}
	if _, err := newResolver(registry.Options{Transport: transport}).Resolve(context.Background(), ref, nil); err == nil {
		t.Fatalf("a host not listed as insecure was reached over plain HTTP")
	}
}
