package yjs

import "errors"

// errNotAdjacent: the updates cannot be joined without a full merge.
var errNotAdjacent = errors.New("yjs: updates are not adjacent")

// rawGroup is a struct group of an update, its structs kept as encoded.
type rawGroup struct {
	client, clock, end uint64 // clocks [clock, end)
	n                  uint64 // structs
	raw                [][]byte
}

// JoinUpdates joins updates (v1), made one after the other, into one
// update equivalent to applying them in order, without integrating them:
// a client's structs are joined when each update continues where the
// previous one ended (as successive updates relayed by a server do), and
// the delete sets are concatenated. Updates whose structs of one client
// overlap or leave a gap are not joined (an error: send them one by one).
// The structs are copied as encoded, so joining costs little more than
// reading them.
func JoinUpdates(updates [][]byte) ([]byte, error) {
	var groups []*rawGroup
	byClient := map[uint64]*rawGroup{}
	var dels []DeleteSetEntry
	for _, b := range updates {
		d := NewDecoder(b)
		n, err := d.ReadVarUint()
		if err != nil {
			return nil, err
		}
		for i := uint64(0); i < n; i++ {
			g, err := readRawGroup(d)
			if err != nil {
				return nil, err
			}
			if g.n == 0 {
				continue
			}
			prev := byClient[g.client]
			if prev == nil {
				byClient[g.client] = g
				groups = append(groups, g)
				continue
			}
			if g.clock != prev.end {
				return nil, errNotAdjacent
			}
			prev.end, prev.n = g.end, prev.n+g.n
			prev.raw = append(prev.raw, g.raw...)
		}
		ds, err := readDeleteSet(d)
		if err != nil {
			return nil, err
		}
		dels = append(dels, ds...)
	}
	e := NewEncoder()
	e.WriteVarUint(uint64(len(groups)))
	for _, g := range groups {
		e.WriteVarUint(g.n)
		e.WriteVarUint(g.client)
		e.WriteVarUint(g.clock)
		for _, r := range g.raw {
			e.WriteRaw(r)
		}
	}
	writeDeleteSetEntries(e, joinDeletes(dels))
	return e.Bytes(), nil
}

// readRawGroup reads one struct group, keeping its structs' bytes.
func readRawGroup(d *Decoder) (*rawGroup, error) {
	n, err := d.ReadVarUint()
	if err != nil {
		return nil, err
	}
	g := &rawGroup{n: n}
	if g.client, err = d.ReadVarUint(); err != nil {
		return nil, err
	}
	if g.clock, err = d.ReadVarUint(); err != nil {
		return nil, err
	}
	start := d.Pos()
	clock := g.clock
	for j := uint64(0); j < n; j++ {
		it, err := readItem(d, ID{g.client, clock})
		if err != nil {
			return nil, err
		}
		if err := it.validate(); err != nil {
			return nil, err
		}
		clock += uint64(it.Length)
		if clock > MaxSafeInteger {
			return nil, ErrIntOverflow
		}
	}
	g.end = clock
	g.raw = [][]byte{d.buf[start:d.Pos()]}
	return g, nil
}

// joinDeletes puts the ranges of each client in one entry (a reader may
// keep only the last entry of a client), in order of first appearance.
func joinDeletes(entries []DeleteSetEntry) []DeleteSetEntry {
	if len(entries) < 2 {
		return entries
	}
	var out []DeleteSetEntry
	at := map[uint64]int{}
	for _, e := range entries {
		i, ok := at[e.Client]
		if !ok {
			at[e.Client] = len(out)
			out = append(out, DeleteSetEntry{Client: e.Client, Ranges: append([]DeleteRange(nil), e.Ranges...)})
			continue
		}
		out[i].Ranges = append(out[i].Ranges, e.Ranges...)
	}
	return out
}
