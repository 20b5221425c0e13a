package main

import (
	"encoding/json"
	"net"
	"strings"
	"testing"

	"github.com/swarmtopo/swarmtopo/controller/fakeswarm"
	"github.com/swarmtopo/swarmtopo/health"
)

func TestStatus(t *testing.T) {
	fs := oneManager()
	before := versions(fs)
	r := runFake(t, fs, "status")
	if r.code != codeConverged || !strings.Contains(r.stdout, "Control plane: Degraded") || !strings.Contains(r.stdout, "A single manager tolerates no failure") {
		t.Errorf("status:\n%s", r)
	}
	r = runFake(t, fs, "status", "-o", "json")
	var rep health.Report
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil || rep.Members != 1 || rep.Leader != "node1" {
		t.Errorf("status -o json: %v\n%s", err, r)
	}
	assertUntouched(t, fs, before)

	lost := fakeswarm.New(
		fakeswarm.NodeConfig{Hostname: "node1", Manager: true, Leader: true},
		fakeswarm.NodeConfig{Hostname: "node2", Manager: true},
		fakeswarm.NodeConfig{Hostname: "node3", Manager: true},
	)
	lost.LoseQuorum()
	if r := runFake(t, lost, "status"); r.code != codeBlocked || !strings.Contains(r.stdout, "--force-new-cluster") {
		t.Errorf("status with quorum lost:\n%s", r)
	}
}

func TestHealthcheck(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	if r := cli(t, "", "healthcheck", "--metrics-addr", addr); r.code != codeError || !strings.Contains(r.stderr, "connection refused") {
		t.Errorf("healthcheck of a closed port:\n%s", r)
	}
}
