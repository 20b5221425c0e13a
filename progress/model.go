package progress

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"

	"github.com/swarmtopo/swarmtopo/controller"
	"github.com/swarmtopo/swarmtopo/reconcile"
)

// state is where one row of the view stands.
type state int

const (
	pending state = iota
	inHand
	done
	failed
)

// row is one step of the view.
type row struct {
	step  reconcile.Step
	state state
	// settle is how long a done step took to settle.
	settle time.Duration
	// result and err describe the last failed attempt, kept while the plan still asks for it.
	result, err string
}

// Model is the view's state. It is pure: events come in through its methods with the time
// they happened, and View renders it, so tests drive it without a terminal or a clock.
//
// The controller plans again after every step, so the list is the steps already done
// followed by the latest plan's steps; the first of those is in hand from the moment it is
// planned until the controller reports its outcome.
type Model struct {
	name   string
	start  time.Time
	now    time.Time
	rows   []row
	since  time.Time // when the step in hand was first planned
	plans  int
	ft     int // fault tolerance now
	floor  int
	target int // fault tolerance once the plan is done
	mgrs   reconcile.Summary
	after  reconcile.Summary
	wait   []reconcile.InFlight
	warns  []string
	passEr string
	final  string // the summary line, set by Finish
	ended  bool
	okEnd  bool
}

// NewModel returns the model of a run of the topology called name that starts at start.
func NewModel(name string, start time.Time) *Model {
	return &Model{name: name, start: start, now: start}
}

// Tick moves the view's clock.
func (m *Model) Tick(now time.Time) { m.now = now }

// Plan takes the latest plan: done rows stay, the rest is replaced by the plan's steps.
func (m *Model) Plan(p *reconcile.Plan, now time.Time) {
	m.now = now
	m.plans++
	m.ft, m.floor, m.target = p.Before.FaultTolerance, p.Floor, p.After.FaultTolerance
	m.mgrs, m.after = p.Before, p.After
	m.wait = p.InFlight
	m.warns = p.Warnings
	var hand *reconcile.Step
	old := map[string]row{}
	for _, r := range m.rows {
		if r.state == inHand {
			hand = &r.step
		}
		if r.state != done {
			old[key(r.step)] = r
		}
	}
	kept := slices.DeleteFunc(m.rows, func(r row) bool { return r.state != done })
	for i, st := range p.Steps {
		r := row{step: st}
		if o, ok := old[key(st)]; ok {
			r.result, r.err = o.result, o.err
		}
		// The controller applies the first step unless it has a role change in flight to
		// wait for first, or the plan is blocked.
		if i == 0 && p.Blocked == "" && len(p.InFlight) == 0 {
			r.state = inHand
			if hand == nil || key(*hand) != key(st) {
				m.since = now
			}
		}
		kept = append(kept, r)
	}
	m.rows = kept
}

// Step takes the outcome of one step.
func (m *Model) Step(sr controller.StepResult, now time.Time) {
	m.now = now
	m.ft = sr.FaultToleranceAfter
	i := slices.IndexFunc(m.rows, func(r row) bool { return r.state != done && key(r.step) == key(sr.Step) })
	if sr.Result == controller.ResultOK {
		r := row{step: sr.Step, state: done, settle: sr.Settle}
		if i >= 0 {
			m.rows = slices.Delete(m.rows, i, i+1)
		}
		// Done rows come first, in the order they settled.
		at := slices.IndexFunc(m.rows, func(r row) bool { return r.state != done })
		if at < 0 {
			at = len(m.rows)
		}
		m.rows = slices.Insert(m.rows, at, r)
		return
	}
	msg := ""
	if sr.Err != nil {
		msg = sr.Err.Error()
	}
	if i < 0 {
		m.rows = append(m.rows, row{step: sr.Step})
		i = len(m.rows) - 1
	}
	m.rows[i].state, m.rows[i].result, m.rows[i].err = failed, sr.Result, msg
}

// Pass takes the end of one pass; a failed pass is shown until the next one.
func (m *Model) Pass(_ controller.Result, err error, now time.Time) {
	m.now = now
	m.passEr = ""
	if err != nil {
		m.passEr = err.Error()
		for i := range m.rows {
			if m.rows[i].state == inHand {
				m.rows[i].state = failed
			}
		}
	}
}

