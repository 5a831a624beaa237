package yjs

import (
	"encoding/json"
	"strconv"
)

// RelativePosition is a position in a root type that follows concurrent
// edits, as yjs's Y.RelativePosition: the id of the item at the index (or
// none: the end of the type, or its start when Assoc < 0) and the side it
// associates with.
type RelativePosition struct {
	TName string // the root type's name
	Item  *ID    // nil: the type's end (Assoc >= 0) or start (Assoc < 0)
	Assoc int
}

// RelativePosition returns the position at UTF-16 index of root name the
// way yjs's createRelativePositionFromTypeIndex does: with Assoc >= 0 the
// id of the unit at index, with Assoc < 0 the id of the unit before it.
func (d *Doc) RelativePosition(name string, index, assoc int) RelativePosition {
	rp := RelativePosition{TName: name, Assoc: assoc}
	if assoc < 0 {
		if index == 0 {
			return rp
		}
		index--
	}
	b := d.roots[name]
	if b == nil {
		return rp
	}
	for it := b.start; it != nil; it = it.right {
		if n := it.visibleLen(); n > 0 {
			if n > index {
				rp.Item = &ID{it.ID.Client, it.ID.Clock + uint64(index)}
				return rp
			}
			index -= n
		}
		if it.right == nil && assoc < 0 {
			id := it.lastID()
			rp.Item = &id
			return rp
		}
	}
	return rp
}

// MarshalJSON encodes the position as the JSON of a Y.RelativePosition
// object (JSON.stringify of it, which is what awareness states carry):
// every field present, null when unset. y-codemirror.next reads such
// objects as they are, so a missing "item" would not mean null there.
func (rp RelativePosition) MarshalJSON() ([]byte, error) {
	b := []byte(`{"type":null,"tname":`)
	name, err := json.Marshal(rp.TName)
	if err != nil {
		return nil, err
	}
	b = append(b, name...)
	b = append(b, `,"item":`...)
	if rp.Item == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, `{"client":`...)
		b = strconv.AppendUint(b, rp.Item.Client, 10)
		b = append(b, `,"clock":`...)
		b = strconv.AppendUint(b, rp.Item.Clock, 10)
		b = append(b, '}')
	}
	b = append(b, `,"assoc":`...)
	b = strconv.AppendInt(b, int64(rp.Assoc), 10)
	return append(b, '}'), nil
}

// ClientState returns the next clock of client in the document (0 if it
// made nothing): the clock its next item gets.
func (d *Doc) ClientState(client uint64) uint64 { return d.state(client) }
