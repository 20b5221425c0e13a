package service_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/go-logr/logr"

	"github.com/swarmtopo/swarmtopo/controller/fakeswarm"
	"github.com/swarmtopo/swarmtopo/service"
)

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(body)
}

func TestEndpoints(t *testing.T) {
	clk := &clock{t: epoch}
	st := service.NewStatus(clk.now)
	m := service.NewMetrics()
	srv := httptest.NewServer(service.Handler(m, st, time.Minute))
	defer srv.Close()

	steps := []struct {
		name string
		do   func()
		path string
		code int
		body string
	}{
		{"Not ready before a topology is loaded", func() {}, "/readyz", 503, "no valid topology"},
		{"Not ready before the swarm was observed", func() { st.SetTopology("/t.yaml", named("prod"), epoch) }, "/readyz", 503, "not been observed"},
		{"Ready once the swarm was observed", func() { st.ObservePlan(planWith(1, "")); m.ObservePlan(planWith(1, "")) }, "/readyz", 200, "ok"},
		{"Alive while the loop beats", func() {}, "/healthz", 200, "ok"},
		{"Metrics show the plan", func() {}, "/metrics", 200, "swarmtopo_pending_steps 1"},
		{"Status shows the conditions", func() {}, "/status", 200, `"type": "Converged"`},
		{"Not alive once the loop is silent for too long", func() { clk.t = clk.t.Add(2 * time.Minute) }, "/healthz", 503, "no activity"},
		{"Alive again after a beat", func() { st.Beat() }, "/healthz", 200, "ok"},
	}
	for _, step := range steps {
		t.Run(step.name, func(t *testing.T) {
			step.do()
			code, body := get(t, srv.URL+step.path)
			if code != step.code || !strings.Contains(body, step.body) {
				t.Errorf("GET %s = %d %q, want %d with %q", step.path, code, body, step.code, step.body)
			}
		})
	}
	resp, err := http.Get(srv.URL + "/status")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var r service.Report
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("status: %v, content type %q", err, resp.Header.Get("Content-Type"))
	}
	if len(r.Conditions) != 5 || r.Plan == nil || r.Topology.Name != "prod" {
		t.Errorf("status = %+v", r)
	}
	if resp, err := http.Post(srv.URL+"/status", "text/plain", nil); err != nil || resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST /status = %v, %v; want 405", resp, err)
	}
}

func TestProbe(t *testing.T) {
	clk := &clock{t: epoch}
	st := service.NewStatus(clk.now)
	s, err := service.Listen("127.0.0.1:0", service.Handler(service.NewMetrics(), st, time.Minute), logr.Discard())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Shutdown(context.Background())
	_, port, _ := net.SplitHostPort(s.Addr())

	ctx := context.Background()
	for _, addr := range []string{s.Addr(), ":" + port, "0.0.0.0:" + port, "http://" + s.Addr()} {
		if err := service.Probe(ctx, addr); err != nil {
			t.Errorf("Probe(%q) of a live instance = %v", addr, err)
		}
	}
	clk.t = clk.t.Add(time.Hour)
	if err := service.Probe(ctx, s.Addr()); err == nil || !strings.Contains(err.Error(), "503") || !strings.Contains(err.Error(), "no activity") {
		t.Errorf("Probe of a silent loop = %v, want 503 with the reason", err)
	}

	// A port nobody listens on: take one and close it.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	if err := service.Probe(ctx, closed); err == nil || !isRefused(err) {
		t.Errorf("Probe of a closed port = %v, want connection refused", err)
	}
}

func isRefused(err error) bool {
	return strings.Contains(err.Error(), "connection refused") || errors.Is(err, syscall.ECONNREFUSED)
}

func TestServerStopsGracefully(t *testing.T) {
	release := make(chan struct{})
	slow := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		<-release
		_, _ = io.WriteString(w, "done")
	})
	s, err := service.Listen("127.0.0.1:0", slow, logr.Discard())
	if err != nil {
		t.Fatal(err)
	}
	// The retry for a port in use runs on a virtual clock: the test need not wait its 15 s.
	busy := service.ListenConfig{Addr: s.Addr(), Log: logr.Discard(), Clock: fakeswarm.NewAutoClock(epoch)}
	if _, err := busy.Listen(slow); err == nil || !strings.Contains(err.Error(), "listening on") || !errors.Is(err, syscall.EADDRINUSE) {
		t.Errorf("a second Listen on a port in use = %v", err)
	}
	got := make(chan string, 1)
	go func() {
		resp, err := http.Get("http://" + s.Addr() + "/")
		if err != nil {
			got <- err.Error()
			return
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		got <- string(body)
	}()
	time.Sleep(50 * time.Millisecond) // the request is in the handler
	stopped := make(chan error, 1)
	go func() { stopped <- s.Shutdown(context.Background()) }()
	select {
	case err := <-stopped:
		t.Fatalf("Shutdown returned %v with a request in progress", err)
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	if body := <-got; body != "done" {
		t.Errorf("the request in progress got %q", body)
	}
	if err := <-stopped; err != nil {
		t.Errorf("Shutdown = %v", err)
	}
	if _, err := net.DialTimeout("tcp", s.Addr(), time.Second); err == nil {
		t.Errorf("still listening after Shutdown")
	}
}
