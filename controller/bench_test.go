package controller_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/api/types/system"
	"github.com/go-logr/logr"

	"github.com/swarmtopo/swarmtopo/controller"
	"github.com/swarmtopo/swarmtopo/spec"
)

// callLatency is what one Docker API call costs against a real manager on a LAN, roughly.
const callLatency = 2 * time.Millisecond

// slowDocker adds callLatency to every call and counts the calls and the nodes listed.
type slowDocker struct {
	controller.Docker
	calls, nodesListed atomic.Int64
}

func (d *slowDocker) wait() { d.calls.Add(1); time.Sleep(callLatency) }

func (d *slowDocker) NodeList(ctx context.Context, o swarm.NodeListOptions) ([]swarm.Node, error) {
	d.wait()
	ns, err := d.Docker.NodeList(ctx, o)
	d.nodesListed.Add(int64(len(ns)))
	return ns, err
}

func (d *slowDocker) NodeInspectWithRaw(ctx context.Context, id string) (swarm.Node, []byte, error) {
	d.wait()
	return d.Docker.NodeInspectWithRaw(ctx, id)
}

func (d *slowDocker) Info(ctx context.Context) (system.Info, error) {
	d.wait()
	return d.Docker.Info(ctx)
}

func (d *slowDocker) Events(ctx context.Context, o events.ListOptions) (<-chan events.Message, <-chan error) {
	return d.Docker.Events(ctx, o)
}

func (d *slowDocker) TaskList(ctx context.Context, o swarm.TaskListOptions) ([]swarm.Task, error) {
	d.wait()
	return d.Docker.TaskList(ctx, o)
}

func (d *slowDocker) NodeUpdate(ctx context.Context, id string, v swarm.Version, s swarm.NodeSpec) error {
	d.wait()
	return d.Docker.NodeUpdate(ctx, id, v, s)
}

// BenchmarkAdoptRelabelsEveryNode adopts a swarm whose every node needs a label (the real
// planner, a topology with a label rule), with callLatency on every call: step by step
// (parallelism 1, one pass per node) against the parallel batch. Run with -benchtime=1x:
//
//	go test ./controller/ -run '^$' -bench AdoptRelabels -benchtime=1x
func BenchmarkAdoptRelabelsEveryNode(b *testing.B) {
	top, err := spec.Parse("bench.yaml", []byte("apiVersion: swarmtopo.dev/v1alpha1\nkind: SwarmTopology\n"+
		"metadata: {name: bench}\nspec:\n  managers: {count: 3}\n  labels:\n    - hostnames: [\"node*\"]\n      set: {tier: app}\n"))
	if err != nil {
		b.Fatal(err)
	}
	for _, n := range []int{100, 1000} {
		for _, par := range []int{1, controller.DefaultParallelism} {
			b.Run(fmt.Sprintf("nodes=%d/parallelism=%d", n, par), func(b *testing.B) {
				for range b.N {
					b.StopTimer()
					d := &slowDocker{Docker: cluster(n, 3, "a", "b", "c")}
					c := controller.New(controller.Options{Topology: func() *spec.SwarmTopology { return top },
						Docker: d, Log: logr.Discard(), Parallelism: par, SettlePoll: time.Millisecond})
					b.StartTimer()
					plan, err := c.Once(context.Background())
					if err != nil || !plan.Converged() {
						b.Fatalf("Once: %v (converged %v)", err, plan != nil && plan.Converged())
					}
					b.ReportMetric(float64(d.calls.Load()), "calls/op")
					b.ReportMetric(float64(d.nodesListed.Load()), "nodesListed/op")
				}
			})
		}
	}
}
