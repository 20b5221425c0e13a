package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"
	"github.com/swarmtopo/swarmtopo/controller"
	"github.com/swarmtopo/swarmtopo/observe"
	"github.com/swarmtopo/swarmtopo/reconcile"
	"github.com/swarmtopo/swarmtopo/render"
)

func (a *app) planCmd() *cobra.Command {
	var file, state string
	out := formatValue{name: "text"}
	cmd := &cobra.Command{
		Use:   "plan -f FILE [--state SNAPSHOT] [-o text|json|markdown]",
		Short: "Print the quorum-safe steps that would take the swarm to the topology",
		Long: `Print the quorum-safe steps that would take the swarm to the topology. Nothing is changed.

Without --state, plan observes the live swarm at DOCKER_HOST (DOCKER_TLS_VERIFY and
DOCKER_CERT_PATH work too) with read-only calls. With --state it plans from a saved snapshot:
exactly the JSON array that 'docker node inspect $(docker node ls -q)' prints.

Exit codes: 0 converged, 1 error, 2 steps pending (or a role change in flight), 3 blocked,
4 nothing left to do but the nodes cannot meet the file.
With -o json the plan is always one JSON object on stdout, also when blocked.`,
		Example: `  swarmtopo plan -f prod.yaml
  docker node inspect $(docker node ls -q) > nodes.json
  swarmtopo plan -f prod.yaml --state nodes.json -o markdown`,
		Args: cobra.NoArgs,
		RunE: guard(func(cmd *cobra.Command, _ []string) error {
			format, err := out.format()
			if err != nil {
				return err
			}
			t, err := a.loadTopology(file)
			if err != nil {
				return err
			}
			snap, err := a.snapshot(cmd.Context(), state)
			if err != nil {
				return err
			}
			p, err := reconcile.Compute(t, snap)
			if err != nil {
				return fmt.Errorf("planning: %w", err)
			}
			if err := render.Write(a.stdout, format, p); err != nil {
				return fmt.Errorf("writing plan: %w", err)
			}
			return exitWith(planCode(p))
		}),
	}
	addFileFlag(cmd, &file)
	cmd.Flags().StringVar(&state, "state", "",
		"plan from a saved `SNAPSHOT` (docker node inspect output; - for stdin) instead of the live swarm")
	_ = cmd.MarkFlagFilename("state", "json")
	addOutputFlag(cmd, &out, "plan format")
	return cmd
}

// snapshot reads the swarm from a saved node inspect file (path, or - for stdin), or from the
// live swarm when path is empty.
func (a *app) snapshot(ctx context.Context, path string) (reconcile.Snapshot, error) {
	if path == "" {
		return a.observeLive(ctx)
	}
	var (
		data []byte
		err  error
	)
	if path == "-" {
		data, err = io.ReadAll(a.stdin)
	} else {
		data, err = os.ReadFile(path)
	}
	if err != nil {
		return reconcile.Snapshot{}, fmt.Errorf("reading snapshot: %w", err)
	}
	snap, err := observe.ParseInspect(data)
	if err != nil {
		return reconcile.Snapshot{}, fmt.Errorf("parsing snapshot %s: %w", path, err)
	}
	// A saved snapshot does not say when it was taken; the planner then treats unreachable
	// managers as past their grace period, whatever the time.
	snap.Time = a.now()
	return snap, nil
}

// observeLive reads the swarm through DOCKER_HOST with read-only calls.
func (a *app) observeLive(ctx context.Context) (reconcile.Snapshot, error) {
	d, err := a.newDocker()
	if err != nil {
		return reconcile.Snapshot{}, fmt.Errorf("connecting to Docker: %w", err)
	}
	defer d.Close()
	snap, err := controller.Observe(ctx, d, a.now())
	if err != nil {
		return reconcile.Snapshot{}, fmt.Errorf("observing the swarm: %w", err)
	}
	return snap, nil
}
