package health_test

import (
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/swarmtopo/swarmtopo/health"
	"github.com/swarmtopo/swarmtopo/observe"
	"github.com/swarmtopo/swarmtopo/reconcile"
	"github.com/swarmtopo/swarmtopo/spec"
)

// manager is a reachable, active, ready raft member in zone (no zone label if empty).
func manager(host, zone string) reconcile.Node {
	n := worker(host, zone)
	n.DesiredRole, n.Member, n.Reachability = reconcile.RoleManager, true, reconcile.ReachabilityReachable
	return n
}

func worker(host, zone string) reconcile.Node {
	n := reconcile.Node{ID: "id-" + host, Hostname: host, DesiredRole: reconcile.RoleWorker,
		Availability: spec.AvailabilityActive, State: reconcile.StateReady, Labels: map[string]string{}}
	if zone != "" {
		n.Labels["az"] = zone
	}
	return n
}

func unreachable(n reconcile.Node) reconcile.Node {
	n.Reachability = reconcile.ReachabilityUnreachable
	return n
}

func drained(n reconcile.Node) reconcile.Node {
	n.Availability = spec.AvailabilityDrain
	return n
}

// swarmOf makes the first reachable manager the leader.
func swarmOf(nodes ...reconcile.Node) reconcile.Snapshot {
	for i := range nodes {
		if nodes[i].Member && nodes[i].Reachability == reconcile.ReachabilityReachable {
			nodes[i].Leader = true
			break
		}
	}
	return reconcile.Snapshot{Nodes: nodes}
}

// managers makes n managers named m1.. over zones in turn.
func managers(n int, zones ...string) []reconcile.Node {
	var out []reconcile.Node
	for i := range n {
		z := ""
		if len(zones) > 0 {
			z = zones[i%len(zones)]
		}
		out = append(out, manager("m"+string(rune('1'+i)), z))
	}
	return out
}

func codes(r health.Report) []string {
	out := []string{}
	for _, a := range r.Advice {
		out = append(out, a.Severity+" "+a.Code)
	}
	return out
}

func TestFaultToleranceFollowsTheAdminGuidesTable(t *testing.T) {
	table := map[int]int{1: 0, 2: 0, 3: 1, 4: 1, 5: 2, 6: 2, 7: 3, 8: 3, 9: 4}
	for n := 1; n <= 9; n++ {
		r := health.Assess(swarmOf(managers(n, "a", "b", "c")...), "")
		if r.Members != n || r.FaultTolerance != table[n] || r.TableFaultTolerance != table[n] || r.Quorum != n/2+1 {
			t.Errorf("%d managers: members %d, fault tolerance %d, table %d, quorum %d; want table %d",
				n, r.Members, r.FaultTolerance, r.TableFaultTolerance, r.Quorum, table[n])
		}
	}
}

