package maintenance

import (
	"context"
	"errors"
	"sync"

	"github.com/docker/docker/api/types/swarm"

	"github.com/swarmtopo/swarmtopo/controller/fakeswarm"
)

// fake is the fake swarm plus the swarm object (with raft's version check on update) and a
// scripted task list.
type fake struct {
	*fakeswarm.Swarm

	mu      sync.Mutex
	sw      swarm.Swarm
	updates int
	// beforeUpdate, if set, runs once before the next SwarmUpdate is applied: a racing writer.
	beforeUpdate func()
	// tasks answers TaskList.
	tasks func(f swarm.TaskListOptions) []swarm.Task
}

func newFake(nodes ...fakeswarm.NodeConfig) *fake {
	f := &fake{Swarm: fakeswarm.New(nodes...)}
	f.sw.Version.Index = 100
	f.sw.Spec.Name = "default"
	f.sw.Spec.Labels = map[string]string{"keep": "me"}
	return f
}

func (f *fake) SwarmInspect(context.Context) (swarm.Swarm, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := f.sw
	out.Spec.Labels = map[string]string{}
	for k, v := range f.sw.Spec.Labels {
		out.Spec.Labels[k] = v
	}
	return out, nil
}

//lint:ignore ST1005 the daemon's own message, verbatim, as the client returns it
var errOutOfSequence = errors.New("Error response from daemon: rpc error: code = Unknown desc = update out of sequence")

func (f *fake) SwarmUpdate(_ context.Context, v swarm.Version, sp swarm.Spec, _ swarm.UpdateFlags) error {
	f.mu.Lock()
	race := f.beforeUpdate
	f.beforeUpdate = nil
	f.mu.Unlock()
	if race != nil {
		race()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if v.Index != f.sw.Version.Index {
		return errOutOfSequence
	}
	f.sw.Spec = sp
	f.sw.Version.Index++
	f.updates++
	return nil
}

func (f *fake) TaskList(_ context.Context, o swarm.TaskListOptions) ([]swarm.Task, error) {
	if f.tasks == nil {
		return nil, nil
	}
	return f.tasks(o), nil
}

// setLabel writes the lock label directly, as a human with the API would.
func (f *fake) setLabel(v string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sw.Spec.Labels[LabelKey] = v
	f.sw.Version.Index++
}

func (f *fake) label() (string, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	v, ok := f.sw.Spec.Labels[LabelKey]
	return v, ok
}
