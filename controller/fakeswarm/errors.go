package fakeswarm

import (
	"fmt"

	cerrdefs "github.com/containerd/errdefs"
)

// Daemon messages, worded exactly as the daemon words them, since callers match some of them.
const (
	MsgNoLeader      = "rpc error: code = Unknown desc = The swarm does not have a leader. It's possible that too few managers are online. Make sure more than half of the managers are online."
	MsgOutOfSequence = "rpc error: code = Unknown desc = update out of sequence"
	MsgNotManager    = "This node is not a swarm manager. Worker nodes can't be used to view or modify cluster state. Please run this command on a manager node or promote the current node to a manager."
	MsgLastManager   = "rpc error: code = FailedPrecondition desc = attempting to demote the last manager of the swarm"
	MsgNotInRaft     = "rpc error: code = NotFound desc = can't find manager in raft memberlist"
	MsgLoseQuorum    = "rpc error: code = FailedPrecondition desc = can't remove member from the raft: this would result in a loss of quorum"
)

// daemonError looks like what the Docker client returns for an error response: the daemon's
// message behind "Error response from daemon: " and an errdefs class from the HTTP status.
type daemonError struct {
	msg  string
	kind error
}

func (e *daemonError) Error() string { return "Error response from daemon: " + e.msg }
func (e *daemonError) Unwrap() error { return e.kind }

func errNoLeader() error      { return &daemonError{MsgNoLeader, cerrdefs.ErrInternal} }
func errOutOfSequence() error { return &daemonError{MsgOutOfSequence, cerrdefs.ErrInternal} }
func errNotManager() error    { return &daemonError{MsgNotManager, cerrdefs.ErrUnavailable} }
func errLastManager() error   { return &daemonError{MsgLastManager, cerrdefs.ErrInvalidArgument} }
func errNotInRaft() error     { return &daemonError{MsgNotInRaft, cerrdefs.ErrNotFound} }
func errLoseQuorum() error    { return &daemonError{MsgLoseQuorum, cerrdefs.ErrInvalidArgument} }

func errNodeNotFound(id string) error {
	return &daemonError{fmt.Sprintf("node %s not found", id), cerrdefs.ErrNotFound}
}

func errRemoveManager(id string) error {
	return &daemonError{fmt.Sprintf("rpc error: code = FailedPrecondition desc = node %s is a cluster manager and is a member of the raft cluster. It must be demoted to worker before removal", id), cerrdefs.ErrInvalidArgument}
}

func errNotDown(id string) error {
	return &daemonError{fmt.Sprintf("rpc error: code = FailedPrecondition desc = node %s is not down and can't be removed", id), cerrdefs.ErrInvalidArgument}
}
