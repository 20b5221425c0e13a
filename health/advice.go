package health

import (
	"fmt"
	"slices"
	"strings"

	"github.com/swarmtopo/swarmtopo/reconcile"
)

// Severities of advice, most urgent first.
const (
	// SeverityCritical: the swarm cannot be changed, or is one failure from it.
	SeverityCritical = "critical"
	// SeverityWarning: the swarm works, and the admin guide says to fix this.
	SeverityWarning = "warning"
	// SeverityInfo: worth knowing, nothing to fix.
	SeverityInfo = "info"
)

// Advice codes: stable CamelCase names for scripts; the message is for humans.
const (
	CodeQuorumLost          = "QuorumLost"
	CodeNoManagers          = "NoManagers"
	CodeUnreachableManager  = "UnreachableManager"
	CodeSingleManager       = "SingleManager"
	CodeEvenManagerCount    = "EvenManagerCount"
	CodeTooManyManagers     = "TooManyManagers"
	CodeNoZoneLabels        = "NoZoneLabels"
	CodeFewZones            = "FewZones"
	CodeZoneLossLosesQuorum = "ZoneLossLosesQuorum"
	CodeUnlabelledManager   = "UnlabelledManager"
	CodeRoleChangeInFlight  = "RoleChangeInFlight"
	CodePromotionPending    = "PromotionPending"
)

// maxManagers is the count beyond which the admin guide says raft slows down for no gain.
const maxManagers = 7

// Advice is one thing the admin guide says to do about what the report shows.
type Advice struct {
	Severity string `json:"severity"`
	Code     string `json:"code"`
	Message  string `json:"message"`
	// Node is the ID of the node the advice is about, if one.
	Node string `json:"node,omitempty"`
}

// lastResort is the admin guide's way out of a lost quorum, and whose call it is: the same
// words the plan uses.
const lastResort = reconcile.QuorumLostAdvice

// advise lists the advice for r, most urgent first. members are the raft members, pending the
// promotions that cannot complete now (reconcile.PromotionStuck).
func advise(r *Report, members, pending []*reconcile.Node) []Advice {
	out := []Advice{}
	add := func(sev, code, node, format string, args ...any) {
		out = append(out, Advice{Severity: sev, Code: code, Node: node, Message: fmt.Sprintf(format, args...)})
	}
	if r.ClusterError != "" {
		add(SeverityCritical, CodeQuorumLost, "", "The swarm has no leader (%s). %s", strings.TrimSpace(r.ClusterError), lastResort)
		return out
	}
	if r.Members == 0 {
		add(SeverityCritical, CodeNoManagers, "", "The snapshot shows no manager: it was not taken through a swarm manager.")
		return out
	}
	if r.QuorumLost {
		add(SeverityCritical, CodeQuorumLost, "", "Quorum is lost: %d of %d managers are reachable and %d are needed. %s",
			r.Reachable, r.Members, r.Quorum, lastResort)
	}

	for _, n := range members {
		if n.Reachability == reconcile.ReachabilityReachable {
			continue
		}
		sev := SeverityWarning
		if r.FaultTolerance <= 0 {
			// One more failure and the swarm cannot be changed.
			sev = SeverityCritical
		}
		other := "another node"
		if z := n.Labels[r.ZoneLabel]; z != "" {
			other = fmt.Sprintf("another node in zone %s", z)
		}
		add(sev, CodeUnreachableManager, n.ID,
			"Manager %s (%s) is %s: restart its Docker daemon or its machine. If it cannot come back, promote %s "+
				"(`docker node promote NODE`), then `docker node demote %s` and `docker node rm %s` "+
				"(demote first; add --force to the removal if the node cannot be shut down).",
			n.Hostname, n.ID, reachabilityText(n.Reachability), other, n.ID, n.ID)
	}

	switch {
	case r.Members == 1:
		add(SeverityWarning, CodeSingleManager, "",
			"A single manager tolerates no failure: if it is lost, nothing in the swarm can be changed any more. "+
				"Promote two more nodes, in other zones, for three managers.")
	case r.Members%2 == 0:
		fix := fmt.Sprintf("Run %d or %d managers.", r.Members-1, r.Members+1)
		if r.Members-1 < 3 {
			fix = "Run 3 managers."
		}
		add(SeverityWarning, CodeEvenManagerCount, "",
			"%d managers tolerate %s, no more than %d would: an even count adds raft traffic without adding fault tolerance. %s",
			r.Members, failures(r.TableFaultTolerance), r.Members-1, fix)
	}
	if r.Members > maxManagers {
		add(SeverityWarning, CodeTooManyManagers, "",
			"%d managers: every manager adds raft traffic and slows every change; more than %d is rarely worth it "+
				"(%d already tolerate %s).",
			r.Members, maxManagers, maxManagers, failures(reconcile.FaultTolerance(maxManagers, maxManagers)))
	}

	adviseZones(r, members, add)

	for _, n := range pending {
		// Not a matter of seconds: it completes only when the node returns, and until then
		// no other membership change is safe.
		reason, fix := reconcile.StuckPromotion(n)
		add(SeverityWarning, CodePromotionPending, n.ID, "%s. To end it: %s.", capitalise(reason), fix)
	}
	for _, m := range r.Managers {
		if m.Change != "" && !m.Stuck {
			add(SeverityInfo, CodeRoleChangeInFlight, m.ID,
				"%s is being %s; swarm finishes a role change asynchronously, so look again in a few seconds.",
				m.Hostname, strings.TrimSuffix(m.Change, "ing")+"ed")
		}
	}
	sortBySeverity(out)
	return out
}

