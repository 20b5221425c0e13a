package controller

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/go-logr/logr"

	"github.com/swarmtopo/swarmtopo/reconcile"
	"github.com/swarmtopo/swarmtopo/spec"
)

// Defaults of Options.
const (
	// DefaultResync is how often the loop looks again without any event: events are hints and
	// the daemon's watch can stop silently (moby#36729).
	DefaultResync = 30 * time.Second
	// DefaultStepTimeout is how long a step may take to settle. A promote usually joins in a
	// few seconds (moby's own tests wait up to 30 s); demoting the leader includes an election
	// of up to ~25 s.
	DefaultStepTimeout = 90 * time.Second
	// DefaultSettlePoll is how often a step's effect is looked for.
	DefaultSettlePoll = 200 * time.Millisecond
	// DefaultStopGrace is how long a step that was sent may still settle after a stop was
	// asked for, so the log can say where it stands.
	DefaultStopGrace = 10 * time.Second
	// DefaultDemotionHold is how long after a node left raft by a demotion no other membership
	// change is sent, counted while a leader is seen. The node keeps its manager certificate
	// until a leader signs it a worker one: 5.7 to 10 s after the removal on the lab (swarm
	// writes the worker role after the removal, and the node's renewal, refused once, retries
	// within 10 s). A node still without one 32 s after the removal starts its manager again and
	// joins raft anew (swarmkit#1991), so until then the demotion can come undone, a membership
	// change of its own. The hold covers that window plus the ~10 s swarm takes to show a node
	// that was cut off inside it as not ready (after which the hold runs again from its return).
	DefaultDemotionHold = 20 * time.Second
	// DefaultMaxBackoff caps the wait between failed passes.
	DefaultMaxBackoff = time.Minute
	// DefaultDrainTimeout bounds how long a drain waits, once the availability reads back, for
	// the node's tasks to stop and their replacements to run elsewhere.
	DefaultDrainTimeout = 5 * time.Minute
	// DefaultParallelism is how many steps that change no raft membership (labels,
	// availability) are sent at once in one pass.
	DefaultParallelism = 8
)

// minBackoff is the first wait after a failed pass or a broken event stream.
const minBackoff = time.Second

// Results of a step, as StepResult.Result and in logs and metrics.
const (
	ResultOK          = "ok"          // applied and settled
	ResultTimeout     = "timeout"     // applied, did not settle within the step timeout
	ResultRefused     = "refused"     // not sent: the safety check failed on a fresh observation
	ResultConflict    = "conflict"    // not applied: the node changed since it was read
	ResultError       = "error"       // the call failed
	ResultInterrupted = "interrupted" // stopped before it was sent, or before it settled
	ResultStandby     = "standby"     // not sent: Options.Gate held this instance back
)

// Sentinel errors of the controller. Match them with errors.Is.
var (
	// ErrStepTimeout means a step was applied but did not settle within the step timeout.
	ErrStepTimeout = errors.New("controller: step did not settle in time")
	// ErrNoProgress means passes keep ending without progress: conflicts or refusals in a row,
	// or a settled step that the planner asks for again.
	ErrNoProgress = errors.New("controller: no progress")
	// ErrNoTopology means Options.Topology returned nil.
	ErrNoTopology = errors.New("controller: no topology")
	// ErrStopped means the pass was stopped by its context while a step was on its way.
	ErrStopped = errors.New("controller: stopped")
)

// Planner computes a plan; reconcile.Compute in production.
type Planner func(*spec.SwarmTopology, reconcile.Snapshot) (*reconcile.Plan, error)

// Options configure a Controller. Topology and Docker are required; zero values of the rest
// take the defaults above.
type Options struct {
	// Topology returns the current desired topology; called once per pass, so a reloader can
	// swap it between passes.
	Topology func() *spec.SwarmTopology
	Docker   Docker
	Log      logr.Logger
	// DryRun observes, plans and reports, and never makes a mutating call: the controller
	// then holds no Writer at all.
	DryRun bool
	// Resync is the longest idle time without an event before the swarm is observed again.
	Resync time.Duration
	// StepTimeout bounds how long one step (or a change found in flight) may take to settle.
	StepTimeout time.Duration
	// SettlePoll is the interval between looks while a step settles.
	SettlePoll time.Duration
	// DemotionHold is how long after a node left raft by a demotion the next membership change
	// waits (DefaultDemotionHold). It runs from when this process saw the node leave or, for a
	// node it first sees already out of raft, from the node's last update by swarm's clock.
	DemotionHold time.Duration
	// CallTimeout bounds every Docker call except the event stream; DefaultCallTimeout if zero.
	CallTimeout time.Duration
	// DrainTimeout bounds the wait for a drained node's tasks to move (ErrDrainTimeout).
	DrainTimeout time.Duration
	// Parallelism is how many label and availability steps go out at once in one pass; 1
	// applies one step per pass.
	Parallelism int
	// StopGrace is how long a sent step may keep settling after the context is cancelled.
	StopGrace time.Duration
	// MaxBackoff caps the wait between failed passes and event re-subscriptions.
	MaxBackoff time.Duration
	// Clock is RealClock if nil.
	Clock Clock
	// Planner is reconcile.Compute if nil.
	Planner Planner
	// OnPlan, if set, is called with every plan, also in dry-run and when blocked.
	OnPlan func(*reconcile.Plan)
	// OnStep, if set, is called with the outcome of every step attempted.
	OnStep func(StepResult)
	// OnPass, if set, is called at the end of every pass with what Reconcile returns.
	OnPass func(Result, error)
	// Gate, if set, is asked whether this instance may change the swarm: once per pass before
	// anything is applied or waited for, and again immediately before every mutating call.
	// A non-nil error means "do not act": nothing is sent and the pass returns a Result with
	// Standby set to why. LeaderGate is the gate for running several instances.
	Gate func(ctx context.Context) error
	// Wake, if set, wakes Run like a node event does; a topology reloader's change channel.
	Wake <-chan struct{}
}

