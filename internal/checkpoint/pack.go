package checkpoint

import (
	"compress/flate"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Packs. One file per object wastes most of a disk block on small objects
// and compresses each alone, so DirStore.Repack (run by GC) gathers small
// objects into one pack file. It writes block packs (format 2, see
// pack_block.go); packs of format 1, written by earlier versions, are still
// read and are rewritten as format 2 by the next Repack:
//
//	packs/<id>.pack   format 1: the objects' stored bytes, one after the other
//	packs/<id>.idx    per object: 32-byte hash, 8-byte offset, 4-byte length
//
// A pack is written and synced before its index, and the index before the
// loose objects or older packs it replaces are removed, so a crash leaves
// duplicates at worst (a pack without an index is ignored and removed later).

type packLoc struct {
	pack string    // id
	v2   bool      // a block pack
	off  int64     // format 1: the object's offset; format 2: its block's
	n    uint32    // stored length of the object (format 1) or block (2)
	mod  time.Time // the index's mtime (when the object was packed)

	// Format 2: the CRC-32C of the compressed block, its raw length and
	// where the object lies in it once inflated.
	crc                  uint32
	blockRaw, inOff, inN uint32
}

func (l packLoc) file() string {
	if l.v2 {
		return l.pack + ".pack2"
	}
	return l.pack + ".pack"
}

func (l packLoc) idxFile() string {
	if l.v2 {
		return l.pack + ".idx2"
	}
	return l.pack + ".idx"
}

// storedSize is the object's share of the pack.
func (l packLoc) storedSize() int64 {
	if !l.v2 {
		return int64(l.n)
	}
	if l.blockRaw == 0 {
		return 0
	}
	return int64(l.inN) * int64(l.n) / int64(l.blockRaw)
}

const idxEntry = 32 + 8 + 4 // format 1

// errCorruptBlock marks a block pack whose bytes do not match its index.
var errCorruptBlock = errors.New("object store: corrupt pack block")

func (s *DirStore) packsDir() string { return filepath.Join(s.dir, "packs") }

// loadPacks reads every pack index if the packs folder changed since the
// last read (or force).
func (s *DirStore) loadPacks(force bool) error {
	fi, err := os.Stat(s.packsDir())
	if errors.Is(err, fs.ErrNotExist) {
		s.packs = map[Hash]packLoc{}
		return nil
	}
	if err != nil {
		return err
	}
	if !force && s.packs != nil && fi.ModTime().Equal(s.packsMod) {
		return nil
	}
	es, err := os.ReadDir(s.packsDir())
	if err != nil {
		return err
	}
	packs := map[Hash]packLoc{}
	for _, e := range es {
		id, v1 := strings.CutSuffix(e.Name(), ".idx")
		id, v2 := strings.CutSuffix(id, ".idx2")
		if !v1 && !v2 {
			continue
		}
		b, err := os.ReadFile(filepath.Join(s.packsDir(), e.Name()))
		if errors.Is(err, fs.ErrNotExist) {
			continue // replaced meanwhile
		}
		if err != nil {
			return err
		}
		var mod time.Time
		if info, _ := e.Info(); info != nil {
			mod = info.ModTime()
		}
		if v2 {
			err = parseIdx2(b, func(h Hash, loc packLoc) {
				loc.pack, loc.mod = id, mod
				packs[h] = loc
			})
		} else if len(b)%idxEntry != 0 {
			err = errors.New("bad length")
		}
		if err != nil {
			return fmt.Errorf("object store: pack index %s is damaged (%v)", e.Name(), err)
		}
		for i := 0; v1 && i < len(b); i += idxEntry {
			h := Hash(hex.EncodeToString(b[i : i+32]))
			packs[h] = packLoc{pack: id, off: int64(binary.BigEndian.Uint64(b[i+32:])), n: binary.BigEndian.Uint32(b[i+40:]), mod: mod}
		}
	}
	s.packs, s.packsMod = packs, fi.ModTime()
	return nil
}

func (s *DirStore) lookupPacked(h Hash) (packLoc, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.loadPacks(false); err != nil {
		return packLoc{}, false, err
	}
	loc, ok := s.packs[h]
	return loc, ok, nil
}

// getPacked returns the content of h from its pack; a pack replaced since
// the index was read is looked up again. A damaged block is reported when
// the object is read, as a damaged loose object is (Fsck counts it corrupt).
func (s *DirStore) getPacked(h Hash) (io.ReadCloser, error) {
	for attempt := 0; attempt < 2; attempt++ {
		loc, ok, err := s.lookupPacked(h)
		if err != nil {
			return nil, err
		}
		if !ok {
			break
		}
		rc, err := s.openPacked(loc)
		if errors.Is(err, fs.ErrNotExist) {
			s.mu.Lock()
			s.loadPacks(true)
			s.mu.Unlock()
			continue
		}
		if errors.Is(err, errCorruptBlock) {
			return io.NopCloser(errReader{fmt.Errorf("object %s: %w", h, err)}), nil
		}
		return rc, err
	}
	return nil, fmt.Errorf("%w: %s", ErrObjectNotFound, h)
}

func (s *DirStore) openPacked(loc packLoc) (io.ReadCloser, error) {
	if loc.v2 {
		if b := s.blocks.get(loc.pack, loc.off); b != nil {
			return blockObject(b, loc), nil
		}
	}
	f, err := os.Open(filepath.Join(s.packsDir(), loc.file()))
	if err != nil {
		return nil, err
	}
	if loc.v2 {
		defer f.Close()
		return s.readBlock(f, loc)
	}
	zr := flateReaders.Get().(io.ReadCloser)
	zr.(flate.Resetter).Reset(io.NewSectionReader(f, loc.off, int64(loc.n)), nil)
	return &flateFile{f: f, r: zr}, nil
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

func (s *DirStore) listPacked(ctx context.Context, fn func(ObjectInfo) error) error {
	s.mu.Lock()
	err := s.loadPacks(false)
	packs := s.packs
	s.mu.Unlock()
	if err != nil {
		return err
	}
	for h, loc := range packs {
		if _, err := os.Stat(s.path(h)); err == nil {
			continue // also loose: listed with the loose objects
		}
		if err := fn(ObjectInfo{Hash: h, Size: loc.storedSize(), ModTime: loc.mod}); err != nil {
			return err
		}
	}
	return nil
}

// RepackStats says what Repack did.
type RepackStats struct {
	Packed  int // objects in the new pack
	Dropped int // packed objects left out (keep said no)
	Loose   int // loose objects moved into the pack
	Copied  int // packed objects whose blocks were copied, not compressed again
}

// Repack writes one new pack holding the packed objects keep accepts plus
// the loose objects keep accepts that are smaller than maxSize and older
// than cutoff, then removes what it replaced. Blocks of an older block pack
// that stay as they were are copied after checking their CRC (see
// reusableBlocks); every other object is read back and its hash checked: a
// corrupt one fails the repack rather than being carried on. It is not safe
// to run two at once on one store (GC runs it under its lock).
func (s *DirStore) Repack(ctx context.Context, keep func(Hash) bool, cutoff time.Time, maxSize int64) (RepackStats, error) {
	var st RepackStats
	s.mu.Lock()
	err := s.loadPacks(true)
	old := s.packs
	s.mu.Unlock()
	if err != nil {
		return st, err
	}
	var loose []Hash
	err = s.List(ctx, func(o ObjectInfo) error {
		if _, packed := old[o.Hash]; packed {
			return nil
		}
		if o.Size <= maxSize && o.ModTime.Before(cutoff) && keep(o.Hash) {
			loose = append(loose, o.Hash)
		}
		return nil
	})
	if err != nil {
		return st, err
	}
	oldPacks := map[string]packLoc{} // by id
	var live []Hash
	format1 := false
	for h, loc := range old {
		oldPacks[loc.pack] = loc
		format1 = format1 || !loc.v2
		if keep(h) {
			live = append(live, h)
		} else {
			st.Dropped++
		}
	}
	if len(loose) < 64 && st.Dropped == 0 && !format1 {
		return RepackStats{}, nil // not worth a new pack
	}
	order, keys, err := s.packOrder(ctx, append(live, loose...), old)
	if err != nil {
		return st, err
	}
	id, packedLoose, err := s.writePack(ctx, order, reusableBlocks(order, keys, old), old, &st)
	if err != nil {
		return st, err
	}
	hook("packed")
	// The new pack is durable: remove what it replaces.
	for _, loc := range oldPacks {
		os.Remove(filepath.Join(s.packsDir(), loc.idxFile()))
		os.Remove(filepath.Join(s.packsDir(), loc.file()))
		hook("remove pack")
	}
	for i, h := range packedLoose {
		os.Remove(s.path(h))
		if i%50 == 0 {
			hook("remove loose")
		}
	}
	s.removeOrphanPacks(id, cutoff)
	s.mu.Lock()
	err = s.loadPacks(true)
	s.mu.Unlock()
	return st, err
}

// writePack writes the objects, in order, to a new block pack and its
// index, both synced, copying the blocks in reuse; it returns the pack's id
// and the loose objects it holds (which the caller may then remove).
func (s *DirStore) writePack(ctx context.Context, order []Hash, reuse map[Hash]*oldBlock, old map[Hash]packLoc, st *RepackStats) (string, []Hash, error) {
	if err := os.MkdirAll(s.packsDir(), 0o700); err != nil {
		return "", nil, err
	}
	rnd := make([]byte, 8)
	rand.Read(rnd)
	id := time.Now().UTC().Format("20060102T150405") + "-" + hex.EncodeToString(rnd)
	packPath := filepath.Join(s.packsDir(), id+".pack2")
	pf, err := os.OpenFile(packPath+".tmp", os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return "", nil, err
	}
	defer os.Remove(packPath + ".tmp") // no-op once renamed
	defer pf.Close()
	bw, err := newBlockWriter(pf)
	if err != nil {
		return "", nil, err
	}
	files := map[string]*os.File{} // older packs blocks are copied from
	defer func() {
		for _, f := range files {
			f.Close()
		}
	}()
	var packedLoose []Hash
	for _, h := range order {
		if err := ctx.Err(); err != nil {
			return "", nil, err
		}
		if b := reuse[h]; b != nil {
			if !b.copied {
				b.copied = true
				if err := s.copyBlock(bw, b, files); err != nil {
					return "", nil, err
				}
			}
			st.Packed++
			st.Copied++
			continue
		}
		_, packed := old[h]
		b, err := getBytes(ctx, s, h, 1<<31)
		if errors.Is(err, ErrObjectNotFound) && !packed {
			continue // a loose object deleted meanwhile: nothing to carry
		}
		if err != nil {
			return "", nil, err
		}
		if sum := sha256.Sum256(b); hex.EncodeToString(sum[:]) != string(h) {
			return "", nil, fmt.Errorf("object %s is corrupt", h)
		}
		if err := bw.add(h, b); err != nil {
			return "", nil, err
		}
		st.Packed++
		if !packed {
			packedLoose = append(packedLoose, h)
			st.Loose++
		}
	}
	idx, err := bw.finish()
	if err != nil {
		return "", nil, err
	}
	if err := pf.Sync(); err != nil {
		return "", nil, err
	}
	if err := pf.Close(); err != nil {
		return "", nil, err
	}
	if err := os.Rename(packPath+".tmp", packPath); err != nil {
		return "", nil, err
	}
	if err := syncDir(s.packsDir()); err != nil {
		return "", nil, err
	}
	if err := writeFileAtomic(filepath.Join(s.packsDir(), id+".idx2"), idx, true); err != nil {
		return "", nil, err
	}
	return id, packedLoose, nil
}

func (s *DirStore) copyBlock(bw *blockWriter, b *oldBlock, files map[string]*os.File) error {
	f := files[b.loc.pack]
	if f == nil {
		var err error
		if f, err = os.Open(filepath.Join(s.packsDir(), b.loc.file())); err != nil {
			return err
		}
		files[b.loc.pack] = f
	}
	z, err := readCompressedBlock(f, b.loc)
	if err != nil {
		return err
	}
	return bw.copyBlock(z, b.hashes, b.lens)
}

// removeOrphanPacks removes packs without an index (a crash before it was
// written, or between removing an old pack's index and the pack) and
// temporary files, once older than cutoff; keepID is the pack just written.
func (s *DirStore) removeOrphanPacks(keepID string, cutoff time.Time) {
	es, err := os.ReadDir(s.packsDir())
	if err != nil {
		return
	}
	for _, e := range es {
		name := e.Name()
		if strings.HasPrefix(name, keepID+".") {
			continue
		}
		var idx string
		switch {
		case strings.HasSuffix(name, ".tmp"):
		case strings.HasSuffix(name, ".pack"):
			idx = strings.TrimSuffix(name, ".pack") + ".idx"
		case strings.HasSuffix(name, ".pack2"):
			idx = strings.TrimSuffix(name, ".pack2") + ".idx2"
		default:
			continue
		}
		if idx != "" {
			if _, err := os.Stat(filepath.Join(s.packsDir(), idx)); !errors.Is(err, fs.ErrNotExist) {
				continue
			}
		}
		if info, err := e.Info(); err == nil && info.ModTime().Before(cutoff) {
			os.Remove(filepath.Join(s.packsDir(), name))
		}
	}
}
