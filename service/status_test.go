package service_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/swarmtopo/swarmtopo/controller"
	"github.com/swarmtopo/swarmtopo/reconcile"
	"github.com/swarmtopo/swarmtopo/service"
	"github.com/swarmtopo/swarmtopo/spec"
)

// clock is a hand-moved time source.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func named(name string) *spec.SwarmTopology {
	return &spec.SwarmTopology{Metadata: spec.Metadata{Name: name}}
}

func planWith(steps int, blocked string) *reconcile.Plan {
	p := &reconcile.Plan{Blocked: blocked, Time: epoch}
	for range steps {
		p.Steps = append(p.Steps, promoteStep())
	}
	return p
}

var (
	leader    = controller.Leadership{Self: "id-node1", SelfHostname: "node1", Leader: "id-node1", LeaderHostname: "node1"}
	notLeader = controller.Leadership{Self: "id-node1", SelfHostname: "node1", Leader: "id-node2", LeaderHostname: "node2"}
	errFollow = fmt.Errorf("%w: node node1 is not the raft leader (leader is node2)", controller.ErrStandby)
)

// want is a condition's expected status and reason, and the minute (since epoch) of its last
// transition.
type want struct {
	status service.ConditionStatus
	reason string
	since  int
}

func TestConditionsMoveTheirTransitionTimeOnlyWhenTheirStatusFlips(t *testing.T) {
	clk := &clock{t: epoch}
	st := service.NewStatus(clk.now)
	steps := []struct {
		name string
		do   func()
		want map[string]want
	}{
		{"Before anything is known every condition is Unknown", func() {}, map[string]want{
			service.ConditionConverged: {service.ConditionUnknown, "NotObserved", 0},
			service.ConditionStandby:   {service.ConditionUnknown, "NotObserved", 0},
		}},
		{"Loading the topology makes it valid", func() { st.SetTopology("/topology.yaml", named("prod"), clk.t) }, map[string]want{
			service.ConditionTopologyValid: {service.ConditionTrue, "Loaded", 1},
		}},
		{"A plan with steps, before the gate was asked, claims no progress", func() { st.ObservePlan(planWith(2, "")) }, map[string]want{
			service.ConditionConverged:   {service.ConditionFalse, "StepsPending", 2},
			service.ConditionProgressing: {service.ConditionUnknown, "LeadershipUnknown", 0},
			service.ConditionBlocked:     {service.ConditionFalse, "NotBlocked", 2},
		}},
		{"Leading makes the instance active and progressing", func() { st.ObserveLeadership(leader, nil) }, map[string]want{
			service.ConditionStandby:     {service.ConditionFalse, "Leader", 3},
			service.ConditionProgressing: {service.ConditionTrue, "ApplyingSteps", 3},
		}},
		{"One step fewer changes the message, not the transition time", func() { st.ObservePlan(planWith(1, "")) }, map[string]want{
			service.ConditionConverged:   {service.ConditionFalse, "StepsPending", 2},
			service.ConditionProgressing: {service.ConditionTrue, "ApplyingSteps", 3},
		}},
		{"A step that timed out stops progress", func() {
			st.ObservePass(controller.Result{}, fmt.Errorf("applying: %w", controller.ErrStepTimeout))
		}, map[string]want{
			service.ConditionProgressing: {service.ConditionFalse, "StepTimedOut", 5},
		}},
		{"A converged plan", func() { st.ObservePlan(planWith(0, "")); st.ObservePass(controller.Result{}, nil) }, map[string]want{
			service.ConditionConverged:   {service.ConditionTrue, "Converged", 6},
			service.ConditionProgressing: {service.ConditionFalse, "Converged", 5},
		}},
		{"Converged again moves nothing", func() { st.ObservePlan(planWith(0, "")) }, map[string]want{
			service.ConditionConverged: {service.ConditionTrue, "Converged", 6},
		}},
		{"A refused file leaves the last good topology in force", func() {
			st.ObserveReload(named("prod"), errors.New("topology.yaml:5: spec.managers.cuont: unknown field"))
		}, map[string]want{
			service.ConditionTopologyValid: {service.ConditionFalse, "InvalidTopology", 8},
		}},
		{"Losing leadership means standing by", func() { st.ObserveLeadership(notLeader, errFollow) }, map[string]want{
			service.ConditionStandby: {service.ConditionTrue, "NotLeader", 9},
		}},
		{"A blocked plan", func() { st.ObservePlan(planWith(0, "the swarm has lost quorum")) }, map[string]want{
			service.ConditionBlocked:     {service.ConditionTrue, "PlanBlocked", 10},
			service.ConditionConverged:   {service.ConditionFalse, "Blocked", 10},
			service.ConditionProgressing: {service.ConditionFalse, "Blocked", 5},
		}},
		{"A valid file again", func() { st.ObserveReload(named("prod-v2"), nil) }, map[string]want{
			service.ConditionTopologyValid: {service.ConditionTrue, "Loaded", 11},
		}},
	}
	for i, step := range steps {
		t.Run(step.name, func(t *testing.T) {
			clk.t = epoch.Add(time.Duration(i) * time.Minute)
			step.do()
			for typ, w := range step.want {
				c, ok := st.Condition(typ)
				if !ok {
					t.Fatalf("no condition %s", typ)
				}
				since := epoch.Add(time.Duration(w.since) * time.Minute)
				if c.Status != w.status || c.Reason != w.reason || !c.LastTransitionTime.Equal(since) {
					t.Errorf("%s = %s/%s since %s, want %s/%s since %s (%s)", typ, c.Status, c.Reason,
						c.LastTransitionTime.Format("15:04"), w.status, w.reason, since.Format("15:04"), c.Message)
				}
			}
		})
	}
	c, _ := st.Condition(service.ConditionTopologyValid)
	if c.Message == "" || !strings.Contains(c.Message, "prod-v2") {
		t.Errorf("TopologyValid message = %q", c.Message)
	}
}

