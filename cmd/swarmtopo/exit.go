package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/swarmtopo/swarmtopo/reconcile"
)

// Exit codes, shared by plan and run. They are part of the CLI's contract: CI jobs branch on them.
const (
	codeConverged = 0
	codeError     = 1
	codePending   = 2
	codeBlocked   = 3
	// codeUnmet: nothing is left to do, but the nodes there are cannot meet the file (too few
	// eligible nodes for the count or a zone). The swarm is as close as it can get; it does not
	// match the file, so this is not 0.
	codeUnmet = 4
)

// exitError carries the process exit code out of a command; main turns it into os.Exit.
// With a nil err the command has already said everything it had to say.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit code %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

// fail turns a runtime error into exit code 1.
func fail(err error) error { return &exitError{code: codeError, err: err} }

// exitWith ends the command with code and nothing more to print.
func exitWith(code int) error {
	if code == codeConverged {
		return nil
	}
	return &exitError{code: code}
}

// planCode maps a plan to the exit code of `plan` and `run --once`. Blocked wins over pending
// work, pending work over a file that cannot be met, and a role change swarm has not finished
// counts as pending: the swarm is not there yet.
func planCode(p *reconcile.Plan) int {
	switch {
	case p.Blocked != "":
		return codeBlocked
	case len(p.Steps) > 0 || len(p.InFlight) > 0:
		return codePending
	case len(p.Unmet) > 0:
		return codeUnmet
	default:
		return codeConverged
	}
}

// guard gives every error a running command returns an exit code, so that exitCode can tell
// them from cobra's usage errors.
func guard(run func(cmd *cobra.Command, args []string) error) func(cmd *cobra.Command, args []string) error {
	return func(cmd *cobra.Command, args []string) error {
		err := run(cmd, args)
		var ee *exitError
		if err == nil || errors.As(err, &ee) {
			return err
		}
		return fail(err)
	}
}
