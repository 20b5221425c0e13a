package health

import (
	"cmp"
	"slices"
	"time"

	"github.com/swarmtopo/swarmtopo/reconcile"
	"github.com/swarmtopo/swarmtopo/spec"
)

// Overall states of a Report.
const (
	// StatusHealthy means no advice above info.
	StatusHealthy = "Healthy"
	// StatusDegraded means the swarm works and there is something to fix.
	StatusDegraded = "Degraded"
	// StatusQuorumLost means nothing in the swarm can be changed until managers come back.
	StatusQuorumLost = "QuorumLost"
)

// Role changes in flight, as Manager.Change.
const (
	ChangePromoting = "promoting"
	ChangeDemoting  = "demoting"
)

// Report is the health overview of a swarm's control plane.
type Report struct {
	// Status is StatusHealthy, StatusDegraded or StatusQuorumLost.
	Status string `json:"status"`
	// Time is when the snapshot was taken; zero for a snapshot read from a file.
	Time time.Time `json:"time,omitzero"`
	// ZoneLabel is the node label read as the zone.
	ZoneLabel string `json:"zoneLabel"`
	// Managers are the raft members and the nodes becoming one, by hostname.
	Managers []Manager `json:"managers"`
	// Leader is the leader's hostname; empty when none is seen.
	Leader string `json:"leader,omitempty"`
	// Members counts raft members; Reachable those reachable from the answering manager.
	Members   int `json:"members"`
	Reachable int `json:"reachable"`
	// Quorum is the raft majority of Members.
	Quorum int `json:"quorum"`
	// FaultTolerance is how many more managers may fail before quorum is lost; negative
	// when it already is.
	FaultTolerance int `json:"faultTolerance"`
	// TableFaultTolerance is what the admin guide's table gives for Members managers, all
	// reachable: 1→0, 2→0, 3→1, 4→1, 5→2, 6→2, 7→3, 8→3, 9→4.
	TableFaultTolerance int  `json:"tableFaultTolerance"`
	QuorumLost          bool `json:"quorumLost"`
	// ClusterError is the daemon's answer when the swarm has no leader; nothing else could
	// then be observed.
	ClusterError string `json:"clusterError,omitempty"`
	// Zones are the zones of the raft members, labelled zones by name and unlabelled
	// managers (reconcile.NoZone) last.
	Zones  []Zone   `json:"zones"`
	Advice []Advice `json:"advice"`
}

// Manager is one manager as `docker node ls` shows it.
type Manager struct {
	ID       string `json:"id"`
	Hostname string `json:"hostname"`
	// Zone is the zone label's value; empty when the node has none.
	Zone string `json:"zone"`
	// Reachability is empty for a node not yet in the raft member list.
	Reachability reconcile.Reachability `json:"reachability,omitempty"`
	Leader       bool                   `json:"leader"`
	Availability spec.Availability      `json:"availability"`
	Drained      bool                   `json:"drained"`
	State        reconcile.NodeState    `json:"state"`
	Addr         string                 `json:"addr,omitempty"`
	// Change is ChangePromoting or ChangeDemoting while a role change is in flight.
	Change string `json:"change,omitempty"`
	// Stuck is set for a promotion that cannot complete now and holds every other membership
	// change (advice PromotionPending says what a human can do).
	Stuck bool `json:"stuck,omitempty"`
}

// Zone is the managers of one zone and what losing all of them would do.
type Zone struct {
	// Name is the zone, or reconcile.NoZone for managers without the zone label.
	Name      string `json:"name"`
	Managers  int    `json:"managers"`
	Reachable int    `json:"reachable"`
	// FaultToleranceWithout is the fault tolerance left once every manager of the zone is
	// lost; negative means quorum would be lost.
	FaultToleranceWithout int  `json:"faultToleranceWithout"`
	SurvivesLoss          bool `json:"survivesLoss"`
}

// Assess builds the health overview of snapshot s, reading zones from zoneLabel
// (spec.DefaultZoneLabel if empty).
func Assess(s reconcile.Snapshot, zoneLabel string) Report {
	if zoneLabel == "" {
		zoneLabel = spec.DefaultZoneLabel
	}
	r := Report{Time: s.Time, ZoneLabel: zoneLabel, Managers: []Manager{}, Zones: []Zone{}, Advice: []Advice{}}
	if s.ClusterError != "" {
		// Nothing but the error was observed: no counts can be trusted.
		r.ClusterError = s.ClusterError
		r.QuorumLost = true
		r.FaultTolerance = -1
		r.Advice = advise(&r, nil, nil)
		r.Status = status(&r)
		return r
	}

	zones := map[string]*Zone{}
	var members, pending []*reconcile.Node
	for i := range s.Nodes {
		n := &s.Nodes[i]
		wantsManager := n.DesiredRole == reconcile.RoleManager
		if !n.Member && !wantsManager {
			continue
		}
		m := Manager{ID: n.ID, Hostname: n.Hostname, Zone: n.Labels[zoneLabel], Leader: n.Leader,
			Availability: n.Availability, Drained: n.Availability == spec.AvailabilityDrain, State: n.State, Addr: n.Addr}
		switch {
		case n.Member && !wantsManager:
			m.Change = ChangeDemoting
		case !n.Member:
			m.Change = ChangePromoting
			if reconcile.PromotionStuck(n) {
				m.Stuck = true
				pending = append(pending, n)
			}
		}
		if n.Leader {
			r.Leader = n.Hostname
		}
		r.Managers = append(r.Managers, m)
		if !n.Member {
			continue
		}
		r.Managers[len(r.Managers)-1].Reachability = n.Reachability
		members = append(members, n)
		reachable := n.Reachability == reconcile.ReachabilityReachable
		r.Members++
		name := zoneName(m.Zone)
		z := zones[name]
		if z == nil {
			z = &Zone{Name: name}
			zones[name] = z
		}
		z.Managers++
		if reachable {
			r.Reachable++
			z.Reachable++
		}
	}
	slices.SortFunc(r.Managers, func(a, b Manager) int {
		return cmp.Or(cmp.Compare(a.Hostname, b.Hostname), cmp.Compare(a.ID, b.ID))
	})
	if r.Members > 0 {
		r.Quorum = reconcile.Quorum(r.Members)
	}
	r.FaultTolerance = reconcile.FaultTolerance(r.Members, r.Reachable)
	r.TableFaultTolerance = reconcile.FaultTolerance(r.Members, r.Members)
	r.QuorumLost = r.Members > 0 && r.FaultTolerance < 0

	for _, z := range zones {
		z.FaultToleranceWithout = r.Reachable - z.Reachable - r.Quorum
		z.SurvivesLoss = z.FaultToleranceWithout >= 0
		r.Zones = append(r.Zones, *z)
	}
	slices.SortFunc(r.Zones, func(a, b Zone) int {
		// Unlabelled managers are not a zone: list them after the real ones.
		return cmp.Or(cmp.Compare(boolInt(a.Name == reconcile.NoZone), boolInt(b.Name == reconcile.NoZone)), cmp.Compare(a.Name, b.Name))
	})
	r.Advice = advise(&r, members, pending)
	r.Status = status(&r)
	return r
}

// status is the overall state: quorum first, then whether any advice asks for a fix.
func status(r *Report) string {
	if r.QuorumLost {
		return StatusQuorumLost
	}
	for _, a := range r.Advice {
		if a.Severity != SeverityInfo {
			return StatusDegraded
		}
	}
	return StatusHealthy
}

func zoneName(z string) string {
	if z == "" {
		return reconcile.NoZone
	}
	return z
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
