package maintenance

import (
	"fmt"
	"io"
	"time"

	"github.com/swarmtopo/swarmtopo/reconcile"
)

// View is what `maintenance list` and `status` show.
type View struct {
	// Lock is the valid lock, if any.
	Lock *Lock `json:"lock,omitempty"`
	// Expired is a lock past its expiry that nobody ended: it no longer counts.
	Expired *Lock `json:"expired,omitempty"`
	// CanTakeOneDown says whether one manager (not the leader) could go down now, and why.
	CanTakeOneDown bool   `json:"canTakeOneManagerDown"`
	Why            string `json:"why"`
	Autolock       bool   `json:"autolock"`
}

// Describe builds the view of the lock st and the swarm s at now.
func Describe(st State, s reconcile.Snapshot, now time.Time, minFT int) View {
	v := View{Autolock: st.Autolock}
	if st.Lock.Valid(now) {
		v.Lock = st.Lock
	} else if st.Lock != nil {
		v.Expired = st.Lock
	}
	v.CanTakeOneDown, v.Why = Capacity(s, minFT)
	if v.Lock != nil {
		v.CanTakeOneDown, v.Why = false, "a node is already in maintenance"
	}
	return v
}

// AutolockReminder is said before any backup when autolock is on.
const AutolockReminder = "autolock is on: a manager that restarts stays locked until `docker swarm unlock`; " +
	"keep the unlock key (`docker swarm unlock-key -q`) at hand, outside the swarm, before any backup or restart"

// WriteText prints the view for people.
func WriteText(w io.Writer, v View) error {
	var err error
	p := func(format string, args ...any) {
		if err == nil {
			_, err = fmt.Fprintf(w, format, args...)
		}
	}
	switch {
	case v.Lock != nil:
		p("In maintenance: %s\n", v.Lock)
	default:
		p("In maintenance: none\n")
	}
	if v.Expired != nil {
		p("Expired lock (ignored): %s\n", v.Expired)
	}
	if v.CanTakeOneDown {
		p("Take a manager down now: yes, %s\n", v.Why)
	} else {
		p("Take a manager down now: no, %s\n", v.Why)
	}
	if v.Autolock {
		p("Autolock: on; %s\n", AutolockReminder)
	} else {
		p("Autolock: off\n")
	}
	return err
}