// StepResult is the outcome of one step.
type StepResult struct {
	Step reconcile.Step
	// Result is one of ResultOK, ResultTimeout, ResultRefused, ResultConflict, ResultError,
	// ResultInterrupted, ResultStandby.
	Result string
	// Err is nil only for ResultOK.
	Err error
	// Settle is how long the step took from sending it to seeing it done (or giving up).
	Settle time.Duration
	// FaultToleranceBefore and FaultToleranceAfter are observed just before the step and
	// at the last look after it.
	FaultToleranceBefore int
	FaultToleranceAfter  int
	// unsettled is set when the step may be stored and was not seen to settle (a call that
	// timed out, a settle that timed out or was stopped).
	unsettled bool
	// openDrain, set when a drain's tasks were not seen to move, is what it still waits for.
	openDrain map[string]bool
}

// Result is what one pass asks of its caller, read the way controller-runtime's reconcile.Result
// is: an error returned beside it wins (retry with backoff; only Plan and Step are still worth
// reporting), otherwise RequeueNow, RequeueAfter or nothing (the next event or resync) says when
// to look again. Whether the swarm is converged or blocked is the plan's to say
// (Plan.Converged, Plan.Blocked); the result does not keep a copy.
type Result struct {
	// Plan is the plan the pass made; nil if it failed before planning.
	Plan *reconcile.Plan
	// Step is the step the pass attempted, if any.
	Step *StepResult
	// RequeueNow asks for another pass at once: a step was applied or a change seen settle,
	// so the plan this pass made is stale.
	RequeueNow bool
	// RequeueAfter asks for another pass after this long, sooner than the resync: a grace
	// period ends, nodes show unknown after a leader change, a step was refused at the last
	// moment. Zero means at the next node event or resync.
	RequeueAfter time.Duration
	// Standby says why Options.Gate held this instance back; empty when it may act. Standing
	// by is not a failure: look again at the next event or resync, without backoff.
	Standby string
}

// StandingBy reports whether the gate held this instance back in this pass.
func (r Result) StandingBy() bool { return r.Standby != "" }

// Defaulted returns o with every zero duration and the clock set to its default: the one place
// the defaults are applied, for the controller and for callers that derive their own timings
// from the controller's (service mode's staleness limit).
func (o Options) Defaulted() Options {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.Resync, DefaultResync)
	def(&o.StepTimeout, DefaultStepTimeout)
	def(&o.SettlePoll, DefaultSettlePoll)
	def(&o.DemotionHold, DefaultDemotionHold)
	def(&o.CallTimeout, DefaultCallTimeout)
	def(&o.StopGrace, DefaultStopGrace)
	def(&o.MaxBackoff, DefaultMaxBackoff)
	def(&o.DrainTimeout, DefaultDrainTimeout)
	if o.Parallelism <= 0 {
		o.Parallelism = DefaultParallelism
	}
	if o.Clock == nil {
		o.Clock = RealClock
	}
	return o
}

// Controller reconciles one swarm. Reconcile, Once and Run must not run concurrently.
type Controller struct {
	o Options
	r Reader
	// w is nil in dry-run mode: there is nothing to call a mutation on.
	w       Writer
	planner Planner

	// mu guards what observe remembers; settle polls observe too.
	mu               sync.Mutex
	unreachableSince map[string]time.Time
	inFlightSince    map[string]time.Time
	leftUnreachable  map[string]time.Time
	// lastRaft is each node's raft membership when last seen: its reachability, or "" when it
	// was not a member. leftRaft is when a node asked to be a worker may have left the member
	// list (see Options.DemotionHold).
	lastRaft map[string]reconcile.Reachability
	// leaderSince starts the current run of observations that saw a leader; zero when the last
	// one saw none or failed. firstLook is this process's first observation, firstLeader the
	// first that saw a leader.
	leaderSince, firstLook, firstLeader time.Time
	leftRaft                            map[string]time.Time
	// leftUp is whether a node in leftRaft was seen leaving while reachable.
	leftUp map[string]bool

	// mem is what one pass leaves for the next; only remember writes it.
	mem memory
	// gate is what Gate said last, to log only when it changes.
	gate GateState
}

// forget empties what observe remembers (stamp): a new process knows nothing yet.
func (c *Controller) forget() {
	c.unreachableSince = map[string]time.Time{}
	c.inFlightSince = map[string]time.Time{}
	c.leftUnreachable = map[string]time.Time{}
	c.lastRaft = map[string]reconcile.Reachability{}
	c.leftRaft = map[string]time.Time{}
	c.leftUp = map[string]bool{}
}

// New returns a controller. It panics if Topology or Docker is missing: that is a wiring bug.
func New(o Options) *Controller {
	if o.Topology == nil || o.Docker == nil {
		panic("controller: Options.Topology and Options.Docker are required")
	}
	o = o.Defaulted()
	c := &Controller{o: o, r: readOnly{r: o.Docker}, planner: o.Planner}
	c.forget()
	if c.planner == nil {
		c.planner = reconcile.Compute
	}
	if !o.DryRun {
		c.w = o.Docker
	}
	return c
}
