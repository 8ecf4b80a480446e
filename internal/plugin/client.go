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
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"golang.org/x/term"
	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"

	cutoverv1alpha1 "github.com/cutover-dev/cutover/api/v1alpha1"
)

// scheme knows the client-go types and cutover.dev/v1alpha1.
var scheme = runtime.NewScheme()

func init() {
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(cutoverv1alpha1.AddToScheme(scheme))
}

// env is what every command shares: the standard kubectl flags, the streams and the clock.
type env struct {
	flags   *genericclioptions.ConfigFlags
	streams genericiooptions.IOStreams
	now     func() time.Time
}

// connect returns a client for the cluster the kubectl flags name, and the namespace they
// name (the kubeconfig context's, unless -n is given).
func (e *env) connect() (client.WithWatch, string, error) {
	cfg, err := e.flags.ToRESTConfig()
	if err != nil {
		return nil, "", fmt.Errorf("loading the kubeconfig: %w", err)
	}
	ns, _, err := e.flags.ToRawKubeConfigLoader().Namespace()
	if err != nil {
		return nil, "", fmt.Errorf("reading the namespace from the kubeconfig: %w", err)
	}
	c, err := client.NewWithWatch(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return nil, "", fmt.Errorf("connecting to the API server %s: %w", cfg.Host, err)
	}
	return c, ns, nil
}

// getRollout reads one Rollout, with an error that says what to check when it fails.
func getRollout(ctx context.Context, c client.Client, ns, name string) (*cutoverv1alpha1.Rollout, error) {
	ro := &cutoverv1alpha1.Rollout{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, ro); err != nil {
		return nil, explain(err, fmt.Sprintf("rollout %s/%s", ns, name))
	}
	return ro, nil
}

// snapshot reads a Rollout and its managed ReplicaSets.
func snapshot(ctx context.Context, c client.Client, ns, name string, now time.Time) (Snapshot, error) {
	ro, err := getRollout(ctx, c, ns, name)
	if err != nil {
		return Snapshot{}, err
	}
	rss := &appsv1.ReplicaSetList{}
	if err := c.List(ctx, rss, client.InNamespace(ns), client.MatchingLabels{cutoverv1alpha1.LabelRollout: name}); err != nil {
		return Snapshot{}, explain(err, "the ReplicaSets of rollout "+ns+"/"+name)
	}
	return Snapshot{Rollout: ro, ReplicaSets: rss.Items, Now: now}, nil
}

// explain turns the API errors people hit most into sentences that say what to check.
func explain(err error, what string) error {
	var noMatch *apimeta.NoKindMatchError
	switch {
	case apierrors.IsNotFound(err):
		return fmt.Errorf("%s not found (check the name, and the namespace: -n NAMESPACE): %w", what, err)
	case apierrors.IsForbidden(err):
		return fmt.Errorf("%s: permission denied: %w", what, err)
	case errors.As(err, &noMatch) || apimeta.IsNoMatchError(err):
		return fmt.Errorf("%s: the cluster does not serve cutover.dev/v1alpha1 Rollouts; is Cutover's CRD installed? %w", what, err)
	default:
		return fmt.Errorf("%s: %w", what, err)
	}
}

// isTerminal reports whether w is a terminal, where the plugin draws in colour and redraws in
// place; anything else (a pipe, a file, a test buffer) gets the plain form.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
