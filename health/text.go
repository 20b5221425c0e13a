package health

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/swarmtopo/swarmtopo/reconcile"
)

// WriteText writes r for a human: the summary, the managers as `docker node ls` would list
// them, the zones and what losing each would do, and the advice.
func WriteText(w io.Writer, r Report) error {
	ew := &errWriter{w: w}
	ew.printf("Control plane: %s\n", r.Status)
	if r.ClusterError != "" {
		ew.printf("The swarm has no leader, so nothing else could be observed.\n")
	} else {
		ew.printf("Managers: %d (%d reachable), quorum %d, fault tolerance %d", r.Members, r.Reachable, r.Quorum, r.FaultTolerance)
		ew.printf(" (%d managers tolerate %s when all are reachable)\n", r.Members, failures(r.TableFaultTolerance))
		leader := r.Leader
		if leader == "" {
			leader = "none seen"
		}
		ew.printf("Leader: %s\n", leader)
	}

	if len(r.Managers) > 0 {
		ew.printf("\n")
		tw := tabwriter.NewWriter(ew, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "HOSTNAME\tID\tZONE\tREACHABILITY\tLEADER\tAVAILABILITY\tSTATE")
		for _, m := range r.Managers {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", m.Hostname, m.ID, orDash(m.Zone), reachabilityCell(m),
				yesBlank(m.Leader, "leader"), m.Availability, m.State)
		}
		_ = tw.Flush()
	}

	if len(r.Zones) > 0 {
		ew.printf("\n")
		tw := tabwriter.NewWriter(ew, 0, 0, 2, ' ', 0)
		fmt.Fprintf(tw, "ZONE (%s)\tMANAGERS\tREACHABLE\tIF THE ZONE IS LOST\n", r.ZoneLabel)
		for _, z := range r.Zones {
			fmt.Fprintf(tw, "%s\t%d\t%d\t%s\n", z.Name, z.Managers, z.Reachable, lossCell(z))
		}
		_ = tw.Flush()
	}

	ew.printf("\n")
	if len(r.Advice) == 0 {
		ew.printf("Advice: none; the control plane follows the admin guide.\n")
		return ew.err
	}
	ew.printf("Advice:\n")
	for _, a := range r.Advice {
		ew.printf("  [%s] %s\n", a.Severity, a.Message)
	}
	return ew.err
}

func reachabilityCell(m Manager) string {
	parts := []string{}
	if m.Reachability != "" {
		parts = append(parts, string(m.Reachability))
	}
	if m.Change != "" {
		parts = append(parts, m.Change)
	}
	return orDash(strings.Join(parts, ", "))
}

func lossCell(z Zone) string {
	if !z.SurvivesLoss {
		return "quorum lost"
	}
	return fmt.Sprintf("quorum kept, fault tolerance %d", z.FaultToleranceWithout)
}

func orDash(s string) string {
	if s == "" || s == reconcile.NoZone {
		return "-"
	}
	return s
}

func yesBlank(b bool, yes string) string {
	if b {
		return yes
	}
	return ""
}

// errWriter keeps the first write error so the rendering code stays readable.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	e.err = err
	return n, err
}

func (e *errWriter) printf(format string, args ...any) {
	_, _ = fmt.Fprintf(e, format, args...)
}
