package service_test

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/swarmtopo/swarmtopo/controller"
	"github.com/swarmtopo/swarmtopo/reconcile"
	"github.com/swarmtopo/swarmtopo/service"
)

var epoch = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// scrape returns the exposition text of m as a Prometheus server would read it.
func scrape(t *testing.T, m *service.Metrics) string {
	t.Helper()
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("scrape: %s, %v", resp.Status, err)
	}
	return string(body)
}

// series returns the sample lines of the exposition, without comments.
func series(text string) map[string]bool {
	out := map[string]bool{}
	for _, line := range strings.Split(text, "\n") {
		if line != "" && !strings.HasPrefix(line, "#") {
			out[line] = true
		}
	}
	return out
}

func checkSeries(t *testing.T, text string, present, absent []string) {
	t.Helper()
	got := series(text)
	for _, want := range present {
		if !got[want] {
			t.Errorf("missing series %q", want)
		}
	}
	for _, prefix := range absent {
		for line := range got {
			if strings.HasPrefix(line, prefix) {
				t.Errorf("series %q should be gone", line)
			}
		}
	}
}

func promoteStep() reconcile.Step {
	return reconcile.Step{Action: reconcile.ActionPromote, Node: "id-node4", Hostname: "node4", Zone: "c", Reason: "zone c needs a manager"}
}

func TestMetricsFollowPlansStepsAndErrors(t *testing.T) {
	m := service.NewMetrics()
	m.SetActive(true)
	m.SetTopologyValid(true)
	m.ObservePlan(&reconcile.Plan{
		Time:   epoch,
		Before: reconcile.Summary{Managers: 3, Reachable: 2, FaultTolerance: 0, Zones: map[string]int{"a": 2, "b": 1}},
		Steps:  []reconcile.Step{promoteStep(), {Action: reconcile.ActionDrain, Node: "id-node4"}},
	})
	m.ObserveStep(controller.StepResult{Step: promoteStep(), Result: controller.ResultOK, Settle: 3 * time.Second})
	m.ObserveStep(controller.StepResult{Step: promoteStep(), Result: controller.ResultTimeout, Settle: 90 * time.Second,
		Err: controller.ErrStepTimeout})
	m.ObserveStep(controller.StepResult{Step: promoteStep(), Result: controller.ResultRefused, Err: reconcile.ErrBelowFloor})
	m.ObserveError(fmt.Errorf("applying: %w", controller.ErrStepTimeout))
	m.ObserveError(nil)
	m.ObserveReload(errors.New("spec.managers.cuont: unknown field"))

	text := scrape(t, m)
	checkSeries(t, text, []string{
		"swarmtopo_managers 3",
		"swarmtopo_reachable_managers 2",
		"swarmtopo_fault_tolerance 0",
		`swarmtopo_managers_per_zone{zone="a"} 2`,
		`swarmtopo_managers_per_zone{zone="b"} 1`,
		"swarmtopo_pending_steps 2",
		"swarmtopo_blocked 0",
		"swarmtopo_active 1",
		"swarmtopo_topology_valid 0",
		fmt.Sprintf("swarmtopo_last_reconcile_timestamp_seconds %g", float64(epoch.Unix())),
		`swarmtopo_steps_total{action="promote",result="ok"} 1`,
		`swarmtopo_steps_total{action="promote",result="timeout"} 1`,
		`swarmtopo_steps_total{action="promote",result="refused"} 1`,
		`swarmtopo_step_settle_seconds_bucket{action="promote",le="2.5"} 0`,
		`swarmtopo_step_settle_seconds_bucket{action="promote",le="5"} 1`,
		`swarmtopo_step_settle_seconds_bucket{action="promote",le="90"} 2`,
		`swarmtopo_step_settle_seconds_count{action="promote"} 2`,
		`swarmtopo_step_settle_seconds_sum{action="promote"} 93`,
		"swarmtopo_reconcile_errors_total 1",
		`swarmtopo_topology_reloads_total{result="invalid"} 1`,
		`swarmtopo_topology_reloads_total{result="ok"} 0`,
	}, nil)
	if !strings.Contains(text, "go_goroutines ") || !strings.Contains(text, "process_") {
		t.Errorf("the Go and process collectors are missing")
	}

	// The next plan: the swarm moved to three zones and is blocked.
	m.ObservePlan(&reconcile.Plan{Time: epoch.Add(time.Minute), Blocked: "a demotion would lose quorum",
		Before: reconcile.Summary{Managers: 3, Reachable: 3, FaultTolerance: 1, Zones: map[string]int{"b": 1, "c": 2}}})
	m.SetActive(false)
	m.ObserveReload(nil)
	checkSeries(t, scrape(t, m), []string{
		"swarmtopo_fault_tolerance 1",
		`swarmtopo_managers_per_zone{zone="c"} 2`,
		"swarmtopo_pending_steps 0",
		"swarmtopo_blocked 1",
		"swarmtopo_active 0",
		"swarmtopo_topology_valid 1",
		`swarmtopo_topology_reloads_total{result="ok"} 1`,
	}, []string{`swarmtopo_managers_per_zone{zone="a"}`})
}

func TestMetricsOfASwarmWithoutALeader(t *testing.T) {
	// Only the daemon's error could be read: the counts are not known, and fault tolerance
	// says quorum is gone.
	m := service.NewMetrics()
	m.ObservePlan(&reconcile.Plan{Time: epoch, Before: reconcile.Summary{Managers: 3, Reachable: 3, FaultTolerance: 1, Zones: map[string]int{"a": 3}}})
	m.ObservePlan(&reconcile.Plan{Time: epoch, Blocked: "the swarm has lost quorum", Before: reconcile.Summary{Zones: map[string]int{}}})
	checkSeries(t, scrape(t, m), []string{"swarmtopo_fault_tolerance -1", "swarmtopo_blocked 1"},
		[]string{"swarmtopo_managers ", "swarmtopo_reachable_managers ", "swarmtopo_managers_per_zone"})
}
