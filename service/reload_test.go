package service_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/swarmtopo/swarmtopo/service"
	"github.com/swarmtopo/swarmtopo/spec"
)

const wait = 5 * time.Second // real time allowed for a goroutine to get somewhere

// topology is a valid topology file named name wanting count managers.
func topology(name string, count int) string {
	return fmt.Sprintf(`apiVersion: swarmtopo.dev/v1alpha1
kind: SwarmTopology
metadata: {name: %s}
spec:
  managers: {count: %d, availability: drain}
  workers: {availability: active}
`, name, count)
}

// invalid misspells a field: the strict parser refuses it.
const invalid = `apiVersion: swarmtopo.dev/v1alpha1
kind: SwarmTopology
metadata: {name: broken}
spec:
  managers: {cuont: 3}
`

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// replace writes content beside path and renames it over path, as editors and most
// deployment tools do.
func replace(t *testing.T, path, content string) {
	t.Helper()
	tmp := path + ".tmp"
	writeFile(t, tmp, content)
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// reloads records OnReload calls.
type reloads struct {
	mu    sync.Mutex
	calls []string
}

func (r *reloads) hook(cur *spec.SwarmTopology, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := "ok " + cur.Metadata.Name
	if err != nil {
		s = "refused, in force " + cur.Metadata.Name
	}
	r.calls = append(r.calls, s)
}

func (r *reloads) list() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.calls...)
}

func newReloader(t *testing.T, content string, o service.ReloaderOptions) (*service.Reloader, string, *reloads) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "topology.yaml")
	writeFile(t, path, content)
	rec := &reloads{}
	o.OnReload = rec.hook
	r, err := service.NewReloader(path, o)
	if err != nil {
		t.Fatal(err)
	}
	return r, path, rec
}

// runReloader runs r until the test ends.
func runReloader(t *testing.T, r *service.Reloader) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run = %v", err)
			}
		case <-time.After(wait):
			t.Errorf("Run did not stop")
		}
	})
}

func waitChanged(t *testing.T, r *service.Reloader, what string) {
	t.Helper()
	select {
	case <-r.Changed():
	case <-time.After(wait):
		t.Fatalf("no change signalled after %s (in force: %s, error: %v)", what, r.Current().Metadata.Name, r.Err())
	}
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestNewReloaderNeedsAValidFirstFile(t *testing.T) {
	tests := []struct {
		name    string
		content *string
		want    string
	}{
		{"An invalid file is refused with the parser's field error", new(invalid), "cuont"},
		{"A missing file is refused", nil, "reading topology"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "topology.yaml")
			if tc.content != nil {
				writeFile(t, path, *tc.content)
			}
			r, err := service.NewReloader(path, service.ReloaderOptions{})
			if err == nil || r != nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("NewReloader = %v, %v; want an error saying %q", r, err, tc.want)
			}
		})
	}
	if _, err := service.NewReloader(filepath.Join(t.TempDir(), "x"), service.ReloaderOptions{}); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a missing file's error does not wrap os.ErrNotExist: %v", err)
	}
}

