package service

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"
	"github.com/go-logr/logr"

	"github.com/swarmtopo/swarmtopo/spec"
)

// Defaults of ReloaderOptions.
const (
	// DefaultReloadPoll is how often the file is read again whatever the watcher says: a watch
	// can miss a change (a directory symlink swapped above the watched one, a bind-mounted
	// file replaced on the host, inotify limits).
	DefaultReloadPoll = 10 * time.Second
	// DefaultReloadDebounce is how long the directory must stay quiet after an event before
	// the file is read: an editor or a writer that truncates first leaves half a file for a
	// moment, and reading it then would refuse a file that is about to be fine.
	DefaultReloadDebounce = 200 * time.Millisecond
)

// ReloaderOptions configure a Reloader; zero values take the defaults.
type ReloaderOptions struct {
	Poll     time.Duration
	Debounce time.Duration
	// NoWatch turns the file system watcher off: only the poll notices changes.
	NoWatch bool
	Log     logr.Logger
	// OnReload, if set, is called after every change of the file's content (not for the
	// first load): with the topology now in force and nil, or with the refused file's error
	// and the last good topology, which stays in force.
	OnReload func(current *spec.SwarmTopology, err error)
	// Now is time.Now if nil.
	Now func() time.Time
}

// Reloader holds the topology parsed from a file and follows the file's changes. A change that
// parses and validates is put in force at once; one that does not is refused, the error is
// kept for Err, and the last good topology stays in force.
//
// It watches the file's directory rather than the file: swarm configs, Kubernetes-style
// "..data" symlink swaps, git-sync and editors all replace the file instead of writing it, and
// a watch on the old file would see nothing. Content is compared by hash, so events that change
// nothing (or touch other files) cost one read.
type Reloader struct {
	path string
	o    ReloaderOptions

	// checkMu serialises Check: the watcher, the poll and tests may ask at once.
	checkMu sync.Mutex
	seen    string // fingerprint of the content last tried

	mu       sync.Mutex
	cur      *spec.SwarmTopology
	loadedAt time.Time
	err      error
	errAt    time.Time

	changed chan struct{}
}

// NewReloader loads path. It fails if the file cannot be read or is not a valid topology: at
// start there is no last good topology to keep in force.
func NewReloader(path string, o ReloaderOptions) (*Reloader, error) {
	if o.Poll <= 0 {
		o.Poll = DefaultReloadPoll
	}
	if o.Debounce <= 0 {
		o.Debounce = DefaultReloadDebounce
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	r := &Reloader{path: path, o: o, changed: make(chan struct{}, 1)}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading topology: %w", err)
	}
	t, err := spec.Parse(path, data)
	if err != nil {
		return nil, err
	}
	r.cur, r.loadedAt, r.seen = t, o.Now(), fingerprint(data, nil)
	return r, nil
}

// Path is the file followed.
func (r *Reloader) Path() string { return r.path }

// Current is the topology in force: the last one that parsed and validated. Pass it as
// controller.Options.Topology.
func (r *Reloader) Current() *spec.SwarmTopology {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.cur
}

// LoadedAt is when the topology in force was loaded.
func (r *Reloader) LoadedAt() time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.loadedAt
}

// Err is why the file's current content was refused, or nil when it is the topology in force.
func (r *Reloader) Err() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.err
}

// LastError is Err and when the refused content was read (zero when Err is nil).
func (r *Reloader) LastError() (at time.Time, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.errAt, r.err
}

// Changed receives a value after a new valid topology was put in force; pass it as
// controller.Options.Wake. A refused file does not wake anyone: nothing changed.
func (r *Reloader) Changed() <-chan struct{} { return r.changed }

// Run follows the file until ctx ends, and returns nil then. If the watcher cannot start it
// logs why and relies on the poll.
func (r *Reloader) Run(ctx context.Context) error {
	log := r.o.Log
	var events <-chan fsnotify.Event
	var errs <-chan error
	w := r.watch()
	if w != nil {
		defer w.Close()
		events, errs = w.Events, w.Errors
	}
	poll := time.NewTicker(r.o.Poll)
	defer poll.Stop()
	// debounce is stopped until an event starts it.
	debounce := time.NewTimer(time.Hour)
	debounce.Stop()
	defer debounce.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-events:
			if !ok {
				events = nil
				continue
			}
			log.V(2).Info("Topology directory event", "event", ev.String())
			debounce.Reset(r.o.Debounce)
		case err, ok := <-errs:
			if !ok {
				errs = nil
				continue
			}
			log.Info("Topology watcher error; the poll still reads the file", "error", err.Error())
		case <-debounce.C:
			r.Check()
			if w != nil {
				// The directory may be a symlink that now points elsewhere: watch the new one.
				_ = w.Add(filepath.Dir(r.path))
			}
		case <-poll.C:
			r.Check()
		}
	}
}

// watch starts a watcher on the file's directory and, when that directory is itself a symlink
// (git-sync swaps one), on the directory holding the link. It returns nil if it cannot.
func (r *Reloader) watch() *fsnotify.Watcher {
	log := r.o.Log
	if r.o.NoWatch {
		return nil
	}
	dir := filepath.Dir(r.path)
	w, err := fsnotify.NewWatcher()
	if err == nil {
		err = w.Add(dir)
	}
	if err != nil {
		if w != nil {
			_ = w.Close()
		}
		log.Info("Cannot watch the topology file; reading it every poll instead", "file", r.path, "error", err.Error(), "poll", r.o.Poll.String())
		return nil
	}
	if fi, err := os.Lstat(dir); err == nil && fi.Mode()&os.ModeSymlink != 0 {
		if err := w.Add(filepath.Dir(dir)); err != nil {
			log.Info("Cannot watch the directory holding the topology's directory link", "dir", filepath.Dir(dir), "error", err.Error())
		}
	}
	return w
}

// Check reads the file now and puts a new valid content in force, or refuses it. It reports
// whether the content had changed since the last check.
func (r *Reloader) Check() bool {
	r.checkMu.Lock()
	defer r.checkMu.Unlock()
	data, readErr := os.ReadFile(r.path)
	fp := fingerprint(data, readErr)
	if fp == r.seen {
		return false
	}
	r.seen = fp
	var (
		t   *spec.SwarmTopology
		err error
	)
	if readErr != nil {
		err = fmt.Errorf("reading topology: %w", readErr)
	} else {
		t, err = spec.Parse(r.path, data)
	}
	now := r.o.Now()
	r.mu.Lock()
	if err != nil {
		r.err, r.errAt = err, now
	} else {
		r.cur, r.loadedAt, r.err, r.errAt = t, now, nil, time.Time{}
	}
	cur := r.cur
	r.mu.Unlock()

	if err != nil {
		r.o.Log.Error(err, "Topology file refused; the last good topology stays in force",
			"file", r.path, "name", cur.Metadata.Name)
	} else {
		r.o.Log.Info("Topology reloaded", "file", r.path, "name", t.Metadata.Name)
		select {
		case r.changed <- struct{}{}:
		default:
		}
	}
	if r.o.OnReload != nil {
		r.o.OnReload(cur, err)
	}
	return true
}

// fingerprint tells contents apart; a read error is a content of its own, so that a file that
// stays missing is reported once.
func fingerprint(data []byte, err error) string {
	if err != nil {
		return "error: " + err.Error()
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}
