package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/swarmtopo/swarmtopo/internal/testpki"
)

// TestRunServesTheWebConfigAndHealthcheckReachesIt runs the service with the README's example
// web config (TLS and basic auth) and probes it with the example healthcheck config, the way the
// container's HEALTHCHECK would.
func TestRunServesTheWebConfigAndHealthcheckReachesIt(t *testing.T) {
	topo := writeFile(t, "topology.yaml", threeManagers)
	ca := testpki.NewCA(t, "test")
	srv := ca.Server("server")
	// The examples name their files relative to themselves: put everything in one directory.
	dir := t.TempDir()
	for from, to := range map[string]string{
		"../../examples/web-config.yml": "web-config.yml", "../../examples/healthcheck.yml": "healthcheck.yml",
		srv.CertFile: "server.crt", srv.KeyFile: "server.key", ca.CertFile: "ca.crt",
	} {
		b, err := os.ReadFile(from)
		if err != nil {
			t.Fatal(err)
		}
		writeTo(t, filepath.Join(dir, to), string(b))
	}
	// The password whose hash examples/web-config.yml holds.
	writeTo(t, filepath.Join(dir, "healthcheck.password"), "change-me\n")
	webConfig, probe := filepath.Join(dir, "web-config.yml"), filepath.Join(dir, "healthcheck.yml")

	fs := oneManager()
	var stdout, stderr syncBuffer
	a := fakeApp(fs, &stdout, &stderr)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	codes := make(chan int, 1)
	go func() {
		codes <- a.execute(ctx, []string{"run", "-f", topo, "--log-format", "json", "--metrics-addr", "127.0.0.1:0", "--web.config.file", webConfig})
	}()
	started := regexp.MustCompile(`"msg":"Service started","addr":"([^"]+)"`)
	var addr string
	for deadline := time.Now().Add(20 * time.Second); addr == ""; {
		if m := started.FindStringSubmatch(stderr.String()); m != nil {
			addr = m[1]
			break
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("the service did not start\nstderr:\n%s", stderr.String())
		}
		time.Sleep(5 * time.Millisecond)
	}

	if r := cli(t, "", "healthcheck", "--metrics-addr", "https://"+addr, "--http.config.file", probe); r.code != 0 {
		t.Errorf("healthcheck over TLS with the credentials failed\n%s", r)
	}
	// The image's HEALTHCHECK passes no flags: the environment points it at the secured endpoint.
	t.Setenv(envHealthcheckAddr, "https://"+addr)
	t.Setenv(envHealthcheckHTTPConfig, probe)
	if r := cli(t, "", "healthcheck"); r.code != 0 {
		t.Errorf("healthcheck configured by the environment failed\n%s", r)
	}
	t.Setenv(envHealthcheckAddr, "")
	t.Setenv(envHealthcheckHTTPConfig, "")
	if r := cli(t, "", "healthcheck", "--metrics-addr", addr); r.code != codeError || !strings.Contains(r.stderr, "https://") {
		t.Errorf("healthcheck over plain HTTP of a TLS endpoint without a config: want exit 1 and the https hint\n%s", r)
	}
	if r := cli(t, "", "healthcheck", "--metrics-addr", addr, "--http.config.file", probe); r.code != codeError || !strings.Contains(r.stderr, "https://") {
		t.Errorf("healthcheck over plain HTTP of a TLS endpoint: want exit 1 and the https hint\n%s", r)
	}
	noCreds := filepath.Join(ca.Dir(), "nocreds.yml")
	writeTo(t, noCreds, fmt.Sprintf("tls_config:\n  ca_file: %s\n", ca.CertFile))
	if r := cli(t, "", "healthcheck", "--metrics-addr", "https://"+addr, "--http.config.file", noCreds); r.code != codeError || !strings.Contains(r.stderr, "401") {
		t.Errorf("healthcheck without credentials: want exit 1 with 401\n%s", r)
	}

	cancel()
	select {
	case code := <-codes:
		if code != codeConverged {
			t.Errorf("run exit code %d after a stop, want 0\nstderr:\n%s", code, stderr.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("run did not stop")
	}
}

func TestRunRefusesABadWebConfigFile(t *testing.T) {
	topo := writeFile(t, "topology.yaml", threeManagers)
	bad := writeFile(t, "web-config.yml", "basic_auth_users:\n  probe: not-a-hash\n")
	fs := oneManager()
	before := versions(fs)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var stdout, stderr syncBuffer
	code := fakeApp(fs, &stdout, &stderr).execute(ctx, []string{"run", "-f", topo, "--metrics-addr", "127.0.0.1:0", "--web.config.file", bad})
	if code != codeError || !strings.Contains(stderr.String(), "invalid web config file "+bad) {
		t.Errorf("run with a bad web config: exit %d, want 1 and an error naming %s\nstderr:\n%s", code, bad, stderr.String())
	}
	if fs.Reads() != 0 {
		t.Errorf("the swarm was read %d times before the bad web config was refused", fs.Reads())
	}
	assertUntouched(t, fs, before)
}

func writeTo(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}
