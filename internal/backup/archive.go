package backup

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"strings"
)

// The archive is a gzip-compressed tar file. Its last two entries are
// manifestName (the Manifest as JSON, listing every other entry with its
// type, size and SHA-256) and manifestSumName (the SHA-256 of the manifest
// in hex), so a truncated archive has no manifest and any changed byte
// shows as a checksum (or gzip CRC) mismatch.
const (
	manifestName    = "manifest.json"
	manifestSumName = "manifest.sha256"
	maxManifest     = 256 << 20
)

// Entry types in the manifest.
const (
	typeFile    = "file"
	typeDir     = "dir"
	typeSymlink = "symlink"
)

// Entry is one archive entry as the manifest records it. SHA256 is the
// content's (a symbolic link's: its target's); empty for a folder.
type Entry struct {
	Name   string `json:"name"`
	Type   string `json:"type"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256,omitempty"`
}

// ErrCorrupt is wrapped by every error about an archive that is not what
// `ecode backup` wrote: truncated, changed, or not an archive at all.
var ErrCorrupt = errors.New("the backup archive is corrupt or truncated")

func corrupt(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrCorrupt, fmt.Sprintf(format, args...))
}

// archiveWriter writes entries and remembers their checksums for the
// manifest.
type archiveWriter struct {
	gz      *gzip.Writer
	tw      *tar.Writer
	entries []Entry
	seen    map[string]bool
	tmp     string // folder for spooled entries
}

func newArchiveWriter(w io.Writer, tmp string) *archiveWriter {
	gz, _ := gzip.NewWriterLevel(w, gzip.BestSpeed)
	return &archiveWriter{gz: gz, tw: tar.NewWriter(gz), seen: map[string]bool{}, tmp: tmp}
}

// add writes one entry; for a file, r holds exactly hdr.Size bytes.
func (a *archiveWriter) add(hdr *tar.Header, r io.Reader) error {
	if a.seen[hdr.Name] || hdr.Name == manifestName || hdr.Name == manifestSumName {
		return fmt.Errorf("backup: entry %s twice", hdr.Name)
	}
	a.seen[hdr.Name] = true
	e := Entry{Name: hdr.Name}
	switch hdr.Typeflag {
	case tar.TypeDir:
		e.Type, hdr.Size = typeDir, 0
	case tar.TypeSymlink:
		e.Type, hdr.Size = typeSymlink, 0
		e.SHA256 = sum([]byte(hdr.Linkname))
	default:
		hdr.Typeflag = tar.TypeReg
		e.Type, e.Size = typeFile, hdr.Size
	}
	hdr.Format = tar.FormatPAX
	if err := a.tw.WriteHeader(hdr); err != nil {
		return err
	}
	if e.Type == typeFile {
		h := sha256.New()
		n, err := io.Copy(a.tw, io.TeeReader(r, h))
		if err != nil {
			return err
		}
		if n != hdr.Size {
			return fmt.Errorf("backup: %s: %d bytes, want %d", hdr.Name, n, hdr.Size)
		}
		e.SHA256 = hex.EncodeToString(h.Sum(nil))
	}
	a.entries = append(a.entries, e)
	return nil
}

