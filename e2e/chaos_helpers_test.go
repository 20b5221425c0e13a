//go:build e2e

package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/swarmtopo/swarmtopo/lab"
	"github.com/swarmtopo/swarmtopo/reconcile"
)

// sockProxy stands between one operator instance and its node's Docker socket, so that a fault
// can take the socket away (every connection closed, the path gone) and bring it back.
type sockProxy struct {
	path, target string
	mu           sync.Mutex
	ln           net.Listener
	conns        map[net.Conn]bool
}

func newSockProxy(t *testing.T, path, target string) *sockProxy {
	t.Helper()
	p := &sockProxy{path: path, target: target, conns: map[net.Conn]bool{}}
	if err := p.up(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.down)
	return p
}

func (p *sockProxy) up() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		return nil
	}
	_ = os.Remove(p.path)
	ln, err := net.Listen("unix", p.path)
	if err != nil {
		return fmt.Errorf("socket proxy %s: %w", p.path, err)
	}
	p.ln = ln
	go p.serve(ln)
	return nil
}

func (p *sockProxy) serve(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go p.pipe(c)
	}
}

func (p *sockProxy) pipe(c net.Conn) {
	d, err := net.DialTimeout("unix", p.target, 2*time.Second)
	if err != nil {
		c.Close()
		return
	}
	p.mu.Lock()
	if p.ln == nil {
		p.mu.Unlock()
		c.Close()
		d.Close()
		return
	}
	p.conns[c], p.conns[d] = true, true
	p.mu.Unlock()
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(d, c); done <- struct{}{} }()
	go func() { _, _ = io.Copy(c, d); done <- struct{}{} }()
	<-done
	c.Close()
	d.Close()
	p.mu.Lock()
	delete(p.conns, c)
	delete(p.conns, d)
	p.mu.Unlock()
}

// down closes the listener and every connection and removes the socket path: to the operator,
// its Docker socket has gone away.
func (p *sockProxy) down() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		c.Close()
	}
	clear(p.conns)
	_ = os.Remove(p.path)
}

// operator is one `swarmtopo run` instance on one node, through its socket proxy, which a fault
// may kill -9 and start again.
type operator struct {
	t     *testing.T
	node  *lab.Node
	proxy *sockProxy
	args  []string
	mu    sync.Mutex
	procs []*process
}

func (o *operator) start() {
	p := startSwarmtopoAt(o.t, "unix://"+o.proxy.path, o.args...)
	o.mu.Lock()
	o.procs = append(o.procs, p)
	o.mu.Unlock()
}

func (o *operator) current() *process {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.procs[len(o.procs)-1]
}

func (o *operator) running() bool {
	select {
	case <-o.current().done:
		return false
	default:
		return true
	}
}

func (o *operator) kill() {
	p := o.current()
	p.signal(syscall.SIGKILL)
	<-p.done
}

// sent is every step any process of this instance sent, in order.
func (o *operator) sent() []sentStep {
	o.mu.Lock()
	procs := append([]*process(nil), o.procs...)
	o.mu.Unlock()
	var out []sentStep
	for _, p := range procs {
		p.mu.Lock()
		for _, m := range p.lines {
			if m["msg"] == "Step sent" {
				out = append(out, sentStep{at: logAt(m), action: fmt.Sprint(m["action"]), hostname: fmt.Sprint(m["hostname"]), by: o.node.Hostname})
			}
		}
		p.mu.Unlock()
	}
	return out
}

func (o *operator) logs() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	var b strings.Builder
	for i, p := range o.procs {
		fmt.Fprintf(&b, "--- %s process %d\n%s", o.node.Hostname, i+1, p.log())
	}
	return b.String()
}

type sentStep struct {
	at               time.Time
	action, hostname string
	by               string
}

func (s sentStep) roleChange() bool { return reconcile.Action(s.action).IsRoleChange() }

// startSwarmtopoAt starts the binary in the background with DOCKER_HOST set to dockerHost; the
// test stops it at cleanup and, when it failed, logs what it wrote.
func startSwarmtopoAt(t *testing.T, dockerHost string, args ...string) *process {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"--log-format", "json"}, args...)...)
	cmd.Env = append(os.Environ(), "DOCKER_HOST="+dockerHost)
	pipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &process{cmd: cmd, done: make(chan struct{})}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(p.done)
		sc := bufio.NewScanner(pipe)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			line := sc.Bytes()
			var m map[string]any
			p.mu.Lock()
			p.stderr.Write(line)
			p.stderr.WriteByte('\n')
			if json.Unmarshal(line, &m) == nil {
				p.lines = append(p.lines, m)
			}
			p.mu.Unlock()
		}
		_ = cmd.Wait()
	}()
	t.Cleanup(func() {
		p.signal(syscall.SIGKILL)
		<-p.done
		if t.Failed() {
			t.Logf("swarmtopo log:\n%s", p.log())
		}
	})
	return p
}

// engineWrite is one node-changing API request an engine logged.
type engineWrite struct {
	at   time.Time
	host string
	call string
}

// engineWrites reads every node-changing request each engine logged since the marks, with the
// engine's own timestamp.
func engineWrites(l *lab.Lab, since map[string]int64) ([]engineWrite, error) {
	var out []engineWrite
	for _, n := range l.Nodes() {
		calls, err := loggedCalls(n.LogPath(), since[n.Hostname])
		if err != nil {
			return nil, err
		}
		for _, c := range calls {
			if nodeWriteCall.MatchString(c.call) && !c.at.IsZero() {
				out = append(out, engineWrite{at: c.at, host: n.Hostname, call: c.call})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].at.Before(out[j].at) })
	return out, nil
}

