package controller

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/api/types/system"
	"github.com/docker/docker/client"
)

// DefaultCallTimeout bounds every Docker call but the event stream. A manager that has just lost
// quorum can hang node calls for about 20 s before it answers "no leader"; waiting less and then
// asking Info, which still answers, tells that state apart sooner.
const DefaultCallTimeout = 10 * time.Second

// ErrCallTimeout is wrapped when a Docker call did not answer within its timeout.
var ErrCallTimeout = errors.New("controller: docker call timed out")

// Reader holds the read-only Docker calls the controller makes.
type Reader interface {
	NodeList(ctx context.Context, options swarm.NodeListOptions) ([]swarm.Node, error)
	NodeInspectWithRaw(ctx context.Context, nodeID string) (swarm.Node, []byte, error)
	Info(ctx context.Context) (system.Info, error)
	Events(ctx context.Context, options events.ListOptions) (<-chan events.Message, <-chan error)
	// TaskList is how a drain sees its node's tasks stop and their replacements start
	// elsewhere. It is part of Reader, not an optional extra, so that a wrapper that forgets to
	// forward it does not compile instead of silently losing the wait.
	TaskList(ctx context.Context, options swarm.TaskListOptions) ([]swarm.Task, error)
}

// Writer holds the only Docker calls that change a swarm.
type Writer interface {
	NodeUpdate(ctx context.Context, nodeID string, version swarm.Version, spec swarm.NodeSpec) error
	NodeRemove(ctx context.Context, nodeID string, options swarm.NodeRemoveOptions) error
}

// Docker is the narrow edge between the controller and the Docker client: only the calls used.
type Docker interface {
	Reader
	Writer
}

// The real client must fit the edge as it is, with no adapter in between.
var _ Docker = (*client.Client)(nil)

// NewDockerFromEnv returns a client configured like the docker CLI: DOCKER_HOST,
// DOCKER_TLS_VERIFY and DOCKER_CERT_PATH are honoured and the API version is negotiated, so
// engines down to 20.10 (API 1.41) work.
func NewDockerFromEnv() (*client.Client, error) {
	c, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		return nil, fmt.Errorf("creating docker client: %w", err)
	}
	return c, nil
}

// readOnly hides the Writer half of whatever it wraps: its method set has no mutating call,
// and a type assertion cannot get one back.
type readOnly struct{ r Reader }

func (d readOnly) NodeList(ctx context.Context, o swarm.NodeListOptions) ([]swarm.Node, error) {
	return d.r.NodeList(ctx, o)
}

func (d readOnly) NodeInspectWithRaw(ctx context.Context, id string) (swarm.Node, []byte, error) {
	return d.r.NodeInspectWithRaw(ctx, id)
}

func (d readOnly) Info(ctx context.Context) (system.Info, error) { return d.r.Info(ctx) }

func (d readOnly) Events(ctx context.Context, o events.ListOptions) (<-chan events.Message, <-chan error) {
	return d.r.Events(ctx, o)
}

func (d readOnly) TaskList(ctx context.Context, o swarm.TaskListOptions) ([]swarm.Task, error) {
	return d.r.TaskList(ctx, o)
}

// bounded puts a timeout on every call of a Reader except the event stream, which is meant to
// stay open.
type bounded struct {
	r       Reader
	timeout time.Duration
}

func (b bounded) NodeList(ctx context.Context, o swarm.NodeListOptions) ([]swarm.Node, error) {
	ctx, cancel := context.WithTimeout(ctx, b.timeout)
	defer cancel()
	nodes, err := b.r.NodeList(ctx, o)
	return nodes, b.explain(ctx, err)
}

func (b bounded) NodeInspectWithRaw(ctx context.Context, id string) (swarm.Node, []byte, error) {
	ctx, cancel := context.WithTimeout(ctx, b.timeout)
	defer cancel()
	n, raw, err := b.r.NodeInspectWithRaw(ctx, id)
	return n, raw, b.explain(ctx, err)
}

func (b bounded) Info(ctx context.Context) (system.Info, error) {
	ctx, cancel := context.WithTimeout(ctx, b.timeout)
	defer cancel()
	info, err := b.r.Info(ctx)
	return info, b.explain(ctx, err)
}

func (b bounded) Events(ctx context.Context, o events.ListOptions) (<-chan events.Message, <-chan error) {
	return b.r.Events(ctx, o)
}

func (b bounded) TaskList(ctx context.Context, o swarm.TaskListOptions) ([]swarm.Task, error) {
	ctx, cancel := context.WithTimeout(ctx, b.timeout)
	defer cancel()
	ts, err := b.r.TaskList(ctx, o)
	return ts, b.explain(ctx, err)
}

// explain turns "our own deadline passed" into ErrCallTimeout, so callers can tell a hanging
// daemon from a cancelled pass.
func (b bounded) explain(callCtx context.Context, err error) error {
	return explainTimeout(callCtx, err, b.timeout)
}

func explainTimeout(callCtx context.Context, err error, timeout time.Duration) error {
	if err == nil {
		return nil
	}
	if errors.Is(callCtx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("%w after %s: %w", ErrCallTimeout, timeout, err)
	}
	return err
}

// sendUpdate and sendRemove make the mutating calls. They deliberately do not take the pass's
// cancellation: once a change is sent, a stop must not cut the request in half and leave it
// unknown whether the daemon stored it. The call timeout still bounds them.
func sendUpdate(ctx context.Context, w Writer, timeout time.Duration, id string, v swarm.Version, s swarm.NodeSpec) error {
	callCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	defer cancel()
	return explainTimeout(callCtx, w.NodeUpdate(callCtx, id, v, s), timeout)
}

func sendRemove(ctx context.Context, w Writer, timeout time.Duration, id string) error {
	callCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	defer cancel()
	// Force is never set: the planner only removes down nodes, and force would also remove a
	// node that came back up since the plan was made.
	return explainTimeout(callCtx, w.NodeRemove(callCtx, id, swarm.NodeRemoveOptions{}), timeout)
}