// addReader writes a file entry of unknown length: r is spooled (in
// memory when small, else in a temporary file) so its size is known.
// An error reading r is a *sourceError, and nothing was written.
func (a *archiveWriter) addReader(hdr *tar.Header, r io.Reader) error {
	var buf bytes.Buffer
	n, err := io.CopyN(&buf, r, 8<<20)
	if err == io.EOF {
		hdr.Size = n
		return a.add(hdr, &buf)
	}
	if err != nil {
		return &sourceError{err}
	}
	f, err := os.CreateTemp(a.tmp, ".ecode-backup-spool-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	size, err := f.ReadFrom(io.MultiReader(&buf, sourceReader{r}))
	if err != nil {
		return err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	hdr.Size = size
	return a.add(hdr, f)
}

// sourceError is an error of what an entry is read from, not of the archive.
type sourceError struct{ err error }

func (e *sourceError) Error() string { return e.err.Error() }
func (e *sourceError) Unwrap() error { return e.err }

type sourceReader struct{ r io.Reader }

func (s sourceReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if err != nil && err != io.EOF {
		err = &sourceError{err}
	}
	return n, err
}

// finish writes the manifest (with the entries) and its checksum.
func (a *archiveWriter) finish(m *Manifest) error {
	m.Entries = a.entries
	b, err := json.MarshalIndent(m, "", " ")
	if err != nil {
		return err
	}
	for _, e := range []struct {
		name string
		data []byte
	}{{manifestName, b}, {manifestSumName, []byte(sum(b) + "\n")}} {
		if err := a.tw.WriteHeader(&tar.Header{Name: e.name, Mode: 0o600, Size: int64(len(e.data)), ModTime: m.Created, Format: tar.FormatPAX}); err != nil {
			return err
		}
		if _, err := a.tw.Write(e.data); err != nil {
			return err
		}
	}
	if err := a.tw.Close(); err != nil {
		return err
	}
	return a.gz.Close()
}

func sum(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// entryType is the manifest type of a tar header ("" for other kinds).
func entryType(h *tar.Header) string {
	switch h.Typeflag {
	case tar.TypeReg:
		return typeFile
	case tar.TypeDir:
		return typeDir
	case tar.TypeSymlink:
		return typeSymlink
	}
	return ""
}

// readArchive calls fn for every entry before the manifest, with a reader
// of its content whose checksum is computed as fn reads (the rest is read
// after fn returns); then it reads and checks the manifest. check, when
// set, is called with each entry's computed record once read; it fails the
// walk at the first entry that does not match.
func readArchive(path string, fn func(h *tar.Header, r io.Reader) error, check func(Entry) error) (*Manifest, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		return nil, corrupt("not a gzip stream (%v)", err)
	}
	tr := tar.NewReader(gz)
	var manifest []byte
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, corrupt("%v", err)
		}
		if manifest != nil {
			if h.Name != manifestSumName {
				return nil, corrupt("entry %s after the manifest", h.Name)
			}
			b, err := io.ReadAll(io.LimitReader(tr, 100))
			if err != nil {
				return nil, corrupt("%v", err)
			}
			if strings.TrimSpace(string(b)) != sum(manifest) {
				return nil, corrupt("the manifest's checksum does not match")
			}
			if _, err := io.Copy(io.Discard, tr); err != nil {
				return nil, corrupt("%v", err)
			}
			if _, err := tr.Next(); err != io.EOF {
				return nil, corrupt("entries after the manifest's checksum")
			}
			if _, err := io.Copy(io.Discard, gz); err != nil { // the gzip trailer: CRC and length
				return nil, corrupt("%v", err)
			}
			var m Manifest
			if err := json.Unmarshal(manifest, &m); err != nil {
				return nil, corrupt("manifest: %v", err)
			}
			if m.Format != FormatVersion {
				return nil, fmt.Errorf("backup archive format %d: this build reads format %d", m.Format, FormatVersion)
			}
			return &m, nil
		}
		if h.Name == manifestName {
			if manifest, err = io.ReadAll(io.LimitReader(tr, maxManifest)); err != nil {
				return nil, corrupt("%v", err)
			}
			continue
		}
		e := Entry{Name: h.Name, Type: entryType(h)}
		var hr hash.Hash
		var r io.Reader = tr
		switch e.Type {
		case typeFile:
			hr = sha256.New()
			r = io.TeeReader(tr, hr)
		case typeSymlink:
			e.SHA256 = sum([]byte(h.Linkname))
		case typeDir:
		default:
			return nil, corrupt("entry %s has an unknown type", h.Name)
		}
		if fn != nil {
			if err := fn(h, r); err != nil {
				return nil, err
			}
		}
		if _, err := io.Copy(io.Discard, r); err != nil {
			return nil, corrupt("%s: %v", h.Name, err)
		}
		if hr != nil {
			e.SHA256 = hex.EncodeToString(hr.Sum(nil))
			e.Size = h.Size
		}
		if check != nil {
			if err := check(e); err != nil {
				return nil, err
			}
		}
	}
	if manifest == nil {
		return nil, corrupt("it ends before its manifest")
	}
	return nil, corrupt("it ends before the manifest's checksum")
}

// Verify reads the whole archive at path and checks every entry against
// its manifest: a truncated or changed archive gives an error wrapping
// ErrCorrupt, and nothing is written anywhere.
func Verify(path string) (*Manifest, error) {
	var got []Entry
	m, err := readArchive(path, nil, func(e Entry) error { got = append(got, e); return nil })
	if err != nil {
		return nil, err
	}
	if len(got) != len(m.Entries) {
		return nil, corrupt("%d entries, the manifest lists %d", len(got), len(m.Entries))
	}
	for i, e := range got {
		if e != m.Entries[i] {
			return nil, corrupt("entry %s does not match the manifest (checksum, size or type)", e.Name)
		}
	}
	return m, nil
}

// walk reads the archive again, giving fn each entry, and stops at the
// first entry that differs from the verified manifest m (the file changed
// since Verify).
func walk(path string, m *Manifest, fn func(h *tar.Header, r io.Reader) error) error {
	i := 0
	_, err := readArchive(path, fn, func(e Entry) error {
		if i >= len(m.Entries) || e != m.Entries[i] {
			return corrupt("the archive changed while it was being restored (at %s)", e.Name)
		}
		i++
		return nil
	})
	return err
}
