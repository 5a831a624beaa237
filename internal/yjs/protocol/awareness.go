package protocol

import "slices"

// Awareness holds the latest awareness state of every client and applies
// updates with the y-protocols receiver rules, so that re-broadcast echoes
// are no-ops and removals are honoured. It is not safe for concurrent use.
type Awareness struct {
	states map[uint64]AwarenessEntry // present clients
	clocks map[uint64]uint64         // last clock seen, also for removed clients
}

// NewAwareness returns an empty awareness store.
func NewAwareness() *Awareness {
	return &Awareness{states: map[uint64]AwarenessEntry{}, clocks: map[uint64]uint64{}}
}

// Apply applies entries and returns the accepted ones (to broadcast).
// An entry is accepted if its clock is newer than the known one, or equal
// while it removes a client that is currently present.
func (a *Awareness) Apply(entries []AwarenessEntry) []AwarenessEntry {
	var accepted []AwarenessEntry
	for _, e := range entries {
		cur := a.clocks[e.ClientID]
		_, present := a.states[e.ClientID]
		if e.Clock > cur || (e.Clock == cur && e.Removed() && present) {
			a.clocks[e.ClientID] = e.Clock
			if e.Removed() {
				delete(a.states, e.ClientID)
			} else {
				a.states[e.ClientID] = e
			}
			accepted = append(accepted, e)
		}
	}
	return accepted
}

// Remove drops the given clients (e.g. those added through a closed
// connection) and returns removal entries to broadcast.
func (a *Awareness) Remove(clients []uint64) []AwarenessEntry {
	var out []AwarenessEntry
	for _, c := range clients {
		if _, ok := a.states[c]; ok {
			delete(a.states, c) // yjs keeps the clock: peers accept an equal-clock removal
			out = append(out, AwarenessEntry{ClientID: c, Clock: a.clocks[c], State: "null"})
		}
	}
	return out
}

// States returns all present states, ordered by client id.
func (a *Awareness) States() []AwarenessEntry {
	out := make([]AwarenessEntry, 0, len(a.states))
	for _, e := range a.states {
		out = append(out, e)
	}
	slices.SortFunc(out, func(x, y AwarenessEntry) int {
		switch {
		case x.ClientID < y.ClientID:
			return -1
		case x.ClientID > y.ClientID:
			return 1
		}
		return 0
	})
	return out
}

// Clock returns the last clock seen of client (0 if never seen), also
// for a client that was removed.
func (a *Awareness) Clock(client uint64) uint64 { return a.clocks[client] }
