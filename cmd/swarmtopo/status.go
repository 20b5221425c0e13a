package main

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/swarmtopo/swarmtopo/controller"
	"github.com/swarmtopo/swarmtopo/health"
	"github.com/swarmtopo/swarmtopo/maintenance"
	"github.com/swarmtopo/swarmtopo/spec"
)

// statusCmd shows the control plane's health as the Docker admin guide judges it.
func (a *app) statusCmd() *cobra.Command {
	var file string
	var minFT int
	zoneLabel := spec.DefaultZoneLabel
	out := enumValue{value: "text", allowed: []string{"text", "json"}}
	cmd := &cobra.Command{
		Use:   "status [-f FILE | --zone-label az] [-o text|json]",
		Short: "Show the managers, fault tolerance, zone spread and the admin guide's advice; exit 3 if quorum is lost",
		Example: `  swarmtopo status
  swarmtopo status -f prod.yaml -o json`,
		Args: cobra.NoArgs,
		RunE: guard(func(cmd *cobra.Command, _ []string) error {
			if file != "" {
				t, err := a.loadTopology(file)
				if err != nil {
					return err
				}
				zoneLabel = t.Spec.ZoneLabelOrDefault()
				minFT = t.Spec.Policy.MinMaintenanceFaultTolerance()
			}
			d, err := a.newDocker()
			if err != nil {
				return fmt.Errorf("connecting to Docker: %w", err)
			}
			defer d.Close()
			s, err := controller.Observe(cmd.Context(), d, a.now())
			if err != nil {
				return fmt.Errorf("observing swarm: %w", err)
			}
			r := health.Assess(s, zoneLabel)
			// Maintenance and autolock need the swarm object: shown when the connection has it
			// and quorum is there to read it.
			var mv *maintenance.View
			if md, ok := d.(maintenance.Docker); ok && s.ClusterError == "" {
				st, merr := maintenance.Read(cmd.Context(), md)
				if merr != nil {
					return fmt.Errorf("reading the maintenance lock: %w", merr)
				}
				v := maintenance.Describe(st, s, a.now(), minFT)
				mv = &v
			}
			if out.value == "json" {
				enc := json.NewEncoder(a.stdout)
				enc.SetIndent("", "  ")
				err = enc.Encode(struct {
					*health.Report
					Maintenance *maintenance.View `json:"maintenance,omitempty"`
				}{&r, mv})
			} else {
				err = health.WriteText(a.stdout, r)
				if err == nil && mv != nil {
					err = maintenance.WriteText(a.stdout, *mv)
				}
			}
			if err != nil {
				return fmt.Errorf("writing status: %w", err)
			}
			if r.QuorumLost {
				return exitWith(codeBlocked)
			}
			return nil
		}),
	}
	f := cmd.Flags()
	f.StringVarP(&file, "file", "f", "", "topology file to take the zone label from")
	f.StringVar(&zoneLabel, "zone-label", zoneLabel, "node label that holds the zone (without -f)")
	f.VarP(&out, "output", "o", "output format: text|json")
	cmd.MarkFlagsMutuallyExclusive("file", "zone-label")
	return cmd
}