// Finish takes what the run returned: the last plan (nil if none) and the error.
func (m *Model) Finish(p *reconcile.Plan, err error, now time.Time) {
	m.now = now
	m.ended = true
	m.passEr = ""
	n := m.count(done)
	took := now.Sub(m.start).Round(100 * time.Millisecond)
	switch {
	case errors.Is(err, controller.ErrStopped) || errors.Is(err, context.Canceled):
		m.final = fmt.Sprintf("✗ Stopped after %s: %d of %d steps done", took, n, len(m.rows))
	case err != nil:
		for i := range m.rows {
			if m.rows[i].state == inHand {
				m.rows[i].state, m.rows[i].err = failed, err.Error()
			}
		}
		m.final = fmt.Sprintf("✗ Error after %s: %v", took, err)
	case p == nil:
		m.final = "✗ Error: no plan"
	case p.Blocked != "":
		m.final = "✗ Blocked: " + p.Blocked
	case p.Converged():
		m.okEnd = true
		m.final = fmt.Sprintf("✓ Converged: %s applied in %s, fault tolerance %d", plural(n, "step", "steps"), took, p.After.FaultTolerance)
	default:
		m.final = fmt.Sprintf("✗ Not converged: %s pending, %s in flight (swarmtopo plan says what they wait for)",
			plural(len(p.Steps), "step", "steps"), plural(len(p.InFlight), "role change", "role changes"))
	}
	for i := range m.rows {
		if m.rows[i].state == inHand {
			m.rows[i].state = pending
		}
	}
}

func (m *Model) count(s state) int {
	n := 0
	for _, r := range m.rows {
		if r.state == s {
			n++
		}
	}
	return n
}

// Styles colour the view; a renderer without colours (tests, dumb terminals) prints plain text.
type Styles struct {
	Title, Done, Hand, Failed, Pending, Faint, OK, Bad lipgloss.Style
}

// NewStyles returns the view's styles for r.
func NewStyles(r *lipgloss.Renderer) Styles {
	s := r.NewStyle()
	return Styles{
		Title:   s.Bold(true),
		Done:    s.Foreground(lipgloss.Color("2")),
		Hand:    s.Bold(true).Foreground(lipgloss.Color("3")),
		Failed:  s.Bold(true).Foreground(lipgloss.Color("1")),
		Pending: s,
		Faint:   s.Faint(true),
		OK:      s.Bold(true).Foreground(lipgloss.Color("2")),
		Bad:     s.Bold(true).Foreground(lipgloss.Color("1")),
	}
}

