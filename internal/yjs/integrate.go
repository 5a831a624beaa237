package yjs

// sharedType is a shared type (a yjs AbstractType, called branch here):
// an ordered list of items and a map of keys to the current (rightmost)
// item of each key. Root types are created on first reference; the kind of
// a root type is not known from the wire.
type sharedType struct {
	name   string // root name; "" for nested types
	item   *Item  // the Type item holding this branch; nil for roots
	start  *Item
	keys   map[string]*Item
	length int

	// search cache: cacheItem is an item of the list, cacheIndex the
	// number of visible units before it. nil when unknown.
	cacheItem  *Item
	cacheIndex int
}

func newBranch(name string, item *Item) *sharedType {
	return &sharedType{name: name, item: item, keys: map[string]*Item{}}
}

// getMissing returns the client of the first unknown dependency of it
// (origin, rightOrigin, parent id), or resolves left/right/parent and
// returns ok=false.
func (tx *txn) getMissing(it *Item) (client uint64, missing bool) {
	d := tx.doc
	if it.HasOrigin && it.Origin.Client != it.ID.Client && it.Origin.Clock >= d.state(it.Origin.Client) {
		return it.Origin.Client, true
	}
	if it.HasRightOrigin && it.RightOrigin.Client != it.ID.Client && it.RightOrigin.Clock >= d.state(it.RightOrigin.Client) {
		return it.RightOrigin.Client, true
	}
	if it.ParentKind == parentItem && it.ParentID.Client != it.ID.Client && it.ParentID.Clock >= d.state(it.ParentID.Client) {
		return it.ParentID.Client, true
	}
	if it.HasOrigin {
		it.left = tx.getItemCleanEnd(it.Origin)
		it.Origin = it.left.lastID()
	}
	if it.HasRightOrigin {
		it.right = tx.getItemCleanStart(it.RightOrigin)
		it.RightOrigin = it.right.ID
	}
	it.parent = nil
	switch {
	case (it.left != nil && it.left.Kind != KindItem) || (it.right != nil && it.right.Kind != KindItem):
		// a neighbour was garbage collected: so was the parent
	case it.ParentKind == parentInherit:
		if n := it.left; n != nil || it.right != nil {
			if n == nil {
				n = it.right
			}
			it.parent, it.ParentSub, it.HasParentSub = n.parent, n.ParentSub, n.HasParentSub
		}
	case it.ParentKind == parentRoot:
		it.parent = d.root(it.ParentName)
	default:
		if p := d.getItem(it.ParentID); p != nil && p.Kind == KindItem {
			if ct, ok := p.Content.(*ContentType); ok {
				it.parent = ct.branch
			}
		}
	}
	return 0, false
}

// integrate links it into the document; offset units of it are known
// already.
func (tx *txn) integrate(it *Item, offset int) {
	if it.Kind == KindGC {
		it.ID.Clock += uint64(offset)
		it.Length -= offset
		tx.addStruct(it)
		return
	}
	if offset > 0 {
		it.ID.Clock += uint64(offset)
		it.left = tx.getItemCleanEnd(ID{it.ID.Client, it.ID.Clock - 1})
		it.Origin, it.HasOrigin = it.left.lastID(), true
		it.Content = it.Content.splice(offset)
		it.Length -= offset
		if it.left.Kind != KindItem {
			it.parent = nil
		}
	}
	p := it.parent
	if p == nil {
		it.Kind, it.Content, it.left, it.right = KindGC, nil, nil, nil
		tx.addStruct(it)
		return
	}
	p.cacheItem = nil
	if (it.left == nil && (it.right == nil || it.right.left != nil)) || (it.left != nil && it.left.right != it.right) {
		it.left = tx.resolveConflict(it)
	}
	tx.link(it)
	if !it.HasParentSub && it.countable() && !it.deleted {
		p.length += it.Length
	}
	tx.addStruct(it)
	switch c := it.Content.(type) {
	case *ContentDeleted:
		tx.ds.add(it.ID.Client, it.ID.Clock, uint64(it.Length))
		it.deleted = true
	case *ContentType:
		c.branch = newBranch("", it)
	}
	if (p.item != nil && p.item.deleted) || (it.HasParentSub && it.right != nil) {
		tx.delete(it)
	}
}

