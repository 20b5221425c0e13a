package observe

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"

	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/api/types/system"
)

// Messages as the client returns them from real daemons.
const (
	noLeaderErr      = "Error response from daemon: rpc error: code = Unknown desc = The swarm does not have a leader. It's possible that too few managers are online. Make sure more than half of the managers are online."
	outOfSequenceErr = "Error response from daemon: rpc error: code = Unknown desc = update out of sequence"
	workerErr        = "Error response from daemon: This node is not a swarm manager. Worker nodes can't be used to view or modify cluster state. Please run this command on a manager node or promote the current node to a manager."
	notJoinedErr     = `Error response from daemon: This node is not a swarm manager. Use "docker swarm init" or "docker swarm join" to connect this node to swarm and try again.`
)

func TestDaemonErrorsAreRecognised(t *testing.T) {
	tests := []struct {
		name                                string
		err                                 error
		noLeader, outOfSequence, notManager bool
	}{
		{"no leader during quorum loss", errors.New(noLeaderErr), true, false, false},
		{"no leader wrapped by the caller", fmt.Errorf("listing nodes: %w", errors.New(noLeaderErr)), true, false, false},
		{"no leader without the apostrophe some engines print", errors.New("rpc error: code = Unknown desc = The swarm does not have a leader. Its possible that too few managers are online."), true, false, false},
		{"a stale node version", fmt.Errorf("updating node: %w", errors.New(outOfSequenceErr)), false, true, false},
		{"a call that reached a worker", errors.New(workerErr), false, false, true},
		{"a call to a daemon outside any swarm", errors.New(notJoinedErr), false, false, true},
		{"an unrelated error", errors.New("Cannot connect to the Docker daemon at unix:///var/run/docker.sock"), false, false, false},
		{"no error at all", nil, false, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := IsNoLeader(tt.err); got != tt.noLeader {
				t.Errorf("IsNoLeader = %v, want %v", got, tt.noLeader)
			}
			if got := IsOutOfSequence(tt.err); got != tt.outOfSequence {
				t.Errorf("IsOutOfSequence = %v, want %v", got, tt.outOfSequence)
			}
			if got := IsNotManager(tt.err); got != tt.notManager {
				t.Errorf("IsNotManager = %v, want %v", got, tt.notManager)
			}
		})
	}
}

func TestNoLeaderFromInfo(t *testing.T) {
	var healthy swarm.Info
	if err := json.Unmarshal(readFixture(t, "../testdata/engine-26.1-info-swarm.json"), &healthy); err != nil {
		t.Fatalf("decoding info fixture: %v", err)
	}
	if healthy.NodeID != "oy07p3y62zs33plgeg2rf9sah" {
		t.Fatalf("fixture NodeID = %q", healthy.NodeID)
	}
	lost := healthy
	lost.Error = "rpc error: code = Unknown desc = The swarm does not have a leader. It's possible that too few managers are online. Make sure more than half of the managers are online."
	other := healthy
	other.Error = "certificate has expired"

	tests := []struct {
		name string
		info swarm.Info
		want string
	}{
		{"a healthy swarm has no error", healthy, ""},
		{"a swarm without a leader gives the daemon's message", lost, lost.Error},
		{"another swarm error is not a missing leader", other, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := NoLeaderFromInfo(system.Info{Swarm: tt.info}); got != tt.want {
				t.Errorf("NoLeaderFromInfo = %q, want %q", got, tt.want)
			}
		})
	}
}
