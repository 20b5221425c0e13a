package main

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/swarmtopo/swarmtopo/service"
)

// healthcheckCmd is the image's HEALTHCHECK: a scratch image has no curl.
func (a *app) healthcheckCmd() *cobra.Command {
	probe := service.ProbeConfig{Addr: service.DefaultAddr}
	timeout := service.DefaultProbeTimeout
	cmd := &cobra.Command{
		Use:   "healthcheck [--metrics-addr 127.0.0.1:9323 | https://HOST:PORT] [--http.config.file FILE]",
		Short: "Exit 0 if the swarmtopo run listening at --metrics-addr is alive (GET /healthz)",
		Long: `Exit 0 if the swarmtopo run listening at --metrics-addr is alive (GET /healthz).

When run serves its endpoints with --web.config.file, probe an https:// URL and give
--http.config.file: an HTTP client config as Prometheus and promtool take it, with basic_auth
(username, password or password_file) and tls_config (ca_file, cert_file and key_file for a
client certificate, server_name). The web config itself holds only bcrypt hashes, so the probe
cannot take its password from there.`,
		Example: `  HEALTHCHECK --interval=30s --timeout=5s --retries=3 CMD ["/swarmtopo", "healthcheck"]
  swarmtopo healthcheck --metrics-addr https://127.0.0.1:9323 --http.config.file /etc/swarmtopo/probe.yml`,
		Args: cobra.NoArgs,
		RunE: guard(func(cmd *cobra.Command, _ []string) error {
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			return probe.Probe(ctx)
		}),
	}
	cmd.Flags().StringVar(&probe.Addr, "metrics-addr", probe.Addr, "address `swarmtopo run` serves /healthz on (host:port for plain HTTP, or an http:// or https:// URL)")
	cmd.Flags().StringVar(&probe.HTTPConfigFile, "http.config.file", "", "HTTP client config (basic_auth, tls_config) for a secured endpoint, in Prometheus's format")
	_ = cmd.MarkFlagFilename("http.config.file", "yml", "yaml")
	cmd.Flags().DurationVar(&timeout, "timeout", timeout, "give up after this long")
	return cmd
}
