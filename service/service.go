package service

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/api/types/system"
	"github.com/go-logr/logr"

	"github.com/swarmtopo/swarmtopo/controller"
	"github.com/swarmtopo/swarmtopo/reconcile"
	"github.com/swarmtopo/swarmtopo/spec"
)

// shutdownGrace is how long the HTTP server may finish its requests on stop.
const shutdownGrace = 5 * time.Second

// Config configures a Service.
type Config struct {
	// File is the topology file, watched and reloaded.
	File string
	// Addr is where /metrics, /healthz, /readyz and /status listen; DefaultAddr if empty.
	Addr string
	// WebConfigFile secures the endpoints with TLS and basic auth (ListenConfig.WebConfigFile);
	// empty serves plain HTTP.
	WebConfigFile string
	Docker        controller.Docker
	Log           logr.Logger
	// Controller tunes the controller (Resync, StepTimeout, CallTimeout, DryRun, Clock,
	// Planner, ...). The service sets Topology, Docker, Log, Gate and Wake; the OnPlan, OnStep
	// and OnPass given here are still called.
	Controller controller.Options
	// SingleInstance acts without asking who leads: for one instance that talks to any manager
	// from outside the swarm. Without it only the instance whose engine's node is the raft
	// leader acts, so that any number of instances can run, one per manager.
	SingleInstance bool
	// Reload tunes the file watch; its Log and OnReload are set by the service.
	Reload ReloaderOptions
	// StaleAfter is how long the loop may show no life before /healthz fails; derived from
	// the controller's timings if zero.
	StaleAfter time.Duration
	// Now is time.Now if nil.
	Now func() time.Time
}

// Service is swarmtopo running as a service: the controller loop, the topology reloader and the
// HTTP endpoints, with metrics and status fed from the controller's hooks.
type Service struct {
	cfg        Config
	log        logr.Logger
	docker     controller.Docker
	metrics    *Metrics
	status     *Status
	reloader   *Reloader
	ctrl       *controller.Controller
	staleAfter time.Duration
}

