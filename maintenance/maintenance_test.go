package maintenance

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/swarm"

	"github.com/swarmtopo/swarmtopo/controller"
	"github.com/swarmtopo/swarmtopo/controller/fakeswarm"
)

var t0 = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

func at(t time.Time) func() time.Time { return func() time.Time { return t } }

// fiveManagers: node1 (leader) to node5 managers, node6 a worker.
func fiveManagers() *fake {
	var cfg []fakeswarm.NodeConfig
	for i := 1; i <= 6; i++ {
		cfg = append(cfg, fakeswarm.NodeConfig{Hostname: "node" + string(rune('0'+i)), Manager: i <= 5, Leader: i == 1})
	}
	return newFake(cfg...)
}

func threeManagers() *fake {
	return newFake(
		fakeswarm.NodeConfig{Hostname: "node1", Manager: true, Leader: true},
		fakeswarm.NodeConfig{Hostname: "node2", Manager: true},
		fakeswarm.NodeConfig{Hostname: "node3", Manager: true},
		fakeswarm.NodeConfig{Hostname: "node4"},
	)
}

func req(node string) Request {
	return Request{Node: node, Holder: "alice@host", Reason: "backup", TTL: 30 * time.Minute}
}

func TestStartTakesTheLockAndASecondStartIsRefused(t *testing.T) {
	f := fiveManagers()
	l, err := Start(context.Background(), f, req("node2"), at(t0))
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	if l.Hostname != "node2" || !l.Manager || !l.Expiry.Equal(t0.Add(30*time.Minute)) {
		t.Errorf("lock = %+v", l)
	}
	got, _, err := Current(context.Background(), f, t0.Add(time.Minute))
	if err != nil || got == nil || got.Node != f.ID("node2") {
		t.Fatalf("Current = %+v, %v; want node2's lock", got, err)
	}
	if f.sw.Spec.Labels["keep"] != "me" {
		t.Errorf("other swarm labels lost: %v", f.sw.Spec.Labels)
	}
	before, _ := f.label()
	_, err = Start(context.Background(), f, req("node3"), at(t0.Add(time.Minute)))
	if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "node2") || !strings.Contains(err.Error(), "alice@host") {
		t.Fatalf("second Start = %v; want refused naming node2 and its holder", err)
	}
	if after, _ := f.label(); after != before {
		t.Errorf("a refused start changed the lock: %q → %q", before, after)
	}
}

func TestTwoStartsRacingForDifferentManagersExactlyOneWins(t *testing.T) {
	f := fiveManagers()
	var inner error
	// node3's start reads the same swarm version as node2's and writes first.
	f.beforeUpdate = func() { _, inner = Start(context.Background(), f, req("node3"), at(t0)) }
	_, outer := Start(context.Background(), f, req("node2"), at(t0))
	if inner != nil {
		t.Fatalf("the racer that wrote first failed: %v", inner)
	}
	if !errors.Is(outer, ErrRefused) {
		t.Fatalf("the racer that wrote second = %v; want refused", outer)
	}
	l, _, _ := Current(context.Background(), f, t0)
	if l == nil || l.Hostname != "node3" {
		t.Fatalf("lock = %+v; want node3's", l)
	}
	if f.updates != 1 {
		t.Errorf("swarm object written %d times; want 1", f.updates)
	}
}

func TestAnExpiredLockIsIgnored(t *testing.T) {
	f := fiveManagers()
	if _, err := Start(context.Background(), f, Request{Node: "node2", Holder: "crashed@script", TTL: time.Minute}, at(t0)); err != nil {
		t.Fatal(err)
	}
	l, err := Start(context.Background(), f, req("node3"), at(t0.Add(2*time.Minute)))
	if err != nil {
		t.Fatalf("Start after expiry: %v", err)
	}
	if l.Hostname != "node3" {
		t.Errorf("lock = %+v", l)
	}
}

func TestStartRefusals(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name  string
		build func() *fake
		node  string
		minFT int
		want  []string
	}{
		{"taking one of three managers down leaves fault tolerance 0, allowed by default",
			threeManagers, "node2", 0, nil},
		{"a minimum fault tolerance of 1 refuses it, with the figures",
			threeManagers, "node2", 1, []string{"fault tolerance 0", "2 of 3", "minFaultTolerance is 1"}},
		{"while a manager is already unreachable, quorum is degraded",
			func() *fake { f := threeManagers(); f.Kill(f.ID("node3")); return f }, "node2", 0,
			[]string{"already degraded", "2 of 3", "node3"}},
		{"a single manager cannot go down",
			func() *fake {
				return newFake(fakeswarm.NodeConfig{Hostname: "node1", Manager: true}, fakeswarm.NodeConfig{Hostname: "node2"})
			}, "node1", 0, []string{"0 of 1", "1 needed"}},
		{"a role change in flight refuses it",
			func() *fake {
				f := fiveManagers()
				n, _ := f.Node("node6")
				sp := n.Spec
				sp.Role = swarm.NodeRoleManager
				if err := f.NodeUpdate(ctx, n.ID, n.Version, sp); err != nil {
					panic(err)
				}
				return f
			}, "node2", 0, []string{"node6 is still becoming a manager"}},
		{"a worker can go down while the managers are healthy",
			fiveManagers, "node6", 2, nil},
		{"an unknown node is an error naming it",
			fiveManagers, "node9", 0, []string{`node "node9" not found`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := c.build()
			r := req(c.node)
			r.MinFaultTolerance = c.minFT
			_, err := Start(ctx, f, r, at(t0))
			if c.want == nil {
				if err != nil {
					t.Fatalf("Start = %v; want it allowed", err)
				}
				return
			}
			if err == nil {
				t.Fatal("Start succeeded; want it refused")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if _, ok := f.label(); ok {
				t.Error("a refused start wrote a lock")
			}
		})
	}
}

