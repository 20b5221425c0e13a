//go:build e2e

package e2e

import (
	"testing"
	"time"
)

func TestUnsafeStepsReadsTheLeadersViewOfTheMembers(t *testing.T) {
	t0 := time.Date(2026, 12, 2, 15, 54, 25, 0, time.UTC)
	view := func(at time.Duration, byLeader bool, members ...string) sample {
		s := sample{at: t0.Add(at), ok: true, byLeader: byLeader, members: map[string]bool{}, reach: map[string]bool{}}
		for _, m := range members {
			unreachable := m[0] == '!'
			if unreachable {
				m = m[1:]
			}
			s.members[m], s.reach[m] = true, !unreachable
		}
		return s
	}
	promote := []sentStep{{at: t0, action: "promote", hostname: "node5", by: "node1"}}
	tests := []struct {
		name   string
		all    []sample
		unsafe bool
	}{
		{"the leader has removed node2; a follower still lists it", []sample{
			view(-time.Second, true, "node1", "node3"),
			view(-200*time.Millisecond, false, "node1", "node3", "!node2"),
		}, false},
		{"the leader itself lists node2 unreachable", []sample{
			view(-time.Second, true, "node1", "node3", "!node2"),
			view(-200*time.Millisecond, false, "node1", "node3"),
		}, true},
		{"no view of the leader's for 3 s: the latest view counts", []sample{
			view(-3*time.Second, true, "node1", "node3"),
			view(-200*time.Millisecond, false, "node1", "node3", "!node2"),
		}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := unsafeSteps(promote, tc.all)
			if (len(got) > 0) != tc.unsafe {
				t.Errorf("unsafe steps %q, want unsafe %v", got, tc.unsafe)
			}
		})
	}
}
