package controller

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/docker/docker/api/types/swarm"

	"github.com/swarmtopo/swarmtopo/observe"
	"github.com/swarmtopo/swarmtopo/reconcile"
)

// SwarmReader is the optional read of the swarm object, where the maintenance lock lives. A
// Reader that also has it (the real client does) gets the lock into every snapshot; one that
// does not (a test fake) observes as if no node were in maintenance.
type SwarmReader interface {
	SwarmInspect(ctx context.Context) (swarm.Swarm, error)
}

// ErrNoSwarmObject is what a wrapper's SwarmInspect answers when what it wraps cannot read the
// swarm object; observation then goes on without the maintenance lock. Every wrapper of a Reader
// must forward SwarmInspect (with ForwardSwarmInspect), or the lock is silently lost.
var ErrNoSwarmObject = errors.New("controller: reader has no SwarmInspect")

// ForwardSwarmInspect is SwarmInspect for a wrapper of inner.
func ForwardSwarmInspect(ctx context.Context, inner any) (swarm.Swarm, error) {
	if sr, ok := inner.(SwarmReader); ok {
		return sr.SwarmInspect(ctx)
	}
	return swarm.Swarm{}, ErrNoSwarmObject
}

func (d readOnly) SwarmInspect(ctx context.Context) (swarm.Swarm, error) {
	return ForwardSwarmInspect(ctx, d.r)
}

// readMaintenance fills in the maintenance lock of s. A label that is not a lock is said in
// s.MaintenanceError rather than failing the observation: the operator goes on without it.
func readMaintenance(ctx context.Context, d Reader, timeout time.Duration, s *reconcile.Snapshot) error {
	sr, ok := d.(SwarmReader)
	if !ok {
		return nil
	}
	callCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	sw, err := sr.SwarmInspect(callCtx)
	switch {
	case errors.Is(err, ErrNoSwarmObject):
		return nil
	case err != nil && observe.IsNoLeader(err):
		s.ClusterError = err.Error()
		return nil
	case err != nil:
		return fmt.Errorf("reading the swarm object (maintenance lock): %w", explainTimeout(callCtx, err, timeout))
	}
	v, ok := sw.Spec.Labels[reconcile.MaintenanceLabelKey]
	if !ok {
		return nil
	}
	l, err := reconcile.DecodeMaintenanceLock(v)
	if err != nil {
		s.MaintenanceError = err.Error()
		return nil
	}
	s.Maintenance = l
	return nil
}
