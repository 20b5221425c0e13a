//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// dockerCLIs are the docker CLIs on this machine to run the plugin with: Debian's docker.io
// (20.10) and a newer one in /usr/local/bin if present. At least one must exist.
func dockerCLIs(t *testing.T) []string {
	t.Helper()
	var found []string
	for _, p := range []string{"/usr/local/bin/docker", "/usr/bin/docker"} {
		if _, err := os.Stat(p); err == nil {
			found = append(found, p)
		}
	}
	if len(found) == 0 {
		t.Fatal("no docker CLI at /usr/local/bin/docker or /usr/bin/docker (apt-get install docker.io)")
	}
	return found
}

// dockerEnv is this process's environment with every docker CLI setting removed and
// DOCKER_CONFIG set to cfg, so that only the test's config and contexts count.
func dockerEnv(cfg string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "DOCKER_HOST", "DOCKER_CONTEXT", "DOCKER_CONFIG", "DOCKER_TLS", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH", "DOCKER_API_VERSION":
			continue
		}
		env = append(env, kv)
	}
	return append(env, "DOCKER_CONFIG="+cfg)
}

// runCode runs a command with env and returns its exit code and output.
func runCode(t *testing.T, env []string, name string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = env
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	r := result{stdout: out.String(), stderr: errb.String()}
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit):
		r.code = exit.ExitCode()
	default:
		t.Fatalf("running %s %v: %v", name, args, err)
	}
	t.Logf("%s %s: exit %d", name, strings.Join(args, " "), r.code)
	return r
}

// run runs a command that must succeed and returns its stdout.
func run(t *testing.T, env []string, name string, args ...string) string {
	t.Helper()
	r := runCode(t, env, name, args...)
	if r.code != 0 {
		t.Fatalf("%s %v: exit %d\n%s%s", name, args, r.code, r.stdout, r.stderr)
	}
	return r.stdout
}

// installCopy copies the binary to path as an executable, like `make install-plugin`.
func installCopy(t *testing.T, from, to string) {
	t.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, data, 0o755); err != nil {
		t.Fatal(err)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
