package service_test

import (
	"context"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/swarm"
	"github.com/go-logr/logr/funcr"

	"github.com/swarmtopo/swarmtopo/controller"
	"github.com/swarmtopo/swarmtopo/controller/fakeswarm"
	"github.com/swarmtopo/swarmtopo/service"
)

// fastLoop makes the controller's waits short on the real clock.
var fastLoop = controller.Options{
	Clock: controller.RealClock, Resync: 20 * time.Millisecond, SettlePoll: time.Millisecond,
	StepTimeout: 5 * time.Second, MaxBackoff: 20 * time.Millisecond, CallTimeout: time.Second,
}

type runningService struct {
	svc  *service.Service
	view *fakeswarm.View
	http *httptest.Server
}

// startService runs a service on node host's view of s until the test ends.
func startService(t *testing.T, s *fakeswarm.Swarm, host, file string) *runningService {
	t.Helper()
	view := s.ViewFrom(s.ID(host))
	log := funcr.New(func(prefix, args string) {
		if testing.Verbose() {
			t.Logf("%s %s", host, args)
		}
	}, funcr.Options{})
	svc, err := service.New(service.Config{
		File: file, Addr: "127.0.0.1:0", Docker: view, Log: log, Controller: fastLoop,
		Reload: service.ReloaderOptions{Poll: time.Hour, Debounce: 5 * time.Millisecond},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	rs := &runningService{svc: svc, view: view, http: httptest.NewServer(svc.Handler())}
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run on %s = %v, want nil on stop", host, err)
			}
		case <-time.After(wait):
			t.Errorf("Run on %s did not stop", host)
		}
		rs.http.Close()
	})
	return rs
}

func (rs *runningService) condition(typ string) service.Condition {
	c, _ := rs.svc.Status().Condition(typ)
	return c
}

func drainedManagers(s *fakeswarm.Swarm) []string {
	var out []string
	for _, n := range s.Nodes() {
		if n.ManagerStatus != nil && n.Spec.Availability == swarm.NodeAvailabilityDrain {
			out = append(out, n.Description.Hostname)
		}
	}
	slices.Sort(out)
	return out
}

func TestTwoInstancesOneActsAndTheFileIsReloaded(t *testing.T) {
	s := fakeswarm.New(
		fakeswarm.NodeConfig{Hostname: "node1", Manager: true, Leader: true, Labels: map[string]string{"az": "a"}},
		fakeswarm.NodeConfig{Hostname: "node2", Manager: true, Labels: map[string]string{"az": "b"}},
		fakeswarm.NodeConfig{Hostname: "node3", Manager: true, Labels: map[string]string{"az": "c"}},
		fakeswarm.NodeConfig{Hostname: "node4", Labels: map[string]string{"az": "a"}},
		fakeswarm.NodeConfig{Hostname: "node5", Labels: map[string]string{"az": "b"}},
	)
	s.PromoteAfter, s.DemoteAfter = 2, 2
	file := filepath.Join(t.TempDir(), "topology.yaml")
	writeFile(t, file, topology("three", 3))
	leader := startService(t, s, "node1", file)
	follower := startService(t, s, "node2", file)

	// 1. The swarm converges to the file, through the instance on the leader only.
	eventually(t, "three drained managers", func() bool {
		return slices.Equal(drainedManagers(s), []string{"node1", "node2", "node3"}) &&
			leader.condition(service.ConditionConverged).Status == service.ConditionTrue
	})
	if n := len(follower.view.Calls()); n != 0 {
		t.Errorf("the instance that does not lead made %d calls", n)
	}
	eventually(t, "the follower to stand by", func() bool {
		return follower.condition(service.ConditionStandby).Status == service.ConditionTrue
	})
	if c := follower.condition(service.ConditionStandby); c.Reason != "NotLeader" || !strings.Contains(c.Message, "leader is node1") {
		t.Errorf("follower's Standby = %+v", c)
	}
	if c := leader.condition(service.ConditionStandby); c.Status != service.ConditionFalse || c.Reason != "Leader" {
		t.Errorf("leader's Standby = %+v", c)
	}
	checkSeries(t, scrapeURL(t, leader.http.URL+"/metrics"), []string{"swarmtopo_active 1", "swarmtopo_managers 3",
		`swarmtopo_steps_total{action="drain",result="ok"} 3`, "swarmtopo_topology_valid 1"}, nil)
	checkSeries(t, scrapeURL(t, follower.http.URL+"/metrics"), []string{"swarmtopo_active 0", "swarmtopo_reconcile_errors_total 0",
		`swarmtopo_steps_total{action="drain",result="timeout"} 0`},
		[]string{`swarmtopo_steps_total{action="drain",result="ok"}`})
	for _, rs := range []*runningService{leader, follower} {
		checkSeries(t, scrapeURL(t, rs.http.URL+"/metrics"), []string{"swarmtopo_target_managers 3", "swarmtopo_target_fault_tolerance 1"}, nil)
	}
	for _, rs := range []*runningService{leader, follower} {
		if code, body := get(t, rs.http.URL+"/readyz"); code != 200 {
			t.Errorf("readyz = %d %s", code, body)
		}
	}

	// 2. An invalid file is refused by both, and nothing moves.
	calls := len(s.Calls())
	replace(t, file, invalid)
	eventually(t, "the invalid file to be refused", func() bool {
		return leader.condition(service.ConditionTopologyValid).Status == service.ConditionFalse &&
			follower.condition(service.ConditionTopologyValid).Status == service.ConditionFalse
	})
	time.Sleep(5 * fastLoop.Resync) // a few passes on the last good topology
	if n := len(s.Calls()); n != calls {
		t.Errorf("%d calls after an invalid file", n-calls)
	}
	checkSeries(t, scrapeURL(t, leader.http.URL+"/metrics"), []string{"swarmtopo_topology_valid 0",
		`swarmtopo_topology_reloads_total{result="invalid"} 1`}, nil)
	// The last good topology's target stays in force.
	checkSeries(t, scrapeURL(t, leader.http.URL+"/metrics"), []string{"swarmtopo_target_managers 3"}, nil)
	if code, _ := get(t, leader.http.URL+"/readyz"); code != 200 {
		t.Errorf("not ready with the last good topology in force")
	}
	if r := leader.svc.Status().Report(); r.Topology.Error == nil || !strings.Contains(r.Topology.Error.Message, "cuont") || r.Topology.Name != "three" {
		t.Errorf("status topology = %+v", r.Topology)
	}

	// 3. A new valid file is used at once: five managers.
	replace(t, file, topology("five", 5))
	eventually(t, "five drained managers", func() bool {
		return len(drainedManagers(s)) == 5 && leader.condition(service.ConditionConverged).Status == service.ConditionTrue
	})
	if c := leader.condition(service.ConditionTopologyValid); c.Status != service.ConditionTrue || !strings.Contains(c.Message, `"five"`) {
		t.Errorf("TopologyValid = %+v", c)
	}
	checkSeries(t, scrapeURL(t, leader.http.URL+"/metrics"), []string{"swarmtopo_target_managers 5", "swarmtopo_target_fault_tolerance 2"}, nil)
	if n := len(follower.view.Calls()); n != 0 {
		t.Errorf("the instance that does not lead made %d calls", n)
	}
	r := leader.svc.Status().Report()
	if r.LastStep == nil || r.LastStep.Result != controller.ResultOK || r.NodeID != s.ID("node1") || !r.Active {
		t.Errorf("leader's status = %+v, last step %+v", r, r.LastStep)
	}
	if _, lost := s.LowestFaultTolerance(); lost {
		t.Errorf("quorum was lost")
	}
}

