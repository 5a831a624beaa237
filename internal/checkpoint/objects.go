package checkpoint

import (
	"compress/flate"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Hash names an object: the hex SHA-256 of its uncompressed content.
type Hash string

// Valid reports whether h looks like a SHA-256 hex digest.
func (h Hash) Valid() bool {
	if len(h) != 64 {
		return false
	}
	for i := range len(h) {
		if c := h[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// ErrObjectNotFound is returned by ObjectStore.Get for a missing object.
var ErrObjectNotFound = errors.New("checkpoint: object not found")

// ObjectInfo describes one stored object.
type ObjectInfo struct {
	Hash    Hash
	Size    int64     // bytes stored (compressed)
	ModTime time.Time // last written or re-put (the garbage collector's lease)
}

// ObjectStore is a content-addressed blob store. Objects are immutable and
// named by the hash of their content, so the same content is stored once
// across checkpoints and projects. An S3-compatible store can implement it.
type ObjectStore interface {
	// Put stores r's content and returns its hash. Putting content that is
	// already present stores nothing new but renews the object's ModTime.
	Put(ctx context.Context, r io.Reader) (Hash, error)
	// Get returns the content of h (decompressed), or ErrObjectNotFound.
	Get(ctx context.Context, h Hash) (io.ReadCloser, error)
	// Has reports whether h is stored.
	Has(ctx context.Context, h Hash) (bool, error)
	// Delete removes h; deleting a missing object is not an error.
	Delete(ctx context.Context, h Hash) error
	// List calls fn for every stored object, in no particular order.
	List(ctx context.Context, fn func(ObjectInfo) error) error
}

// DirStore is an ObjectStore in a local directory: objects/<2 hex>/<62 hex>,
// each a DEFLATE stream, written to a temporary file, synced and renamed into
// place, so a crash never leaves a partial object under a real name.
type DirStore struct {
	dir string

	mu       sync.Mutex
	packs    map[Hash]packLoc // packed objects (see pack.go)
	packsMod time.Time        // mtime of the packs folder when packs was read
	blocks   blockCache       // recently inflated pack blocks
}

// NewDirStore opens (creating if needed) a store rooted at dir.
func NewDirStore(dir string) (*DirStore, error) {
	if err := os.MkdirAll(filepath.Join(dir, "objects"), 0o700); err != nil {
		return nil, fmt.Errorf("object store: %w", err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "tmp"), 0o700); err != nil {
		return nil, fmt.Errorf("object store: %w", err)
	}
	ds := &DirStore{dir: dir}
	ds.Cleanup()
	if e, err := ds.Epoch(); err == nil && e == "" {
		if err := ds.NewEpoch(); err != nil {
			return nil, err
		}
	}
	return ds, nil
}

// Epoch names the store's current collection epoch: it changes whenever a
// garbage collection may delete objects. A stat cache written in the same
// epoch may trust that the objects it names are still there.
func (s *DirStore) Epoch() (string, error) {
	b, err := os.ReadFile(filepath.Join(s.dir, "epoch"))
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	return strings.TrimSpace(string(b)), err
}

// NewEpoch starts a new epoch (GC calls it before deleting anything).
func (s *DirStore) NewEpoch() error {
	b := make([]byte, 8)
	rand.Read(b)
	return writeFileAtomic(filepath.Join(s.dir, "epoch"), []byte(hex.EncodeToString(b)+"\n"), true)
}

// epocher is implemented by object stores that tell when objects may have
// been deleted (DirStore). Without it, Create checks each reused object.
type epocher interface {
	Epoch() (string, error)
	NewEpoch() error
}

func (s *DirStore) path(h Hash) string {
	return filepath.Join(s.dir, "objects", string(h[:2]), string(h[2:]))
}

// Put implements ObjectStore.
func (s *DirStore) Put(ctx context.Context, r io.Reader) (Hash, error) {
	h, _, err := s.putSized(ctx, r)
	return h, err
}

// putSized is Put also returning the bytes it added to the store (0 when
// the object was there already). The temporary file is locked (flock) until
// it is renamed into place, so Cleanup can tell a crashed Put's leftover
// from a Put in progress, in this process or another.
func (s *DirStore) putSized(ctx context.Context, r io.Reader) (Hash, int64, error) {
	var rnd [8]byte
	rand.Read(rnd[:])
	tmp := filepath.Join(s.dir, "tmp", hex.EncodeToString(rnd[:]))
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", 0, fmt.Errorf("object store: %w", err)
	}
	defer f.Close()
	defer os.Remove(tmp) // no-op once renamed
	h, err := compressInto(ctx, f, r)
	if err != nil {
		return "", 0, err
	}
	dst := s.path(h)
	if _, err := os.Stat(dst); err == nil {
		now := time.Now()
		err := os.Chtimes(dst, now, now) // renew the lease
		if !errors.Is(err, fs.ErrNotExist) {
			return h, 0, err
		}
		// collected meanwhile (by another process): store it again
	}
	if err := f.Sync(); err != nil {
		return "", 0, fmt.Errorf("object store: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		return "", 0, fmt.Errorf("object store: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		return "", 0, fmt.Errorf("object store: %w", err)
	}
	if err := os.Rename(tmp, dst); err != nil {
		return "", 0, fmt.Errorf("object store: %w", err)
	}
	hook("put")
	return h, fi.Size(), nil
}

// Get implements ObjectStore.
func (s *DirStore) Get(ctx context.Context, h Hash) (io.ReadCloser, error) {
	if !h.Valid() {
		return nil, fmt.Errorf("object store: bad hash %q", h)
	}
	f, err := os.Open(s.path(h))
	if errors.Is(err, fs.ErrNotExist) {
		return s.getPacked(h)
	}
	if err != nil {
		return nil, err
	}
	zr := flateReaders.Get().(io.ReadCloser)
	zr.(flate.Resetter).Reset(f, nil)
	return &flateFile{f: f, r: zr}, nil
}

var (
	flateWriters = sync.Pool{New: func() any { w, _ := flate.NewWriter(nil, flate.BestSpeed); return w }}
	flateReaders = sync.Pool{New: func() any { return flate.NewReader(nil) }}
)

type flateFile struct {
	f *os.File
	r io.ReadCloser
}

func (z *flateFile) Read(p []byte) (int, error) { return z.r.Read(p) }
func (z *flateFile) Close() error {
	if z.r != nil {
		z.r.Close()
		flateReaders.Put(z.r) // its buffers are worth reusing
		z.r = nil
	}
	return z.f.Close()
}

// Has implements ObjectStore.
func (s *DirStore) Has(ctx context.Context, h Hash) (bool, error) {
	if !h.Valid() {
		return false, fmt.Errorf("object store: bad hash %q", h)
	}
	_, err := os.Stat(s.path(h))
	if errors.Is(err, fs.ErrNotExist) {
		_, ok, err := s.lookupPacked(h)
		return ok, err
	}
	return err == nil, err
}

// Delete implements ObjectStore for loose objects; a packed object goes when
// Repack (run by GC) rewrites its pack without it.
func (s *DirStore) Delete(ctx context.Context, h Hash) error {
	if !h.Valid() {
		return fmt.Errorf("object store: bad hash %q", h)
	}
	err := os.Remove(s.path(h))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}

// List implements ObjectStore.
func (s *DirStore) List(ctx context.Context, fn func(ObjectInfo) error) error {
	if err := s.listPacked(ctx, fn); err != nil {
		return err
	}
	top, err := os.ReadDir(filepath.Join(s.dir, "objects"))
	if err != nil {
		return err
	}
	for _, d := range top {
		if len(d.Name()) != 2 || !d.IsDir() {
			continue
		}
		es, err := os.ReadDir(filepath.Join(s.dir, "objects", d.Name()))
		if err != nil {
			return err
		}
		for _, e := range es {
			if err := ctx.Err(); err != nil {
				return err
			}
			h := Hash(d.Name() + e.Name())
			if !h.Valid() {
				continue
			}
			info, err := e.Info()
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			if err != nil {
				return err
			}
			if err := fn(ObjectInfo{Hash: h, Size: info.Size(), ModTime: info.ModTime()}); err != nil {
				return err
			}
		}
	}
	return nil
}

// Cleanup deletes what crashed Puts left in the store's tmp folder (a
// killed checkpoint can leave a temporary object as large as the project's
// largest file): every temporary file no Put holds locked. NewDirStore and
// GC call it. It returns how many files and bytes it removed.
func (s *DirStore) Cleanup() (int, int64) { return cleanupTemp(filepath.Join(s.dir, "tmp"), "") }

// cleanupTemp removes the files named prefix… in dir that no Put holds
// locked (flock).
func cleanupTemp(dir, prefix string) (int, int64) {
	es, _ := os.ReadDir(dir)
	n, size := 0, int64(0)
	for _, e := range es {
		if strings.HasPrefix(e.Name(), ".") || !strings.HasPrefix(e.Name(), prefix) || !e.Type().IsRegular() {
			continue
		}
		p := filepath.Join(dir, e.Name())
		f, err := os.Open(p)
		if err != nil {
			continue
		}
		if unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB) == nil { // no Put is writing it
			fi, err := f.Stat()
			if err == nil && os.Remove(p) == nil {
				n, size = n+1, size+fi.Size()
			}
		}
		f.Close()
	}
	return n, size
}

type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// putBytes stores b unless an object of its hash is already present.
func putBytes(ctx context.Context, os ObjectStore, b []byte) (Hash, error) {
	sum := sha256.Sum256(b)
	h := Hash(hex.EncodeToString(sum[:]))
	if ok, err := os.Has(ctx, h); err != nil {
		return "", err
	} else if ok {
		return h, nil
	}
	got, err := os.Put(ctx, strings.NewReader(string(b)))
	if err == nil && got != h {
		err = fmt.Errorf("object store returned %s for %s", got, h)
	}
	return h, err
}

func getBytes(ctx context.Context, os ObjectStore, h Hash, limit int64) ([]byte, error) {
	rc, err := os.Get(ctx, h)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read object %s: %w", h, err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("object %s larger than %d bytes", h, limit)
	}
	return b, nil
}

// hook is called after each durable file operation; tests set it to crash
// the process at chosen points.
var hook = func(op string) {}

// compressInto locks f, a new temporary file (see cleanupTemp: a locked
// temporary file is in use), and writes r into it compressed, returning
// the hash of r's content: the object's name.
func compressInto(ctx context.Context, f *os.File, r io.Reader) (Hash, error) {
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		return "", fmt.Errorf("object store: lock %s: %w", f.Name(), err)
	}
	zw := flateWriters.Get().(*flate.Writer)
	defer flateWriters.Put(zw)
	zw.Reset(f)
	hw := sha256.New()
	if _, err := io.Copy(io.MultiWriter(hw, zw), ctxReader{ctx, r}); err != nil {
		return "", err
	}
	if err := zw.Close(); err != nil {
		return "", fmt.Errorf("object store: %w", err)
	}
	return Hash(hex.EncodeToString(hw.Sum(nil))), nil
}