// View renders the model for a terminal width × height (0: unknown). Lines never exceed the
// width, so the terminal does not wrap them and the view redraws in place; a long list shows
// a window around the step in hand so the view fits the height. It ends with a newline: the
// line under the view is the one the terminal library clears on exit.
func (m *Model) View(st Styles, width, height int) string {
	if width <= 0 {
		width = 100
	}
	var b strings.Builder
	line := func(s string) {
		b.WriteString(st.Pending.MaxWidth(width).Render(s))
		b.WriteByte('\n')
	}
	total := len(m.rows)
	elapsed := m.now.Sub(m.start).Truncate(time.Second)
	line(st.Title.Render("swarmtopo run --once") + " · " + m.name + " · " +
		st.Title.Render(fmt.Sprintf("%d/%d", m.count(done), total)) + " steps done · " + elapsed.String())
	if m.plans == 0 {
		line("Observing the swarm…")
	} else {
		line(fmt.Sprintf("Fault tolerance %d now, floor %d, %d when done · managers %d now (%d reachable), %d when done",
			m.ft, m.floor, m.target, m.mgrs.Managers, m.mgrs.Reachable, m.after.Managers))
	}
	line("")

	var foot []string
	hand := slices.IndexFunc(m.rows, func(r row) bool { return r.state == inHand })
	if hand >= 0 {
		r := m.rows[hand]
		foot = append(foot, st.Hand.Render(fmt.Sprintf("▶ %s %s: settling %s", r.step.Action, r.step.Hostname, m.now.Sub(m.since).Truncate(100*time.Millisecond))))
	}
	for _, f := range m.wait {
		foot = append(foot, st.Hand.Render(fmt.Sprintf("… waiting for %s to finish becoming a %s", f.Hostname, f.To)))
	}
	for _, w := range m.warns {
		foot = append(foot, st.Bad.Render("Warning: "+w))
	}
	if m.passEr != "" {
		foot = append(foot, st.Bad.Render("Last pass failed: "+m.passEr))
	}

	var summary []string
	if m.ended {
		summary = strings.Split(ansi.Wrap(m.final, width, ""), "\n")
	}
	// Rows that fit: the header (3 lines), the blank line under the rows, the footer, the
	// summary, and the empty line after the last newline.
	avail := len(m.rows)
	if height > 0 {
		avail = max(height-3-1-len(foot)-len(summary)-1, 3)
	}
	from, to := window(len(m.rows), hand, m.count(done), avail)
	aw, hw, zw := 0, 0, 0
	for _, r := range m.rows {
		aw = max(aw, len(r.step.Action))
		hw = max(hw, lipgloss.Width(r.step.Hostname))
		zw = max(zw, lipgloss.Width(zone(r.step.Zone)))
	}
	if from > 0 {
		line(st.Faint.Render(fmt.Sprintf(" ✓ … %d more done", from)))
	}
	for i := from; i < to; i++ {
		line(m.rowLine(st, i, aw, hw, zw))
	}
	if to < len(m.rows) {
		line(st.Faint.Render(fmt.Sprintf("      … %d more", len(m.rows)-to)))
	}
	if len(m.rows) == 0 && m.plans > 0 && !m.ended {
		line(st.Faint.Render(" nothing to do"))
	}
	line("")
	for _, f := range foot {
		line(f)
	}
	style := st.Bad
	if m.okEnd {
		style = st.OK
	}
	// The summary wraps rather than being cut: a blocked plan's reason says what to do.
	for _, l := range summary {
		b.WriteString(style.Render(l))
		b.WriteByte('\n')
	}
	return b.String()
}

// window picks rows [from, to) of n to show in avail lines (two of which may be "… more"),
// keeping the step in hand (or the first not done) in sight with a little context above it.
func window(n, hand, done, avail int) (int, int) {
	if n <= avail {
		return 0, n
	}
	focus := hand
	if focus < 0 {
		focus = min(done, n-1)
	}
	show := max(avail-2, 1)
	from := max(focus-min(2, (show-1)/2), 0)
	if from+show > n {
		from = max(n-show, 0)
	}
	return from, min(from+show, n)
}

func (m *Model) rowLine(st Styles, i, aw, hw, zw int) string {
	r := m.rows[i]
	mark, style, when := " ", st.Pending, ""
	switch r.state {
	case done:
		mark, style, when = "✓", st.Done, r.settle.Round(100*time.Millisecond).String()
	case inHand:
		mark, style, when = "▶", st.Hand, m.now.Sub(m.since).Truncate(100*time.Millisecond).String()
	case failed:
		mark, style, when = "✗", st.Failed, r.result
	}
	what := r.step.Reason
	if edits := r.step.Labels.Edits(); len(edits) > 0 {
		what = strings.Join(edits, " ") + " — " + what
	}
	if r.state == failed && r.err != "" {
		what = r.err + " — " + what
	} else if r.result != "" {
		what = "last try " + r.result + " — " + what
	}
	s := fmt.Sprintf(" %s %2d. %-*s %-*s %-*s %7s  ", mark, i+1, aw, r.step.Action, hw, r.step.Hostname, zw, zone(r.step.Zone), when)
	return style.Render(s) + what
}

func zone(z string) string {
	if z == "" {
		return "zone -"
	}
	return "zone " + z
}

// key names a step for matching it across plans: the same action on the same node.
func key(st reconcile.Step) string {
	k := string(st.Action) + " " + st.Node
	if st.Labels != nil {
		k += " " + strings.Join(st.Labels.Edits(), " ")
	}
	return k
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}
