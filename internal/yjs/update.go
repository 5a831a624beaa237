package yjs

import (
	"slices"
	"sort"
)

// StructGroup is the run of structs of one client in an update.
type StructGroup struct {
	Client  uint64
	Clock   uint64 // clock of the first struct
	Structs []*Item
}

// DeleteRange is a range of deleted clocks [Clock, Clock+Len).
type DeleteRange struct {
	Clock, Len uint64
}

// DeleteSetEntry lists the deleted ranges of one client.
type DeleteSetEntry struct {
	Client uint64
	Ranges []DeleteRange
}

// Update is a decoded update (format v1), in wire order.
type Update struct {
	Groups    []StructGroup
	DeleteSet []DeleteSetEntry
}

// DecodeUpdate decodes an update (v1) without integrating it. Trailing
// bytes after the delete set are ignored, as yjs does.
func DecodeUpdate(b []byte) (*Update, error) {
	d := NewDecoder(b)
	u := &Update{}
	n, err := d.ReadVarUint()
	if err != nil {
		return nil, err
	}
	for i := uint64(0); i < n; i++ {
		g, err := readGroup(d)
		if err != nil {
			return nil, err
		}
		u.Groups = append(u.Groups, g)
	}
	if u.DeleteSet, err = readDeleteSet(d); err != nil {
		return nil, err
	}
	return u, nil
}

func readGroup(d *Decoder) (StructGroup, error) {
	var g StructGroup
	n, err := d.ReadVarUint()
	if err != nil {
		return g, err
	}
	if g.Client, err = d.ReadVarUint(); err != nil {
		return g, err
	}
	if g.Clock, err = d.ReadVarUint(); err != nil {
		return g, err
	}
	g.Structs = make([]*Item, 0, min(n, uint64(d.Remaining())))
	clock := g.Clock
	for j := uint64(0); j < n; j++ {
		it, err := readItem(d, ID{g.Client, clock})
		if err != nil {
			return g, err
		}
		if err := it.validate(); err != nil {
			return g, err
		}
		g.Structs = append(g.Structs, it)
		clock += uint64(it.Length)
	}
	return g, nil
}

func readDeleteSet(d *Decoder) ([]DeleteSetEntry, error) {
	n, err := d.ReadVarUint()
	if err != nil {
		return nil, err
	}
	var ds []DeleteSetEntry
	for i := uint64(0); i < n; i++ {
		var e DeleteSetEntry
		if e.Client, err = d.ReadVarUint(); err != nil {
			return nil, err
		}
		m, err := d.ReadVarUint()
		if err != nil {
			return nil, err
		}
		e.Ranges = make([]DeleteRange, 0, min(m, uint64(d.Remaining()/2)))
		for j := uint64(0); j < m; j++ {
			c, err := d.ReadVarUint()
			if err != nil {
				return nil, err
			}
			l, err := d.ReadVarUint()
			if err != nil {
				return nil, err
			}
			if c+l > MaxSafeInteger {
				return nil, ErrIntOverflow
			}
			e.Ranges = append(e.Ranges, DeleteRange{c, l})
		}
		ds = append(ds, e)
	}
	return ds, nil
}

// Encode re-encodes the update exactly as decoded.
func (u *Update) Encode() []byte {
	return u.encode(NewEncoder())
}

func (u *Update) encode(e *Encoder) []byte {
	e.WriteVarUint(uint64(len(u.Groups)))
	for _, g := range u.Groups {
		e.WriteVarUint(uint64(len(g.Structs)))
		e.WriteVarUint(g.Client)
		e.WriteVarUint(g.Clock)
		for _, s := range g.Structs {
			s.write(e, 0)
		}
	}
	writeDeleteSetEntries(e, u.DeleteSet)
	return e.Bytes()
}

func writeDeleteSetEntries(e *Encoder, ds []DeleteSetEntry) {
	e.WriteVarUint(uint64(len(ds)))
	for _, c := range ds {
		e.WriteVarUint(c.Client)
		e.WriteVarUint(uint64(len(c.Ranges)))
		for _, r := range c.Ranges {
			e.WriteVarUint(r.Clock)
			e.WriteVarUint(r.Len)
		}
	}
}

// deleteSet is the in-memory form: client -> ranges.
type deleteSet map[uint64][]DeleteRange

func (ds deleteSet) add(client, clock, n uint64) {
	if n == 0 {
		return
	}
	rs := ds[client]
	if k := len(rs); k > 0 && rs[k-1].Clock+rs[k-1].Len == clock {
		rs[k-1].Len += n
		return
	}
	ds[client] = append(rs, DeleteRange{clock, n})
}

// normalize sorts and merges overlapping/adjacent ranges of every client.
func (ds deleteSet) normalize() {
	for c, rs := range ds {
		sort.Slice(rs, func(i, j int) bool { return rs[i].Clock < rs[j].Clock })
		out := rs[:0]
		for _, r := range rs {
			if k := len(out); k > 0 && out[k-1].Clock+out[k-1].Len >= r.Clock {
				if end := r.Clock + r.Len; end > out[k-1].Clock+out[k-1].Len {
					out[k-1].Len = end - out[k-1].Clock
				}
				continue
			}
			out = append(out, r)
		}
		ds[c] = out
	}
}

// entries returns the delete set in yjs wire order (clients descending).
func (ds deleteSet) entries() []DeleteSetEntry {
	out := make([]DeleteSetEntry, 0, len(ds))
	for c, rs := range ds {
		if len(rs) > 0 {
			out = append(out, DeleteSetEntry{c, rs})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Client > out[j].Client })
	return out
}

func (ds deleteSet) empty() bool {
	for _, rs := range ds {
		if len(rs) > 0 {
			return false
		}
	}
	return true
}

// StateVector maps a client to the next clock expected from it.
type StateVector map[uint64]uint64

// EncodeStateVector encodes sv with clients in descending order (as yjs).
func EncodeStateVector(sv StateVector) []byte {
	e := NewEncoder()
	clients := make([]uint64, 0, len(sv))
	for c := range sv {
		clients = append(clients, c)
	}
	slices.SortFunc(clients, func(a, b uint64) int { return cmpDesc(a, b) })
	e.WriteVarUint(uint64(len(clients)))
	for _, c := range clients {
		e.WriteVarUint(c)
		e.WriteVarUint(sv[c])
	}
	return e.Bytes()
}

// DecodeStateVector decodes a state vector. An empty input is the empty
// state vector.
func DecodeStateVector(b []byte) (StateVector, error) {
	sv := StateVector{}
	if len(b) == 0 {
		return sv, nil
	}
	d := NewDecoder(b)
	n, err := d.ReadVarUint()
	if err != nil {
		return nil, err
	}
	for i := uint64(0); i < n; i++ {
		c, err := d.ReadVarUint()
		if err != nil {
			return nil, err
		}
		k, err := d.ReadVarUint()
		if err != nil {
			return nil, err
		}
		sv[c] = k
	}
	return sv, nil
}

func cmpDesc(a, b uint64) int {
	switch {
	case a > b:
		return -1
	case a < b:
		return 1
	}
	return 0
}
