//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/swarm"

	"github.com/swarmtopo/swarmtopo/lab"
)

// sample is one poll of the partition watcher: the first node list any polled manager gave, or
// none when every one of them failed (no leader, or no answer within the poll's timeout).
type sample struct {
	at       time.Time
	ok       bool
	errs     []string
	members  map[string]bool   // hostname -> has ManagerStatus (a raft member)
	pending  []string          // membership changes asked for and not done yet
	zones    map[string]string // hostname -> az label
	reach    map[string]bool   // hostname -> a reachable manager
	leader   string
	noLeader bool // some manager answered "does not have a leader"
	// byLeader is whether the view kept is the leader's own answer: the leader applies a
	// membership change first, so its view is the one that says what raft's members are.
	byLeader bool
}

// pendingChanges lists the nodes whose membership change is asked for and not done: Spec.Role
// manager without ManagerStatus (a promotion not in raft yet) or Spec.Role worker with it (a
// demotion raft has not applied). Each such node can complete on its own at any moment.
func pendingChanges(nodes []swarm.Node) []string {
	var out []string
	for _, n := range nodes {
		switch {
		case n.Spec.Role == swarm.NodeRoleManager && n.ManagerStatus == nil:
			out = append(out, "promote "+n.Description.Hostname)
		case n.Spec.Role == swarm.NodeRoleWorker && n.ManagerStatus != nil:
			out = append(out, "demote "+n.Description.Hostname)
		}
	}
	sort.Strings(out)
	return out
}

// partitionWatcher polls several managers every 0.5 s, all at once, and keeps every sample.
type partitionWatcher struct {
	stop chan struct{}
	done chan struct{}
	mu   sync.Mutex
	all  []sample
}

func watchPartition(l *lab.Lab, pollers []int) *partitionWatcher {
	w := &partitionWatcher{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(w.done)
		tick := time.NewTicker(500 * time.Millisecond)
		defer tick.Stop()
		for {
			s := pollManagers(l, pollers)
			w.mu.Lock()
			w.all = append(w.all, s)
			w.mu.Unlock()
			select {
			case <-w.stop:
				return
			case <-tick.C:
			}
		}
	}()
	return w
}

func pollManagers(l *lab.Lab, pollers []int) sample {
	s := sample{at: time.Now()}
	type answer struct {
		nodes []swarm.Node
		err   error
	}
	answers := make([]answer, len(pollers))
	var wg sync.WaitGroup
	for i, idx := range pollers {
		wg.Go(func() {
			c, err := l.Node(idx).Client()
			if err != nil {
				answers[i].err = err
				return
			}
			defer c.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			answers[i].nodes, answers[i].err = c.NodeList(ctx, swarm.NodeListOptions{})
		})
	}
	wg.Wait()
	// A view is no newer than its answer: the sample is stamped when the last one came, so that
	// a sample before a step shows nothing from after it.
	s.at = time.Now()
	// The view kept is the one with the most reachable managers (the majority's, not a
	// partitioned node's stale one), and of those the leader's own: it applies a membership
	// change first, a follower a moment later (seen in the fault campaign, s1-i17: a follower
	// still listed a demoted manager after the leader, and the operator, had seen it leave).
	// pending is the most any answer showed.
	best, bestLeads := -1, false
	for i, a := range answers {
		if a.err != nil {
			s.errs = append(s.errs, fmt.Sprintf("node%d: %v", pollers[i], a.err))
			if strings.Contains(a.err.Error(), "does not have a leader") {
				s.noLeader = true
			}
			continue
		}
		// A manager that has only just joined raft answers before it knows the member list:
		// every node without ManagerStatus, every manager "pending". Its answer says nothing
		// about membership (seen once in the fault campaign, on a mixed 20.10/26.1 swarm).
		members := 0
		for _, n := range a.nodes {
			if n.ManagerStatus != nil {
				members++
			}
		}
		if members == 0 {
			s.errs = append(s.errs, fmt.Sprintf("node%d: a node list without raft members", pollers[i]))
			continue
		}
		s.ok = true
		if p := pendingChanges(a.nodes); len(p) > len(s.pending) {
			s.pending = p
		}
		reachable := 0
		for _, n := range a.nodes {
			if ms := n.ManagerStatus; ms != nil && ms.Reachability == swarm.ReachabilityReachable {
				reachable++
			}
		}
		leads := false
		for _, n := range a.nodes {
			if ms := n.ManagerStatus; ms != nil && ms.Leader && n.Description.Hostname == l.Node(pollers[i]).Hostname {
				leads = true
			}
		}
		if reachable < best || reachable == best && (bestLeads || !leads) {
			continue
		}
		best, bestLeads = reachable, leads
		s.byLeader = leads
		s.members, s.zones, s.reach, s.leader = map[string]bool{}, map[string]string{}, map[string]bool{}, ""
		for _, n := range a.nodes {
			h := n.Description.Hostname
			s.zones[h] = n.Spec.Labels["az"]
			if ms := n.ManagerStatus; ms != nil {
				s.members[h] = true
				s.reach[h] = ms.Reachability == swarm.ReachabilityReachable
				if ms.Leader {
					s.leader = h
				}
			}
		}
	}
	return s
}

func (w *partitionWatcher) samples() []sample {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]sample(nil), w.all...)
}

