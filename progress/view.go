package progress

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"

	"github.com/swarmtopo/swarmtopo/controller"
	"github.com/swarmtopo/swarmtopo/reconcile"
)

// DefaultTick is how often the view redraws the clocks.
const DefaultTick = 200 * time.Millisecond

// Options configure a View.
type Options struct {
	// Out is the terminal the view draws on.
	Out io.Writer
	// Logs is where log lines go while the view is not running (before Start, after Finish).
	Logs io.Writer
	// Name is the topology's name, shown in the title.
	Name string
	// Now is time.Now if nil.
	Now func() time.Time
	// Tick is DefaultTick if zero.
	Tick time.Duration
}

// View runs a Model on a terminal. Its hooks may be called from any goroutine.
type View struct {
	o    Options
	prog *tea.Program
	done chan error

	mu      sync.Mutex
	running bool
	buf     []byte
}

// Messages into the program: each carries the time it happened.
type (
	planMsg struct {
		p  *reconcile.Plan
		at time.Time
	}
	stepMsg struct {
		sr controller.StepResult
		at time.Time
	}
	passMsg struct {
		res controller.Result
		err error
		at  time.Time
	}
	finishMsg struct {
		p   *reconcile.Plan
		err error
		at  time.Time
	}
	tickMsg struct{}
	logMsg  string
)

// New returns a view that is not drawn yet: its log writer passes lines on to Options.Logs
// until Start.
func New(o Options) *View {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Tick <= 0 {
		o.Tick = DefaultTick
	}
	return &View{o: o, done: make(chan error, 1)}
}

// Start draws the view of the topology called name on Options.Out and returns at once.
func (v *View) Start(name string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.prog != nil {
		return
	}
	m := &teaModel{m: NewModel(name, v.o.Now()), st: NewStyles(lipgloss.NewRenderer(v.o.Out)), tick: v.o.Tick, now: v.o.Now}
	// No input: the terminal stays in its normal mode, so Ctrl-C reaches the process as SIGINT
	// and stops the run cleanly like it does without the view; the program installs no signal
	// handler of its own for the same reason.
	v.prog = tea.NewProgram(m, tea.WithOutput(v.o.Out), tea.WithInput(nil), tea.WithoutSignalHandler())
	v.running = true
	go func() {
		_, err := v.prog.Run()
		v.done <- err
	}()
}

// Hook chains the view's hooks onto o's, keeping any set before.
func (v *View) Hook(o *controller.Options) {
	onPlan, onStep, onPass := o.OnPlan, o.OnStep, o.OnPass
	o.OnPlan = func(p *reconcile.Plan) {
		if onPlan != nil {
			onPlan(p)
		}
		v.send(planMsg{p, v.o.Now()})
	}
	o.OnStep = func(sr controller.StepResult) {
		if onStep != nil {
			onStep(sr)
		}
		v.send(stepMsg{sr, v.o.Now()})
	}
	o.OnPass = func(res controller.Result, err error) {
		if onPass != nil {
			onPass(res, err)
		}
		v.send(passMsg{res, err, v.o.Now()})
	}
}

func (v *View) send(msg tea.Msg) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.running {
		v.prog.Send(msg)
	}
}

// Write takes log output: whole lines are printed above the view while it runs, and go to
// Options.Logs otherwise.
func (v *View) Write(p []byte) (int, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if !v.running {
		return v.o.Logs.Write(p)
	}
	v.buf = append(v.buf, p...)
	for {
		i := bytes.IndexByte(v.buf, '\n')
		if i < 0 {
			break
		}
		v.prog.Send(logMsg(v.buf[:i]))
		v.buf = v.buf[i+1:]
	}
	return len(p), nil
}

// Finish shows how the run ended and waits until the view has drawn its last frame, which
// stays on the terminal.
func (v *View) Finish(p *reconcile.Plan, err error) error {
	v.mu.Lock()
	if !v.running {
		v.mu.Unlock()
		return nil
	}
	if len(v.buf) > 0 {
		v.prog.Send(logMsg(v.buf))
		v.buf = nil
	}
	v.prog.Send(finishMsg{p, err, v.o.Now()})
	v.running = false
	v.mu.Unlock()
	if rerr := <-v.done; rerr != nil {
		return fmt.Errorf("drawing the progress view: %w", rerr)
	}
	return nil
}

// teaModel adapts Model to bubbletea.
type teaModel struct {
	m    *Model
	st   Styles
	w, h int
	tick time.Duration
	now  func() time.Time
}

func (t *teaModel) next() tea.Cmd {
	return tea.Tick(t.tick, func(time.Time) tea.Msg { return tickMsg{} })
}

func (t *teaModel) Init() tea.Cmd { return t.next() }

func (t *teaModel) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		t.w, t.h = msg.Width, msg.Height
	case tickMsg:
		if t.m.ended {
			return t, nil
		}
		t.m.Tick(t.now())
		return t, t.next()
	case planMsg:
		t.m.Plan(msg.p, msg.at)
	case stepMsg:
		t.m.Step(msg.sr, msg.at)
	case passMsg:
		t.m.Pass(msg.res, msg.err, msg.at)
	case logMsg:
		return t, tea.Println(fitLog(string(msg), t.w))
	case finishMsg:
		t.m.Finish(msg.p, msg.err, msg.at)
		return t, tea.Quit
	}
	return t, nil
}

// View starts with a carriage return: the terminal echoes ^C where the cursor is, and the
// renderer moves only up to redraw, so without it the first line would start two columns in.
func (t *teaModel) View() string { return "\r" + t.m.View(t.st, t.w, t.h) }

// fitLog makes a log line safe to print above the view. Printed lines are drawn over what the
// view showed there before, and only a line narrower than the terminal has the rest of it
// cleared: so tabs (which jump over old text instead of overwriting it) become spaces, and a
// line wider than the terminal is broken into lines of at most its width. It starts with a
// carriage return for the reason View does.
func fitLog(s string, width int) string {
	var b strings.Builder
	col := 0
	for _, r := range s {
		switch r {
		case '\t':
			n := 8 - col%8
			b.WriteString(strings.Repeat(" ", n))
			col += n
		case '\n':
			b.WriteRune(r)
			col = 0
		default:
			b.WriteRune(r)
			col++
		}
	}
	out := b.String()
	if width > 0 {
		out = ansi.Hardwrap(out, width, true)
	}
	// From column 1 even when the terminal has just echoed ^C at the cursor.
	return "\r" + out
}
