package service

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/swarmtopo/swarmtopo/controller"
	"github.com/swarmtopo/swarmtopo/reconcile"
	"github.com/swarmtopo/swarmtopo/spec"
)

// Condition types, as Kubernetes objects carry them.
const (
	// ConditionConverged is True when the swarm matches the topology.
	ConditionConverged = "Converged"
	// ConditionProgressing is True while this instance applies steps or waits for one.
	ConditionProgressing = "Progressing"
	// ConditionBlocked is True when the plan may not change anything (quorum lost, ...).
	ConditionBlocked = "Blocked"
	// ConditionStandby is True when this instance does not act: another one does, or dry run.
	ConditionStandby = "Standby"
	// ConditionTopologyValid is False when the file's current content was refused.
	ConditionTopologyValid = "TopologyValid"
)

// ConditionStatus is True, False or Unknown (nothing observed yet).
type ConditionStatus string

// Condition statuses.
const (
	ConditionTrue    ConditionStatus = "True"
	ConditionFalse   ConditionStatus = "False"
	ConditionUnknown ConditionStatus = "Unknown"
)

// Condition is one aspect of the state, Kubernetes-style: LastTransitionTime moves only when
// Status changes, while Reason and Message follow every observation.
type Condition struct {
	Type               string          `json:"type"`
	Status             ConditionStatus `json:"status"`
	Reason             string          `json:"reason"`
	Message            string          `json:"message"`
	LastTransitionTime time.Time       `json:"lastTransitionTime"`
}

// StepRecord is the last step this instance attempted.
type StepRecord struct {
	Action               reconcile.Action `json:"action"`
	Node                 string           `json:"node"`
	Hostname             string           `json:"hostname"`
	Zone                 string           `json:"zone,omitempty"`
	Reason               string           `json:"reason"`
	Result               string           `json:"result"`
	Error                string           `json:"error,omitempty"`
	Time                 time.Time        `json:"time"`
	SettleSeconds        float64          `json:"settleSeconds"`
	FaultToleranceBefore int              `json:"faultToleranceBefore"`
	FaultToleranceAfter  int              `json:"faultToleranceAfter"`
}

// ErrorRecord is an error and when it happened.
type ErrorRecord struct {
	Message string    `json:"message"`
	Time    time.Time `json:"time"`
}

// TopologyStatus is the topology in force and the file it came from.
type TopologyStatus struct {
	File     string    `json:"file"`
	Name     string    `json:"name,omitempty"`
	LoadedAt time.Time `json:"loadedAt,omitzero"`
	// Error is why the file's current content was refused; the topology named above stays
	// in force.
	Error *ErrorRecord `json:"error,omitempty"`
}

// Report is what /status serves.
type Report struct {
	// NodeID and Hostname are the node this instance runs on.
	NodeID   string `json:"nodeID,omitempty"`
	Hostname string `json:"hostname,omitempty"`
	// Leader is the raft leader's hostname (or ID) as last seen.
	Leader     string         `json:"leader,omitempty"`
	Active     bool           `json:"active"`
	DryRun     bool           `json:"dryRun,omitempty"`
	Topology   TopologyStatus `json:"topology"`
	Conditions []Condition    `json:"conditions"`
	// Plan is the last plan, also when standing by: it says what the acting instance does.
	Plan         *reconcile.Plan `json:"plan"`
	LastStep     *StepRecord     `json:"lastStep"`
	LastError    *ErrorRecord    `json:"lastError"`
	LastObserved time.Time       `json:"lastObserved,omitzero"`
}

// Status is the live state behind /status, /readyz and /healthz. Its methods are safe for
// concurrent use.
type Status struct {
	mu  sync.Mutex
	now func() time.Time

	nodeID, hostname, leader string
	dryRun                   bool
	gate                     controller.GateState
	gateMsg                  string
	gateReason               string

	topo         TopologyStatus
	haveTopology bool

	plan      *reconcile.Plan
	lastStep  *StepRecord
	lastError *ErrorRecord
	// passErr is the last pass's error if it failed; nil after a pass that went through
	// (standing by is a result, not an error).
	passErr   error
	observed  time.Time
	heartbeat time.Time

	conds map[string]*Condition
}

