package yjs

// ID identifies one clock unit created by a client.
type ID struct {
	Client uint64
	Clock  uint64
}

// Struct kinds.
const (
	KindItem = iota // an item with content
	KindGC          // a garbage-collected range
	KindSkip        // a gap placeholder in merged updates (never integrated)
)

// Parent encodings of an item on the wire.
const (
	parentInherit = iota // origin or rightOrigin present: taken from a neighbour
	parentRoot           // a root type given by name
	parentItem           // the type held by the item with ParentID
)

// Item is one struct of an update or of a document: an Item with content,
// a GC range or a Skip range (see Kind). For items decoded from an update
// the exported fields describe exactly what was on the wire.
type Item struct {
	ID     ID
	Length int
	Kind   uint8

	Origin         ID
	HasOrigin      bool
	RightOrigin    ID
	HasRightOrigin bool

	// Wire parent (only when both origins are absent).
	ParentKind uint8
	ParentName string
	ParentID   ID
	// ParentSub is the map key; HasParentSub mirrors info bit 0x20, which
	// may be set while the key itself is inherited from a neighbour.
	ParentSub    string
	HasParentSub bool

	Content Content

	// Integration state.
	parent      *sharedType
	left, right *Item
	deleted     bool
	keep        bool
}

// Deleted reports whether the item is deleted (GC ranges count as deleted).
func (it *Item) Deleted() bool { return it.deleted || it.Kind != KindItem }

func (it *Item) lastID() ID {
	return ID{it.ID.Client, it.ID.Clock + uint64(it.Length) - 1}
}

func (it *Item) endClock() uint64 { return it.ID.Clock + uint64(it.Length) }

func (it *Item) countable() bool { return it.Kind == KindItem && it.Content.Countable() }

// visibleLen is the length the item contributes to its parent list.
func (it *Item) visibleLen() int {
	if it.deleted || it.Kind != KindItem || !it.Content.Countable() {
		return 0
	}
	return it.Length
}

// write encodes the struct starting offset units into it.
func (it *Item) write(e *Encoder, offset int) {
	switch it.Kind {
	case KindGC:
		e.WriteUint8(refGC)
		e.WriteVarUint(uint64(it.Length - offset))
		return
	case KindSkip:
		e.WriteUint8(refSkip)
		e.WriteVarUint(uint64(it.Length - offset))
		return
	}
	origin, hasOrigin := it.Origin, it.HasOrigin
	if offset > 0 {
		origin, hasOrigin = ID{it.ID.Client, it.ID.Clock + uint64(offset) - 1}, true
	}
	info := it.Content.Ref() & 0x1f
	if hasOrigin {
		info |= 0x80
	}
	if it.HasRightOrigin {
		info |= 0x40
	}
	if it.HasParentSub && !(e.lazy && (hasOrigin || it.HasRightOrigin)) {
		info |= 0x20
	}
	e.WriteUint8(info)
	if hasOrigin {
		writeID(e, origin)
	}
	if it.HasRightOrigin {
		writeID(e, it.RightOrigin)
	}
	if !hasOrigin && !it.HasRightOrigin {
		it.writeParent(e)
		if it.HasParentSub {
			e.WriteVarString(it.ParentSub)
		}
	}
	it.Content.write(e, offset)
}

func (it *Item) writeParent(e *Encoder) {
	kind, name, pid := it.ParentKind, it.ParentName, it.ParentID
	if p := it.parent; p != nil {
		if p.item == nil {
			kind, name = parentRoot, p.name
		} else {
			kind, pid = parentItem, p.item.ID
		}
	}
	if kind == parentRoot {
		e.WriteVarUint(1)
		e.WriteVarString(name)
	} else {
		e.WriteVarUint(0)
		writeID(e, pid)
	}
}

func writeID(e *Encoder, id ID) {
	e.WriteVarUint(id.Client)
	e.WriteVarUint(id.Clock)
}

func readID(d *Decoder) (ID, error) {
	c, err := d.ReadVarUint()
	if err != nil {
		return ID{}, err
	}
	k, err := d.ReadVarUint()
	return ID{c, k}, err
}

// readItem decodes one struct with the given id.
func readItem(d *Decoder, id ID) (*Item, error) {
	info, err := d.ReadUint8()
	if err != nil {
		return nil, err
	}
	ref := info & 0x1f
	it := &Item{ID: id}
	switch ref {
	case refGC, refSkip:
		n, err := d.ReadVarUint()
		if err != nil {
			return nil, err
		}
		it.Kind, it.Length = KindGC, int(n)
		if ref == refSkip {
			it.Kind = KindSkip
		}
		return it, nil
	}
	if info&0x80 != 0 {
		if it.Origin, err = readID(d); err != nil {
			return nil, err
		}
		it.HasOrigin = true
	}
	if info&0x40 != 0 {
		if it.RightOrigin, err = readID(d); err != nil {
			return nil, err
		}
		it.HasRightOrigin = true
	}
	it.HasParentSub = info&0x20 != 0
	if info&0xc0 == 0 {
		if err := it.readParent(d); err != nil {
			return nil, err
		}
	}
	if it.Content, err = readContent(d, ref); err != nil {
		return nil, err
	}
	it.Length = it.Content.Len()
	return it, nil
}

func (it *Item) readParent(d *Decoder) error {
	k, err := d.ReadVarUint()
	if err != nil {
		return err
	}
	if k == 1 {
		it.ParentKind = parentRoot
		if it.ParentName, err = d.ReadVarString(); err != nil {
			return err
		}
	} else {
		it.ParentKind = parentItem
		if it.ParentID, err = readID(d); err != nil {
			return err
		}
	}
	if it.HasParentSub {
		it.ParentSub, err = d.ReadVarString()
	}
	return err
}

// validate rejects structs that yjs could not integrate sensibly: empty
// structs, clocks beyond 2^53 and same-client references to clocks that
// cannot exist before the struct itself.
func (it *Item) validate() error {
	if it.Length <= 0 {
		return errorf("empty struct at %d:%d", it.ID.Client, it.ID.Clock)
	}
	if it.ID.Clock+uint64(it.Length) > MaxSafeInteger {
		return ErrIntOverflow
	}
	if it.Kind != KindItem {
		return nil
	}
	self := it.ID
	for _, ref := range []struct {
		id ID
		ok bool
	}{{it.Origin, it.HasOrigin}, {it.RightOrigin, it.HasRightOrigin}, {it.ParentID, it.ParentKind == parentItem}} {
		if ref.ok && ref.id.Client == self.Client && ref.id.Clock >= self.Clock {
			return errorf("struct %d:%d references its own future clock %d", self.Client, self.Clock, ref.id.Clock)
		}
	}
	return nil
}

// sliceCopy returns a detached copy of the struct starting diff units in
// (like yjs sliceStruct); the receiver is not modified.
func (it *Item) sliceCopy(diff int) *Item {
	n := *it
	n.left, n.right, n.parent = nil, nil, nil
	n.ID.Clock += uint64(diff)
	n.Length -= diff
	if it.Kind == KindItem {
		n.Origin, n.HasOrigin = ID{it.ID.Client, it.ID.Clock + uint64(diff) - 1}, true
		c := it.Content.copy()
		n.Content = c.splice(diff)
	}
	return &n
}
