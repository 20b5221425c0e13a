package main

import (
	"context"
	"os"

	"github.com/spf13/cobra"

	"github.com/swarmtopo/swarmtopo/service"
)

// The environment variables that set healthcheck's defaults. The image's HEALTHCHECK is in exec
// form (a scratch image has no shell) and `docker run --health-cmd` always goes through a
// shell, so a container that secures its endpoints changes the probe through these instead.
const (
	envHealthcheckAddr       = "SWARMTOPO_HEALTHCHECK_ADDR"
	envHealthcheckHTTPConfig = "SWARMTOPO_HEALTHCHECK_HTTP_CONFIG"
)

// healthcheckCmd is the image's HEALTHCHECK: a scratch image has no curl.
func (a *app) healthcheckCmd() *cobra.Command {
	probe := service.ProbeConfig{Addr: service.DefaultAddr, HTTPConfigFile: os.Getenv(envHealthcheckHTTPConfig)}
	if addr := os.Getenv(envHealthcheckAddr); addr != "" {
		probe.Addr = addr
	}
	timeout := service.DefaultProbeTimeout
	cmd := &cobra.Command{
		Use:   "healthcheck [--metrics-addr 127.0.0.1:9323 | https://HOST:PORT] [--http.config.file FILE]",
		Short: "Exit 0 if the swarmtopo run listening at --metrics-addr is alive (GET /healthz)",
		Long: `Exit 0 if the swarmtopo run listening at --metrics-addr is alive (GET /healthz).

When run serves its endpoints with --web.config.file, probe an https:// URL and give
--http.config.file: an HTTP client config as Prometheus and promtool take it, with basic_auth
(username, password or password_file) and tls_config (ca_file, cert_file and key_file for a
client certificate, server_name). The web config itself holds only bcrypt hashes, so the probe
cannot take its password from there.

The defaults of --metrics-addr and --http.config.file come from SWARMTOPO_HEALTHCHECK_ADDR and
SWARMTOPO_HEALTHCHECK_HTTP_CONFIG when they are set, so that the image's HEALTHCHECK (exec form,
no shell in the image) can be pointed at a secured endpoint with docker run -e.`,
		Example: `  HEALTHCHECK --interval=30s --timeout=5s --retries=3 CMD ["/swarmtopo", "healthcheck"]
  swarmtopo healthcheck --metrics-addr https://127.0.0.1:9323 --http.config.file /etc/swarmtopo/probe.yml`,
		Args: cobra.NoArgs,
		RunE: guard(func(cmd *cobra.Command, _ []string) error {
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			return probe.Probe(ctx)
		}),
	}
	cmd.Flags().StringVar(&probe.Addr, "metrics-addr", probe.Addr, "address `swarmtopo run` serves /healthz on (host:port for plain HTTP, or an http:// or https:// URL; $"+envHealthcheckAddr+")")
	cmd.Flags().StringVar(&probe.HTTPConfigFile, "http.config.file", probe.HTTPConfigFile, "HTTP client config (basic_auth, tls_config) for a secured endpoint, in Prometheus's format ($"+envHealthcheckHTTPConfig+")")
	_ = cmd.MarkFlagFilename("http.config.file", "yml", "yaml")
	cmd.Flags().DurationVar(&timeout, "timeout", timeout, "give up after this long")
	return cmd
}
