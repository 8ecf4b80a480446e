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

// Command server is the demo's stand-in for the outside world of `make demo`: an OCI registry
// holding releases v1, v2 and v3 of a small application, and the metrics endpoint the demo's
// HTTP gate asks for a revision's error rate. Both listen on 127.0.0.1 until SIGTERM.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

func main() {
	registryAddr := flag.String("registry-address", "127.0.0.1:15000", "The address the registry listens on.")
	metricsAddr := flag.String("metrics-address", "127.0.0.1:15090", "The address the error-rate endpoint listens on.")
	repo := flag.String("repository", "demo/podinfo", "The repository the releases are pushed to.")
	kubeconfig := flag.String("kubeconfig", os.Getenv("KUBECONFIG"), "The kubeconfig to read ReplicaSets with.")
	flag.Parse()
	if err := run(*registryAddr, *metricsAddr, *repo, *kubeconfig); err != nil {
		log.Fatalf("demo server: %v", err)
	}
}

// run serves the registry, pushes the releases, then serves the error rates until SIGTERM or
// SIGINT. /healthz answers once both are up.
func run(registryAddr, metricsAddr, repo, kubeconfig string) error {
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return fmt.Errorf("kubeconfig: %w", err)
	}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()

	errs := make(chan error, 2)
	reg, err := listen(registryAddr, registry.New(registry.Logger(log.New(io.Discard, "", 0))), errs)
	if err != nil {
		return err
	}
	releases, err := push(registryAddr + "/" + repo)
	if err != nil {
		return err
	}
	for digest, v := range releases {
		log.Printf("pushed %s/%s:%s = %s (error rate %g)", registryAddr, repo, v.Tag, digest, v.ErrorRate)
	}

	mux := http.NewServeMux()
	mux.Handle("GET /error-rate", &errorRates{Client: client, Releases: releases})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok\n") })
	metrics, err := listen(metricsAddr, mux, errs)
	if err != nil {
		return err
	}
	log.Printf("registry on http://%s, error rates on http://%s/error-rate", registryAddr, metricsAddr)

	select {
	case <-ctx.Done():
	case err = <-errs:
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return errors.Join(err, reg.Shutdown(shutdown), metrics.Shutdown(shutdown))
}

// listen serves h on addr in the background; a failure to serve is sent to errs.
func listen(addr string, h http.Handler, errs chan<- error) (*http.Server, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(l); !errors.Is(err, http.ErrServerClosed) {
			errs <- fmt.Errorf("%s: %w", addr, err)
		}
	}()
	return srv, nil
}
