package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/user"
	"time"

	"github.com/spf13/cobra"

	"github.com/swarmtopo/swarmtopo/controller"
	"github.com/swarmtopo/swarmtopo/maintenance"
)

// codeCommandFailed is the exit code of `maintenance run` when the command it ran failed.
const codeCommandFailed = 5

// maintenanceCmd groups the planned-maintenance commands.
func (a *app) maintenanceCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "maintenance start|end|list|run",
		Short: "Take one node down on purpose (backup, patching, upgrade) under a swarm-wide lock, never losing quorum",
		Long: `Planned maintenance, one node at a time, cluster-wide. The lock lives in the swarm itself (a
label on the swarm object written with compare-and-swap), so every script, every swarmtopo
instance and every admin sees the same one. Taking a manager down is refused when it would lose
quorum, leave the fault tolerance below spec.policy.maintenance.minFaultTolerance (-f FILE), while
quorum is already degraded, or while a role change is in flight.

Exit codes: 0 done, 1 error, 3 refused (with the reason), 5 the command given to run failed.`,
	}
	cmd.AddCommand(a.maintenanceStartCmd(), a.maintenanceEndCmd(), a.maintenanceListCmd(), a.maintenanceRunCmd())
	return cmd
}

// maintenanceFlags are the flags start and run share.
type maintenanceFlags struct {
	file, reason, ttl, holder string
}

func (m *maintenanceFlags) add(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVarP(&m.file, "file", "f", "", "topology file to take spec.policy.maintenance from")
	f.StringVar(&m.reason, "reason", "", "why the node goes down, shown to everyone who looks")
	f.StringVar(&m.ttl, "ttl", maintenance.DefaultTTL.String(), "how long the lock holds if it is not ended")
	f.StringVar(&m.holder, "holder", defaultHolder(), "who holds the lock")
}

func (m *maintenanceFlags) request(a *app, node string) (maintenance.Request, error) {
	ttl, err := maintenance.ParseTTL(m.ttl)
	if err != nil {
		return maintenance.Request{}, err
	}
	r := maintenance.Request{Node: node, Holder: m.holder, Reason: m.reason, TTL: ttl}
	if m.file != "" {
		t, err := a.loadTopology(m.file)
		if err != nil {
			return r, err
		}
		r.MinFaultTolerance = t.Spec.Policy.MinMaintenanceFaultTolerance()
	}
	return r, nil
}

func defaultHolder() string {
	name := "unknown"
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	host, _ := os.Hostname()
	return name + "@" + host
}

// maintenanceDocker connects and checks that the connection has the swarm and task calls.
func (a *app) maintenanceDocker() (maintenance.Docker, func(), error) {
	d, err := a.newDocker()
	if err != nil {
		return nil, nil, fmt.Errorf("connecting to Docker: %w", err)
	}
	md, ok := d.(maintenance.Docker)
	if !ok {
		d.Close()
		return nil, nil, errors.New("the Docker connection does not offer the swarm and task calls maintenance needs")
	}
	return md, func() { d.Close() }, nil
}

// maintenanceErr maps a refusal to exit code 3, other errors to 1.
func (a *app) maintenanceErr(err error) error {
	if errors.Is(err, maintenance.ErrRefused) || errors.Is(err, maintenance.ErrForeign) || errors.Is(err, maintenance.ErrLost) {
		fmt.Fprintln(a.stderr, "refused:", err)
		return exitWith(codeBlocked)
	}
	return err
}

func (a *app) maintenanceStartCmd() *cobra.Command {
	var m maintenanceFlags
	var drainIt bool
	cmd := &cobra.Command{
		Use:   "start NODE [--reason TEXT] [--ttl 30m] [--drain] [-f FILE]",
		Short: "Take the maintenance lock for NODE (and drain it, waiting for its tasks)",
		Example: `  swarmtopo maintenance start node2 --reason "kernel update" --ttl 1h
  swarmtopo maintenance start node2 --drain -f prod.yaml`,
		Args: cobra.ExactArgs(1),
		RunE: guard(func(cmd *cobra.Command, args []string) error {
			r, err := m.request(a, args[0])
			if err != nil {
				return err
			}
			d, done, err := a.maintenanceDocker()
			if err != nil {
				return err
			}
			defer done()
			l, err := maintenance.Start(cmd.Context(), d, r, a.now)
			if err != nil {
				return a.maintenanceErr(err)
			}
			if drainIt {
				if err := maintenance.Drain(cmd.Context(), d, l, maintenance.RunOptions{Log: a.log, Now: a.now}); err != nil {
					return fmt.Errorf("%w; %s stays in maintenance until %s", err, l.Hostname, l.Expiry.Format(time.RFC3339))
				}
			}
			fmt.Fprintf(a.stdout, "maintenance started: %s\n", l)
			return nil
		}),
	}
	m.add(cmd)
	cmd.Flags().BoolVar(&drainIt, "drain", false, "drain the node and wait until its tasks run elsewhere")
	return cmd
}