func TestReloaderKeepsTheLastGoodTopology(t *testing.T) {
	// Check by hand: each step is one read of the file.
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	r, path, rec := newReloader(t, topology("v1", 3), service.ReloaderOptions{Now: func() time.Time { return now }})
	steps := []struct {
		name      string
		write     func()
		changed   bool
		inForce   string
		wantErr   string
		signalled bool
	}{
		{"An unchanged file is not read as a change", func() {}, false, "v1", "", false},
		{"A new valid file is put in force", func() { writeFile(t, path, topology("v2", 5)) }, true, "v2", "", true},
		{"A new invalid file is refused and the last good stays in force",
			func() { writeFile(t, path, invalid) }, true, "v2", "cuont: unknown field", false},
		{"The same invalid file is not refused twice", func() { now = now.Add(time.Minute) }, false, "v2", "cuont", false},
		{"A missing file is refused and the last good stays in force",
			func() { _ = os.Remove(path) }, true, "v2", "no such file", false},
		{"A valid file again clears the error", func() { writeFile(t, path, topology("v3", 3)) }, true, "v3", "", true},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			st.write()
			if got := r.Check(); got != st.changed {
				t.Errorf("Check = %v, want %v", got, st.changed)
			}
			if got := r.Current().Metadata.Name; got != st.inForce {
				t.Errorf("in force: %s, want %s", got, st.inForce)
			}
			at, err := r.LastError()
			switch {
			case st.wantErr == "" && (err != nil || !at.IsZero()):
				t.Errorf("error = %v at %s, want none", err, at)
			case st.wantErr != "" && (err == nil || !strings.Contains(err.Error(), st.wantErr)):
				t.Errorf("error = %v, want one saying %q", err, st.wantErr)
			case st.wantErr != "" && at.IsZero():
				t.Errorf("the refusal has no time")
			}
			select {
			case <-r.Changed():
				if !st.signalled {
					t.Errorf("Changed signalled, but nothing new is in force")
				}
			default:
				if st.signalled {
					t.Errorf("Changed not signalled")
				}
			}
		})
	}
	want := []string{"ok v2", "refused, in force v2", "refused, in force v2", "ok v3"}
	if got := rec.list(); strings.Join(got, "; ") != strings.Join(want, "; ") {
		t.Errorf("OnReload calls = %q, want %q", got, want)
	}
	if at, _ := r.LastError(); !at.IsZero() {
		t.Errorf("error time kept after a valid file: %s", at)
	}
}

func TestReloaderWatchesTheDirectory(t *testing.T) {
	tests := []struct {
		name   string
		change func(t *testing.T, path string)
	}{
		{"A file written in place", func(t *testing.T, path string) { writeFile(t, path, topology("v2", 5)) }},
		{"A file replaced by an atomic rename", func(t *testing.T, path string) { replace(t, path, topology("v2", 5)) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// An hour's poll: only the watcher can notice in time.
			r, path, _ := newReloader(t, topology("v1", 3), service.ReloaderOptions{Poll: time.Hour, Debounce: 10 * time.Millisecond})
			runReloader(t, r)
			time.Sleep(20 * time.Millisecond) // let the watch start
			tc.change(t, path)
			waitChanged(t, r, tc.name)
			if got := r.Current(); got.Metadata.Name != "v2" || got.Spec.Managers.Count != 5 {
				t.Errorf("in force: %s with %d managers, want v2 with 5", got.Metadata.Name, got.Spec.Managers.Count)
			}
			replace(t, path, invalid)
			eventually(t, "the invalid file to be refused", func() bool { return r.Err() != nil })
			if got := r.Current().Metadata.Name; got != "v2" {
				t.Errorf("after an invalid file %s is in force, want v2", got)
			}
		})
	}
}

func TestReloaderFollowsASymlinkSwap(t *testing.T) {
	// The layout Kubernetes' atomic writer and swarm-config sidecars use: the file is a link
	// through "..data", and an update swaps "..data" to a new directory in one rename.
	dir := t.TempDir()
	mk := func(version, content string) {
		if err := os.Mkdir(filepath.Join(dir, version), 0o755); err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(dir, version, "topology.yaml"), content)
	}
	link := func(target, name string) {
		if err := os.Symlink(target, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	mk("..v1", topology("v1", 3))
	link("..v1", "..data")
	link("..data/topology.yaml", "topology.yaml")
	r, err := service.NewReloader(filepath.Join(dir, "topology.yaml"), service.ReloaderOptions{Poll: time.Hour, Debounce: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	runReloader(t, r)
	time.Sleep(20 * time.Millisecond)
	mk("..v2", topology("v2", 5))
	link("..v2", "..data_tmp")
	if err := os.Rename(filepath.Join(dir, "..data_tmp"), filepath.Join(dir, "..data")); err != nil {
		t.Fatal(err)
	}
	waitChanged(t, r, "the symlink swap")
	if got := r.Current().Metadata.Name; got != "v2" {
		t.Errorf("in force: %s, want v2", got)
	}
}

func TestReloaderPollsWithoutAWatcher(t *testing.T) {
	r, path, _ := newReloader(t, topology("v1", 3), service.ReloaderOptions{NoWatch: true, Poll: 10 * time.Millisecond})
	runReloader(t, r)
	writeFile(t, path, topology("v2", 5))
	waitChanged(t, r, "a change seen only by the poll")
	if got := r.Current().Metadata.Name; got != "v2" {
		t.Errorf("in force: %s, want v2", got)
	}
}
