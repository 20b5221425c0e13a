package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// The docker CLI plugin protocol, as docker/cli v20.10 to v28 implement it (cli-plugins/manager
// and cli-plugins/plugin). swarmtopo speaks it itself instead of linking docker/cli's plugin
// framework, which would pull the whole CLI in (see README, "Docker CLI plugin"). What we rely
// on:
//
//   - A plugin is an executable named docker-<name> in ~/.docker/cli-plugins (under
//     $DOCKER_CONFIG or --config), a cliPluginsExtraDirs entry of config.json, or a system
//     directory: /usr/local/lib/docker/cli-plugins, /usr/local/libexec/docker/cli-plugins,
//     /usr/lib/docker/cli-plugins, /usr/libexec/docker/cli-plugins. <name> must match
//     ^[a-z][a-z0-9]*$ and not be a built-in command.
//   - To list it (docker --help, docker info) the CLI runs `docker-<name>
//     docker-cli-plugin-metadata` with no other argument and decodes stdout as JSON with
//     SchemaVersion ("0.1.0"), Vendor (required), Version, ShortDescription, URL. A plugin
//     that fails this is listed as invalid and never run.
//   - To run it, `docker [global flags] <name> [args]` execs the plugin with the CLI's own
//     argv minus argv[0], unchanged: the global flags (--context, -H, --config, --tls*, -D,
//     -l) come first, then <name>, then the plugin's arguments. The environment is the CLI's,
//     plus DOCKER_CLI_PLUGIN_ORIGINAL_CLI_COMMAND (the CLI's argv[0]) and, since v24,
//     DOCKER_CLI_PLUGIN_SOCKET. The plugin resolves the endpoint itself from these flags and
//     the environment; the CLI passes nothing resolved.
//   - DOCKER_CLI_PLUGIN_SOCKET names a unix socket (abstract on Linux: "@docker_cli_...")
//     the plugin may connect to. When the CLI gets SIGINT or SIGTERM and its stdout is not a
//     terminal, it closes that connection instead of forwarding the signal; EOF on it means
//     "stop". (On a terminal the signal reaches the plugin's process group directly.)
//   - `docker help topology` runs the plugin the same way, so its arguments are "help topology".
//   - The plugin's exit status becomes the CLI's, so plan's exit codes 0/1/2/3 survive.
const (
	pluginName        = "topology"
	pluginPrefix      = "docker-"
	metadataCommand   = "docker-cli-plugin-metadata"
	envPluginSocket   = "DOCKER_CLI_PLUGIN_SOCKET"
	envPluginOriginal = "DOCKER_CLI_PLUGIN_ORIGINAL_CLI_COMMAND"
)

// pluginMetadata is the answer to docker-cli-plugin-metadata; the field names are the protocol's.
type pluginMetadata struct {
	SchemaVersion    string `json:",omitempty"`
	Vendor           string `json:",omitempty"`
	Version          string `json:",omitempty"`
	ShortDescription string `json:",omitempty"`
	URL              string `json:",omitempty"`
}

func metadata() pluginMetadata {
	return pluginMetadata{
		SchemaVersion:    "0.1.0",
		Vendor:           "swarmtopo",
		Version:          version,
		ShortDescription: "Keep a swarm's control plane in the shape of a topology file",
		URL:              "https://github.com/swarmtopo/swarmtopo",
	}
}

// metadataCmd answers the CLI's discovery call. It is hidden, and it never touches Docker.
func (a *app) metadataCmd() *cobra.Command {
	return &cobra.Command{
		Use:    metadataCommand,
		Short:  "Print the docker CLI plugin metadata",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: guard(func(*cobra.Command, []string) error {
			enc := json.NewEncoder(a.stdout)
			enc.SetEscapeHTML(false)
			enc.SetIndent("", "     ")
			return enc.Encode(metadata())
		}),
	}
}

// isPlugin tells from argv[0] whether the binary runs as a docker CLI plugin: installed (copied
// or linked) as docker-topology, it is one; as swarmtopo it is not.
func isPlugin(argv0 string) bool {
	return strings.HasPrefix(filepath.Base(argv0), pluginPrefix)
}

// errNotViaDocker is a plugin binary run without the docker CLI's "topology" in front.
var errNotViaDocker = errors.New("docker-topology is a docker CLI plugin: run it as `docker topology COMMAND`, or run swarmtopo")

// executePlugin runs one plugin command line: docker's global flags, "topology", then a
// swarmtopo command line.
func (a *app) executePlugin(ctx context.Context, args []string) int {
	if len(args) > 0 && args[0] == metadataCommand {
		return a.execute(ctx, args)
	}
	rest, err := a.parseDockerGlobals(args)
	if err == nil && len(rest) >= 2 && rest[0] == "help" && rest[1] == pluginName {
		// `docker help topology` runs the plugin with the CLI's argv: help topology.
		rest = append([]string{pluginName, "help"}, rest[2:]...)
	}
	if err == nil && (len(rest) == 0 || rest[0] != pluginName) {
		err = errNotViaDocker
	}
	if err != nil {
		fmt.Fprintf(a.stderr, "Error: %v\n", err)
		return codeError
	}
	a.displayName = "docker " + pluginName
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if addr := a.getenv(envPluginSocket); addr != "" {
		if stop := watchPluginSocket(addr, cancel); stop != nil {
			defer stop()
		}
	}
	return a.execute(ctx, rest[1:])
}

// parseDockerGlobals reads the docker CLI's global flags that come before the plugin's name
// into a.conn and returns the arguments from the name on. -D and -l set the docker CLI's own
// logging and are accepted and ignored: swarmtopo's --log-level goes after "topology".
func (a *app) parseDockerGlobals(args []string) ([]string, error) {
	fs := pflag.NewFlagSet("docker", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.SetInterspersed(false)
	addConnectionFlags(fs, &a.conn)
	fs.BoolP("debug", "D", false, "")
	fs.StringP("log-level", "l", "info", "")
	if err := fs.Parse(args); err != nil {
		return nil, fmt.Errorf("parsing the docker CLI's global flags: %w", err)
	}
	return fs.Args(), nil
}

// watchPluginSocket connects to the docker CLI's plugin socket and calls cancel when the CLI
// closes it. It returns nil if there is nothing to connect to (an older CLI, or the CLI gone).
func watchPluginSocket(addr string, cancel func()) (stop func()) {
	conn, err := net.Dial("unix", addr)
	if err != nil {
		return nil
	}
	go func() {
		// The CLI never writes; any read result means it closed the connection.
		_, _ = io.Copy(io.Discard, conn)
		cancel()
	}()
	return func() { _ = conn.Close() }
}
