package main

import (
	"os"

	"golang.org/x/term"

	"github.com/swarmtopo/swarmtopo/progress"
	"github.com/swarmtopo/swarmtopo/render"
)

// The values --progress accepts.
var progressModes = []string{"auto", "always", "never"}

// progressView returns the live view for run --once, or nil when the output stays as it is
// without one. auto shows it only when stdout is a terminal, the plan format is text and the
// logs are not JSON; a pipe, a file, -o json|markdown and --log-format json keep the plain
// output that scripts read.
//
// When stderr is a terminal too, log lines are printed above the view (on stdout, the same
// terminal) rather than torn into it, and the log level is raised to warn unless --log-level
// was given: the view already shows what the info lines say. When stderr is not a terminal
// (2>file) the logs go there unchanged.
func (a *app) progressView(o *runOptions, format render.Format) (*progress.View, error) {
	if !o.once {
		return nil, nil
	}
	switch o.progress.value {
	case "never":
		return nil, nil
	case "auto":
		if o.dryRun || format != render.FormatText || a.logFormat.value == "json" || !terminal(a.stdout) {
			return nil, nil
		}
	}
	v := progress.New(progress.Options{Out: a.stdout, Logs: a.stderr})
	if !terminal(a.stderr) {
		return v, nil
	}
	level := a.logLevel.value
	if !o.logLevelSet {
		level = "warn"
	}
	logFormat := a.logFormat.value
	if logFormat == "" {
		logFormat = "console"
	}
	log, flush, err := newLogger(v, level, logFormat)
	if err != nil {
		return nil, err
	}
	a.flushLog()
	a.log, a.flushLog = log, flush
	return v, nil
}

// terminal reports whether w is a terminal (not merely a character device like /dev/null);
// a variable so that tests can stand in for a terminal.
var terminal = func(w any) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