func TestTheInvalidTopologyMessageSaysWhatStaysInForce(t *testing.T) {
	st := service.NewStatus(func() time.Time { return epoch })
	st.SetTopology("/topology.yaml", named("prod"), epoch)
	st.ObserveReload(named("prod"), errors.New("spec.managers.cuont: unknown field"))
	c, _ := st.Condition(service.ConditionTopologyValid)
	for _, w := range []string{"cuont", `"prod"`, "stays in force"} {
		if !strings.Contains(c.Message, w) {
			t.Errorf("message %q does not say %q", c.Message, w)
		}
	}
	r := st.Report()
	if r.Topology.Error == nil || r.Topology.Name != "prod" || r.Topology.File != "/topology.yaml" {
		t.Errorf("topology status = %+v", r.Topology)
	}
}

func TestReadiness(t *testing.T) {
	st := service.NewStatus(func() time.Time { return epoch })
	steps := []struct {
		name  string
		do    func()
		ready bool
		why   string
	}{
		{"Not ready without a topology", func() {}, false, "no valid topology"},
		{"Not ready before the swarm was observed", func() { st.SetTopology("/t.yaml", named("prod"), epoch) }, false, "not been observed"},
		{"Ready once a plan was made", func() { st.ObservePlan(planWith(1, "")) }, true, ""},
		{"Still ready while standing by", func() { st.ObserveLeadership(notLeader, errFollow) }, true, ""},
	}
	for _, step := range steps {
		t.Run(step.name, func(t *testing.T) {
			step.do()
			ready, why := st.Ready()
			if ready != step.ready || !strings.Contains(why, step.why) {
				t.Errorf("Ready = %v, %q; want %v, %q", ready, why, step.ready, step.why)
			}
		})
	}
}

func TestLiveness(t *testing.T) {
	clk := &clock{t: epoch}
	st := service.NewStatus(clk.now)
	if ok, _ := st.Alive(time.Minute); !ok {
		t.Errorf("not alive at start")
	}
	clk.t = epoch.Add(2 * time.Minute)
	if ok, why := st.Alive(time.Minute); ok || !strings.Contains(why, "no activity for 2m0s") {
		t.Errorf("Alive after 2m of silence = %v, %q", ok, why)
	}
	st.Beat()
	if ok, _ := st.Alive(time.Minute); !ok {
		t.Errorf("not alive after a beat")
	}
	clk.t = clk.t.Add(2 * time.Minute)
	st.ObservePass(controller.Result{}, errors.New("daemon gone"))
	if ok, _ := st.Alive(time.Minute); !ok {
		t.Errorf("a failed pass is still a sign of life")
	}
}

