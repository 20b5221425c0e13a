package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"github.com/swarmtopo/swarmtopo/controller"
	"github.com/swarmtopo/swarmtopo/reconcile"
	"github.com/swarmtopo/swarmtopo/render"
	"github.com/swarmtopo/swarmtopo/service"
	"github.com/swarmtopo/swarmtopo/spec"
)

// runOptions are run's flags.
type runOptions struct {
	file        string
	once        bool
	dryRun      bool
	resync      time.Duration
	stepTimeout time.Duration
	out         formatValue
	// Service mode (run without --once).
	metricsAddr    string
	singleInstance bool
	reloadPoll     time.Duration
	webConfigFile  string
	// progress is --progress; logLevelSet tells whether --log-level was given.
	progress     enumValue
	logLevelSet  bool
	drainTimeout time.Duration
	demotionHold time.Duration
}

func (a *app) runCmd() *cobra.Command {
	o := runOptions{resync: controller.DefaultResync, stepTimeout: controller.DefaultStepTimeout, out: formatValue{name: "text"},
		metricsAddr: service.DefaultAddr, reloadPoll: service.DefaultReloadPoll,
		progress: enumValue{value: "auto", allowed: progressModes}, drainTimeout: controller.DefaultDrainTimeout,
		demotionHold: controller.DefaultDemotionHold}
	cmd := &cobra.Command{
		Use:   "run -f FILE [--once] [--dry-run] [--resync 30s] [--step-timeout 90s] [-o text|json|markdown]",
		Short: "Reconcile the live swarm with the topology, one quorum-safe step at a time",
		Long: `Reconcile the swarm at DOCKER_HOST with the topology, one quorum-safe step at a time:
observe, plan, apply the first step, wait for it to settle, and again. It wakes on node events
and re-lists every --resync. SIGTERM or SIGINT stops it cleanly (exit 0) once the step in hand
has settled or been given up; a second signal ends it at once.

--once applies steps until the swarm has converged or the plan is blocked, prints the final
plan, and exits 0 converged, 3 blocked, 1 error, 2 when a promotion is pending that only its
node's return or a human can finish (the plan says how), 4 as close as the nodes allow but
the file cannot be met.
--dry-run makes no change at all: each pass prints the plan on stdout. With --once it does a
single pass and exits like plan: 0 converged, 2 steps pending, 3 blocked, 4 cannot be met,
1 error.`,
		Example: `  swarmtopo run -f prod.yaml
  swarmtopo run -f prod.yaml --once -o json
  swarmtopo run -f prod.yaml --dry-run --resync 1m`,
		Args: cobra.NoArgs,
		PreRunE: func(*cobra.Command, []string) error {
			if o.resync <= 0 {
				return fmt.Errorf("--resync must be positive, got %s", o.resync)
			}
			if o.stepTimeout <= 0 {
				return fmt.Errorf("--step-timeout must be positive, got %s", o.stepTimeout)
			}
			if o.drainTimeout <= 0 {
				return fmt.Errorf("--drain-timeout must be positive, got %s", o.drainTimeout)
			}
			if o.demotionHold <= 0 {
				return fmt.Errorf("--demotion-hold must be positive, got %s", o.demotionHold)
			}
			return nil
		},
		RunE: guard(func(cmd *cobra.Command, _ []string) error {
			o.logLevelSet = cmd.Flags().Changed("log-level")
			return a.run(cmd.Context(), &o)
		}),
	}
	addFileFlag(cmd, &o.file)
	f := cmd.Flags()
	f.BoolVar(&o.once, "once", false, "apply until converged or blocked, print the final plan and exit")
	f.BoolVar(&o.dryRun, "dry-run", false, "never change the swarm: print the plan of each pass")
	f.DurationVar(&o.resync, "resync", o.resync, "re-list the swarm this often even without node events")
	f.DurationVar(&o.stepTimeout, "step-timeout", o.stepTimeout, "how long one step may take to settle before it is reported")
	f.DurationVar(&o.drainTimeout, "drain-timeout", o.drainTimeout,
		"how long a drain may wait, once it reads back, for the node's tasks to stop and run elsewhere")
	f.DurationVar(&o.demotionHold, "demotion-hold", o.demotionHold,
		"how long after a node left raft by a demotion the next membership change waits, while a leader is seen (the node may rejoin raft until it holds a worker certificate)")
	f.StringVar(&o.metricsAddr, "metrics-addr", o.metricsAddr, "serve /metrics, /healthz, /readyz and /status on this host:port (not with --once)")
	f.BoolVar(&o.singleInstance, "single-instance", false,
		"act through whatever manager DOCKER_HOST names, without checking that its node is the raft leader; only when exactly one swarmtopo runs")
	f.DurationVar(&o.reloadPoll, "reload-poll", o.reloadPoll, "re-read the topology file this often even without a file event")
	f.StringVar(&o.webConfigFile, "web.config.file", "",
		"Prometheus exporter web config (TLS, client certificates, basic auth) for the --metrics-addr endpoints; plain HTTP without it")
	_ = cmd.MarkFlagFilename("web.config.file", "yml", "yaml")
	addOutputFlag(cmd, &o.out, "plan format for --once and --dry-run")
	f.Var(&o.progress, "progress", "live progress view of --once: auto (when stdout is a terminal)|always|never")
	_ = cmd.RegisterFlagCompletionFunc("progress", cobra.FixedCompletions(progressModes, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

// run wires the controller: applied once (--once), or as the long-running service.
func (a *app) run(ctx context.Context, o *runOptions) error {
	format, err := o.out.format()
	if err != nil {
		return err
	}
	view, err := a.progressView(o, format)
	if err != nil {
		return err
	}
	t, err := a.loadTopology(o.file)
	if err != nil {
		return err
	}
	a.log.Info("Topology loaded", "file", o.file, "name", t.Metadata.Name)
	d, err := a.newDocker()
	if err != nil {
		return fmt.Errorf("connecting to Docker: %w", err)
	}
	defer d.Close()

	opts := controller.Options{
		Topology:     func() *spec.SwarmTopology { return t },
		Docker:       d,
		Log:          a.log,
		DryRun:       o.dryRun,
		Resync:       o.resync,
		StepTimeout:  o.stepTimeout,
		DrainTimeout: o.drainTimeout,
		DemotionHold: o.demotionHold,
	}
	if o.dryRun && !o.once {
		opts.OnPlan = func(p *reconcile.Plan) {
			if err := render.Write(a.stdout, format, p); err != nil {
				a.log.Error(err, "Cannot write plan")
			}
		}
	}
	if a.tune != nil {
		a.tune(&opts)
	}
	if o.once {
		if view != nil {
			view.Hook(&opts)
			view.Start(t.Metadata.Name)
		}
		p, err := controller.New(opts).Once(ctx)
		// The view's last frame says how the run ended, in place of the final plan.
		drawn := false
		if view != nil {
			verr := view.Finish(p, err)
			drawn = verr == nil
			if verr != nil {
				a.log.Error(verr, "Cannot draw the progress view; printing the plan")
			}
		}
		if !drawn && p != nil {
			// Also on error: the last plan tells where the swarm stands.
			if werr := render.Write(a.stdout, format, p); werr != nil && err == nil {
				err = fmt.Errorf("writing plan: %w", werr)
			}
		}
		if err != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("stopped before the swarm converged: %w", err)
			}
			return fmt.Errorf("reconciling: %w", err)
		}
		if p == nil {
			return errors.New("reconciling: the controller returned no plan")
		}
		return exitWith(planCode(p))
	}

	// The service watches the file (a new valid one is used at once, an invalid one refused
	// while the last good stays in force), serves metrics and health, and lets only the
	// instance on the raft leader act unless --single-instance.
	svc, err := service.New(service.Config{
		File:           o.file,
		Addr:           o.metricsAddr,
		WebConfigFile:  o.webConfigFile,
		Docker:         d,
		Log:            a.log,
		Controller:     opts,
		SingleInstance: o.singleInstance,
		Reload:         service.ReloaderOptions{Poll: o.reloadPoll},
		Now:            a.now,
	})
	if err != nil {
		return fmt.Errorf("starting service: %w", err)
	}
	// Run returns nil once a stop was asked for, the step in hand has settled or been given
	// up, and the HTTP server has drained; that is a clean exit.
	return svc.Run(ctx)
}
