package checkpoint

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Packs. One file per object wastes most of a disk block on small objects,
// so DirStore.Repack (run by GC) gathers small objects into pack files:
//
//	packs/<id>.pack   the objects' stored bytes, one after the other
//	packs/<id>.idx    per object: 32-byte hash, 8-byte offset, 4-byte length
//
// A pack is written and synced before its index, and the index before the
// loose objects or older packs it replaces are removed, so a crash leaves
// duplicates at worst (a pack without an index is ignored and removed later).

type packLoc struct {
	pack string // id
	off  int64
	n    uint32
	mod  time.Time // the index's mtime (when the object was packed)
}

const idxEntry = 32 + 8 + 4

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
		id, ok := strings.CutSuffix(e.Name(), ".idx")
		if !ok {
			continue
		}
		b, err := os.ReadFile(filepath.Join(s.packsDir(), e.Name()))
		if errors.Is(err, fs.ErrNotExist) {
			continue // replaced meanwhile
		}
		if err != nil {
			return err
		}
		info, _ := e.Info()
		var mod time.Time
		if info != nil {
			mod = info.ModTime()
		}
		if len(b)%idxEntry != 0 {
			return fmt.Errorf("object store: pack index %s is damaged", e.Name())
		}
		for i := 0; i < len(b); i += idxEntry {
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

// openPacked opens h inside its pack; a pack replaced since the index was
// read is looked up again.
func (s *DirStore) openPacked(h Hash) (*os.File, io.Reader, error) {
	for attempt := 0; attempt < 2; attempt++ {
		loc, ok, err := s.lookupPacked(h)
		if err != nil {
			return nil, nil, err
		}
		if !ok {
			return nil, nil, fmt.Errorf("%w: %s", ErrObjectNotFound, h)
		}
		f, err := os.Open(filepath.Join(s.packsDir(), loc.pack+".pack"))
		if errors.Is(err, fs.ErrNotExist) {
			s.mu.Lock()
			s.loadPacks(true)
			s.mu.Unlock()
			continue
		}
		if err != nil {
			return nil, nil, err
		}
		return f, io.NewSectionReader(f, loc.off, int64(loc.n)), nil
	}
	return nil, nil, fmt.Errorf("%w: %s", ErrObjectNotFound, h)
}

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
		if err := fn(ObjectInfo{Hash: h, Size: int64(loc.n), ModTime: loc.mod}); err != nil {
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
}

// Repack writes one new pack holding the packed objects keep accepts plus
// the loose objects keep accepts that are smaller than maxSize and older
// than cutoff, then removes what it replaced. It is not safe to run two at
// once on one store (GC runs it under its lock).
func (s *DirStore) Repack(ctx context.Context, keep func(Hash) bool, cutoff time.Time, maxSize int64) (RepackStats, error) {
	var st RepackStats
	s.mu.Lock()
	err := s.loadPacks(true)
	old := s.packs
	s.mu.Unlock()
	if err != nil {
		return st, err
	}
	var loose []ObjectInfo
	err = s.List(ctx, func(o ObjectInfo) error {
		if _, packed := old[o.Hash]; packed {
			return nil
		}
		if o.Size <= maxSize && o.ModTime.Before(cutoff) && keep(o.Hash) {
			loose = append(loose, o)
		}
		return nil
	})
	if err != nil {
		return st, err
	}
	oldPacks := map[string]bool{}
	var live []Hash
	for h, loc := range old {
		oldPacks[loc.pack] = true
		if keep(h) {
			live = append(live, h)
		} else {
			st.Dropped++
		}
	}
	if len(loose) < 64 && st.Dropped == 0 {
		return RepackStats{}, nil // not worth a new pack
	}
	if err := os.MkdirAll(s.packsDir(), 0o700); err != nil {
		return st, err
	}
	b := make([]byte, 8)
	rand.Read(b)
	id := time.Now().UTC().Format("20060102T150405") + "-" + hex.EncodeToString(b)
	packPath := filepath.Join(s.packsDir(), id+".pack")
	pf, err := os.OpenFile(packPath+".tmp", os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return st, err
	}
	defer os.Remove(packPath + ".tmp")
	w := bufio.NewWriterSize(pf, 1<<20)
	var idx []byte
	var off int64
	add := func(h Hash, r io.Reader) error {
		n, err := io.Copy(w, r)
		if err != nil {
			return err
		}
		raw, _ := hex.DecodeString(string(h))
		idx = append(idx, raw...)
		idx = binary.BigEndian.AppendUint64(idx, uint64(off))
		idx = binary.BigEndian.AppendUint32(idx, uint32(n))
		off += n
		return nil
	}
	slices.Sort(live)
	for _, h := range live {
		loc := old[h]
		f, err := os.Open(filepath.Join(s.packsDir(), loc.pack+".pack"))
		if err != nil {
			pf.Close()
			return st, err
		}
		err = add(h, io.NewSectionReader(f, loc.off, int64(loc.n)))
		f.Close()
		if err != nil {
			pf.Close()
			return st, err
		}
		st.Packed++
	}
	var packedLoose []Hash
	for _, o := range loose {
		if err := ctx.Err(); err != nil {
			pf.Close()
			return st, err
		}
		f, err := os.Open(s.path(o.Hash))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			pf.Close()
			return st, err
		}
		err = add(o.Hash, f)
		f.Close()
		if err != nil {
			pf.Close()
			return st, err
		}
		packedLoose = append(packedLoose, o.Hash)
		st.Packed++
		st.Loose++
	}
	if err := w.Flush(); err != nil {
		pf.Close()
		return st, err
	}
	if err := pf.Sync(); err != nil {
		pf.Close()
		return st, err
	}
	if err := pf.Close(); err != nil {
		return st, err
	}
	if err := os.Rename(packPath+".tmp", packPath); err != nil {
		return st, err
	}
	if err := writeFileAtomic(filepath.Join(s.packsDir(), id+".idx"), idx, true); err != nil {
		return st, err
	}
	hook("packed")
	// The new pack is durable: remove what it replaces.
	for p := range oldPacks {
		os.Remove(filepath.Join(s.packsDir(), p+".idx"))
		os.Remove(filepath.Join(s.packsDir(), p+".pack"))
		hook("remove pack")
	}
	for i, h := range packedLoose {
		os.Remove(s.path(h))
		if i%50 == 0 {
			hook("remove loose")
		}
	}
	// Packs without an index (a crash before it was written) are garbage.
	if es, err := os.ReadDir(s.packsDir()); err == nil {
		for _, e := range es {
			name := e.Name()
			base := strings.TrimSuffix(strings.TrimSuffix(name, ".tmp"), ".pack")
			if base == id {
				continue
			}
			if _, err := os.Stat(filepath.Join(s.packsDir(), base+".idx")); errors.Is(err, fs.ErrNotExist) && !strings.HasSuffix(name, ".idx") {
				if info, err := e.Info(); err == nil && info.ModTime().Before(cutoff) {
					os.Remove(filepath.Join(s.packsDir(), name))
				}
			}
		}
	}
	s.mu.Lock()
	err = s.loadPacks(true)
	s.mu.Unlock()
	return st, err
}