func TestAssess(t *testing.T) {
	tests := []struct {
		name   string
		snap   reconcile.Snapshot
		status string
		codes  []string
		check  func(t *testing.T, r health.Report)
	}{
		{
			name:   "Three reachable managers in three zones are healthy",
			snap:   swarmOf(append(managers(3, "a", "b", "c"), worker("w1", "a"))...),
			status: health.StatusHealthy, codes: []string{},
			check: func(t *testing.T, r health.Report) {
				if len(r.Managers) != 3 || r.Leader != "m1" || !r.Managers[0].Leader {
					t.Errorf("managers %+v, leader %q", r.Managers, r.Leader)
				}
			},
		},
		{
			name:   "Five managers spread 2-2-1 survive the loss of any zone",
			snap:   swarmOf(managers(5, "a", "b", "c")...),
			status: health.StatusHealthy, codes: []string{},
			check: func(t *testing.T, r health.Report) {
				want := []health.Zone{{"a", 2, 2, 0, true}, {"b", 2, 2, 0, true}, {"c", 1, 1, 1, true}}
				if !slices.Equal(r.Zones, want) {
					t.Errorf("zones = %+v, want %+v", r.Zones, want)
				}
			},
		},
		{
			name:   "An unreachable manager of three is to be repaired, and with no failure left to tolerate it is critical",
			snap:   swarmOf(manager("m1", "a"), unreachable(manager("m2", "b")), manager("m3", "c")),
			status: health.StatusDegraded, codes: []string{"critical UnreachableManager"},
			check: func(t *testing.T, r health.Report) {
				a := r.Advice[0]
				for _, want := range []string{"m2", "restart its Docker daemon", "promote another node in zone b",
					"`docker node demote id-m2`", "`docker node rm id-m2`", "--force"} {
					if !strings.Contains(a.Message, want) {
						t.Errorf("advice %q does not say %q", a.Message, want)
					}
				}
				if a.Node != "id-m2" || r.FaultTolerance != 0 || r.TableFaultTolerance != 1 {
					t.Errorf("advice node %q, fault tolerance %d of %d", a.Node, r.FaultTolerance, r.TableFaultTolerance)
				}
				if z := r.Zones[0]; z.Name != "a" || z.SurvivesLoss {
					t.Errorf("with m2 unreachable, losing zone a should lose quorum: %+v", z)
				}
			},
		},
		{
			name:   "An unreachable manager of five is a warning",
			snap:   swarmOf(append(managers(4, "a", "b", "c", "a"), unreachable(manager("m5", "b")))...),
			status: health.StatusDegraded, codes: []string{"warning UnreachableManager"},
		},
		{
			name:   "A single manager is unsafe",
			snap:   swarmOf(manager("m1", "a"), worker("w1", "b"), worker("w2", "c")),
			status: health.StatusDegraded, codes: []string{"warning SingleManager"},
		},
		{
			name:   "An even count adds raft traffic and no fault tolerance",
			snap:   swarmOf(managers(4, "a", "b", "c")...),
			status: health.StatusDegraded, codes: []string{"warning EvenManagerCount"},
			check: func(t *testing.T, r health.Report) {
				if msg := r.Advice[0].Message; !strings.Contains(msg, "4 managers tolerate 1 failure, no more than 3 would") {
					t.Errorf("advice = %q", msg)
				}
			},
		},
		{
			name:   "Managers in two zones can lose quorum with one zone",
			snap:   swarmOf(managers(3, "a", "a", "b")...),
			status: health.StatusDegraded, codes: []string{"warning FewZones"},
			check: func(t *testing.T, r health.Report) {
				if len(r.Zones) != 2 || r.Zones[0].SurvivesLoss || !r.Zones[1].SurvivesLoss {
					t.Errorf("zones = %+v", r.Zones)
				}
			},
		},
		{
			name:   "A zone holding three of five managers loses quorum with it",
			snap:   swarmOf(managers(5, "a", "a", "a", "b", "c")...),
			status: health.StatusDegraded, codes: []string{"warning ZoneLossLosesQuorum"},
			check: func(t *testing.T, r health.Report) {
				if msg := r.Advice[0].Message; !strings.Contains(msg, "zone a") || !strings.Contains(msg, "no zone holds more than 2") {
					t.Errorf("advice = %q", msg)
				}
			},
		},
		{
			name:   "Managers without zone labels cannot be judged",
			snap:   swarmOf(managers(3)...),
			status: health.StatusDegraded, codes: []string{"warning NoZoneLabels"},
			check: func(t *testing.T, r health.Report) {
				if len(r.Zones) != 1 || r.Zones[0].Name != reconcile.NoZone || r.Zones[0].Managers != 3 {
					t.Errorf("zones = %+v", r.Zones)
				}
			},
		},
		{
			name:   "One manager without a zone label is pointed out and listed after the zones",
			snap:   swarmOf(append(managers(4, "a", "b", "c", "a"), manager("m5", ""))...),
			status: health.StatusHealthy, codes: []string{"info UnlabelledManager"},
			check: func(t *testing.T, r health.Report) {
				if last := r.Zones[len(r.Zones)-1]; last.Name != reconcile.NoZone {
					t.Errorf("zones = %+v", r.Zones)
				}
			},
		},
		{
			name:   "Quorum is lost with two of three managers unreachable",
			snap:   swarmOf(manager("m1", "a"), unreachable(manager("m2", "b")), unreachable(manager("m3", "c"))),
			status: health.StatusQuorumLost,
			codes:  []string{"critical QuorumLost", "critical UnreachableManager", "critical UnreachableManager"},
			check: func(t *testing.T, r health.Report) {
				msg := r.Advice[0].Message
				for _, want := range []string{"1 of 3 managers are reachable and 2 are needed", "Bring the unreachable managers back",
					"`docker swarm init --force-new-cluster` on a surviving manager", "human's decision"} {
					if !strings.Contains(msg, want) {
						t.Errorf("advice %q does not say %q", msg, want)
					}
				}
				if !r.QuorumLost || r.FaultTolerance != -1 {
					t.Errorf("quorum lost %v, fault tolerance %d", r.QuorumLost, r.FaultTolerance)
				}
			},
		},
		{
			name:   "A swarm without a leader reports the daemon's answer and what to do",
			snap:   reconcile.Snapshot{ClusterError: "The swarm does not have a leader."},
			status: health.StatusQuorumLost, codes: []string{"critical QuorumLost"},
			check: func(t *testing.T, r health.Report) {
				if !strings.Contains(r.Advice[0].Message, "does not have a leader") || !strings.Contains(r.Advice[0].Message, "--force-new-cluster") {
					t.Errorf("advice = %q", r.Advice[0].Message)
				}
				if len(r.Managers) != 0 || r.FaultTolerance != -1 {
					t.Errorf("managers %+v, fault tolerance %d", r.Managers, r.FaultTolerance)
				}
			},
		},
		{
			name:   "Nine managers slow raft down",
			snap:   swarmOf(managers(9, "a", "b", "c")...),
			status: health.StatusDegraded, codes: []string{"warning TooManyManagers"},
		},
		{
			name: "A promotion in flight is listed and counted once it joins",
			snap: func() reconcile.Snapshot {
				w := worker("w1", "a")
				w.DesiredRole = reconcile.RoleManager
				return swarmOf(append(managers(3, "a", "b", "c"), w)...)
			}(),
			status: health.StatusHealthy, codes: []string{"info RoleChangeInFlight"},
			check: func(t *testing.T, r health.Report) {
				if r.Members != 3 || len(r.Managers) != 4 || r.Managers[3].Change != health.ChangePromoting || r.Managers[3].Reachability != "" {
					t.Errorf("members %d, managers %+v", r.Members, r.Managers)
				}
			},
		},
		{
			name:   "Drained managers are shown as drained",
			snap:   swarmOf(drained(manager("m1", "a")), manager("m2", "b"), drained(manager("m3", "c"))),
			status: health.StatusHealthy, codes: []string{},
			check: func(t *testing.T, r health.Report) {
				got := []bool{r.Managers[0].Drained, r.Managers[1].Drained, r.Managers[2].Drained}
				if !slices.Equal(got, []bool{true, false, true}) {
					t.Errorf("drained = %v", got)
				}
			},
		},
		{
			name:   "A snapshot with no manager was not taken through a manager",
			snap:   swarmOf(worker("w1", "a")),
			status: health.StatusDegraded, codes: []string{"critical NoManagers"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := health.Assess(tc.snap, "az")
			if r.Status != tc.status {
				t.Errorf("status = %s, want %s", r.Status, tc.status)
			}
			if got := codes(r); !slices.Equal(got, tc.codes) {
				t.Errorf("advice = %v, want %v\n%+v", got, tc.codes, r.Advice)
			}
			if tc.check != nil {
				tc.check(t, r)
			}
		})
	}
}

