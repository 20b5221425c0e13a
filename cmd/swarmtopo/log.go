package main

import (
	"fmt"
	"io"
	"os"

	"github.com/go-logr/logr"
	"github.com/go-logr/zapr"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// The values --log-level and --log-format accept.
var (
	logLevels  = []string{"debug", "info", "warn", "error"}
	logFormats = []string{"json", "console"}
)

// newLogger builds the only zap logger of the program and hands it on as a logr.Logger;
// nothing outside cmd/ sees zap. An empty format means console on a terminal, JSON otherwise,
// so that people read lines and log collectors get objects. The returned func flushes.
func newLogger(w io.Writer, level, format string) (logr.Logger, func(), error) {
	var lvl zapcore.Level
	if err := lvl.UnmarshalText([]byte(level)); err != nil {
		return logr.Discard(), func() {}, fmt.Errorf("parsing log level: %w", err)
	}
	tty := isTerminal(w)
	if format == "" {
		format = "json"
		if tty {
			format = "console"
		}
	}

	cfg := zap.NewProductionEncoderConfig()
	cfg.EncodeTime = zapcore.ISO8601TimeEncoder
	cfg.EncodeDuration = zapcore.StringDurationEncoder
	var enc zapcore.Encoder
	switch format {
	case "json":
		enc = zapcore.NewJSONEncoder(cfg)
	case "console":
		if tty {
			cfg.EncodeLevel = zapcore.CapitalColorLevelEncoder
		} else {
			cfg.EncodeLevel = zapcore.CapitalLevelEncoder
		}
		enc = zapcore.NewConsoleEncoder(cfg)
	default:
		return logr.Discard(), func() {}, fmt.Errorf("unknown log format %q", format)
	}

	sink := zapcore.Lock(zapcore.AddSync(w))
	zl := zap.New(zapcore.NewCore(enc, sink, lvl), zap.AddCaller(), zap.ErrorOutput(sink))
	// Sync fails on terminals and pipes (EINVAL); there is nothing useful to do about it.
	flush := func() { _ = zl.Sync() }
	return zapr.NewLogger(zl), flush, nil
}

// isTerminal reports whether w is a character device such as a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