func TestResolveNamesNodesLikeTheDockerCLI(t *testing.T) {
	f := newFake(
		fakeswarm.NodeConfig{ID: "abc111", Hostname: "web", Manager: true},
		fakeswarm.NodeConfig{ID: "abc222", Hostname: "web"},
		fakeswarm.NodeConfig{ID: "xyz333", Hostname: "db"},
	)
	s, err := controller.Observe(context.Background(), f, t0)
	if err != nil {
		t.Fatal(err)
	}
	for ref, want := range map[string]string{"abc222": "abc222", "db": "xyz333", "xyz": "xyz333"} {
		if n, err := Resolve(s.Nodes, ref); err != nil || n.ID != want {
			t.Errorf("Resolve(%q) = %v, %v; want %s", ref, n, err, want)
		}
	}
	for ref, want := range map[string]string{
		"web": `node "web" is ambiguous: it matches web (abc111), web (abc222)`,
		"abc": `node "abc" is ambiguous`,
		"zzz": `node "zzz" not found`,
	} {
		if _, err := Resolve(s.Nodes, ref); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Resolve(%q) = %v; want %q", ref, err, want)
		}
	}
}

func TestAGarbageLockLabelIsAnErrorAndChangesNothing(t *testing.T) {
	f := fiveManagers()
	f.setLabel("{not json")
	_, err := Start(context.Background(), f, req("node2"), at(t0))
	if !errors.Is(err, ErrBadLock) || !strings.Contains(err.Error(), LabelKey) {
		t.Fatalf("Start = %v; want ErrBadLock naming the label", err)
	}
	_, err = End(context.Background(), f, "node2", "alice@host", false, at(t0))
	if !errors.Is(err, ErrBadLock) || !strings.Contains(err.Error(), "--force") {
		t.Fatalf("End = %v; want ErrBadLock with the --force hint", err)
	}
	if v, _ := f.label(); v != "{not json" {
		t.Fatalf("label changed to %q", v)
	}
	if _, err := End(context.Background(), f, "node2", "alice@host", true, at(t0)); err != nil {
		t.Fatalf("End --force: %v", err)
	}
	if _, ok := f.label(); ok {
		t.Error("End --force left the garbage label")
	}
}

func TestDecodeSaysWhatIsWrong(t *testing.T) {
	for v, want := range map[string]string{
		`{"node":"x"}`: "has no holder, start, expiry",
		`{"node":"x","holder":"h","start":"2026-12-01T12:00:00Z","expiry":"2026-12-01T11:00:00Z"}`: "is not after start",
		`{"node":"x","color":"red"}`: `unknown field "color"`,
	} {
		if _, err := Decode(v); !errors.Is(err, ErrBadLock) || !strings.Contains(err.Error(), want) {
			t.Errorf("Decode(%s) = %v; want %q", v, err, want)
		}
	}
}

func TestParseTTL(t *testing.T) {
	if d, err := ParseTTL("45m"); err != nil || d != 45*time.Minute {
		t.Errorf("ParseTTL(45m) = %v, %v", d, err)
	}
	for _, bad := range []string{"soon", "-5m", "0s", "200h"} {
		if _, err := ParseTTL(bad); err == nil || !strings.Contains(err.Error(), "--ttl") {
			t.Errorf("ParseTTL(%q) = %v; want an error naming --ttl", bad, err)
		}
	}
}

func TestEndOfAForeignOrExpiredLock(t *testing.T) {
	ctx := context.Background()
	f := fiveManagers()
	if _, err := Start(ctx, f, req("node2"), at(t0)); err != nil {
		t.Fatal(err)
	}
	if _, err := End(ctx, f, "node3", "alice@host", false, at(t0)); !errors.Is(err, ErrNoLock) || !strings.Contains(err.Error(), "node2") {
		t.Errorf("End of another node = %v; want ErrNoLock naming node2", err)
	}
	if _, err := End(ctx, f, "node2", "bob@elsewhere", false, at(t0)); !errors.Is(err, ErrForeign) {
		t.Errorf("End by another holder = %v; want ErrForeign", err)
	}
	if _, ok := f.label(); !ok {
		t.Fatal("a refused end removed the lock")
	}
	res, err := End(ctx, f, "node2", "bob@elsewhere", false, at(t0.Add(time.Hour)))
	if err != nil || !res.Expired {
		t.Fatalf("End of an expired lock = %+v, %v; want it removed and said expired", res, err)
	}
	if _, err := End(ctx, f, "node2", "alice@host", false, at(t0)); !errors.Is(err, ErrNoLock) {
		t.Errorf("End with no lock = %v; want ErrNoLock", err)
	}
}

func TestCapacity(t *testing.T) {
	f := fiveManagers()
	s, _ := controller.Observe(context.Background(), f, t0)
	if ok, why := Capacity(s, 0); !ok || !strings.Contains(why, "2 → 1") {
		t.Errorf("Capacity = %v, %q", ok, why)
	}
	f.Kill(f.ID("node4"))
	s, _ = controller.Observe(context.Background(), f, t0)
	if ok, why := Capacity(s, 0); ok || !strings.Contains(why, "degraded") {
		t.Errorf("Capacity with a manager down = %v, %q", ok, why)
	}
}
