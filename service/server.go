package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	stdlog "log"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"syscall"
	"time"

	"github.com/go-logr/logr"
	promconfig "github.com/prometheus/common/config"
	"github.com/prometheus/exporter-toolkit/web"

	"github.com/swarmtopo/swarmtopo/controller"
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

// ErrWebConfig is wrapped when the web configuration file cannot be used.
var ErrWebConfig = errors.New("invalid web config file")

// ListenConfig says where and how the endpoints are served.
type ListenConfig struct {
	// Addr is host:port; DefaultAddr if empty.
	Addr string
	// WebConfigFile is a web configuration file as Prometheus exporters take it with
	// --web.config.file (exporter-toolkit's format): TLS, client certificates and basic auth
	// users with bcrypt hashes. It is checked at start and re-read for every connection and
	// request, so rotated certificates and changed users apply without a restart. Empty: plain
	// HTTP, no authentication.
	WebConfigFile string
	Log           logr.Logger
	// Clock paces the wait for a port still held by the task being replaced; the wall clock if
	// nil.
	Clock controller.Clock
}

// Listen binds addr now, so that a port in use is an error at start, and serves h over plain
// HTTP in the background until Shutdown.
func Listen(addr string, h http.Handler, log logr.Logger) (*Server, error) {
	return ListenConfig{Addr: addr, Log: log}.Listen(h)
}

// Listen checks the web configuration file, binds the address now, so that a bad file or a
// port in use is an error at start, and serves h in the background until Shutdown.
func (c ListenConfig) Listen(h http.Handler) (*Server, error) {
	if c.Addr == "" {
		c.Addr = DefaultAddr
	}
	if c.Clock == nil {
		c.Clock = controller.RealClock
	}
	if c.WebConfigFile != "" {
		if err := web.Validate(c.WebConfigFile); err != nil {
			return nil, fmt.Errorf("%w %s: %w", ErrWebConfig, c.WebConfigFile, err)
		}
	}
	ln, err := listenRetrying(c.Addr, listenRetryFor, c.Clock, c.Log)
	if err != nil {
		return nil, fmt.Errorf("listening on %s: %w", c.Addr, err)
	}
	s := &Server{
		srv: &http.Server{Handler: h, ReadHeaderTimeout: readHeaderTimeout, WriteTimeout: writeTimeout,
			ErrorLog: stdlog.New(serverErrors{c.Log}, "", 0)},
		ln:   ln,
		done: make(chan struct{}),
	}
	go func() {
		defer close(s.done)
		var err error
		if c.WebConfigFile == "" {
			err = s.srv.Serve(ln)
		} else {
			noSystemd := false
			flags := &web.FlagConfig{WebListenAddresses: &[]string{c.Addr}, WebSystemdSocket: &noSystemd, WebConfigFile: &c.WebConfigFile}
			err = web.Serve(ln, s.srv, flags, slog.New(logr.ToSlogHandler(c.Log.WithName("web"))))
		}
		if err != nil && !errors.Is(err, http.ErrServerClosed) {
			c.Log.Error(err, "HTTP server stopped; metrics and health checks are gone", "addr", ln.Addr().String())
		}
	}()
	return s, nil
}

// serverErrors takes what net/http logs about single connections (failed TLS handshakes, plain
// HTTP sent to the TLS port, broken clients) into the debug log: a port scanner must not fill
// the log, and nothing there concerns the service itself.
type serverErrors struct{ log logr.Logger }

func (e serverErrors) Write(p []byte) (int, error) {
	e.log.V(1).Info("HTTP connection failed", "error", strings.TrimSpace(string(p)))
	return len(p), nil
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

// ErrHTTPConfig is wrapped when the probe's HTTP client configuration file cannot be used.
var ErrHTTPConfig = errors.New("invalid HTTP config file")

// ProbeConfig says how to reach the /healthz of a running instance.
type ProbeConfig struct {
	// Addr is host:port as given to --metrics-addr (probed over plain HTTP), or a URL; an
	// https:// URL probes over TLS.
	Addr string
	// HTTPConfigFile is an HTTP client configuration file in the format Prometheus and promtool
	// take with --http.config.file (prometheus/common's): basic_auth with the password or a
	// password_file, and tls_config with ca_file, cert_file and key_file for a client
	// certificate, server_name. The server's web config holds only bcrypt hashes, so the probe
	// cannot take its credentials from there. Empty: no credentials, the system's CAs.
	HTTPConfigFile string
}

// Probe asks the /healthz of the instance listening on addr (host:port as given to
// --metrics-addr, or a URL) over plain HTTP and returns an error unless it answers 200. It is
// the container's HEALTHCHECK: scratch images have no curl.
func Probe(ctx context.Context, addr string) error {
	return ProbeConfig{Addr: addr}.Probe(ctx)
}

// Probe asks /healthz and returns an error unless it answers 200.
func (c ProbeConfig) Probe(ctx context.Context) error {
	u := probeURL(c.Addr)
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultProbeTimeout)
		defer cancel()
	}
	client, err := c.client()
	if err != nil {
		return err
	}
	defer client.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return fmt.Errorf("probing %s: %w", u, err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("probing %s: %w", u, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode != http.StatusOK {
		hint := ""
		switch {
		case resp.StatusCode == http.StatusUnauthorized && c.HTTPConfigFile == "":
			hint = " (the endpoint asks for credentials: give --http.config.file with basic_auth)"
		case resp.StatusCode == http.StatusBadRequest && strings.Contains(string(body), "HTTPS server"):
			hint = " (the endpoint serves TLS: probe an https:// URL)"
		}
		return fmt.Errorf("probing %s: %s: %s%s", u, resp.Status, strings.TrimSpace(string(body)), hint)
	}
	return nil
}

// client is the probe's HTTP client. It never goes through a proxy: the probe is for this
// machine, whatever HTTP_PROXY the container inherited (a proxy only if the file asks for one).
func (c ProbeConfig) client() (*http.Client, error) {
	if c.HTTPConfigFile == "" {
		return &http.Client{Transport: &http.Transport{Proxy: nil}}, nil
	}
	cfg, _, err := promconfig.LoadHTTPConfigFile(c.HTTPConfigFile)
	if err != nil {
		return nil, fmt.Errorf("%w %s: %w", ErrHTTPConfig, c.HTTPConfigFile, err)
	}
	client, err := promconfig.NewClientFromConfig(*cfg, "healthcheck", promconfig.WithKeepAlivesDisabled())
	if err != nil {
		return nil, fmt.Errorf("%w %s: %w", ErrHTTPConfig, c.HTTPConfigFile, err)
	}
	return client, nil
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

// listenRetryPause is the pause between two tries of a port in use.
const listenRetryPause = 500 * time.Millisecond

func listenRetrying(addr string, patience time.Duration, clock controller.Clock, log logr.Logger) (net.Listener, error) {
	deadline := clock.Now().Add(patience)
	for {
		ln, err := net.Listen("tcp", addr)
		if err == nil || !errors.Is(err, syscall.EADDRINUSE) || clock.Now().After(deadline) {
			return ln, err
		}
		log.V(1).Info("Address in use; trying again", "addr", addr)
		<-clock.After(listenRetryPause)
	}
}
