package main

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/swarmtopo/swarmtopo/service"
)

// healthcheckCmd is the image's HEALTHCHECK: a scratch image has no curl.
func (a *app) healthcheckCmd() *cobra.Command {
	addr := service.DefaultAddr
	timeout := service.DefaultProbeTimeout
	cmd := &cobra.Command{
		Use:     "healthcheck [--metrics-addr 127.0.0.1:9323]",
		Short:   "Exit 0 if the swarmtopo run listening at --metrics-addr is alive (GET /healthz)",
		Example: `  HEALTHCHECK --interval=30s --timeout=5s --retries=3 CMD ["/swarmtopo", "healthcheck"]`,
		Args:    cobra.NoArgs,
		RunE: guard(func(cmd *cobra.Command, _ []string) error {
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			return service.Probe(ctx, addr)
		}),
	}
	cmd.Flags().StringVar(&addr, "metrics-addr", addr, "address `swarmtopo run` serves /healthz on (host:port or URL)")
	cmd.Flags().DurationVar(&timeout, "timeout", timeout, "give up after this long")
	return cmd
}
