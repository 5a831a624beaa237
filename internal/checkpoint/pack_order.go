package checkpoint

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"io"
	"slices"
	"strings"
)

// packOrder sorts the objects to pack so that similar ones sit next to each
// other inside a block: by their path in the trees being packed, so the
// versions of one directory's tree, and of one file, are neighbours (a
// one-line edit then costs a few bytes, not a whole compressed object), and
// a directory's files follow each other. Objects no packed tree names
// (manifest roots, database snapshots, conversations) come first. The order
// only affects how well the pack compresses.
// It returns the order and each object's key (its path).
func (s *DirStore) packOrder(ctx context.Context, hs []Hash, old map[Hash]packLoc) ([]Hash, map[Hash]string, error) {
	// Read in the order objects are stored, so each block is inflated once.
	scan := slices.Clone(hs)
	slices.SortFunc(scan, func(a, b Hash) int {
		la, lb := old[a], old[b]
		return cmp.Or(strings.Compare(la.pack, lb.pack), cmp.Compare(la.off, lb.off), cmp.Compare(la.inOff, lb.inOff), strings.Compare(string(a), string(b)))
	})
	type link struct {
		parent Hash
		name   string
	}
	links := map[Hash]link{}
	for _, h := range scan {
		if err := ctx.Err(); err != nil {
			return nil, nil, err
		}
		es, err := s.readIfTree(ctx, h)
		if err != nil {
			return nil, nil, err
		}
		for _, e := range es {
			if _, ok := links[e.Hash]; !ok && e.Hash != "" && e.Hash != h {
				links[e.Hash] = link{h, e.Name}
			}
		}
	}
	paths := map[Hash]string{}
	var pathOf func(h Hash, depth int) string
	pathOf = func(h Hash, depth int) string {
		if p, ok := paths[h]; ok {
			return p
		}
		l, ok := links[h]
		if !ok || depth > 256 { // a root (or a damaged tree naming its own ancestor)
			return ""
		}
		p := pathOf(l.parent, depth+1) + "/" + l.name
		paths[h] = p
		return p
	}
	keys := make(map[Hash]string, len(hs))
	for _, h := range hs {
		keys[h] = pathOf(h, 0)
	}
	order := slices.Clone(hs)
	slices.SortFunc(order, func(a, b Hash) int {
		return cmp.Or(strings.Compare(keys[a], keys[b]), strings.Compare(string(a), string(b)))
	})
	return order, keys, nil
}

// readIfTree returns the entries of h if it is a tree object, reading no
// more of other objects than their first byte.
func (s *DirStore) readIfTree(ctx context.Context, h Hash) ([]Entry, error) {
	rc, err := s.Get(ctx, h)
	if errors.Is(err, ErrObjectNotFound) {
		return nil, nil // a loose object deleted meanwhile; writePack decides
	}
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	br := bufio.NewReader(io.LimitReader(rc, maxTreeBytes))
	if c, err := br.Peek(1); err != nil || c[0] != '{' {
		return nil, nil // not a tree (read errors show again when packing)
	}
	b, err := io.ReadAll(br)
	if err != nil {
		return nil, nil
	}
	es, err := decodeTree(b)
	if err != nil {
		return nil, nil
	}
	return es, nil
}