func TestTheZoneLabelIsTheTopologys(t *testing.T) {
	s := swarmOf(managers(3)...)
	for i, z := range []string{"eu-1a", "eu-1b", "eu-1c"} {
		s.Nodes[i].Labels["topology.zone"] = z
	}
	r := health.Assess(s, "topology.zone")
	if len(r.Zones) != 3 || r.Status != health.StatusHealthy || r.ZoneLabel != "topology.zone" {
		t.Errorf("zones %+v, status %s, advice %v", r.Zones, r.Status, codes(r))
	}
}

// fixture is the real 5-node lab swarm: node1 leads and is drained, node2's dockerd was killed
// (unreachable, still ready), node4 is a reachable manager; zones a, b, c.
func fixture(t *testing.T) reconcile.Snapshot {
	t.Helper()
	data, err := os.ReadFile("../testdata/engine-20.10-mixed-5-nodes-one-unreachable.json")
	if err != nil {
		t.Fatal(err)
	}
	s, err := observe.ParseInspect(data)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestTheRealFixture(t *testing.T) {
	r := health.Assess(fixture(t), "")
	if r.Members != 3 || r.Reachable != 2 || r.Quorum != 2 || r.FaultTolerance != 0 || r.TableFaultTolerance != 1 || r.Leader != "node1" {
		t.Errorf("members %d reachable %d quorum %d fault tolerance %d of %d leader %q",
			r.Members, r.Reachable, r.Quorum, r.FaultTolerance, r.TableFaultTolerance, r.Leader)
	}
	var hosts []string
	for _, m := range r.Managers {
		hosts = append(hosts, m.Hostname)
	}
	if !slices.Equal(hosts, []string{"node1", "node2", "node4"}) {
		t.Fatalf("managers = %v", hosts)
	}
	n1, n2 := r.Managers[0], r.Managers[1]
	if !n1.Leader || !n1.Drained || n1.Zone != "a" || n2.Reachability != reconcile.ReachabilityUnreachable || n2.State != reconcile.StateReady {
		t.Errorf("node1 %+v, node2 %+v", n1, n2)
	}
	wantZones := []health.Zone{{"a", 2, 2, -2, false}, {"b", 1, 0, 0, true}}
	if !slices.Equal(r.Zones, wantZones) {
		t.Errorf("zones = %+v, want %+v", r.Zones, wantZones)
	}
	if got, want := codes(r), []string{"critical UnreachableManager", "warning FewZones"}; !slices.Equal(got, want) {
		t.Errorf("advice = %v, want %v", got, want)
	}
	if r.Advice[0].Node != "vjdkl0bmwirftfnnic3tfm89e" || r.Status != health.StatusDegraded {
		t.Errorf("advice about %s, status %s", r.Advice[0].Node, r.Status)
	}
}

func TestAStuckPromotionIsAWarningThatSaysHowToEndIt(t *testing.T) {
	n := worker("node7", "a")
	n.DesiredRole, n.State = reconcile.RoleManager, reconcile.StateDown
	r := health.Assess(swarmOf(append(managers(3, "a", "b", "c"), n)...), "")
	var got *health.Advice
	for i := range r.Advice {
		if r.Advice[i].Code == health.CodePromotionPending {
			got = &r.Advice[i]
		}
		if r.Advice[i].Code == health.CodeRoleChangeInFlight && r.Advice[i].Node == n.ID {
			t.Errorf("a stuck promotion is told to finish in a few seconds: %q", r.Advice[i].Message)
		}
	}
	if got == nil || got.Severity != health.SeverityWarning || got.Node != n.ID {
		t.Fatalf("advice = %+v, want a PromotionPending warning about node7", r.Advice)
	}
	for _, w := range []string{"Node node7", "down", "can't find manager in raft memberlist", "docker node rm --force id-node7", "worker token"} {
		if !strings.Contains(got.Message, w) {
			t.Errorf("advice %q does not say %q", got.Message, w)
		}
	}
	if r.Status != health.StatusDegraded {
		t.Errorf("status = %s, want Degraded", r.Status)
	}
}