// conditionOrder is the order conditions are listed in.
var conditionOrder = []string{ConditionConverged, ConditionProgressing, ConditionBlocked, ConditionStandby, ConditionTopologyValid}

// NewStatus returns a status with every condition Unknown. now is time.Now if nil.
func NewStatus(now func() time.Time) *Status {
	if now == nil {
		now = time.Now
	}
	s := &Status{now: now, conds: map[string]*Condition{}}
	t := now()
	s.heartbeat = t
	for _, c := range conditionOrder {
		s.conds[c] = &Condition{Type: c, Status: ConditionUnknown, Reason: "NotObserved", Message: "nothing observed yet", LastTransitionTime: t}
	}
	return s
}

// SetIdentity records the node this instance runs on.
func (s *Status) SetIdentity(nodeID, hostname string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nodeID, s.hostname = nodeID, hostname
}

// SetDryRun records that this instance never acts.
func (s *Status) SetDryRun(dryRun bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dryRun = dryRun
	s.updateLocked()
}

// SetTopology records the topology in force, loaded from file.
func (s *Status) SetTopology(file string, t *spec.SwarmTopology, loadedAt time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.topo = TopologyStatus{File: file, Name: t.Metadata.Name, LoadedAt: loadedAt}
	s.haveTopology = true
	s.updateLocked()
}

// ObserveReload records a change of the topology file: the topology in force and, if the new
// content was refused, why.
func (s *Status) ObserveReload(current *spec.SwarmTopology, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if err != nil {
		s.topo.Error = &ErrorRecord{Message: err.Error(), Time: now}
	} else {
		s.topo.Error = nil
		s.topo.LoadedAt = now
	}
	if current != nil {
		s.topo.Name = current.Metadata.Name
		s.haveTopology = true
	}
	s.updateLocked()
}

// ObserveLeadership records what the gate found: nil means this instance acts.
func (s *Status) ObserveLeadership(l controller.Leadership, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if l.Self != "" {
		s.nodeID = l.Self
	}
	if l.SelfHostname != "" {
		s.hostname = l.SelfHostname
	}
	if l.Leader != "" {
		s.leader = nameOr(l.LeaderHostname, l.Leader)
	}
	switch {
	case err == nil:
		s.gate, s.gateReason, s.gateMsg = controller.GateActive, "Leader", fmt.Sprintf("node %s is the raft leader: this instance acts", nameOr(l.SelfHostname, l.Self))
	case l.Leader != "":
		s.gate, s.gateReason, s.gateMsg = controller.GateStandby, "NotLeader", err.Error()
	default:
		s.gate, s.gateReason, s.gateMsg = controller.GateStandby, "LeaderUnknown", err.Error()
	}
	s.updateLocked()
}

// SetActive records that this instance acts without a gate (a single instance).
func (s *Status) SetActive() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gate, s.gateReason, s.gateMsg = controller.GateActive, "SingleInstance", "this instance acts without asking who leads: run only one"
	s.updateLocked()
}

// ObservePlan records a plan: the swarm was observed.
func (s *Status) ObservePlan(p *reconcile.Plan) {
	if p == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.plan = p
	s.observed = s.now()
	s.updateLocked()
}

// ObserveStep records the outcome of a step this instance attempted.
func (s *Status) ObserveStep(sr controller.StepResult) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec := &StepRecord{Action: sr.Step.Action, Node: sr.Step.Node, Hostname: sr.Step.Hostname, Zone: sr.Step.Zone,
		Reason: sr.Step.Reason, Result: sr.Result, Time: s.now(), SettleSeconds: sr.Settle.Seconds(),
		FaultToleranceBefore: sr.FaultToleranceBefore, FaultToleranceAfter: sr.FaultToleranceAfter}
	if sr.Err != nil {
		rec.Error = sr.Err.Error()
	}
	s.lastStep = rec
	s.updateLocked()
}

// ObservePass records the end of a pass; err is what Reconcile returned.
func (s *Status) ObservePass(_ controller.Result, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.heartbeat = s.now()
	if err != nil {
		s.passErr = err
		s.lastError = &ErrorRecord{Message: err.Error(), Time: s.heartbeat}
	} else {
		s.passErr = nil
	}
	s.updateLocked()
}

