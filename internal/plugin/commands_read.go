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
	"time"

	"github.com/spf13/cobra"
	"sigs.k8s.io/controller-runtime/pkg/client"

	cutoverv1alpha1 "github.com/cutover-dev/cutover/api/v1alpha1"
)

// clearScreen moves the cursor home and clears the screen, to redraw a tree in place.
const clearScreen = "\x1b[H\x1b[2J"

func (e *env) getCommand() *cobra.Command {
	get := &cobra.Command{Use: "get", Short: "Show a Rollout"}
	var follow bool
	rollout := &cobra.Command{
		Use:     "rollout NAME",
		Aliases: []string{"rollouts", "ro"},
		Short:   "Show a Rollout as a tree: revisions, images, ReplicaSets, step, weight, gates, last action",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, ns, err := e.connect()
			if err != nil {
				return err
			}
			st := Style{Terminal: isTerminal(e.streams.Out)}
			if !follow {
				s, err := snapshot(cmd.Context(), c, ns, args[0], e.now())
				if err != nil {
					return err
				}
				_, err = io.WriteString(e.streams.Out, RenderTree(s, st))
				return err
			}
			return e.watchRollout(cmd.Context(), c, ns, args[0], true, treeDrawer(e.streams.Out, st, ns, args[0]))
		},
	}
	rollout.Flags().BoolVarP(&follow, "watch", "w", false,
		"follow the Rollout from a watch: redraw in place on a terminal, print one block per change otherwise")
	get.AddCommand(rollout)
	return get
}

// treeDrawer returns the onChange of `get rollout --watch`: it draws the tree whenever it
// differs from the last one drawn, in place on a terminal and as a new block otherwise.
func treeDrawer(out io.Writer, st Style, ns, name string) func(Snapshot) (bool, error) {
	last, blocks := "", 0
	return func(s Snapshot) (bool, error) {
		text := fmt.Sprintf("rollout %s/%s not found (deleted?); waiting for it\n", ns, name)
		if s.Rollout != nil {
			text = RenderTree(s, st)
		}
		if text == last {
			return false, nil
		}
		last = text
		switch {
		case st.Terminal:
			text = clearScreen + text
		case blocks > 0:
			text = "\n" + text
		}
		blocks++
		_, err := io.WriteString(out, text)
		return false, err
	}
}

func (e *env) listCommand() *cobra.Command {
	var all bool
	cmd := &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List the Rollouts of the namespace (or of all namespaces with -A)",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, ns, err := e.connect()
			if err != nil {
				return err
			}
			list := &cutoverv1alpha1.RolloutList{}
			var opts []client.ListOption
			where := "in namespace " + ns
			if !all {
				opts = append(opts, client.InNamespace(ns))
			} else {
				where = "in any namespace"
			}
			if err := c.List(cmd.Context(), list, opts...); err != nil {
				return explain(err, "listing rollouts "+where)
			}
			if len(list.Items) == 0 {
				_, err := fmt.Fprintf(e.streams.ErrOut, "No rollouts found %s.\n", where)
				return err
			}
			_, err = io.WriteString(e.streams.Out, RenderList(list.Items, all, e.now()))
			return err
		},
	}
	cmd.Flags().BoolVarP(&all, "all-namespaces", "A", false, "list the Rollouts of every namespace")
	return cmd
}

func (e *env) historyCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "history NAME",
		Short: "Show a Rollout's revisions: their images, outcomes and reasons",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, ns, err := e.connect()
			if err != nil {
				return err
			}
			s, err := snapshot(cmd.Context(), c, ns, args[0], e.now())
			if err != nil {
				return err
			}
			_, err = io.WriteString(e.streams.Out, RenderHistory(s))
			return err
		},
	}
}

func (e *env) statusCommand() *cobra.Command {
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "status NAME",
		Short: "Wait until a Rollout is Healthy (exit 0), Aborted (2), Degraded (3), or the timeout passes (4)",
		Long: "status follows a Rollout from a watch and prints each change of its phase and message.\n" +
			"It exits 0 once the Rollout is Healthy at its current generation, 2 when it is Aborted, 3 when it is\n" +
			"Degraded, 4 when --timeout passes first, and 1 on any other error. A status that describes an older\n" +
			"generation than the spec decides nothing: the controller has not seen the latest change yet.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, ns, err := e.connect()
			if err != nil {
				return err
			}
			return e.waitStatus(cmd.Context(), c, ns, args[0], timeout)
		},
	}
	cmd.Flags().DurationVar(&timeout, "timeout", 0, "give up after this long (exit 4); 0 waits for ever")
	return cmd
}

// waitStatus is `status`: it prints each new verdict and returns the final one as a CodeError.
func (e *env) waitStatus(ctx context.Context, c client.WithWatch, ns, name string, timeout time.Duration) error {
	wctx, cancel := ctx, context.CancelFunc(func() {})
	if timeout > 0 {
		wctx, cancel = context.WithTimeout(ctx, timeout)
	}
	defer cancel()
	last := Verdict{}
	err := e.watchRollout(wctx, c, ns, name, false, func(s Snapshot) (bool, error) {
		if s.Rollout == nil {
			return true, &CodeError{Code: ExitError, Err: fmt.Errorf("rollout %s/%s was deleted", ns, name)}
		}
		v := Evaluate(s.Rollout)
		if v.Reason != last.Reason {
			if _, err := fmt.Fprintln(e.streams.Out, v.Reason); err != nil {
				return true, err
			}
		}
		last = v
		if v.Done && v.Code != ExitOK {
			return true, &CodeError{Code: v.Code, Err: errors.New(v.Reason)}
		}
		return v.Done, nil
	})
	switch {
	case err != nil:
		return err
	case last.Done:
		return nil
	case ctx.Err() != nil:
		return &CodeError{Code: ExitError, Err: fmt.Errorf("interrupted: %w", ctx.Err())}
	default:
		return &CodeError{Code: ExitTimeout, Err: fmt.Errorf("timed out after %s: %s", timeout, orDash(last.Reason))}
	}
}
