package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"time"

	"github.com/go-logr/logr"
)

// DefaultAddr is where the HTTP endpoints listen unless told otherwise: loopback only, since
// /status tells about the swarm. A service that must be scraped from elsewhere says so.
const DefaultAddr = "127.0.0.1:9323"

// DefaultProbeTimeout bounds Probe when its context has no deadline of its own.
const DefaultProbeTimeout = 5 * time.Second

// Timeouts of the HTTP server: its clients are scrapers and probes, never slow uploads.
const (
	readHeaderTimeout = 5 * time.Second
	writeTimeout      = 30 * time.Second
)

// Handler serves /metrics from m, and /healthz, /readyz and /status from st. /healthz fails
// once the loop has shown no life for staleAfter.
func Handler(m *Metrics, st *Status, staleAfter time.Duration) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.Handler())
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		if ok, why := st.Alive(staleAfter); !ok {
			http.Error(w, why, http.StatusServiceUnavailable)
			return
		}
		_, _ = io.WriteString(w, "ok\n")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if ok, why := st.Ready(); !ok {
			http.Error(w, why, http.StatusServiceUnavailable)
			return
		}
		_, _ = io.WriteString(w, "ok\n")
	})
	mux.HandleFunc("GET /status", func(w http.ResponseWriter, _ *http.Request) {
		body, err := json.MarshalIndent(st.Report(), "", "  ")
		if err != nil {
			http.Error(w, "encoding status: "+err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(append(body, '\n'))
	})
	return mux
}

// Server is the HTTP server of the endpoints.
type Server struct {
	srv  *http.Server
	ln   net.Listener
	done chan struct{}
}

// Listen binds addr now, so that a port in use is an error at start, and serves h in the
// background until Shutdown.
func Listen(addr string, h http.Handler, log logr.Logger) (*Server, error) {
	ln, err := listenRetrying(addr, listenRetryFor, log)
	if err != nil {
		return nil, fmt.Errorf("listening on %s: %w", addr, err)
	}
	s := &Server{
		srv:  &http.Server{Handler: h, ReadHeaderTimeout: readHeaderTimeout, WriteTimeout: writeTimeout},
		ln:   ln,
		done: make(chan struct{}),
	}
	go func() {
		defer close(s.done)
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error(err, "HTTP server stopped; metrics and health checks are gone", "addr", ln.Addr().String())
		}
	}()
	return s, nil
}

// Addr is the address listened on, with the port chosen if addr asked for port 0.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Shutdown stops accepting requests and waits for those in progress until ctx ends.
func (s *Server) Shutdown(ctx context.Context) error {
	err := s.srv.Shutdown(ctx)
	<-s.done
	if err != nil {
		return fmt.Errorf("stopping HTTP server: %w", err)
	}
	return nil
}

// Probe asks the /healthz of the instance listening on addr (host:port as given to
// --metrics-addr, or a URL) and returns an error unless it answers 200. It is the container's
// HEALTHCHECK: scratch images have no curl.
func Probe(ctx context.Context, addr string) error {
	u := probeURL(addr)
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultProbeTimeout)
		defer cancel()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return fmt.Errorf("probing %s: %w", u, err)
	}
	// No proxy: the probe is for this machine, whatever HTTP_PROXY the container inherited.
	client := &http.Client{Transport: &http.Transport{Proxy: nil}}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("probing %s: %w", u, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("probing %s: %s: %s", u, resp.Status, strings.TrimSpace(string(body)))
	}
	return nil
}

// probeURL turns a listen address into the URL of its /healthz: a wildcard or empty host is
// reached on loopback.
func probeURL(addr string) string {
	if strings.HasPrefix(addr, "http://") || strings.HasPrefix(addr, "https://") {
		if strings.Count(addr, "/") == 2 {
			return addr + "/healthz"
		}
		return addr
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "http://" + addr + "/healthz"
	}
	switch host {
	case "", "0.0.0.0", "::":
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port) + "/healthz"
}

// listenRetryFor is how long Listen waits for a port still held by a task being replaced:
// during a rolling update swarm can start the new task on the host network before the old one
// has let go of the port.
const listenRetryFor = 15 * time.Second

func listenRetrying(addr string, patience time.Duration, log logr.Logger) (net.Listener, error) {
	deadline := time.Now().Add(patience)
	for {
		ln, err := net.Listen("tcp", addr)
		if err == nil || !errors.Is(err, syscall.EADDRINUSE) || time.Now().After(deadline) {
			return ln, err
		}
		log.V(1).Info("Address in use; trying again", "addr", addr)
		time.Sleep(500 * time.Millisecond)
	}
}
