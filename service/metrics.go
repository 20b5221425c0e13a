package service

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/swarmtopo/swarmtopo/controller"
	"github.com/swarmtopo/swarmtopo/reconcile"
)

// namespace prefixes every series.
const namespace = "swarmtopo"

// settleBuckets cover a label change (well under a second) up to a leader's demotion with its
// election (tens of seconds) and the default step timeout.
var settleBuckets = []float64{0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15, 20, 30, 45, 60, 90, 120}

// Reload results, as the result label of topology_reloads_total.
const (
	reloadOK      = "ok"
	reloadInvalid = "invalid"
)

// Metrics are swarmtopo's Prometheus series, on a registry of their own so that nothing else
// in the process adds to them. Its methods are safe for concurrent use.
type Metrics struct {
	reg *prometheus.Registry
	now func() time.Time

	managers, reachable, faultTolerance *prometheus.GaugeVec
	perZone                             *prometheus.GaugeVec
	pending, blocked, active            prometheus.Gauge
	topologyValid, lastReconcile        prometheus.Gauge
	steps                               *prometheus.CounterVec
	errors                              prometheus.Counter
	reloads                             *prometheus.CounterVec
	settle                              *prometheus.HistogramVec
}

// NewMetrics registers the series, with the Go runtime and process collectors, on a new
// registry.
func NewMetrics() *Metrics {
	reg := prometheus.NewRegistry()
	gauge := func(name, help string) prometheus.Gauge {
		g := prometheus.NewGauge(prometheus.GaugeOpts{Namespace: namespace, Name: name, Help: help})
		reg.MustRegister(g)
		return g
	}
	// Vectors without labels: unlike a plain gauge, their series can be removed (Reset) when
	// the swarm could not be observed, instead of showing a made-up zero. See ObservePlan.
	plain := func(name, help string) *prometheus.GaugeVec {
		g := prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: namespace, Name: name, Help: help}, nil)
		reg.MustRegister(g)
		return g
	}
	m := &Metrics{
		reg:            reg,
		now:            time.Now,
		managers:       plain("managers", "Raft members (managers) in the last observation."),
		reachable:      plain("reachable_managers", "Managers reachable from the answering manager in the last observation."),
		faultTolerance: plain("fault_tolerance", "How many more managers may fail before quorum is lost; -1 when it is lost or the swarm has no leader."),
		perZone: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: namespace, Name: "managers_per_zone",
			Help: "Managers per zone label value; zone=\"(none)\" counts managers without one."}, []string{"zone"}),
		pending:       gauge("pending_steps", "Steps the current plan still has to apply."),
		blocked:       gauge("blocked", "1 when the plan is blocked (nothing may be changed), else 0."),
		active:        gauge("active", "1 when this instance acts, 0 when it stands by (another instance acts, or dry run)."),
		topologyValid: gauge("topology_valid", "1 when the topology file's current content is in force, 0 when it was refused (the last good one stays in force)."),
		lastReconcile: gauge("last_reconcile_timestamp_seconds", "Unix time of the last pass that observed the swarm and planned."),
		steps: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: "steps_total",
			Help: "Steps attempted by this instance, by action and result (ok, timeout, refused, conflict, error, interrupted)."}, []string{"action", "result"}),
		errors: prometheus.NewCounter(prometheus.CounterOpts{Namespace: namespace, Name: "reconcile_errors_total",
			Help: "Passes that failed; standing by is not counted."}),
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: "topology_reloads_total",
			Help: "Changes of the topology file, by result: ok (in force) or invalid (refused)."}, []string{"result"}),
		settle: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: namespace, Name: "step_settle_seconds",
			Help: "Time from sending a step to seeing it take effect (or giving up), by action.", Buckets: settleBuckets}, []string{"action"}),
	}
	reg.MustRegister(m.perZone, m.steps, m.errors, m.reloads, m.settle,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	// Both results exist from the start, so a rate() over them works before the first change.
	m.reloads.WithLabelValues(reloadOK)
	m.reloads.WithLabelValues(reloadInvalid)
	return m
}

// Registry is the registry the series live on.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the registry in the Prometheus exposition format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// ObservePlan records the control plane as a plan saw it before its first step.
func (m *Metrics) ObservePlan(p *reconcile.Plan) {
	if p == nil {
		return
	}
	b := p.Before
	m.perZone.Reset()
	if b.Managers == 0 {
		// No manager seen: the swarm has no leader and only its error could be read. Zero
		// managers would read as "scaled to nothing", so the counts go away instead.
		m.managers.Reset()
		m.reachable.Reset()
		m.faultTolerance.WithLabelValues().Set(-1)
	} else {
		m.managers.WithLabelValues().Set(float64(b.Managers))
		m.reachable.WithLabelValues().Set(float64(b.Reachable))
		m.faultTolerance.WithLabelValues().Set(float64(max(b.FaultTolerance, -1)))
		for z, n := range b.Zones {
			m.perZone.WithLabelValues(z).Set(float64(n))
		}
	}
	m.pending.Set(float64(len(p.Steps)))
	m.blocked.Set(boolGauge(p.Blocked != ""))
	at := p.Time
	if at.IsZero() {
		at = m.now()
	}
	m.lastReconcile.Set(float64(at.UnixNano()) / 1e9)
}

// ObserveStep counts a step this instance attempted and, if it was sent and waited for, how
// long it took to settle.
func (m *Metrics) ObserveStep(sr controller.StepResult) {
	action := string(sr.Step.Action)
	m.steps.WithLabelValues(action, sr.Result).Inc()
	if sr.Result == controller.ResultOK || sr.Result == controller.ResultTimeout {
		m.settle.WithLabelValues(action).Observe(sr.Settle.Seconds())
	}
}

// ObserveError counts a failed pass. Standing by is a result, not an error, so it is never
// counted.
func (m *Metrics) ObserveError(err error) {
	if err == nil {
		return
	}
	m.errors.Inc()
}

// SetActive records whether this instance acts (true) or stands by.
func (m *Metrics) SetActive(active bool) { m.active.Set(boolGauge(active)) }

// SetTopologyValid records whether the file's current content is the topology in force.
func (m *Metrics) SetTopologyValid(valid bool) { m.topologyValid.Set(boolGauge(valid)) }

// ObserveReload counts a change of the topology file: put in force (nil) or refused.
func (m *Metrics) ObserveReload(err error) {
	result := reloadOK
	if err != nil {
		result = reloadInvalid
	}
	m.reloads.WithLabelValues(result).Inc()
	m.SetTopologyValid(err == nil)
}

func boolGauge(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
