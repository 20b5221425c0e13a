// Command swarmlab brings a real multi-node Docker swarm up on this host (root, Linux) and
// drives it: kill, pause and restart nodes, cut and heal their links, split it into islands.
// Labs of different --instance values run side by side. See package lab.
//
//	eval "$(swarmlab up --nodes 7 --zones a,b,c)"   # prints export DOCKER_HOST=...
//	docker node ls
//	swarmlab kill 2; swarmlab start 2
//	swarmlab down
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/go-logr/logr"
	"github.com/go-logr/zapr"
	"github.com/spf13/cobra"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/swarmtopo/swarmtopo/lab"
)

// opTimeout bounds every command; Up of a large lab is the slowest at well under a minute.
const opTimeout = 5 * time.Minute

func main() {
	if err := newRoot().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "swarmlab:", err)
		os.Exit(1)
	}
}

type globals struct {
	dir      string
	instance int
	verbose  bool
}

func (g *globals) logger() logr.Logger {
	cfg := zap.NewDevelopmentConfig()
	cfg.DisableStacktrace = true
	cfg.EncoderConfig.EncodeLevel = zapcore.CapitalColorLevelEncoder
	if !g.verbose {
		cfg.Level = zap.NewAtomicLevelAt(zap.InfoLevel)
	}
	zl, err := cfg.Build()
	if err != nil {
		return logr.Discard()
	}
	return zapr.NewLogger(zl)
}

// labDir is --dir, or else SWARMLAB_DIR, or else the instance's default directory.
func (g *globals) labDir() string {
	if g.dir != "" {
		return g.dir
	}
	if d := os.Getenv("SWARMLAB_DIR"); d != "" {
		return d
	}
	return lab.InstanceDir(g.instance)
}

func (g *globals) load() (*lab.Lab, error) {
	l, err := lab.Load(g.labDir(), g.logger())
	if err != nil {
		return nil, err
	}
	if got := l.Config().Instance; got != g.instance {
		return nil, fmt.Errorf("lab in %s is instance %d, not --instance %d", g.labDir(), got, g.instance)
	}
	return l, nil
}

func newRoot() *cobra.Command { return newRootWith(&globals{}) }

func newRootWith(g *globals) *cobra.Command {
	root := &cobra.Command{
		Use:           "swarmlab",
		Short:         "Run a multi-node Docker swarm on this host, one dockerd per network namespace",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	inst := 0
	if v := os.Getenv("SWARMLAB_INSTANCE"); v != "" {
		// A malformed value is reported when the command runs, not ignored.
		n, err := strconv.Atoi(v)
		if err != nil {
			n = -1
		}
		inst = n
	}
	root.PersistentFlags().StringVar(&g.dir, "dir", "", "lab directory (env SWARMLAB_DIR; default "+lab.DefaultDir+", or "+lab.DefaultDir+"-K for --instance K)")
	root.PersistentFlags().IntVar(&g.instance, "instance", inst, fmt.Sprintf("lab instance 0..%d: labs of different instances run side by side (env SWARMLAB_INSTANCE)", lab.MaxInstance))
	root.PersistentPreRunE = func(*cobra.Command, []string) error {
		if g.instance < 0 || g.instance > lab.MaxInstance {
			return fmt.Errorf("--instance (or SWARMLAB_INSTANCE=%q) must be 0..%d", os.Getenv("SWARMLAB_INSTANCE"), lab.MaxInstance)
		}
		return nil
	}
	root.PersistentFlags().BoolVarP(&g.verbose, "verbose", "v", false, "log every step")
	root.AddCommand(upCmd(g), downCmd(g), envCmd(g), lsCmd(g),
		nodeCmd(g, "kill", "SIGKILL node N: a crashed machine", (*lab.Lab).Kill),
		nodeCmd(g, "start", "Restart killed node N with its data", (*lab.Lab).Start),
		nodeCmd(g, "partition", "Take node N's link down", (*lab.Lab).Partition),
		nodeCmd(g, "heal", "Bring node N's link back up", (*lab.Lab).Heal),
		nodeCmd(g, "pause", "SIGSTOP every process of node N: it looks unreachable but keeps its state", (*lab.Lab).Pause),
		nodeCmd(g, "resume", "SIGCONT every process of paused node N", (*lab.Lab).Resume),
		nodeCmd(g, "stop", "Stop node N gracefully (SIGTERM); start brings it back", (*lab.Lab).Stop),
		nodeCmd(g, "restart", "Stop node N gracefully and start it again", (*lab.Lab).Restart),
		splitCmd(g), healSplitCmd(g),
	)
	return root
}

func opContext() (context.Context, context.CancelFunc) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	ctx, cancel := context.WithTimeout(ctx, opTimeout)
	return ctx, func() { cancel(); stop() }
}