// resolveConflict runs the YATA scan between it.left and it.right and
// returns the item it must be placed after.
func (tx *txn) resolveConflict(it *Item) *Item {
	left := it.left
	var o *Item
	switch {
	case left != nil:
		o = left.right
	case it.HasParentSub:
		o = it.parent.keys[it.ParentSub]
		for o != nil && o.left != nil {
			o = o.left
		}
	default:
		o = it.parent.start
	}
	var before, conflicting map[*Item]bool
	for o != nil && o != it.right {
		if before == nil {
			before, conflicting = map[*Item]bool{}, map[*Item]bool{}
		}
		before[o] = true
		conflicting[o] = true
		if sameOptID(it.Origin, it.HasOrigin, o.Origin, o.HasOrigin) {
			if o.ID.Client < it.ID.Client {
				left = o
				clear(conflicting)
			} else if sameOptID(it.RightOrigin, it.HasRightOrigin, o.RightOrigin, o.HasRightOrigin) {
				break
			}
		} else if oo := tx.originItem(o); oo != nil && before[oo] {
			if !conflicting[oo] {
				left = o
				clear(conflicting)
			}
		} else {
			break
		}
		o = o.right
	}
	return left
}

func (tx *txn) originItem(o *Item) *Item {
	if !o.HasOrigin {
		return nil
	}
	return tx.doc.getItem(o.Origin)
}

func sameOptID(a ID, ha bool, b ID, hb bool) bool {
	return ha == hb && (!ha || a == b)
}

// link connects it between it.left and its right neighbour.
func (tx *txn) link(it *Item) {
	p := it.parent
	if it.left != nil {
		it.right = it.left.right
		it.left.right = it
	} else {
		var r *Item
		if it.HasParentSub {
			r = p.keys[it.ParentSub]
			for r != nil && r.left != nil {
				r = r.left
			}
		} else {
			r = p.start
			p.start = it
		}
		it.right = r
	}
	if it.right != nil {
		it.right.left = it
	} else if it.HasParentSub {
		p.keys[it.ParentSub] = it
		if it.left != nil {
			tx.delete(it.left)
		}
	}
}

// delete marks it deleted (recursively for nested types).
func (tx *txn) delete(it *Item) {
	if it.deleted || it.Kind != KindItem {
		return
	}
	p := it.parent
	if it.countable() && !it.HasParentSub && p != nil {
		p.length -= it.Length
		p.cacheItem = nil
	}
	it.deleted = true
	tx.ds.add(it.ID.Client, it.ID.Clock, uint64(it.Length))
	ct, ok := it.Content.(*ContentType)
	if !ok || ct.branch == nil {
		return
	}
	for c := ct.branch.start; c != nil; c = c.right {
		tx.deleteChild(c)
	}
	for _, c := range ct.branch.keys {
		tx.deleteChild(c)
	}
}

func (tx *txn) deleteChild(c *Item) {
	if !c.deleted {
		tx.delete(c)
	} else if c.ID.Clock < tx.beforeState(c.ID.Client) {
		tx.merge = append(tx.merge, c)
	}
}

// gcItem drops the content of a deleted item; with parentGCd the item is
// replaced by a GC struct in the store.
func (tx *txn) gcItem(it *Item, parentGCd bool) {
	if it.Kind != KindItem || !it.deleted {
		return
	}
	if ct, ok := it.Content.(*ContentType); ok && ct.branch != nil {
		b := ct.branch
		for c := b.start; c != nil; c = c.right {
			tx.gcItem(c, true)
		}
		b.start = nil
		for _, c := range b.keys {
			for ; c != nil; c = c.left {
				tx.gcItem(c, true)
			}
		}
		b.keys = map[string]*Item{}
		b.cacheItem = nil
	}
	if parentGCd {
		tx.doc.replaceStruct(it, &Item{ID: it.ID, Length: it.Length, Kind: KindGC})
	} else {
		it.Content = &ContentDeleted{it.Length}
	}
}
