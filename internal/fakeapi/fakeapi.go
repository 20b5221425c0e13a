// Package fakeapi serves the part of the Docker Engine HTTP API that swarmtopo calls, backed by
// any controller.Docker (in tests, a fakeswarm.Swarm), and records every request as a method
// and a path template ("GET /nodes/{id}"). Pointing DOCKER_HOST at it runs the real Docker
// client, API version negotiation included, against the fake swarm: tests see exactly which
// endpoints a command calls, the list a socket proxy must allow.
//
// It speaks API 1.41 (Engine 20.10, the oldest engine swarmtopo supports). Requests for any
// other endpoint answer 404 and are recorded as they came, so an unexpected call shows.
package fakeapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/swarm"

	"github.com/swarmtopo/swarmtopo/controller"
)

// APIVersion is the API version the fake announces in its ping.
const APIVersion = "1.41"

// Call is one request: its method and the path template that matched, without the /v1.xx
// prefix ("POST /nodes/{id}/update"), or the request's own path if nothing matched.
type Call struct {
	Method, Path string
}

func (c Call) String() string { return c.Method + " " + c.Path }

// Server is the fake API over HTTP on a loopback port.
type Server struct {
	d   controller.Docker
	srv *httptest.Server

	mu    sync.Mutex
	calls []Call
	sw    swarm.Swarm
}

// New serves the API of d until Close.
func New(d controller.Docker) *Server {
	s := &Server{d: d}
	s.sw.ID, s.sw.Version.Index, s.sw.Spec.Name = "fakeswarmid", 1, "default"
	mux := http.NewServeMux()
	handle := func(pattern string, h http.HandlerFunc) {
		mux.Handle(pattern, s.recorded(h))
	}
	handle("HEAD /_ping", s.ping)
	handle("GET /_ping", s.ping)
	handle("GET /{version}/info", s.info)
	handle("GET /{version}/nodes", s.nodeList)
	handle("GET /{version}/nodes/{id}", s.nodeInspect)
	handle("POST /{version}/nodes/{id}/update", s.nodeUpdate)
	handle("DELETE /{version}/nodes/{id}", s.nodeRemove)
	handle("GET /{version}/events", s.events)
	handle("GET /{version}/swarm", s.swarmInspect)
	handle("POST /{version}/swarm/update", s.swarmUpdate)
	handle("GET /{version}/tasks", s.taskList)
	mux.Handle("/", s.recorded(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "page not found")
	}))
	s.srv = httptest.NewServer(mux)
	return s
}

// Host is the DOCKER_HOST that reaches the fake: tcp://127.0.0.1:PORT.
func (s *Server) Host() string { return "tcp://" + s.srv.Listener.Addr().String() }

// Close stops the server, ending open event streams.
func (s *Server) Close() {
	s.srv.CloseClientConnections()
	s.srv.Close()
}

// Calls returns every request so far, in order.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.calls)
}

// Endpoints returns the distinct calls so far as "METHOD /path", sorted.
func (s *Server) Endpoints() []string {
	var out []string
	for _, c := range s.Calls() {
		out = append(out, c.String())
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// versioned matches the /v1.xx prefix of a versioned path.
var versioned = regexp.MustCompile(`^/v[0-9]+\.[0-9]+/`)

func (s *Server) recorded(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		path := r.URL.Path
		if _, tmpl, ok := strings.Cut(r.Pattern, " "); ok {
			path = tmpl
		}
		if rest, ok := strings.CutPrefix(path, "/{version}/"); ok {
			if !versioned.MatchString(r.URL.Path) {
				writeError(w, http.StatusBadRequest, "bad API version in "+r.URL.Path)
				return
			}
			path = "/" + rest
		} else {
			path = versioned.ReplaceAllString(path, "/")
		}
		s.mu.Lock()
		s.calls = append(s.calls, Call{Method: r.Method, Path: path})
		s.mu.Unlock()
		h(w, r)
	})
}

func (s *Server) ping(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Api-Version", APIVersion)
	w.Header().Set("Ostype", "linux")
	w.Header().Set("Docker-Experimental", "false")
	w.Header().Set("Swarm", "active/manager")
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if r.Method == http.MethodGet {
		_, _ = w.Write([]byte("OK"))
	}
}

func (s *Server) info(w http.ResponseWriter, r *http.Request) {
	info, err := s.d.Info(r.Context())
	reply(w, info, err)
}

func (s *Server) nodeList(w http.ResponseWriter, r *http.Request) {
	f, err := filters.FromJSON(r.URL.Query().Get("filters"))
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	nodes, err := s.d.NodeList(r.Context(), swarm.NodeListOptions{Filters: f})
	reply(w, nodes, err)
}

func (s *Server) nodeInspect(w http.ResponseWriter, r *http.Request) {
	_, raw, err := s.d.NodeInspectWithRaw(r.Context(), r.PathValue("id"))
	if err != nil {
		daemonError(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(raw)
}

func (s *Server) nodeUpdate(w http.ResponseWriter, r *http.Request) {
	v, err := strconv.ParseUint(r.URL.Query().Get("version"), 10, 64)
	if err != nil {
		writeError(w, http.StatusBadRequest, "invalid node version: "+err.Error())
		return
	}
	var spec swarm.NodeSpec
	if err := json.NewDecoder(r.Body).Decode(&spec); err != nil {
		writeError(w, http.StatusBadRequest, "invalid node spec: "+err.Error())
		return
	}
	if err := s.d.NodeUpdate(r.Context(), r.PathValue("id"), swarm.Version{Index: v}, spec); err != nil {
		daemonError(w, err)
		return
	}
	w.WriteHeader(http.StatusOK)
}

func (s *Server) nodeRemove(w http.ResponseWriter, r *http.Request) {
	force := r.URL.Query().Get("force")
	o := swarm.NodeRemoveOptions{Force: force == "1" || force == "true"}
	if err := s.d.NodeRemove(r.Context(), r.PathValue("id"), o); err != nil {
		daemonError(w, err)
		return
	}
	w.WriteHeader(http.StatusOK)
}

// events streams messages as the daemon does: one JSON object after another, each flushed,
// until the client goes away or the backend's stream ends.
func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	f, err := filters.FromJSON(r.URL.Query().Get("filters"))
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	msgs, errs := s.d.Events(r.Context(), events.ListOptions{Filters: f})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	flusher, _ := w.(http.Flusher)
	if flusher != nil {
		flusher.Flush()
	}
	enc := json.NewEncoder(w)
	for {
		select {
		case m := <-msgs:
			if err := enc.Encode(m); err != nil {
				return
			}
			if flusher != nil {
				flusher.Flush()
			}
		case <-errs:
			return
		case <-r.Context().Done():
			return
		}
	}
}

func reply(w http.ResponseWriter, v any, err error) {
	if err != nil {
		daemonError(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// daemonError answers err the way the daemon would: the HTTP status of its errdefs class and
// its message, which the client prefixes with "Error response from daemon: " again.
func daemonError(w http.ResponseWriter, err error) {
	code := http.StatusInternalServerError
	switch {
	case cerrdefs.IsNotFound(err):
		code = http.StatusNotFound
	case cerrdefs.IsInvalidArgument(err):
		code = http.StatusBadRequest
	case cerrdefs.IsUnavailable(err):
		code = http.StatusServiceUnavailable
	case cerrdefs.IsConflict(err):
		code = http.StatusConflict
	}
	writeError(w, code, strings.TrimPrefix(err.Error(), "Error response from daemon: "))
}

func writeError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_, _ = fmt.Fprintf(w, "%s\n", mustJSON(map[string]string{"message": msg}))
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}
