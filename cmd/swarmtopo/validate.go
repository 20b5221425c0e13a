package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"
	"github.com/swarmtopo/swarmtopo/spec"
)

func (a *app) validateCmd() *cobra.Command {
	var file string
	cmd := &cobra.Command{
		Use:     "validate -f FILE",
		Short:   "Check a topology file: exit 0 valid, 1 invalid (every problem on stderr)",
		Example: `  swarmtopo validate -f examples/prod.yaml`,
		Args:    cobra.NoArgs,
		RunE: guard(func(*cobra.Command, []string) error {
			if _, err := a.loadTopology(file); err != nil {
				return err
			}
			_, err := fmt.Fprintf(a.stdout, "%s: valid\n", file)
			return err
		}),
	}
	addFileFlag(cmd, &file)
	return cmd
}

// loadTopology reads and checks a topology file. An invalid file is reported as spec words it,
// one "file:line: field: message" per line on stderr, so that editors and CI annotations can
// jump to each problem.
func (a *app) loadTopology(file string) (*spec.SwarmTopology, error) {
	t, err := spec.Load(file)
	if errors.Is(err, spec.ErrInvalid) {
		fmt.Fprintln(a.stderr, err)
		return nil, exitWith(codeError)
	}
	if err != nil {
		return nil, fail(err)
	}
	return t, nil
}