// Beat records that the loop is alive.
func (s *Status) Beat() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.heartbeat = s.now()
}

// Alive reports whether the loop showed life within staleAfter, and if not, why.
func (s *Status) Alive(staleAfter time.Duration) (bool, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if since := s.now().Sub(s.heartbeat); since > staleAfter {
		return false, fmt.Sprintf("the reconcile loop has shown no activity for %s (limit %s)", since.Round(time.Second), staleAfter)
	}
	return true, ""
}

// Ready reports whether a valid topology is loaded and the swarm was observed once, and if
// not, why.
func (s *Status) Ready() (bool, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case !s.haveTopology:
		return false, "no valid topology is loaded"
	case s.observed.IsZero():
		return false, "the swarm has not been observed yet"
	}
	return true, ""
}

// Report returns a copy of the state for /status.
func (s *Status) Report() Report {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := Report{NodeID: s.nodeID, Hostname: s.hostname, Leader: s.leader, Active: s.gate == controller.GateActive && !s.dryRun,
		DryRun: s.dryRun, Topology: s.topo, Plan: s.plan, LastObserved: s.observed}
	if s.topo.Error != nil {
		e := *s.topo.Error
		r.Topology.Error = &e
	}
	if s.lastStep != nil {
		st := *s.lastStep
		r.LastStep = &st
	}
	if s.lastError != nil {
		e := *s.lastError
		r.LastError = &e
	}
	for _, c := range conditionOrder {
		r.Conditions = append(r.Conditions, *s.conds[c])
	}
	return r
}

// Condition returns one condition by type.
func (s *Status) Condition(typ string) (Condition, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.conds[typ]
	if !ok {
		return Condition{}, false
	}
	return *c, true
}

// set changes a condition; the transition time moves only when the status does.
func (s *Status) setLocked(typ string, st ConditionStatus, reason, msg string) {
	c := s.conds[typ]
	if c.Status != st {
		c.Status, c.LastTransitionTime = st, s.now()
	}
	c.Reason, c.Message = reason, msg
}

// updateLocked derives every condition from what is known.
func (s *Status) updateLocked() {
	switch {
	case !s.haveTopology:
		s.setLocked(ConditionTopologyValid, ConditionFalse, "NotLoaded", "no valid topology is loaded")
	case s.topo.Error != nil:
		s.setLocked(ConditionTopologyValid, ConditionFalse, "InvalidTopology",
			fmt.Sprintf("%s; the last good topology %q (loaded %s) stays in force", s.topo.Error.Message, s.topo.Name, s.topo.LoadedAt.UTC().Format(time.RFC3339)))
	default:
		s.setLocked(ConditionTopologyValid, ConditionTrue, "Loaded", fmt.Sprintf("topology %q from %s is in force", s.topo.Name, s.topo.File))
	}

	switch {
	case s.dryRun:
		s.setLocked(ConditionStandby, ConditionTrue, "DryRun", "dry run: this instance plans and never acts")
	case s.gate == controller.GateActive:
		s.setLocked(ConditionStandby, ConditionFalse, s.gateReason, s.gateMsg)
	case s.gate == controller.GateStandby:
		s.setLocked(ConditionStandby, ConditionTrue, s.gateReason, s.gateMsg)
	}

	p := s.plan
	if p == nil {
		return
	}
	if p.Blocked != "" {
		s.setLocked(ConditionBlocked, ConditionTrue, "PlanBlocked", p.Blocked)
	} else {
		s.setLocked(ConditionBlocked, ConditionFalse, "NotBlocked", "the plan may proceed")
	}
	stuck := stuckPromotion(p)
	switch {
	case p.Blocked != "":
		s.setLocked(ConditionConverged, ConditionFalse, "Blocked", "the plan is blocked: see the Blocked condition")
	case len(p.Steps) > 0:
		st := p.Steps[0]
		s.setLocked(ConditionConverged, ConditionFalse, "StepsPending",
			fmt.Sprintf("%d step(s) pending; next: %s %s (%s)", len(p.Steps), st.Action, st.Hostname, st.Reason))
	case stuck != nil:
		s.setLocked(ConditionConverged, ConditionFalse, stuckReason(stuck), stuckMessage(stuck))
	case len(p.InFlight) > 0:
		f := p.InFlight[0]
		s.setLocked(ConditionConverged, ConditionFalse, "RoleChangeInFlight",
			fmt.Sprintf("waiting for %s to become a %s", f.Hostname, f.To))
	case len(p.Unmet) > 0:
		s.setLocked(ConditionConverged, ConditionFalse, "Unmet",
			fmt.Sprintf("the nodes there are cannot meet topology %q: %s", s.topo.Name, strings.Join(p.Unmet, "; ")))
	default:
		s.setLocked(ConditionConverged, ConditionTrue, "Converged", fmt.Sprintf("the swarm matches topology %q", s.topo.Name))
	}
	s.updateProgressingLocked(p)
}

