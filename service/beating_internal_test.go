package service

import (
	"context"
	"errors"
	"testing"

	"github.com/docker/docker/api/types/swarm"

	"github.com/swarmtopo/swarmtopo/controller"
	"github.com/swarmtopo/swarmtopo/controller/fakeswarm"
)

type withLock struct{ *fakeswarm.Swarm }

func (withLock) SwarmInspect(context.Context) (swarm.Swarm, error) {
	var sw swarm.Swarm
	sw.Spec.Labels = map[string]string{"k": "v"}
	return sw, nil
}

// The service wraps the Docker connection; the wrapper must pass the swarm object (and so the
// maintenance lock) through, or the reconciler would replace a manager in maintenance (found on
// the lab).
func TestTheServiceWrapperForwardsTheSwarmObject(t *testing.T) {
	beats := 0
	b := beating{Docker: withLock{fakeswarm.New(fakeswarm.NodeConfig{Hostname: "n1", Manager: true})}, beat: func() { beats++ }}
	sw, err := b.SwarmInspect(context.Background())
	if err != nil || sw.Spec.Labels["k"] != "v" || beats != 1 {
		t.Errorf("SwarmInspect through the wrapper = %+v, %v (beats %d)", sw.Spec.Labels, err, beats)
	}
	plain := beating{Docker: fakeswarm.New(fakeswarm.NodeConfig{Hostname: "n1", Manager: true}), beat: func() {}}
	if _, err := plain.SwarmInspect(context.Background()); !errors.Is(err, controller.ErrNoSwarmObject) {
		t.Errorf("SwarmInspect of a Docker without it = %v; want ErrNoSwarmObject", err)
	}
}

// The drain's wait reads the tasks through the same wrapper: a wrapper that dropped TaskList
// would let drains follow each other at once. Reader requires it, and it must reach the swarm.
func TestTheServiceWrapperForwardsTheTasks(t *testing.T) {
	fs := fakeswarm.New(fakeswarm.NodeConfig{Hostname: "n1", Manager: true}, fakeswarm.NodeConfig{Hostname: "w1"})
	fs.AddService(fakeswarm.ServiceConfig{Name: "web", Replicas: 3})
	beats := 0
	var d controller.Docker = beating{Docker: fs, beat: func() { beats++ }}
	counts, err := controller.CountTasks(context.Background(), d)
	if err != nil || counts[fs.ID("n1")]+counts[fs.ID("w1")] != 3 || beats != 1 {
		t.Errorf("tasks through the wrapper = %v, %v (beats %d); want 3 tasks and a beat", counts, err, beats)
	}
}
