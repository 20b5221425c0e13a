package observe

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/docker/docker/api/types/swarm"

	"github.com/swarmtopo/swarmtopo/reconcile"
	"github.com/swarmtopo/swarmtopo/spec"
)

// FromSwarm converts the nodes the daemon listed into a snapshot taken at now. self is the ID of
// the node the operator runs on (Info().Swarm.NodeID), or "" when unknown.
//
// It is strict on what the planner relies on (IDs, roles, availability, state, reachability,
// one leader) and ignores everything else. Nodes come out sorted by hostname, then ID, so the
// same swarm always gives the same snapshot whatever order the daemon listed it in.
func FromSwarm(nodes []swarm.Node, self string, now time.Time) (reconcile.Snapshot, error) {
	if len(nodes) == 0 {
		// A swarm always has at least the node that answered.
		return reconcile.Snapshot{}, fmt.Errorf("%w: no nodes", ErrInvalidSnapshot)
	}
	out := make([]reconcile.Node, len(nodes))
	seen := make(map[string]int, len(nodes))
	leader := -1
	for i := range nodes {
		n, err := convertNode(i, &nodes[i])
		if err != nil {
			return reconcile.Snapshot{}, err
		}
		if j, dup := seen[n.ID]; dup {
			return reconcile.Snapshot{}, nodeError(i, n, "ID", fmt.Sprintf("same ID as node [%d]", j))
		}
		seen[n.ID] = i
		if n.Leader {
			if leader >= 0 {
				// `docker node inspect` asks for one node at a time, so a file can catch an
				// election half-way; its roles cannot be trusted.
				return reconcile.Snapshot{}, nodeError(i, n, "ManagerStatus.Leader",
					fmt.Sprintf("node [%d] is leader too; the snapshot was taken during an election, take it again", leader))
			}
			leader = i
		}
		out[i] = n
	}
	if _, ok := seen[self]; self != "" && !ok {
		return reconcile.Snapshot{}, fmt.Errorf("%w: own node %q is not among the %d nodes", ErrInvalidSnapshot, self, len(nodes))
	}
	slices.SortFunc(out, func(a, b reconcile.Node) int {
		return cmp.Or(cmp.Compare(a.Hostname, b.Hostname), cmp.Compare(a.ID, b.ID))
	})
	return reconcile.Snapshot{Nodes: out, Self: self, Time: now}, nil
}

func convertNode(i int, in *swarm.Node) (reconcile.Node, error) {
	n := reconcile.Node{
		ID:           in.ID,
		Version:      in.Version.Index,
		Hostname:     in.Description.Hostname,
		DesiredRole:  reconcile.Role(in.Spec.Role),
		Availability: spec.Availability(in.Spec.Availability),
		State:        reconcile.NodeState(in.Status.State),
		UpdatedAt:    in.UpdatedAt,
	}
	if len(in.Spec.Labels) > 0 {
		// Copied so a caller that edits the snapshot cannot change the client's node.
		n.Labels = maps.Clone(in.Spec.Labels)
	}
	if n.ID == "" {
		return n, nodeError(i, n, "ID", "missing")
	}
	switch n.DesiredRole {
	case reconcile.RoleManager, reconcile.RoleWorker:
	default:
		return n, nodeError(i, n, "Spec.Role", badValue(string(n.DesiredRole), "manager", "worker"))
	}
	switch n.Availability {
	case spec.AvailabilityActive, spec.AvailabilityPause, spec.AvailabilityDrain:
	default:
		return n, nodeError(i, n, "Spec.Availability", badValue(string(n.Availability), "active", "pause", "drain"))
	}
	switch n.State {
	case reconcile.StateReady, reconcile.StateDown, reconcile.StateUnknown, reconcile.StateDisconnected:
	default:
		return n, nodeError(i, n, "Status.State", badValue(string(n.State), "ready", "down", "unknown", "disconnected"))
	}
	// ManagerStatus comes from the raft member list, not from Spec.Role: it is the observed role.
	if ms := in.ManagerStatus; ms != nil {
		n.Member = true
		n.Reachability = reconcile.Reachability(ms.Reachability)
		n.Leader = ms.Leader
		n.Addr = ms.Addr
		switch n.Reachability {
		case reconcile.ReachabilityReachable, reconcile.ReachabilityUnreachable, reconcile.ReachabilityUnknown:
		default:
			return n, nodeError(i, n, "ManagerStatus.Reachability", badValue(string(n.Reachability), "reachable", "unreachable", "unknown"))
		}
	}
	return n, nil
}

func nodeError(i int, n reconcile.Node, field, problem string) *NodeError {
	return &NodeError{Index: i, ID: n.ID, Hostname: n.Hostname, Field: field, Problem: problem}
}

func badValue(got string, want ...string) string {
	list := fmt.Sprintf("%q", want[0])
	for _, w := range want[1 : len(want)-1] {
		list += fmt.Sprintf(", %q", w)
	}
	list += fmt.Sprintf(" or %q", want[len(want)-1])
	if got == "" {
		return "missing; want " + list
	}
	return fmt.Sprintf("unknown value %q; want %s", got, list)
}