// adviseZones gives the admin guide's zone advice: managers over at least three zones, and no
// zone holding so many that losing it loses quorum.
func adviseZones(r *Report, members []*reconcile.Node, add func(sev, code, node, format string, args ...any)) {
	if r.Members < 2 {
		// One manager cannot be spread; SingleManager says what to do.
		return
	}
	var labelled []Zone
	for _, z := range r.Zones {
		if z.Name != reconcile.NoZone {
			labelled = append(labelled, z)
		}
	}
	if len(labelled) == 0 {
		add(SeverityWarning, CodeNoZoneLabels, "",
			"No manager has a %q label, so how they are spread cannot be judged. Label every node with its zone "+
				"(`docker node update --label-add %s=ZONE NODE`) and spread the managers over at least three zones.",
			r.ZoneLabel, r.ZoneLabel)
		return
	}
	for _, n := range members {
		if n.Labels[r.ZoneLabel] == "" {
			add(SeverityInfo, CodeUnlabelledManager, n.ID,
				"Manager %s has no %q label, so its zone is unknown: `docker node update --label-add %s=ZONE %s`.",
				n.Hostname, r.ZoneLabel, r.ZoneLabel, n.ID)
		}
	}
	if len(labelled) < 3 && r.Members >= 3 {
		names := make([]string, len(labelled))
		for i, z := range labelled {
			names[i] = z.Name
		}
		add(SeverityWarning, CodeFewZones, "",
			"The managers are in %d zone(s) (%s): losing one zone can lose quorum. Spread them over at least three zones: "+
				"3 managers as 1-1-1, 5 as 2-2-1, 7 as 3-2-2, 9 as 3-3-3.",
			len(labelled), strings.Join(names, ", "))
		return
	}
	if r.Members%2 == 0 {
		// An even count always has a zone whose loss loses quorum once it is spread over
		// three; EvenManagerCount names the fix.
		return
	}
	for _, z := range labelled {
		// Only the shape is judged here: a zone that is lost to an unreachable manager
		// elsewhere has its own advice.
		if z.Managers > r.TableFaultTolerance {
			add(SeverityWarning, CodeZoneLossLosesQuorum, "",
				"Losing zone %s would lose quorum: it holds %d of %d managers, and %d managers keep quorum only if no zone holds more than %d. "+
					"Move a manager from it to another zone.",
				z.Name, z.Managers, r.Members, r.Members, r.TableFaultTolerance)
		}
	}
}

func capitalise(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func sortBySeverity(a []Advice) {
	rank := map[string]int{SeverityCritical: 0, SeverityWarning: 1, SeverityInfo: 2}
	slices.SortStableFunc(a, func(x, y Advice) int { return rank[x.Severity] - rank[y.Severity] })
}

func failures(n int) string {
	if n == 1 {
		return "1 failure"
	}
	return fmt.Sprintf("%d failures", n)
}

func reachabilityText(r reconcile.Reachability) string {
	if r == "" || r == reconcile.ReachabilityUnknown {
		return "of unknown reachability"
	}
	return string(r)
}