func upCmd(g *globals) *cobra.Command {
	var (
		nodes, managers int
		zones           string
	)
	cmd := &cobra.Command{
		Use:   "up",
		Short: "Bring a lab up (replacing any earlier one) and print the environment to use it",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, cancel := opContext()
			defer cancel()
			cfg := lab.Config{Instance: g.instance, Nodes: nodes, Managers: managers, Dir: g.labDir(), Log: g.logger()}
			if zones != "" {
				cfg.Zones = strings.Split(zones, ",")
			}
			l, err := lab.Up(ctx, cfg)
			if err != nil {
				return err
			}
			fmt.Fprint(cmd.OutOrStdout(), l.Env())
			return nil
		},
	}
	cmd.Flags().IntVar(&nodes, "nodes", 3, "number of nodes")
	cmd.Flags().IntVar(&managers, "managers", 1, "how many start as managers (node1..nodeM)")
	cmd.Flags().StringVar(&zones, "zones", "", "zones assigned round robin, comma-separated (az label)")
	return cmd
}

func downCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "down",
		Short: "Stop every node and remove the lab, or its leftovers",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			ctx, cancel := opContext()
			defer cancel()
			l, err := g.load()
			if err != nil {
				// No usable state: still remove whatever a crashed run left.
				g.logger().Info("No lab state, cleaning up leftovers", "instance", g.instance, "dir", g.labDir(), "reason", err.Error())
				return lab.CleanupInstance(ctx, g.instance, g.labDir(), g.logger())
			}
			return l.Down(ctx)
		},
	}
}

func envCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "env",
		Short: "Print the environment for the running lab",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			l, err := g.load()
			if err != nil {
				return err
			}
			fmt.Fprint(cmd.OutOrStdout(), l.Env())
			return nil
		},
	}
}

func lsCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "ls",
		Short: "List the lab's nodes",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			l, err := g.load()
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "%-8s %-14s %-6s %-8s %-7s %-26s %s\n", "NODE", "ADDR", "ZONE", "RUNNING", "PAUSED", "ID", "DOCKER_HOST")
			for _, n := range l.Nodes() {
				fmt.Fprintf(w, "%-8s %-14s %-6s %-8t %-7t %-26s %s\n", n.Hostname, n.Addr, n.Zone, n.Running(), l.Paused(n.Index), n.ID, n.DockerHost())
			}
			return nil
		},
	}
}

func nodeCmd(g *globals, name, short string, op func(*lab.Lab, context.Context, int) error) *cobra.Command {
	return &cobra.Command{
		Use:   name + " N",
		Short: short,
		Args:  cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			i, err := parseNode(args[0])
			if err != nil {
				return err
			}
			ctx, cancel := opContext()
			defer cancel()
			l, err := g.load()
			if err != nil {
				return err
			}
			return op(l, ctx, i)
		},
	}
}

func parseNode(s string) (int, error) {
	i, err := strconv.Atoi(strings.TrimPrefix(s, "node"))
	if err != nil {
		return 0, fmt.Errorf("parsing node number %q: %w", s, err)
	}
	return i, nil
}

// parseIslands reads islands written as comma-separated node numbers, one argument each:
// "1,2" "3" is {node1, node2} and {node3}.
func parseIslands(args []string) ([][]int, error) {
	var islands [][]int
	for _, a := range args {
		var island []int
		for _, f := range strings.Split(a, ",") {
			i, err := parseNode(f)
			if err != nil {
				return nil, fmt.Errorf("island %q: %w", a, err)
			}
			island = append(island, i)
		}
		islands = append(islands, island)
	}
	return islands, nil
}

func splitCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "split ISLAND ISLAND...",
		Short: "Split the lab into islands that cannot reach each other, e.g. split 1,2 3",
		Args:  cobra.MinimumNArgs(2),
		RunE: func(_ *cobra.Command, args []string) error {
			islands, err := parseIslands(args)
			if err != nil {
				return err
			}
			ctx, cancel := opContext()
			defer cancel()
			l, err := g.load()
			if err != nil {
				return err
			}
			return l.Split(ctx, islands...)
		},
	}
}

func healSplitCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "heal-split",
		Short: "Join the islands of split again",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			ctx, cancel := opContext()
			defer cancel()
			l, err := g.load()
			if err != nil {
				return err
			}
			return l.HealSplit(ctx)
		},
	}
}