func (a *app) maintenanceEndCmd() *cobra.Command {
	var holder string
	var force bool
	cmd := &cobra.Command{
		Use:   "end NODE [--force]",
		Short: "Release the maintenance lock of NODE and put back the availability it had",
		Args:  cobra.ExactArgs(1),
		RunE: guard(func(cmd *cobra.Command, args []string) error {
			d, done, err := a.maintenanceDocker()
			if err != nil {
				return err
			}
			defer done()
			res, err := maintenance.End(cmd.Context(), d, args[0], holder, force, a.now)
			if err != nil {
				return a.maintenanceErr(err)
			}
			switch {
			case res.Lock == nil:
				fmt.Fprintln(a.stdout, "removed a lock label that was not a valid lock")
			case res.Expired:
				fmt.Fprintf(a.stdout, "the lock had already expired at %s; removed: %s\n", res.Lock.Expiry.Format(time.RFC3339), res.Lock)
			default:
				fmt.Fprintf(a.stdout, "maintenance ended: %s\n", res.Lock)
			}
			if res.Restored != "" {
				fmt.Fprintf(a.stdout, "availability put back to %s\n", res.Restored)
			}
			return nil
		}),
	}
	cmd.Flags().StringVar(&holder, "holder", defaultHolder(), "who holds the lock")
	cmd.Flags().BoolVar(&force, "force", false, "end another holder's lock, or remove a label that is not a lock")
	return cmd
}

func (a *app) maintenanceListCmd() *cobra.Command {
	out := enumValue{value: "text", allowed: []string{"text", "json"}}
	cmd := &cobra.Command{
		Use:   "list [-o text|json]",
		Short: "Show the node in maintenance, if any, and whether a manager can be taken down now",
		Args:  cobra.NoArgs,
		RunE: guard(func(cmd *cobra.Command, _ []string) error {
			d, done, err := a.maintenanceDocker()
			if err != nil {
				return err
			}
			defer done()
			st, err := maintenance.Read(cmd.Context(), d)
			if err != nil {
				return err
			}
			s, err := controller.Observe(cmd.Context(), d, a.now())
			if err != nil {
				return fmt.Errorf("observing swarm: %w", err)
			}
			v := maintenance.Describe(st, s, a.now(), 0)
			if out.value == "json" {
				enc := json.NewEncoder(a.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(v)
			}
			return maintenance.WriteText(a.stdout, v)
		}),
	}
	cmd.Flags().VarP(&out, "output", "o", "output format: text|json")
	return cmd
}

func (a *app) maintenanceRunCmd() *cobra.Command {
	var m maintenanceFlags
	var o maintenance.RunOptions
	cmd := &cobra.Command{
		Use:   "run NODE [--drain] [--ttl 30m] -- COMMAND [ARG...]",
		Short: "Take the lock, drain if asked, run COMMAND, wait until the node is back, put it back, release the lock",
		Long: `run takes the lock for NODE, drains it if asked (waiting until its tasks run elsewhere), runs
COMMAND (with SWARMTOPO_NODE and SWARMTOPO_HOSTNAME set), waits until the node is back (ready, and
a reachable raft member if it is a manager), puts its availability back and releases the lock.
If the command fails or the node does not come back, the lock is kept until its TTL so that
nothing replaces the node meanwhile. Reach the swarm through another manager than NODE.`,
		Example: `  # The admin guide's backup of a (non-leader) manager:
  swarmtopo maintenance run node2 --reason backup -- \
    ssh node2 'systemctl stop docker && tar czf /backup/swarm-$(date +%F).tgz -C /var/lib/docker swarm && systemctl start docker'`,
		Args: cobra.MinimumNArgs(2),
		RunE: guard(func(cmd *cobra.Command, args []string) error {
			if cmd.ArgsLenAtDash() != 1 {
				return errors.New("give the node, then -- and the command: maintenance run NODE -- COMMAND")
			}
			r, err := m.request(a, args[0])
			if err != nil {
				return err
			}
			d, done, err := a.maintenanceDocker()
			if err != nil {
				return err
			}
			defer done()
			o.Command, o.Log, o.Now = args[1:], a.log, a.now
			l, err := maintenance.Run(cmd.Context(), d, r, o)
			if errors.Is(err, maintenance.ErrCommand) {
				fmt.Fprintln(a.stderr, err)
				return exitWith(codeCommandFailed)
			}
			if err != nil {
				return a.maintenanceErr(err)
			}
			fmt.Fprintf(a.stdout, "maintenance done: %s (%s) is back and the lock is released\n", l.Hostname, l.Node)
			return nil
		}),
	}
	m.add(cmd)
	f := cmd.Flags()
	f.BoolVar(&o.Drain, "drain", false, "drain the node first and wait until its tasks run elsewhere")
	f.DurationVar(&o.DrainTimeout, "drain-timeout", maintenance.DefaultDrainTimeout, "how long to wait for the drain")
	f.DurationVar(&o.WaitTimeout, "wait-timeout", maintenance.DefaultWaitTimeout, "how long to wait for the node to come back after the command")
	f.DurationVar(&o.Stable, "stable-for", maintenance.DefaultStable, "how long the node must read back healthy without a break to count as back")
	return cmd
}