func (s *Status) updateProgressingLocked(p *reconcile.Plan) {
	switch {
	case p.Blocked != "":
		s.setLocked(ConditionProgressing, ConditionFalse, "Blocked", "nothing may be changed while the plan is blocked")
	case p.Converged():
		s.setLocked(ConditionProgressing, ConditionFalse, "Converged", "nothing to do")
	case p.Idle():
		s.setLocked(ConditionProgressing, ConditionFalse, "Unmet", "nothing more can be done: the file cannot be met")
	case s.dryRun:
		s.setLocked(ConditionProgressing, ConditionFalse, "DryRun", "dry run: steps are planned, never applied")
	case s.gate == controller.GateStandby:
		s.setLocked(ConditionProgressing, ConditionFalse, "Standby", "another instance applies the plan")
	case s.gate == controller.GateUnknown:
		// The plan is reported before the gate is asked: do not claim progress yet.
		s.setLocked(ConditionProgressing, ConditionUnknown, "LeadershipUnknown", "not known yet whether this instance acts")
	case s.passErr != nil && errors.Is(s.passErr, controller.ErrStepTimeout):
		s.setLocked(ConditionProgressing, ConditionFalse, "StepTimedOut", s.passErr.Error())
	case s.passErr != nil && errors.Is(s.passErr, controller.ErrNoProgress):
		s.setLocked(ConditionProgressing, ConditionFalse, "NoProgress", s.passErr.Error())
	case s.passErr != nil:
		s.setLocked(ConditionProgressing, ConditionFalse, "ReconcileError", s.passErr.Error())
	case len(p.Steps) == 0 && stuckPromotion(p) != nil:
		// Only the node's return or a human ends it: nothing progresses meanwhile.
		s.setLocked(ConditionProgressing, ConditionFalse, stuckReason(stuckPromotion(p)), stuckMessage(stuckPromotion(p)))
	case len(p.Steps) == 0:
		s.setLocked(ConditionProgressing, ConditionTrue, "WaitingForRoleChange", "a role change is in flight")
	default:
		s.setLocked(ConditionProgressing, ConditionTrue, "ApplyingSteps", fmt.Sprintf("%d step(s) to apply", len(p.Steps)))
	}
}

// stuckReason is a stuck change's condition reason: PromotionPending, or MemberLeftBehind for a
// member a demotion left in raft (reconcile.DemotionStuck).
func stuckReason(f *reconcile.InFlight) string {
	if f.To == reconcile.RoleWorker {
		return "MemberLeftBehind"
	}
	return "PromotionPending"
}

// stuckPromotion returns the plan's first role change in flight that cannot complete now, if any.
func stuckPromotion(p *reconcile.Plan) *reconcile.InFlight {
	for i := range p.InFlight {
		if p.InFlight[i].Stuck {
			return &p.InFlight[i]
		}
	}
	return nil
}

// stuckMessage says what is pending, since when, why, and what a human can do.
func stuckMessage(f *reconcile.InFlight) string {
	since := "since before this instance started"
	if !f.Since.IsZero() {
		since = "since " + f.Since.UTC().Format(time.RFC3339)
	}
	return fmt.Sprintf("the promotion of %s (%s) is pending %s: %s. To end it: %s", f.Hostname, f.Node, since, f.Reason, f.Advice)
}

func nameOr(hostname, id string) string {
	if hostname != "" {
		return hostname
	}
	return id
}
