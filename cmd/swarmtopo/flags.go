package main

import (
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"github.com/swarmtopo/swarmtopo/render"
)

// enumValue is a string flag that accepts only a fixed set of values, so that a typo is a usage
// error at parse time rather than a surprise later.
type enumValue struct {
	value   string
	allowed []string
}

func (v *enumValue) String() string { return v.value }
func (v *enumValue) Type() string   { return "string" }

func (v *enumValue) Set(s string) error {
	if !slices.Contains(v.allowed, s) {
		return fmt.Errorf("must be one of %s", strings.Join(v.allowed, "|"))
	}
	v.value = s
	return nil
}

// formatValue is the -o flag; render owns the list of formats.
type formatValue struct {
	name string
}

func (v *formatValue) String() string { return v.name }
func (v *formatValue) Type() string   { return "format" }

func (v *formatValue) Set(s string) error {
	if _, err := render.ParseFormat(s); err != nil {
		return err
	}
	v.name = s
	return nil
}

// format returns the parsed format; Set has already checked the name.
func (v *formatValue) format() (render.Format, error) {
	return render.ParseFormat(v.name)
}

// outputFormats lists what -o accepts, for help and shell completion.
func outputFormats() []string {
	var names []string
	for _, f := range render.Formats() {
		names = append(names, f.String())
	}
	return names
}

// addFileFlag adds the required -f flag that names the topology file.
func addFileFlag(cmd *cobra.Command, file *string) {
	cmd.Flags().StringVarP(file, "file", "f", "", "topology file (YAML)")
	_ = cmd.MarkFlagRequired("file")
	_ = cmd.MarkFlagFilename("file", "yaml", "yml")
}

// addOutputFlag adds -o with its completion.
func addOutputFlag(cmd *cobra.Command, out *formatValue, usage string) {
	cmd.Flags().VarP(out, "output", "o", usage+": "+strings.Join(outputFormats(), "|"))
	_ = cmd.RegisterFlagCompletionFunc("output", cobra.FixedCompletions(outputFormats(), cobra.ShellCompDirectiveNoFileComp))
}
