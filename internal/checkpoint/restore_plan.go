package checkpoint

import (
	"fmt"
	"path"
)

// Reading a checkpoint's tree beside the present one.

// pairLoader flattens a wanted tree beside the current one, leaving out
// the contents of directories keep accepts (they stay as they are).
type pairLoader struct {
	want, cur *loader
	keep      func(rel string, w, c Entry) bool
}

// flatten lists the entries below want and cur (either may be "") by path.
func (p pairLoader) flatten(want, cur Hash, prefix string, wOut, cOut map[string]Entry) error {
	var ws, cs []Entry
	var err error
	if want != "" {
		if ws, err = p.want.tree(want); err != nil {
			return err
		}
	}
	if cur != "" {
		if cs, err = p.cur.tree(cur); err != nil {
			return err
		}
	}
	curBy := make(map[string]Entry, len(cs))
	for _, c := range cs {
		curBy[c.Name] = c
	}
	for _, w := range ws {
		if !validName(w.Name) {
			return fmt.Errorf("tree %s: bad name %q", want, w.Name)
		}
		rel := path.Join(prefix, w.Name)
		wOut[rel] = w
		c, ok := curBy[w.Name]
		delete(curBy, w.Name)
		if ok {
			cOut[rel] = c
		}
		if w.Type != TypeDir {
			if ok && c.Type == TypeDir {
				if err := p.cur.flatten(c.Hash, rel, cOut); err != nil {
					return err
				}
			}
			continue
		}
		if ok && p.keep(rel, w, c) {
			continue
		}
		var sub Hash
		if ok && c.Type == TypeDir {
			sub = c.Hash
		}
		if err := p.flatten(w.Hash, sub, rel, wOut, cOut); err != nil {
			return err
		}
	}
	for _, c := range curBy { // only in the current tree
		rel := path.Join(prefix, c.Name)
		cOut[rel] = c
		if c.Type == TypeDir {
			if err := p.cur.flatten(c.Hash, rel, cOut); err != nil {
				return err
			}
		}
	}
	return nil
}

// dirNodes maps the directories below n by path.
func dirNodes(n *node, out map[string]*node) map[string]*node {
	if n == nil {
		return out
	}
	out[n.rel] = n
	for _, c := range n.children {
		if c.entry.Type == TypeDir {
			dirNodes(c, out)
		}
	}
	return out
}
