package controller

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/swarm"

	"github.com/swarmtopo/swarmtopo/controller/fakeswarm"
	"github.com/swarmtopo/swarmtopo/reconcile"
)

// withSwarmObject adds a swarm object holding labels to the fake.
type withSwarmObject struct {
	*fakeswarm.Swarm
	labels map[string]string
}

func (w withSwarmObject) SwarmInspect(context.Context) (swarm.Swarm, error) {
	var sw swarm.Swarm
	sw.Spec.Labels = w.labels
	return sw, nil
}

func TestObserveReadsTheMaintenanceLock(t *testing.T) {
	fs := fakeswarm.New(fakeswarm.NodeConfig{Hostname: "node1", Manager: true},
		fakeswarm.NodeConfig{Hostname: "node2", Manager: true}, fakeswarm.NodeConfig{Hostname: "node3", Manager: true})
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	l := &reconcile.MaintenanceLock{Node: fs.ID("node2"), Hostname: "node2", Holder: "ops", Start: now, Expiry: now.Add(time.Hour), Manager: true}
	d := withSwarmObject{fs, map[string]string{reconcile.MaintenanceLabelKey: l.Encode()}}
	for name, r := range map[string]Reader{"direct": d, "through the read-only wrapper": readOnly{r: d}} {
		s, err := Observe(context.Background(), r, now)
		if err != nil {
			t.Fatal(err)
		}
		if s.InMaintenance(fs.ID("node2")) == nil {
			t.Errorf("%s: snapshot has no valid lock on node2: %+v", name, s.Maintenance)
		}
	}
	d.labels[reconcile.MaintenanceLabelKey] = "garbage"
	s, err := Observe(context.Background(), d, now)
	if err != nil || s.Maintenance != nil || !strings.Contains(s.MaintenanceError, "not a lock") {
		t.Errorf("garbage label: %v, lock %+v, error %q", err, s.Maintenance, s.MaintenanceError)
	}
	// A reader without the swarm object observes as before.
	if s, err := Observe(context.Background(), readOnly{r: fs}, now); err != nil || s.Maintenance != nil {
		t.Errorf("without SwarmInspect: %v, %+v", err, s.Maintenance)
	}
}
