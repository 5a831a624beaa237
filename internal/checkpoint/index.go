package checkpoint

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
)

// The stat cache on disk: a header, the object store's epoch, then one
// record per file. Written whole on each full scan and restore, so it is a
// plain, fast binary layout rather than a reflective encoding:
//
//	"ecode-index 2\n"
//	uvarint len, epoch
//	uvarint count, then count times:
//	  uvarint len, path
//	  varint size, mtime, ctime; uvarint ino, dev, mode
//	  uvarint len, hash (hex)
//	  byte flags (1 written, 2 restat)
//
// A file that does not decode (torn, or an older layout) counts as empty:
// it is a cache, and every entry is checked against the file's stat anyway.

type index struct {
	Version int
	Epoch   string // the object store's epoch when the index was written
	Files   map[string]indexEntry
}

const indexMagic = "ecode-index 2\n"

func loadIndex(p string) *index {
	b, err := os.ReadFile(p)
	if err != nil {
		return &index{Version: 1, Files: map[string]indexEntry{}}
	}
	ix, err := decodeIndex(b)
	if err != nil {
		return &index{Version: 1, Files: map[string]indexEntry{}}
	}
	return ix
}

func saveIndex(p string, ix *index) error {
	return writeFileAtomic(p, encodeIndex(ix), false) // a cache: a torn one decodes as empty
}

func encodeIndex(ix *index) []byte {
	b := make([]byte, 0, 64+len(ix.Files)*120)
	b = append(b, indexMagic...)
	b = appendString(b, ix.Epoch)
	b = binary.AppendUvarint(b, uint64(len(ix.Files)))
	for rel, e := range ix.Files {
		b = appendString(b, rel)
		b = binary.AppendVarint(b, e.Size)
		b = binary.AppendVarint(b, e.Mtime)
		b = binary.AppendVarint(b, e.Ctime)
		b = binary.AppendUvarint(b, e.Ino)
		b = binary.AppendUvarint(b, e.Dev)
		b = binary.AppendUvarint(b, uint64(e.Mode))
		b = appendString(b, string(e.Hash))
		var flags byte
		if e.Written {
			flags |= 1
		}
		if e.Restat {
			flags |= 2
		}
		b = append(b, flags)
	}
	return b
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

var errBadIndex = errors.New("checkpoint: stat cache does not decode")

// indexReader decodes the fields of an index, remembering the first error.
type indexReader struct {
	b   []byte
	err error
}

func (r *indexReader) uvarint() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err, r.b = errBadIndex, nil
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *indexReader) varint() int64 {
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.err, r.b = errBadIndex, nil
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *indexReader) str() string {
	n := r.uvarint()
	if n > uint64(len(r.b)) {
		r.err, r.b = errBadIndex, nil
		return ""
	}
	s := string(r.b[:n])
	r.b = r.b[n:]
	return s
}

func decodeIndex(b []byte) (*index, error) {
	if !bytes.HasPrefix(b, []byte(indexMagic)) {
		return nil, errBadIndex
	}
	r := &indexReader{b: b[len(indexMagic):]}
	ix := &index{Version: 1, Epoch: r.str()}
	count := r.uvarint()
	if count > uint64(len(r.b)) { // every record takes bytes
		return nil, errBadIndex
	}
	ix.Files = make(map[string]indexEntry, count)
	for range count {
		rel := r.str()
		e := indexEntry{Size: r.varint(), Mtime: r.varint(), Ctime: r.varint(), Ino: r.uvarint(), Dev: r.uvarint()}
		mode := r.uvarint()
		e.Mode = uint32(mode)
		e.Hash = Hash(r.str())
		if r.err != nil || len(r.b) == 0 || mode > 0o7777 || (e.Hash != "" && !e.Hash.Valid()) {
			return nil, errBadIndex
		}
		flags := r.b[0]
		r.b = r.b[1:]
		e.Written, e.Restat = flags&1 != 0, flags&2 != 0
		ix.Files[rel] = e
	}
	if r.err != nil || len(r.b) != 0 {
		return nil, errBadIndex
	}
	return ix, nil
}
