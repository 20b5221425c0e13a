package observe

import (
	"strings"

	"github.com/docker/docker/api/types/system"
)

// The daemon reports these conditions only as message text: no-leader and out-of-sequence come
// back as gRPC "Unknown" wrapped in HTTP 500 and not-a-manager as a plain 503, with no errdefs
// type that tells them apart from other failures (docs/swarm-behaviour.md lists the strings and
// where they come from). So this file is the one place that matches daemon strings; everything
// else calls these functions.
const (
	// Raft has no leader: quorum is lost or an election has not finished (moby#34384). The full
	// text is "The swarm does not have a leader. It's possible that too few managers are online.
	// Make sure more than half of the managers are online."; some engines drop the apostrophe,
	// so only the first sentence is matched.
	msgNoLeader = "The swarm does not have a leader"
	// swarmkit's store.ErrSequenceConflict: the node version sent with NodeUpdate is stale.
	msgOutOfSequence = "update out of sequence"
	// daemon/cluster: the call reached a worker, or a manager that is still starting.
	msgNotManager = "This node is not a swarm manager"
)

// IsNoLeader reports whether err says the swarm has no leader, so nothing can be observed or
// changed until quorum is back.
func IsNoLeader(err error) bool { return errorContains(err, msgNoLeader) }

// IsOutOfSequence reports whether err says a node update carried a stale version: re-read the
// node and plan again.
func IsOutOfSequence(err error) bool { return errorContains(err, msgOutOfSequence) }

// IsNotManager reports whether err says the daemon that answered is not a swarm manager, for
// instance after the operator's own node was demoted.
func IsNotManager(err error) bool { return errorContains(err, msgNotManager) }

// NoLeaderFromInfo returns info.Swarm.Error when it says the swarm has no leader, else "".
// When quorum is lost every node call fails but Info still answers with this message, so it is
// how the operator tells "no leader" from "daemon down".
func NoLeaderFromInfo(info system.Info) string {
	if strings.Contains(info.Swarm.Error, msgNoLeader) {
		return info.Swarm.Error
	}
	return ""
}

func errorContains(err error, msg string) bool {
	return err != nil && strings.Contains(err.Error(), msg)
}
