package main

import (
	"io"
	"time"

	"github.com/go-logr/logr"
	"github.com/spf13/cobra"
	"github.com/swarmtopo/swarmtopo/controller"
)

// dockerClient is what the commands need of a Docker connection: the controller's narrow
// interface and a way to close it.
type dockerClient interface {
	controller.Docker
	Close() error
}

// app holds what every command shares: the streams, the global flags, the logger, and the
// seams tests replace (the Docker connection and the clock).
type app struct {
	stdin          io.Reader
	stdout, stderr io.Writer

	logLevel  enumValue
	logFormat enumValue
	log       logr.Logger
	flushLog  func()

	newDocker func() (dockerClient, error)
	now       func() time.Time
	// tune, if set, adjusts the controller's options before it starts (tests: poll faster).
	tune func(*controller.Options)
}

func newApp(stdin io.Reader, stdout, stderr io.Writer) *app {
	return &app{
		stdin:     stdin,
		stdout:    stdout,
		stderr:    stderr,
		logLevel:  enumValue{value: "info", allowed: logLevels},
		logFormat: enumValue{allowed: logFormats},
		log:       logr.Discard(),
		flushLog:  func() {},
		newDocker: func() (dockerClient, error) { return controller.NewDockerFromEnv() },
		now:       time.Now,
	}
}

func (a *app) rootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "swarmtopo",
		Short: "Keep a Docker Swarm's control plane in the shape of a topology file, never losing quorum",
		Long: `swarmtopo makes a Docker Swarm's control plane (manager count, zone spread, manager
availability, node labels, worker availability) match a declarative topology file, one
quorum-safe step at a time.

Exit codes of plan and run: 0 converged, 1 error, 2 steps pending, 3 blocked.`,
		Version: version,
		// Runtime errors are not usage errors: main prints them, without the usage text.
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(*cobra.Command, []string) error {
			log, flush, err := newLogger(a.stderr, a.logLevel.value, a.logFormat.value)
			if err != nil {
				return err
			}
			a.log, a.flushLog = log, flush
			return nil
		},
	}
	root.SetVersionTemplate(versionText())

	pf := root.PersistentFlags()
	pf.Var(&a.logLevel, "log-level", "log level on stderr: debug|info|warn|error")
	pf.Var(&a.logFormat, "log-format", "log format on stderr: json|console (default console on a terminal, else json)")
	_ = root.RegisterFlagCompletionFunc("log-level", cobra.FixedCompletions(logLevels, cobra.ShellCompDirectiveNoFileComp))
	_ = root.RegisterFlagCompletionFunc("log-format", cobra.FixedCompletions(logFormats, cobra.ShellCompDirectiveNoFileComp))

	root.AddCommand(a.validateCmd(), a.planCmd(), a.runCmd(), a.statusCmd(), a.healthcheckCmd(), a.versionCmd(),
		a.maintenanceCmd(), a.exportCmd())
	return root
}
