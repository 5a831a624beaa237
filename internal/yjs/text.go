package yjs

// Text returns the text of the root type name read as Y.Text: the string
// content of its visible items. Unknown roots read as "".
func (d *Doc) Text(name string) string {
	b := d.roots[name]
	if b == nil {
		return ""
	}
	var buf []uint16
	for it := b.start; it != nil; it = it.right {
		if it.Kind == KindItem && !it.deleted {
			if c, ok := it.Content.(*ContentString); ok {
				buf = append(buf, c.S...)
			}
		}
	}
	return fromUTF16(buf)
}

// TextLen returns the length of root type name in UTF-16 code units
// (Y.Text.length).
func (d *Doc) TextLen(name string) int {
	if b := d.roots[name]; b != nil {
		return b.length
	}
	return 0
}

// InsertText inserts s at UTF-16 offset pos of the root text name as
// client clientID and returns the resulting update (nil if s is empty).
func (d *Doc) InsertText(name string, pos int, s string, clientID uint64) ([]byte, error) {
	return d.edit(name, clientID, []Edit{{Pos: pos, Insert: s}})
}

// DeleteText deletes length UTF-16 units at pos of the root text name and
// returns the resulting update (nil if nothing was deleted). Deletions do
// not create structs, so clientID is only checked for validity.
func (d *Doc) DeleteText(name string, pos, length int, clientID uint64) ([]byte, error) {
	return d.edit(name, clientID, []Edit{{Pos: pos, Delete: length}})
}

// ReplaceText turns the root text name into newText with minimal edits (see
// Diff), as one transaction of client clientID, and returns the update (nil
// if the text was unchanged).
func (d *Doc) ReplaceText(name, newText string, clientID uint64) ([]byte, error) {
	return d.edit(name, clientID, Diff(d.Text(name), newText))
}

// ApplyEdits applies edits (positions relative to the current text,
// ascending and non-overlapping, as returned by Diff) as one transaction.
func (d *Doc) ApplyEdits(name string, edits []Edit, clientID uint64) ([]byte, error) {
	return d.edit(name, clientID, edits)
}

func (d *Doc) edit(name string, clientID uint64, edits []Edit) ([]byte, error) {
	if clientID > MaxSafeInteger {
		return nil, ErrIntOverflow
	}
	n := d.TextLen(name)
	prev := 0
	for _, e := range edits {
		if e.Pos < prev || e.Delete < 0 || e.Pos+e.Delete > n {
			return nil, errorf("edit out of range (pos %d, delete %d, length %d)", e.Pos, e.Delete, n)
		}
		prev = e.Pos + e.Delete
	}
	tx := d.begin(true)
	b := d.root(name)
	for i := len(edits) - 1; i >= 0; i-- {
		e := edits[i]
		if e.Delete > 0 {
			tx.deleteText(b, e.Pos, e.Delete)
		}
		if e.Insert != "" {
			tx.insertText(b, e.Pos, toUTF16(e.Insert), clientID)
		}
	}
	return tx.commit(true), nil
}

// findPosition returns the neighbours for UTF-16 index index, splitting an
// item if the index falls inside it. It starts from the branch's cached
// position when there is one.
func (tx *txn) findPosition(b *sharedType, index int) (left, right *Item) {
	right = b.start
	count := index
	if p, pi := b.cacheItem, b.cacheIndex; p != nil {
		for p != nil && pi > index {
			p = p.left
			if p != nil {
				pi -= p.visibleLen()
			}
		}
		if p != nil {
			left, right, count = p.left, p, index-pi
		}
	}
	for right != nil && count > 0 {
		if n := right.visibleLen(); n > 0 {
			if count < n {
				tx.getItemCleanStart(ID{right.ID.Client, right.ID.Clock + uint64(count)})
			}
			count -= right.Length
		}
		left, right = right, right.right
	}
	return left, right
}

func (tx *txn) insertText(b *sharedType, pos int, s []uint16, client uint64) {
	left, right := tx.findPosition(b, pos)
	it := &Item{
		ID:      ID{client, tx.doc.state(client)},
		Length:  len(s),
		Kind:    KindItem,
		Content: &ContentString{s},
		parent:  b,
		left:    left,
		right:   right,
	}
	if left != nil {
		it.Origin, it.HasOrigin = left.lastID(), true
	}
	if right != nil {
		it.RightOrigin, it.HasRightOrigin = right.ID, true
	}
	if left == nil && right == nil {
		it.ParentKind, it.ParentName = parentRoot, b.name
	}
	tx.integrate(it, 0)
	b.cacheItem, b.cacheIndex = it, pos
}

func (tx *txn) deleteText(b *sharedType, pos, n int) {
	_, right := tx.findPosition(b, pos)
	for n > 0 && right != nil {
		if right.Kind == KindItem && !right.deleted {
			switch right.Content.(type) {
			case *ContentString, *ContentEmbed, *ContentType:
				if n < right.Length {
					tx.getItemCleanStart(ID{right.ID.Client, right.ID.Clock + uint64(n)})
				}
				n -= right.Length
				tx.delete(right)
			}
		}
		right = right.right
	}
	if right != nil {
		b.cacheItem, b.cacheIndex = right, pos
	}
}
