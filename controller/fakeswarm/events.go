package fakeswarm

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/docker/docker/api/types/events"
)

// ErrStreamBroken is what BreakEvents sends when given no error.
var ErrStreamBroken = errors.New("fakeswarm: event stream broken")

type sub struct {
	msgs chan events.Message
	errs chan error
	once sync.Once
	stop chan struct{}
}

// end sends err and closes errs, as the Docker client does when a stream ends.
func (b *sub) end(err error) {
	b.once.Do(func() {
		b.errs <- err
		close(b.errs)
		close(b.stop)
	})
}

// Events subscribes to node events. Like the Docker client, the error channel receives one
// error (the context's, or the one given to BreakEvents) and is then closed; messages is never
// closed. Events are buffered, and dropped if a subscriber falls far behind.
func (s *Swarm) Events(ctx context.Context, _ events.ListOptions) (<-chan events.Message, <-chan error) {
	b := &sub{msgs: make(chan events.Message, 256), errs: make(chan error, 1), stop: make(chan struct{})}
	s.mu.Lock()
	s.subs = append(s.subs, b)
	s.subscriptions++
	s.mu.Unlock()
	go func() {
		select {
		case <-ctx.Done():
			s.drop(b)
			b.end(ctx.Err())
		case <-b.stop:
		}
	}()
	return b.msgs, b.errs
}

func (s *Swarm) drop(b *sub) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, o := range s.subs {
		if o == b {
			s.subs = append(s.subs[:i], s.subs[i+1:]...)
			return
		}
	}
}

// Subscriptions returns how many times Events was called, and how many streams are open.
func (s *Swarm) Subscriptions() (total, open int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.subscriptions, len(s.subs)
}

// BreakEvents ends every open stream with err (ErrStreamBroken if nil).
func (s *Swarm) BreakEvents(err error) {
	if err == nil {
		err = ErrStreamBroken
	}
	s.mu.Lock()
	subs := s.subs
	s.subs = nil
	s.mu.Unlock()
	for _, b := range subs {
		b.end(err)
	}
}

// MuteEvents stops (or resumes) the events the fake emits by itself while streams stay open:
// the daemon's watch can stop silently (moby#36729). Emit still delivers, so a test can decide
// exactly which events a loop sees.
func (s *Swarm) MuteEvents(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.muted = on
}

// Emit sends an event to every open stream, muted or not.
func (s *Swarm) Emit(m events.Message) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sendLocked(m)
}

func (s *Swarm) emitLocked(m events.Message) {
	if !s.muted {
		s.sendLocked(m)
	}
}

func (s *Swarm) sendLocked(m events.Message) {
	if s.OnEvent != nil {
		s.OnEvent(m)
	}
	for _, b := range s.subs {
		select {
		case b.msgs <- m:
		default:
		}
	}
}

// nodeEvent builds a node event as a manager emits it: attribute name, and on update what
// changed as key.old/key.new.
func nodeEvent(action string, n *node, key, oldV, newV string) events.Message {
	attrs := map[string]string{"name": n.n.Description.Hostname}
	if key != "" {
		attrs[key+".old"], attrs[key+".new"] = oldV, newV
	}
	now := time.Now()
	return events.Message{
		Type:     events.NodeEventType,
		Action:   events.Action(action),
		Actor:    events.Actor{ID: n.n.ID, Attributes: attrs},
		Scope:    "swarm",
		Time:     now.Unix(),
		TimeNano: now.UnixNano(),
	}
}
