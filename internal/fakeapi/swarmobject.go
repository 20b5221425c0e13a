package fakeapi

import (
	"encoding/json"
	"maps"
	"net/http"
	"strconv"

	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/swarm"
)

// The swarm object (where the maintenance lock lives) is served by the fake itself, with a
// version that an update must match, as raft's compare-and-swap does. The task list is the
// wrapped Docker's (a fakeswarm.Swarm's tasks move when a node is drained).

// SetSwarmLabel sets (or with "" removes) a label of the swarm object, as an admin would.
func (s *Server) SetSwarmLabel(key, value string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sw.Spec.Labels == nil {
		s.sw.Spec.Labels = map[string]string{}
	}
	if value == "" {
		delete(s.sw.Spec.Labels, key)
	} else {
		s.sw.Spec.Labels[key] = value
	}
	s.sw.Version.Index++
}

// SwarmLabels returns the swarm object's labels.
func (s *Server) SwarmLabels() map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.sw.Spec.Labels)
}

func (s *Server) swarmInspect(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	sw := s.sw
	sw.Spec.Labels = maps.Clone(s.sw.Spec.Labels)
	s.mu.Unlock()
	reply(w, sw, nil)
}

func (s *Server) swarmUpdate(w http.ResponseWriter, r *http.Request) {
	v, err := strconv.ParseUint(r.URL.Query().Get("version"), 10, 64)
	if err != nil {
		writeError(w, http.StatusBadRequest, "invalid swarm version")
		return
	}
	var sp swarm.Spec
	if err := json.NewDecoder(r.Body).Decode(&sp); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if v != s.sw.Version.Index {
		writeError(w, http.StatusInternalServerError, "rpc error: code = Unknown desc = update out of sequence")
		return
	}
	s.sw.Spec = sp
	s.sw.Version.Index++
	w.WriteHeader(http.StatusOK)
}

// taskList serves the tasks of the fake swarm, with the filters the client sent.
func (s *Server) taskList(w http.ResponseWriter, r *http.Request) {
	f, err := filters.FromJSON(r.URL.Query().Get("filters"))
	if err != nil {
		writeError(w, http.StatusBadRequest, "invalid filters: "+err.Error())
		return
	}
	ts, err := s.d.TaskList(r.Context(), swarm.TaskListOptions{Filters: f})
	if ts == nil {
		ts = []swarm.Task{}
	}
	reply(w, ts, err)
}
