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

// Package plugin is kubectl-cutover, the kubectl plugin for Cutover's Rollouts: it shows a
// Rollout as a tree (and follows it from a watch), lists Rollouts, writes the contract's action
// annotations (promote, abort, retry, approve), waits for a rollout to finish for CI
// pipelines, prints a Rollout's revision history and sets container images.
//
// Decisions and rendering are pure functions of a Snapshot (view.go, render_*.go, status.go,
// actions.go, setimage.go); the cobra commands only read, patch and print.
package plugin

import (
	"time"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
)

// NewCommand returns the kubectl-cutover command with every standard kubectl flag
// (--kubeconfig, --context, -n, --as, ...) and its subcommands.
func NewCommand(streams genericiooptions.IOStreams) *cobra.Command {
	e := &env{flags: genericclioptions.NewConfigFlags(true), streams: streams, now: time.Now}
	cmd := &cobra.Command{
		Use:   "kubectl-cutover",
		Short: "Show and drive Cutover Rollouts",
		Long: "kubectl cutover shows Cutover Rollouts and drives them through the annotations of the Rollout API.\n" +
			"Every standard kubectl flag works (--kubeconfig, --context, -n, --as, ...).",
		Annotations:   map[string]string{cobra.CommandDisplayNameAnnotation: "kubectl cutover"},
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	cmd.SetIn(streams.In)
	cmd.SetOut(streams.Out)
	cmd.SetErr(streams.ErrOut)
	e.flags.AddFlags(cmd.PersistentFlags())
	cmd.AddCommand(
		e.getCommand(),
		e.listCommand(),
		e.historyCommand(),
		e.statusCommand(),
		e.actionCommand("promote", "Leave the current pause or waiting gate (--full: skip every remaining step)", true),
		e.actionCommand("abort", "Route all traffic back to the stable revision and tear the new one down", false),
		e.actionCommand("retry", "Start an aborted revision again from step 0", false),
		e.approveCommand(),
		e.setCommand(),
	)
	return cmd
}