// New loads the topology file and wires the parts. It fails if the file is not a valid
// topology: at start there is no last good one to keep in force, and failing lets a swarm
// service update roll back to the previous config.
func New(cfg Config) (*Service, error) {
	if cfg.Docker == nil {
		return nil, errors.New("service: Config.Docker is required")
	}
	if cfg.Addr == "" {
		cfg.Addr = DefaultAddr
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Service{cfg: cfg, log: cfg.Log, metrics: NewMetrics(), status: NewStatus(cfg.Now)}
	s.metrics.now = cfg.Now
	s.docker = beating{Docker: cfg.Docker, beat: s.status.Beat}

	ro := cfg.Reload
	ro.Log = cfg.Log.WithName("reload")
	ro.Now = cfg.Now
	ro.OnReload = func(cur *spec.SwarmTopology, err error) {
		s.metrics.ObserveReload(err)
		s.metrics.SetTopology(cur)
		s.status.ObserveReload(cur, err)
	}
	r, err := NewReloader(cfg.File, ro)
	if err != nil {
		return nil, err
	}
	s.reloader = r
	s.metrics.SetTopologyValid(true)
	s.metrics.SetTopology(r.Current())
	s.status.SetTopology(cfg.File, r.Current(), r.LoadedAt())

	o := cfg.Controller
	o.Topology = r.Current
	o.Docker = s.docker
	o.Log = cfg.Log
	o.Wake = r.Changed()
	o.Gate = nil
	onPlan, onStep, onPass := o.OnPlan, o.OnStep, o.OnPass
	o.OnPlan = func(p *reconcile.Plan) {
		s.metrics.ObservePlan(p)
		s.status.ObservePlan(p)
		if onPlan != nil {
			onPlan(p)
		}
	}
	o.OnStep = func(sr controller.StepResult) {
		s.metrics.ObserveStep(sr)
		s.status.ObserveStep(sr)
		if onStep != nil {
			onStep(sr)
		}
	}
	o.OnPass = func(res controller.Result, err error) {
		s.metrics.ObserveError(err)
		s.status.ObservePass(res, err)
		if !cfg.SingleInstance && !o.DryRun && (errors.Is(err, controller.ErrNotManager) || errors.Is(err, controller.ErrNotInSwarm)) {
			// Its own node was demoted (or left): the pass fails before the gate is asked, and
			// this instance must stop saying it acts while its task is being shut down.
			s.status.ObserveLeadership(controller.Leadership{}, fmt.Errorf("%w: %w", controller.ErrStandby, err))
			s.metrics.SetActive(false)
		}
		if onPass != nil {
			onPass(res, err)
		}
	}
	switch {
	case o.DryRun:
		s.status.SetDryRun(true)
		s.metrics.SetActive(false)
	case cfg.SingleInstance:
		s.status.SetActive()
		s.metrics.SetActive(true)
	default:
		o.Gate = s.gate
		s.metrics.SetActive(false)
	}
	s.ctrl = controller.New(o)

	s.staleAfter = cfg.StaleAfter
	if s.staleAfter <= 0 {
		s.staleAfter = staleAfter(o)
	}
	return s, nil
}

// staleAfter is how long the loop may go without a Docker call or a finished pass: three resync
// periods, and at least a full error backoff plus two bounded calls. A step that takes long to
// settle polls all along, so it does not count against it.
func staleAfter(o controller.Options) time.Duration {
	o = o.Defaulted()
	return max(3*o.Resync, o.MaxBackoff+2*o.CallTimeout)
}

// gate lets this instance act only while its node leads, and records what it found.
func (s *Service) gate(ctx context.Context) error {
	l, err := controller.CheckLeader(ctx, s.docker, s.cfg.Controller.Defaulted().CallTimeout)
	s.status.ObserveLeadership(l, err)
	s.metrics.SetActive(err == nil)
	return err
}

// Metrics are the service's series.
func (s *Service) Metrics() *Metrics { return s.metrics }

// Status is the service's state behind /status, /readyz and /healthz.
func (s *Service) Status() *Status { return s.status }

// Reloader follows the topology file.
func (s *Service) Reloader() *Reloader { return s.reloader }

// Handler serves the endpoints; Run serves it on Config.Addr.
func (s *Service) Handler() http.Handler { return Handler(s.metrics, s.status, s.staleAfter) }

// Run serves the endpoints, follows the topology file and reconciles until ctx ends. It returns
// nil after a clean stop: the step in hand settled or was given up, and the server drained.
func (s *Service) Run(ctx context.Context) error {
	srv, err := ListenConfig{Addr: s.cfg.Addr, WebConfigFile: s.cfg.WebConfigFile, Log: s.log}.Listen(s.Handler())
	if err != nil {
		return err
	}
	t := s.reloader.Current()
	s.log.Info("Service started", "addr", srv.Addr(), "webConfigFile", s.cfg.WebConfigFile, "file", s.cfg.File, "name", t.Metadata.Name,
		"singleInstance", s.cfg.SingleInstance, "dryRun", s.cfg.Controller.DryRun, "staleAfter", s.staleAfter.String())
	s.identify(ctx)

	rctx, stopReload := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { _ = s.reloader.Run(rctx) })
	runErr := s.ctrl.Run(ctx)
	stopReload()
	wg.Wait()

	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownGrace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		s.log.Error(err, "HTTP server did not stop cleanly")
	}
	s.log.Info("Service stopped")
	if runErr != nil {
		return fmt.Errorf("reconciling: %w", runErr)
	}
	return nil
}

// identify records which node this instance runs on, for /status before the gate first asks.
// Best effort: the gate and the loop report a daemon that does not answer.
func (s *Service) identify(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, controller.DefaultCallTimeout)
	defer cancel()
	info, err := s.docker.Info(ctx)
	if err != nil {
		s.log.V(1).Info("Cannot tell which node this instance runs on yet", "error", err.Error())
		return
	}
	s.status.SetIdentity(info.Swarm.NodeID, info.Name)
}

// beating notes a sign of life on every read the loop makes: a pass that waits for a step to
// settle polls all along, so liveness does not depend on passes finishing.
type beating struct {
	controller.Docker
	beat func()
}

func (b beating) NodeList(ctx context.Context, o swarm.NodeListOptions) ([]swarm.Node, error) {
	b.beat()
	return b.Docker.NodeList(ctx, o)
}

func (b beating) NodeInspectWithRaw(ctx context.Context, id string) (swarm.Node, []byte, error) {
	b.beat()
	return b.Docker.NodeInspectWithRaw(ctx, id)
}

// SwarmInspect forwards the read of the maintenance lock.
func (b beating) SwarmInspect(ctx context.Context) (swarm.Swarm, error) {
	b.beat()
	return controller.ForwardSwarmInspect(ctx, b.Docker)
}

// TaskList forwards the reads a drain waits with.
func (b beating) TaskList(ctx context.Context, o swarm.TaskListOptions) ([]swarm.Task, error) {
	b.beat()
	return b.Docker.TaskList(ctx, o)
}

func (b beating) Info(ctx context.Context) (system.Info, error) {
	b.beat()
	return b.Docker.Info(ctx)
}
