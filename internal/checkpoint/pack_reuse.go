package checkpoint

import (
	"cmp"
	"slices"
	"sort"
)

// oldBlock is a block of an older block pack that Repack copies as it is.
type oldBlock struct {
	loc    packLoc  // pack, offset, length and CRC of the block
	hashes []Hash   // its objects in block order
	lens   []uint32 // and their raw lengths
	copied bool
}

// reusableBlocks picks the blocks of older block packs that Repack may copy
// instead of compressing their objects again (DEFLATE is most of a
// repack's time, and most blocks are unchanged from one GC to the next). A
// block qualifies when all its objects are kept, they are all the block
// holds, and no object to be compressed sorts into its range of keys: a new
// version of a directory's tree or of a file belongs in a block beside the
// old versions, so that block is compressed again with it. The result maps
// each object of a reusable block to the block.
func reusableBlocks(order []Hash, keys map[Hash]string, old map[Hash]packLoc) map[Hash]*oldBlock {
	type blockID struct {
		pack string
		off  int64
	}
	held := map[blockID]int{} // objects the old index places in each block
	for _, loc := range old {
		if loc.v2 {
			held[blockID{loc.pack, loc.off}]++
		}
	}
	blocks := map[blockID]*oldBlock{}
	for _, h := range order {
		loc, ok := old[h]
		if !ok || !loc.v2 {
			continue
		}
		id := blockID{loc.pack, loc.off}
		if blocks[id] == nil {
			blocks[id] = &oldBlock{loc: loc}
		}
		blocks[id].hashes = append(blocks[id].hashes, h)
	}
	// Whole blocks only: none of their objects dropped, and the objects
	// kept cover the block exactly (a duplicate packed elsewhere may be
	// indexed at its other place). Blocks under half full are compressed
	// again too, so that runs of them merge.
	for id, b := range blocks {
		slices.SortFunc(b.hashes, func(x, y Hash) int { return cmp.Compare(old[x].inOff, old[y].inOff) })
		var end uint32
		for _, h := range b.hashes {
			loc := old[h]
			if loc.inOff != end {
				break
			}
			end += loc.inN
			b.lens = append(b.lens, loc.inN)
		}
		if len(b.hashes) != held[id] || len(b.lens) != len(b.hashes) || end != b.loc.blockRaw || end < blockSize/2 {
			delete(blocks, id)
		}
	}
	reuse := map[Hash]*oldBlock{}
	var free []string // keys of the objects to compress
	for _, h := range order {
		loc := old[h]
		if b := blocks[blockID{loc.pack, loc.off}]; loc.v2 && b != nil {
			reuse[h] = b
		} else {
			free = append(free, keys[h])
		}
	}
	slices.Sort(free)
	for _, b := range blocks {
		lo, hi := keys[b.hashes[0]], keys[b.hashes[0]]
		for _, h := range b.hashes {
			lo, hi = min(lo, keys[h]), max(hi, keys[h])
		}
		if i := sort.SearchStrings(free, lo); i < len(free) && free[i] <= hi {
			for _, h := range b.hashes {
				delete(reuse, h)
			}
		}
	}
	return reuse
}
