package main

import (
	"strings"
	"testing"

	"github.com/swarmtopo/swarmtopo/internal/fakeapi"
	"github.com/swarmtopo/swarmtopo/reconcile"
)

// maintenanceAPI serves apiSwarm over the Docker API for the real client.
func maintenanceAPI(t *testing.T) *fakeapi.Server {
	t.Helper()
	api := fakeapi.New(apiSwarm())
	t.Cleanup(api.Close)
	t.Setenv("DOCKER_HOST", api.Host())
	for _, v := range []string{"DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH", "DOCKER_API_VERSION", "DOCKER_CONTEXT"} {
		t.Setenv(v, "")
	}
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	return api
}

func TestMaintenanceExitCodes(t *testing.T) {
	api := maintenanceAPI(t)
	if r := cli(t, "", "maintenance", "start", "node3", "--holder", "a", "--ttl", "soon"); r.code != codeError || !strings.Contains(r.stderr, `--ttl "soon"`) {
		t.Errorf("bad --ttl: %s", r)
	}
	if r := cli(t, "", "maintenance", "start", "node3", "--holder", "a"); r.code != 0 {
		t.Fatalf("start: %s", r)
	}
	if r := cli(t, "", "maintenance", "start", "node4", "--holder", "b"); r.code != codeBlocked || !strings.Contains(r.stderr, "node3") {
		t.Errorf("second start: %s; want exit 3 naming node3", r)
	}
	if r := cli(t, "", "maintenance", "end", "node3", "--holder", "b"); r.code != codeBlocked {
		t.Errorf("end by another holder: %s; want exit 3", r)
	}
	if r := cli(t, "", "maintenance", "end", "node3", "--holder", "a"); r.code != 0 {
		t.Fatalf("end: %s", r)
	}
	r := cli(t, "", "maintenance", "run", "node3", "--holder", "a", "--", "false")
	if r.code != codeCommandFailed || !strings.Contains(r.stderr, "stays in maintenance") {
		t.Errorf("run of a failing command: %s; want exit %d saying the lock is kept", r, codeCommandFailed)
	}
	if _, held := api.SwarmLabels()[reconcile.MaintenanceLabelKey]; !held {
		t.Error("a failed command released the lock")
	}
	if r := cli(t, "", "maintenance", "run", "node3", "--holder", "a"); r.code != codeError {
		t.Errorf("run without a command: %s", r)
	}
}