// twoActorSeconds counts the seconds in which node writes reached two or more engines, leaving
// out the human's own writes (each matched to one write its engine logged within 2 s). Every
// operator instance writes only through its own node's engine, so two engines in one second
// are two instances acting at once.
func twoActorSeconds(writes []engineWrite, human []engineWrite) (int, []string) {
	used := make([]bool, len(writes))
	for _, h := range human {
		for i, w := range writes {
			if !used[i] && w.host == h.host && w.at.Sub(h.at).Abs() <= 2*time.Second {
				used[i] = true
				break
			}
		}
	}
	bySecond := map[int64]map[string]bool{}
	for i, w := range writes {
		if used[i] {
			continue
		}
		s := w.at.Unix()
		if bySecond[s] == nil {
			bySecond[s] = map[string]bool{}
		}
		bySecond[s][w.host] = true
	}
	var seconds []string
	for s, hosts := range bySecond {
		if len(hosts) > 1 {
			var hs []string
			for h := range hosts {
				hs = append(hs, h)
			}
			sort.Strings(hs)
			seconds = append(seconds, fmt.Sprintf("%s: %v", time.Unix(s, 0).UTC().Format("15:04:05"), hs))
		}
	}
	sort.Strings(seconds)
	return len(seconds), seconds
}

// unsafeSteps returns the role changes sent while the swarm had quorum that, applied to the
// last watcher sample before them, leave fewer reachable members than a quorum: a promotion
// counts as a member not reachable yet (raft counts it before it has caught up), a demotion of
// a reachable manager as one reachable member fewer. Growing a single manager always depends
// on the newcomer and is not counted.
func unsafeSteps(steps []sentStep, all []sample) []string {
	var out []string
	for _, st := range steps {
		if !st.roleChange() {
			continue
		}
		// Before the step, the leader's own view is preferred when there is one from the last
		// 2 s: a follower lists a member the leader has just removed a moment longer (s1-i16:
		// the leader's answer was missing from the sample before a promote).
		var before, beforeLeader, after *sample
		for i := range all {
			if all[i].at.After(st.at) {
				if all[i].ok && after == nil {
					after = &all[i]
				}
				continue
			}
			if all[i].ok {
				before = &all[i]
				if all[i].byLeader {
					beforeLeader = &all[i]
				}
			}
		}
		if beforeLeader != nil && st.at.Sub(beforeLeader.at) <= 2*time.Second {
			before = beforeLeader
		}
		if before == nil {
			continue
		}
		// The samples are 0.5 s apart and the operator looked in between: a member it saw
		// reachable (a promotion that had just caught up) may still show unreachable in the
		// sample before. Each member counts as reachable if either sample shows it so.
		m, r := len(before.members), 0
		for h := range before.members {
			if before.reach[h] || (after != nil && after.reach[h]) {
				r++
			}
		}
		if r < m/2+1 {
			continue // quorum was already lost: no step can be sent then, and none made it so
		}
		switch st.action {
		case "promote":
			if !before.members[st.hostname] {
				if m == 1 {
					continue
				}
				m++
			}
		case "demote":
			if before.members[st.hostname] {
				m--
				if before.reach[st.hostname] || (after != nil && after.reach[st.hostname]) {
					r--
				}
			}
		}
		if r < m/2+1 {
			out = append(out, fmt.Sprintf("%s %s %s by %s: %d members, %d reachable after it (before: %s)",
				st.at.Format("15:04:05.0"), st.action, st.hostname, st.by, m, r, before.managerList()))
		}
	}
	return out
}

// planConverged runs `swarmtopo plan` against a manager: exit 0 is the file's end state.
func planConverged(file string, n *lab.Node) (bool, string) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "plan", "-f", file)
	cmd.Env = append(os.Environ(), "DOCKER_HOST="+n.DockerHost())
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		return false, err.Error()
	}
	return err == nil, string(out)
}

// writeFileAtomic replaces path the way an editor or a git checkout does.
func writeFileAtomic(path, body string) error {
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".tmp")
	if err := os.WriteFile(tmp, []byte(body), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// operatorPending is the most of the operator's own membership changes the engines showed
// pending at once, and when: a change counts from its send until a sample after it no longer
// shows it pending (once seen pending, or 2 s after the send, in case the sample came before
// swarm stored it). A change swarm shows pending again after it completed, or a human's, is not
// the operator's: it could not have held it back. This is the simulator's invariant, read off
// the real engines.
func operatorPending(steps []sentStep, all []sample) (int, string) {
	type live struct {
		sent time.Time
		seen bool
	}
	open := map[string]*live{} // "promote node4" -> the change in flight
	most, at := 0, ""
	i := 0
	for _, s := range all {
		for ; i < len(steps) && !steps[i].at.After(s.at); i++ {
			if steps[i].roleChange() {
				open[steps[i].action+" "+steps[i].hostname] = &live{sent: steps[i].at}
			}
		}
		if !s.ok {
			continue
		}
		var now []string
		for change, l := range open {
			switch {
			case slices.Contains(s.pending, change):
				l.seen = true
				now = append(now, change)
			case l.seen || s.at.Sub(l.sent) > 2*time.Second:
				delete(open, change)
			}
		}
		if len(now) > most {
			sort.Strings(now)
			most, at = len(now), fmt.Sprintf("%s: %v; managers %s", s.at.Format("15:04:05.0"), now, s.managerList())
		}
	}
	return most, at
}