func TestTheReportAsJSON(t *testing.T) {
	clk := &clock{t: epoch}
	st := service.NewStatus(clk.now)
	st.SetTopology("/topology.yaml", named("prod"), epoch)
	st.ObserveLeadership(leader, nil)
	st.ObservePlan(planWith(1, ""))
	st.ObserveStep(controller.StepResult{Step: promoteStep(), Result: controller.ResultOK, Settle: 2500 * time.Millisecond,
		FaultToleranceBefore: 0, FaultToleranceAfter: 1})
	st.ObservePass(controller.Result{}, errors.New("listing nodes: connection refused"))
	data, err := json.Marshal(st.Report())
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		NodeID     string `json:"nodeID"`
		Hostname   string `json:"hostname"`
		Leader     string `json:"leader"`
		Active     bool   `json:"active"`
		Conditions []struct {
			Type, Status, Reason, Message string
			LastTransitionTime            time.Time `json:"lastTransitionTime"`
		} `json:"conditions"`
		Plan     *reconcile.Plan `json:"plan"`
		LastStep struct {
			Action        string  `json:"action"`
			Hostname      string  `json:"hostname"`
			Result        string  `json:"result"`
			SettleSeconds float64 `json:"settleSeconds"`
			Time          time.Time
		} `json:"lastStep"`
		LastError struct{ Message string }    `json:"lastError"`
		Topology  struct{ File, Name string } `json:"topology"`
	}
	if err := json.Unmarshal(data, &got); err != nil {
		t.Fatal(err)
	}
	if got.NodeID != "id-node1" || got.Hostname != "node1" || got.Leader != "node1" || !got.Active {
		t.Errorf("identity = %+v", got)
	}
	var types []string
	for _, c := range got.Conditions {
		types = append(types, c.Type)
		if c.Status == "" || c.Reason == "" || c.LastTransitionTime.IsZero() {
			t.Errorf("condition %+v lacks a field", c)
		}
	}
	if strings.Join(types, " ") != "Converged Progressing Blocked Standby TopologyValid" {
		t.Errorf("conditions = %v", types)
	}
	if got.Plan == nil || len(got.Plan.Steps) != 1 {
		t.Errorf("plan = %+v", got.Plan)
	}
	if got.LastStep.Action != "promote" || got.LastStep.Hostname != "node4" || got.LastStep.Result != "ok" ||
		got.LastStep.SettleSeconds != 2.5 || !got.LastStep.Time.Equal(epoch) {
		t.Errorf("last step = %+v", got.LastStep)
	}
	if !strings.Contains(got.LastError.Message, "connection refused") || got.Topology.Name != "prod" || got.Topology.File != "/topology.yaml" {
		t.Errorf("last error %+v, topology %+v", got.LastError, got.Topology)
	}
}

func TestStatusSaysWhatAPendingPromotionWaitsForAndWhatAHumanCanDo(t *testing.T) {
	st := service.NewStatus(func() time.Time { return epoch })
	st.SetTopology("/topology.yaml", named("prod"), epoch)
	st.ObserveLeadership(leader, nil)
	n := reconcile.Node{ID: "id-node7", Hostname: "node7", DesiredRole: reconcile.RoleManager, State: reconcile.StateDown}
	reason, advice := reconcile.StuckPromotion(&n)
	st.ObservePlan(&reconcile.Plan{Time: epoch, InFlight: []reconcile.InFlight{{Node: n.ID, Hostname: n.Hostname,
		To: reconcile.RoleManager, Since: epoch.Add(-3 * time.Minute), Stuck: true, Reason: reason, Advice: advice}}})
	st.ObservePass(controller.Result{}, nil)
	for _, typ := range []string{service.ConditionConverged, service.ConditionProgressing} {
		c, _ := st.Condition(typ)
		if c.Status != service.ConditionFalse || c.Reason != "PromotionPending" {
			t.Errorf("%s = %s/%s, want False/PromotionPending", typ, c.Status, c.Reason)
		}
		for _, w := range []string{"node7", "since 2026-", "is down", "can't find manager in raft memberlist", "docker node rm --force id-node7", "worker"} {
			if !strings.Contains(c.Message, w) {
				t.Errorf("%s message %q does not say %q", typ, c.Message, w)
			}
		}
	}
}