func (w *partitionWatcher) finish() []sample {
	select {
	case <-w.done:
	default:
		close(w.stop)
		<-w.done
	}
	return w.samples()
}

// converged is the file's end state: count reachable managers and nothing pending, spread over
// three zones as evenly as possible (no zone more than one above another).
func (s sample) converged(count int) bool {
	if !s.ok || len(s.pending) > 0 || len(s.members) != count {
		return false
	}
	z := map[string]int{}
	for h := range s.members {
		if !s.reach[h] {
			return false
		}
		z[s.zones[h]]++
	}
	if len(z) != 3 {
		return false
	}
	lo, hi := count, 0
	for _, n := range z {
		lo, hi = min(lo, n), max(hi, n)
	}
	return hi-lo <= 1
}

func (s sample) managerList() string {
	var hs []string
	for h := range s.members {
		mark := ""
		if !s.reach[h] {
			mark = "(unreachable)"
		}
		if h == s.leader {
			mark += "*"
		}
		hs = append(hs, s.zones[h]+":"+h+mark)
	}
	sort.Strings(hs)
	return strings.Join(hs, " ")
}

// partitionFigures are what one run measured, from the samples alone.
type partitionFigures struct {
	maxPending     int
	maxPendingAt   string // the first sample with that many, described
	leaderless     time.Duration
	healChanges    []string
	converge       time.Duration // from the heal to the first converged sample; -1 when never
	electionOver   time.Duration // from the heal to the first answer after the last unanswered sample
	afterHeal      []string      // every membership change after the heal, with its time
	convergedState string
}

// measure reads the samples of a run healed at heal. Leaderless time after the heal is the
// time covered by samples no polled manager answered. The membership changes of the heal are
// those between the last answered sample before the heal and the first answered sample after
// it once the heal's election is over (no unanswered sample after it).
func measure(all []sample, heal time.Time, count int) partitionFigures {
	f := partitionFigures{converge: -1}
	for _, s := range all {
		if len(s.pending) > f.maxPending {
			f.maxPending = len(s.pending)
			f.maxPendingAt = fmt.Sprintf("%s: %v; managers %s", s.at.Format("15:04:05.0"), s.pending, s.managerList())
		}
	}
	var before *sample
	for i := range all {
		if all[i].at.Before(heal) && all[i].ok {
			before = &all[i]
		}
	}
	for i := range all {
		s := all[i]
		if s.at.Before(heal) {
			continue
		}
		if !s.ok && i+1 < len(all) {
			f.leaderless += all[i+1].at.Sub(s.at)
		}
		// Convergence is the start of the last converged stretch, which lasts to the end.
		switch {
		case !s.converged(count):
			f.converge = -1
		case f.converge < 0:
			f.converge = s.at.Sub(heal)
			f.convergedState = s.managerList()
		}
	}
	// The heal's election is over at the first answer after the last sample no manager
	// answered (or at the first answer after the heal when every sample was answered).
	lastNone := -1
	for i := range all {
		if !all[i].at.Before(heal) && !all[i].ok {
			lastNone = i
		}
	}
	var stable *sample
	for i := range all {
		if !all[i].at.Before(heal) && i > lastNone && all[i].ok {
			stable = &all[i]
			f.electionOver = all[i].at.Sub(heal)
			break
		}
	}
	// Every membership change seen after the heal, with its time.
	prev := before
	for i := range all {
		s := &all[i]
		if s.at.Before(heal) || !s.ok || prev == nil {
			continue
		}
		for h := range s.members {
			if !prev.members[h] {
				f.afterHeal = append(f.afterHeal, fmt.Sprintf("+%.1fs %s joined", s.at.Sub(heal).Seconds(), h))
			}
		}
		for h := range prev.members {
			if !s.members[h] {
				f.afterHeal = append(f.afterHeal, fmt.Sprintf("+%.1fs %s left", s.at.Sub(heal).Seconds(), h))
			}
		}
		prev = s
	}
	if before != nil && stable != nil {
		for h := range stable.members {
			if !before.members[h] {
				f.healChanges = append(f.healChanges, "promote "+h)
			}
		}
		for h := range before.members {
			if !stable.members[h] {
				f.healChanges = append(f.healChanges, "demote "+h)
			}
		}
		sort.Strings(f.healChanges)
	}
	return f
}

// timelineOf describes the samples where the swarm changed, for the test log.
func timelineOf(all []sample, t0 time.Time) string {
	var b strings.Builder
	last := ""
	for _, s := range all {
		d := "no answer"
		if s.noLeader {
			d = "no leader"
		}
		if s.ok {
			d = s.managerList()
			if len(s.pending) > 0 {
				d += fmt.Sprintf(" pending %v", s.pending)
			}
		}
		if d != last {
			fmt.Fprintf(&b, "  %+7.1fs %s\n", s.at.Sub(t0).Seconds(), d)
			last = d
		}
	}
	return b.String()
}

// waitSamples waits until cond holds for the latest sample, or timeout.
func (w *partitionWatcher) waitSamples(t *testing.T, timeout time.Duration, cond func(sample) bool) bool {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		all := w.samples()
		if len(all) > 0 && cond(all[len(all)-1]) {
			return true
		}
		time.Sleep(250 * time.Millisecond)
	}
	return false
}
