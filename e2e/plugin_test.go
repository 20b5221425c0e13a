//go:build e2e

package e2e

import (
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/swarmtopo/swarmtopo/internal/tlstest"
	"github.com/swarmtopo/swarmtopo/lab"
)

// TestDockerPluginAndContextOverMutualTLS serves node1's engine on TCP with mutual TLS, points
// a docker context at it (made by the real docker CLI in a fresh DOCKER_CONFIG), and plans
// through `docker topology` and `swarmtopo --context` alike; a client certificate from
// another CA is refused with an error that names the context and TLS.
func TestDockerPluginAndContextOverMutualTLS(t *testing.T) {
	clis := dockerCLIs(t)

	pki := t.TempDir()
	labCA, err := tlstest.NewCA("swarmtopo e2e lab CA")
	if err != nil {
		t.Fatal(err)
	}
	otherCA, err := tlstest.NewCA("some other CA")
	if err != nil {
		t.Fatal(err)
	}
	server := must(labCA.Server("node1", []net.IP{net.ParseIP(lab.NodeAddr(1))}))
	client := must(labCA.Client("operator"))
	stranger := must(otherCA.Client("stranger"))
	files := map[string][]byte{
		"ca.pem": labCA.CertPEM, "server-cert.pem": server.CertPEM, "server-key.pem": server.KeyPEM,
		"cert.pem": client.CertPEM, "key.pem": client.KeyPEM,
		"stranger-cert.pem": stranger.CertPEM, "stranger-key.pem": stranger.KeyPEM,
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(pki, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	pem := func(name string) string { return filepath.Join(pki, name) }
	endpoint := "tcp://" + net.JoinHostPort(lab.NodeAddr(1), "2376")

	l := lab.ForTest(t, lab.Config{Nodes: 3, Managers: 1, Zones: []string{"a", "b", "c"},
		DaemonArgs: map[string][]string{"node1": {
			"--tlsverify", "--tlscacert=" + pem("ca.pem"),
			"--tlscert=" + pem("server-cert.pem"), "--tlskey=" + pem("server-key.pem"),
			"-H", endpoint,
		}}})

	// A docker config of its own: contexts, the current context and the plugin live there.
	cfg := t.TempDir()
	env := dockerEnv(cfg)
	docker := clis[0]
	run(t, env, docker, "context", "create", "labtls", "--docker",
		"host="+endpoint+",ca="+pem("ca.pem")+",cert="+pem("cert.pem")+",key="+pem("key.pem"))
	run(t, env, docker, "context", "create", "wrongcert", "--docker",
		"host="+endpoint+",ca="+pem("ca.pem")+",cert="+pem("stranger-cert.pem")+",key="+pem("stranger-key.pem"))
	// The context itself is right: the docker CLI reaches the engine through it.
	if out := run(t, env, docker, "--context", "labtls", "node", "ls", "--format", "{{.Hostname}}"); len(strings.Fields(out)) != 3 {
		t.Fatalf("docker --context labtls node ls listed %q, want the 3 lab nodes", out)
	}
	plugins := filepath.Join(cfg, "cli-plugins")
	if err := os.MkdirAll(plugins, 0o755); err != nil {
		t.Fatal(err)
	}
	installCopy(t, bin, filepath.Join(plugins, "docker-topology"))

	file := topology(t, "  managers: {count: 3}\n")
	// Three managers from one: the plan promotes node2 and node3, and exits 2 (pending).
	wantPromoted := []string{"node2", "node3"}
	for _, cli := range clis {
		name := strings.ReplaceAll(strings.Trim(cli, "/"), "/", "-")
		t.Run(name+": docker topology is listed", func(t *testing.T) {
			if out := run(t, env, cli, "--help"); !strings.Contains(out, "topology*") {
				t.Errorf("%s --help does not list the plugin:\n%s", cli, out)
			}
			if out := run(t, env, cli, "--context", "labtls", "info", "--format", "{{json .ClientInfo.Plugins}}"); !strings.Contains(out, `"Name":"topology"`) {
				t.Errorf("%s info does not list the plugin: %s", cli, out)
			}
		})
		t.Run(name+": docker --context labtls topology plan", func(t *testing.T) {
			r := runCode(t, env, cli, "--context", "labtls", "topology", "plan", "-f", file, "-o", "json")
			checkPromotes(t, r, wantPromoted)
		})
	}
	t.Run("swarmtopo --context labtls plan", func(t *testing.T) {
		checkPromotes(t, runCode(t, env, bin, "--context", "labtls", "plan", "-f", file, "-o", "json"), wantPromoted)
	})
	t.Run("the current context of the docker config serves both", func(t *testing.T) {
		run(t, env, docker, "context", "use", "labtls")
		checkPromotes(t, runCode(t, env, bin, "plan", "-f", file, "-o", "json"), wantPromoted)
		checkPromotes(t, runCode(t, env, docker, "topology", "plan", "-f", file, "-o", "json"), wantPromoted)
		run(t, env, docker, "context", "use", "default")
	})
	t.Run("a client certificate from another CA is refused clearly", func(t *testing.T) {
		for _, argv := range [][]string{
			{bin, "--context", "wrongcert", "plan", "-f", file},
			{docker, "--context", "wrongcert", "topology", "plan", "-f", file},
		} {
			r := runCode(t, env, argv[0], argv[1:]...)
			t.Logf("stderr: %s", r.stderr)
			want := `TLS handshake with docker context "wrongcert" (from --context) at ` + endpoint + ` over TLS failed`
			if r.code != 1 || !strings.Contains(r.stderr, want) || !strings.Contains(r.stderr, "remote error: tls:") {
				t.Errorf("%v: exit %d, want 1 and %q in stderr:\n%s", argv, r.code, want, r.stderr)
			}
		}
	})
	// Nothing was applied: node1 is still the only manager.
	if got := managersByZone(listNodes(t, l)); got != "a:node1" {
		t.Errorf("managers by zone after planning: %s, want a:node1", got)
	}
}

// checkPromotes asserts a plan -o json that exits 2 and promotes exactly want.
func checkPromotes(t *testing.T, r result, want []string) {
	t.Helper()
	if r.code != 2 {
		t.Fatalf("plan exit %d, want 2 (pending)\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	var plan struct {
		Steps []struct {
			Action   string `json:"action"`
			Hostname string `json:"hostname"`
		} `json:"steps"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &plan); err != nil {
		t.Fatalf("plan is not JSON: %v\n%s", err, r.stdout)
	}
	var promoted []string
	for _, s := range plan.Steps {
		if s.Action == "promote" {
			promoted = append(promoted, s.Hostname)
		}
	}
	slices.Sort(promoted)
	if !slices.Equal(promoted, want) {
		t.Errorf("plan promotes %v, want %v\n%s", promoted, want, r.stdout)
	}
}
