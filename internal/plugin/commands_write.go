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
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	cutoverv1alpha1 "github.com/cutover-dev/cutover/api/v1alpha1"
)

// actionCommand is promote, abort or retry: each writes one annotation of the contract.
func (e *env) actionCommand(name, short string, withFull bool) *cobra.Command {
	var full bool
	cmd := &cobra.Command{
		Use:   name + " NAME",
		Short: short,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			a := map[string]Action{"promote": ActionPromote, "abort": ActionAbort, "retry": ActionRetry}[name]
			if full {
				a = ActionPromoteFull
			}
			return e.annotate(cmd.Context(), args[0], a)
		},
	}
	if withFull {
		cmd.Flags().BoolVar(&full, "full", false, "skip every remaining step and gate and go to 100% (cutover.dev/promote=full)")
	}
	return cmd
}

func (e *env) approveCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "approve NAME REVISION",
		Short: "Approve one revision: promote through every pause it reaches (cutover.dev/promote=REVISION, safe to keep in Git)",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			a, err := ApproveAction(args[1])
			if err != nil {
				return err
			}
			return e.annotate(cmd.Context(), args[0], a)
		},
	}
}

// annotate writes one action annotation with a merge patch on metadata.annotations, and says
// what it did.
func (e *env) annotate(ctx context.Context, name string, a Action) error {
	c, ns, err := e.connect()
	if err != nil {
		return err
	}
	ro := &cutoverv1alpha1.Rollout{}
	ro.Namespace, ro.Name = ns, name
	if err := c.Patch(ctx, ro, client.RawPatch(types.MergePatchType, a.MergePatch())); err != nil {
		return explain(err, fmt.Sprintf("annotating rollout %s/%s", ns, name))
	}
	_, err = fmt.Fprintln(e.streams.Out, a.Describe(ns, name))
	return err
}

func (e *env) setCommand() *cobra.Command {
	set := &cobra.Command{Use: "set", Short: "Change a Rollout's spec"}
	set.AddCommand(&cobra.Command{
		Use:   "image NAME CONTAINER=IMAGE [CONTAINER=IMAGE...]",
		Short: "Set container images in a Rollout's pod template: a new revision starts",
		Long: "set image changes spec.template's container images with a JSON patch that checks each container's\n" +
			"name at its index first. Init containers are named as themselves or as init:NAME.",
		Args: cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.setImage(cmd.Context(), args[0], args[1:])
		},
	})
	return set
}

func (e *env) setImage(ctx context.Context, name string, args []string) error {
	changes, err := ParseImageChanges(args)
	if err != nil {
		return err
	}
	c, ns, err := e.connect()
	if err != nil {
		return err
	}
	ro, err := getRollout(ctx, c, ns, name)
	if err != nil {
		return err
	}
	patch, previous, err := ImagePatch(&ro.Spec.Template.Spec, changes)
	if err != nil {
		return fmt.Errorf("rollout %s/%s: %w", ns, name, err)
	}
	if err := c.Patch(ctx, ro, client.RawPatch(types.JSONPatchType, patch)); err != nil {
		return explain(err, fmt.Sprintf("setting images of rollout %s/%s", ns, name))
	}
	var b strings.Builder
	for i, ch := range changes {
		fmt.Fprintf(&b, "rollout %s/%s: container %s image %s (was %s)\n", ns, name, ch.Container, ch.Image, previous[i])
	}
	fmt.Fprintf(&b, "a new revision starts; follow it with `kubectl cutover get rollout %s --watch`\n", name)
	_, err = fmt.Fprint(e.streams.Out, b.String())
	return err
}
