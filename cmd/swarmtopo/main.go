package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	go func() {
		<-ctx.Done()
		// The first signal cancels the context and lets the command finish cleanly; stop()
		// restores the default action, so a second signal ends the process at once.
		stop()
	}()
	var code int
	if isPlugin(os.Args[0]) {
		code = newApp(os.Stdin, os.Stdout, os.Stderr).executePlugin(ctx, os.Args[1:])
	} else {
		code = execute(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	}
	stop()
	os.Exit(code)
}

// execute runs one command line and returns the process exit code.
func execute(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return newApp(stdin, stdout, stderr).execute(ctx, args)
}

// execute runs one command line on a; tests call it in-process with their own seams.
func (a *app) execute(ctx context.Context, args []string) int {
	if args == nil {
		// cobra reads os.Args when given nil.
		args = []string{}
	}
	root := a.rootCmd()
	root.SetArgs(args)
	root.SetIn(a.stdin)
	root.SetOut(a.stdout)
	root.SetErr(a.stderr)
	cmd, err := root.ExecuteContextC(ctx)
	a.flushLog()
	return exitCode(a.stderr, cmd, a.explainTLS(err))
}

// exitCode reports err on stderr and picks the exit code. Commands return *exitError for
// everything that happens once they run, so any other error is cobra's: a usage error.
func exitCode(stderr io.Writer, cmd *cobra.Command, err error) int {
	if err == nil {
		return codeConverged
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			fmt.Fprintf(stderr, "Error: %v\n", ee.err)
		}
		return ee.code
	}
	path := "swarmtopo"
	if cmd != nil {
		// CommandPath starts with the root's display name: "docker topology" in plugin mode.
		path = cmd.CommandPath()
	}
	fmt.Fprintf(stderr, "Error: %v\nRun '%s --help' for usage.\n", err, path)
	return codeError
}
