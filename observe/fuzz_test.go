package observe

import (
	"cmp"
	"errors"
	"testing"

	"github.com/swarmtopo/swarmtopo/reconcile"
	"github.com/swarmtopo/swarmtopo/spec"
)

func FuzzParseInspect(f *testing.F) {
	for _, path := range fixtures {
		f.Add(readFixture(f, path))
	}
	for _, seed := range []string{
		``, `[]`, `null`, `{}`, `[null]`, `[{}]`, `[1]`,
		`[{"ID":"a","Spec":{"Role":"worker","Availability":"active"},"Status":{"State":"ready"}}]`,
		`[{"ID":"a","Version":{"Index":-3},"Spec":{"Role":"manager","Availability":"drain","Labels":{"az":"a"}},` +
			`"Status":{"State":"down"},"ManagerStatus":{"Leader":true,"Reachability":"unreachable"}}]`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := ParseInspect(data)
		if err != nil {
			if err.Error() == "" || !errors.Is(err, ErrInvalidSnapshot) {
				t.Fatalf("error %q: want a non-empty message wrapping ErrInvalidSnapshot", err)
			}
			return
		}
		if len(s.Nodes) == 0 {
			t.Fatal("no error and no nodes")
		}
		leaders := 0
		seen := map[string]bool{}
		for i, n := range s.Nodes {
			if n.ID == "" || seen[n.ID] {
				t.Fatalf("node %d: empty or duplicate ID %q", i, n.ID)
			}
			seen[n.ID] = true
			if i > 0 {
				p := s.Nodes[i-1]
				if cmp.Or(cmp.Compare(p.Hostname, n.Hostname), cmp.Compare(p.ID, n.ID)) > 0 {
					t.Fatalf("nodes %d and %d out of order", i-1, i)
				}
			}
			if n.DesiredRole != reconcile.RoleManager && n.DesiredRole != reconcile.RoleWorker {
				t.Fatalf("node %d: role %q", i, n.DesiredRole)
			}
			switch n.Availability {
			case spec.AvailabilityActive, spec.AvailabilityPause, spec.AvailabilityDrain:
			default:
				t.Fatalf("node %d: availability %q", i, n.Availability)
			}
			switch n.State {
			case reconcile.StateReady, reconcile.StateDown, reconcile.StateUnknown, reconcile.StateDisconnected:
			default:
				t.Fatalf("node %d: state %q", i, n.State)
			}
			if n.Member != (n.Reachability != "") || (n.Leader && !n.Member) {
				t.Fatalf("node %d: member %v, reachability %q, leader %v", i, n.Member, n.Reachability, n.Leader)
			}
			if n.Leader {
				leaders++
			}
		}
		if leaders > 1 {
			t.Fatalf("%d leaders", leaders)
		}
		if s.Self != "" || !s.Time.IsZero() {
			t.Fatalf("self %q, time %v: want both zero", s.Self, s.Time)
		}
	})
}
