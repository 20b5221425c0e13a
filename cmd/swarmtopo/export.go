package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"sigs.k8s.io/yaml"

	"github.com/swarmtopo/swarmtopo/adopt"
	"github.com/swarmtopo/swarmtopo/spec"
)

// exportCmd writes the swarm as it is as a topology file: the start for adopting a swarm.
func (a *app) exportCmd() *cobra.Command {
	var state, name string
	zoneLabel := spec.DefaultZoneLabel
	out := enumValue{value: "yaml", allowed: []string{"yaml", "json"}}
	cmd := &cobra.Command{
		Use:   "export [-o yaml|json] [--zone-label az] [--state SNAPSHOT] [--name NAME]",
		Short: "Write a topology file that describes the swarm as it is (plan with it changes nothing)",
		Long: `export writes a valid topology file describing the swarm as it is: the manager count, the
spread as a map of the zones the managers are in, and the manager and worker availability where
they are uniform. What it guessed or left out is written as comments (YAML) or on stderr (JSON).
'swarmtopo plan' against the same swarm with that file exits 0.`,
		Example: `  swarmtopo export > topology.yaml
  swarmtopo plan -f topology.yaml     # exit 0: nothing to do
  docker node inspect $(docker node ls -q) | swarmtopo export --state - -o json`,
		Args: cobra.NoArgs,
		RunE: guard(func(cmd *cobra.Command, _ []string) error {
			s, err := a.snapshot(cmd.Context(), state)
			if err != nil {
				return err
			}
			r, err := adopt.Describe(s, name, zoneLabel)
			if err != nil {
				return err
			}
			data, err := json.MarshalIndent(r.Topology, "", "  ")
			if err != nil {
				return fmt.Errorf("encoding topology: %w", err)
			}
			if out.value == "yaml" {
				if data, err = yaml.JSONToYAML(data); err != nil {
					return fmt.Errorf("encoding topology: %w", err)
				}
			}
			// What export writes must read back as what it meant: a file that would not parse,
			// or parse to something else, is a bug here, not the user's problem.
			back, err := spec.Parse("export", data)
			if err != nil {
				return fmt.Errorf("exported file does not read back (please report it): %w", err)
			}
			if back.Spec.Managers.Count != r.Topology.Spec.Managers.Count {
				return fmt.Errorf("exported file does not read back (please report it): count %d, want %d",
					back.Spec.Managers.Count, r.Topology.Spec.Managers.Count)
			}
			var buf bytes.Buffer
			if out.value == "yaml" {
				buf.WriteString("# yaml-language-server: $schema=https://raw.githubusercontent.com/swarmtopo/swarmtopo/main/spec/schema.json\n")
				buf.WriteString("# Written by `swarmtopo export` from the swarm as it was.\n")
				for _, n := range r.Notes {
					buf.WriteString("# Note: " + strings.ReplaceAll(n, "\n", " ") + "\n")
				}
			} else {
				for _, n := range r.Notes {
					fmt.Fprintln(a.stderr, "note:", n)
				}
			}
			buf.Write(data)
			if out.value == "json" {
				buf.WriteByte('\n')
			}
			_, err = a.stdout.Write(buf.Bytes())
			return err
		}),
	}
	f := cmd.Flags()
	f.VarP(&out, "output", "o", "output format: yaml|json")
	f.StringVar(&zoneLabel, "zone-label", zoneLabel, "node label that holds the zone")
	f.StringVar(&state, "state", "", "describe a saved `SNAPSHOT` (docker node inspect output; - for stdin) instead of the live swarm")
	f.StringVar(&name, "name", "swarm", "metadata.name of the topology")
	return cmd
}
