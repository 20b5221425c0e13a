package maintenance

import (
	"fmt"
	"sort"
	"strings"

	"github.com/swarmtopo/swarmtopo/reconcile"
)

// Resolve finds the node a user named the way the docker CLI does: full ID, then exact
// hostname, then a unique ID prefix. Two nodes with that hostname, or a prefix of several IDs,
// is an error that lists them: the wrong node must never be taken down.
func Resolve(nodes []reconcile.Node, ref string) (*reconcile.Node, error) {
	if ref == "" {
		return nil, fmt.Errorf("no node named")
	}
	for i := range nodes {
		if nodes[i].ID == ref {
			return &nodes[i], nil
		}
	}
	var byName, byPrefix []*reconcile.Node
	for i := range nodes {
		if nodes[i].Hostname == ref {
			byName = append(byName, &nodes[i])
		}
		if strings.HasPrefix(nodes[i].ID, ref) {
			byPrefix = append(byPrefix, &nodes[i])
		}
	}
	for _, found := range [][]*reconcile.Node{byName, byPrefix} {
		switch len(found) {
		case 0:
			continue
		case 1:
			return found[0], nil
		default:
			names := make([]string, len(found))
			for i, n := range found {
				names[i] = n.Hostname + " (" + n.ID + ")"
			}
			sort.Strings(names)
			return nil, fmt.Errorf("node %q is ambiguous: it matches %s; use the full node ID", ref, strings.Join(names, ", "))
		}
	}
	return nil, fmt.Errorf("node %q not found in the swarm (give a node ID, ID prefix or hostname from `docker node ls`)", ref)
}

// CheckTakeDown says whether n may go down now: refused (ErrRefused, with the figures) while
// quorum is already degraded, while a role change is in flight, when taking a manager down
// would lose quorum, or when it would leave the fault tolerance below minFT. A worker going
// down does not touch raft and is refused only for a role change in flight on it.
func CheckTakeDown(s reconcile.Snapshot, n *reconcile.Node, minFT int) error {
	if s.ClusterError != "" {
		return fmt.Errorf("%w: the swarm has no leader: %s", ErrRefused, s.ClusterError)
	}
	members, reachable := s.Members()
	for i := range s.Nodes {
		o := &s.Nodes[i]
		if reconcile.RoleInFlight(o) {
			// A promotion whose node is down still counts: swarm may complete it later.
			return fmt.Errorf("%w: %s is still becoming a %s; wait until that role change settles", ErrRefused, o.Hostname, o.DesiredRole)
		}
	}
	if !n.Member {
		return nil
	}
	if reachable < members {
		var down []string
		for i := range s.Nodes {
			if o := &s.Nodes[i]; o.Member && o.Reachability != reconcile.ReachabilityReachable {
				down = append(down, o.Hostname)
			}
		}
		return fmt.Errorf("%w: quorum is already degraded: %d of %d managers reachable (%s not); bring them back first",
			ErrRefused, reachable, members, strings.Join(down, ", "))
	}
	after := reconcile.FaultTolerance(members, reachable-1)
	if after < 0 {
		return fmt.Errorf("%w: taking manager %s down would leave %d of %d managers reachable, %d needed for quorum",
			ErrRefused, n.Hostname, reachable-1, members, reconcile.Quorum(members))
	}
	if after < minFT {
		return fmt.Errorf("%w: taking manager %s down would leave fault tolerance %d (%d of %d managers reachable); "+
			"spec.policy.maintenance.minFaultTolerance is %d", ErrRefused, n.Hostname, after, reachable-1, members, minFT)
	}
	return nil
}

// Capacity says, for status, whether one manager can be taken down right now, and why not.
func Capacity(s reconcile.Snapshot, minFT int) (ok bool, why string) {
	for i := range s.Nodes {
		n := &s.Nodes[i]
		if !n.Member || n.Leader {
			continue
		}
		if err := CheckTakeDown(s, n, minFT); err != nil {
			return false, strings.TrimPrefix(err.Error(), ErrRefused.Error()+": ")
		}
		members, reachable := s.Members()
		return true, fmt.Sprintf("one manager (not the leader) can go down: fault tolerance %d → %d",
			reconcile.FaultTolerance(members, reachable), reconcile.FaultTolerance(members, reachable-1))
	}
	members, _ := s.Members()
	if members <= 1 {
		return false, "a single manager cannot go down without losing quorum; run three or five"
	}
	return false, "no manager other than the leader"
}