func scrapeURL(t *testing.T, url string) string {
	t.Helper()
	code, body := get(t, url)
	if code != 200 {
		t.Fatalf("GET %s = %d", url, code)
	}
	return body
}

func TestNewRefusesAnInvalidFirstFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "topology.yaml")
	writeFile(t, file, invalid)
	s := fakeswarm.New(fakeswarm.NodeConfig{Hostname: "node1", Manager: true})
	if _, err := service.New(service.Config{File: file, Docker: s}); err == nil || !strings.Contains(err.Error(), "cuont") {
		t.Errorf("New = %v, want the parser's error", err)
	}
}

func TestAnInstanceWhoseNodeIsDemotedStopsSayingItActs(t *testing.T) {
	s := fakeswarm.New(
		fakeswarm.NodeConfig{Hostname: "node1", Manager: true, Leader: true},
		fakeswarm.NodeConfig{Hostname: "node2", Manager: true},
		fakeswarm.NodeConfig{Hostname: "node3", Manager: true},
		fakeswarm.NodeConfig{Hostname: "node4"},
	)
	file := filepath.Join(t.TempDir(), "topology.yaml")
	// node1, the leader, may not stay a manager: its own instance demotes it, last.
	writeFile(t, file, `apiVersion: swarmtopo.dev/v1alpha1
kind: SwarmTopology
metadata: {name: handoff}
spec:
  managers: {count: 3, selector: {mgr: "yes"}}
  labels:
    - hostnames: ["node[234]"]
      set: {mgr: "yes"}
`)
	old := startService(t, s, "node1", file)
	next := startService(t, s, "node2", file)
	eventually(t, "node1 demoted and node4 promoted", func() bool {
		managers := map[string]bool{}
		for _, n := range s.Nodes() {
			managers[n.Description.Hostname] = n.ManagerStatus != nil
		}
		return !managers["node1"] && managers["node4"]
	})
	eventually(t, "the instance on node1 to stand by and the one on node2 to act", func() bool {
		return old.condition(service.ConditionStandby).Status == service.ConditionTrue &&
			next.condition(service.ConditionStandby).Status == service.ConditionFalse
	})
	checkSeries(t, scrapeURL(t, old.http.URL+"/metrics"), []string{"swarmtopo_active 0"}, nil)
	checkSeries(t, scrapeURL(t, next.http.URL+"/metrics"), []string{"swarmtopo_active 1"}, nil)
	if r := old.svc.Status().Report(); r.Active {
		t.Errorf("the instance on the demoted node still reports active: %+v", r)
	}
}
