package checkpoint

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"golang.org/x/sys/unix"
)

// testObjects is an object store under test plus what the tests need to
// reach behind its interface (age an object, corrupt or remove its bytes).
type testObjects struct {
	ObjectStore ObjectStore                   // pass this (not testObjects) to NewRepo: it tests for optional methods
	backdate    func(h Hash, d time.Duration) // make h's lease d older
	loose       func(h Hash) bool             // h is stored on its own (not packed)
	readRaw     func(h Hash) []byte
	writeRaw    func(h Hash, b []byte)
	removeRaw   func(h Hash)
}

// objectBackends are the ObjectStore implementations every store test runs
// against: the directory store and the S3 store on a loopback S3 server.
var objectBackends = []struct {
	name string
	open func(t *testing.T) testObjects
}{
	{"dir", openDirObjects},
	{"s3", openS3Objects},
}

func forEachBackend(t *testing.T, fn func(t *testing.T, o testObjects)) {
	for _, b := range objectBackends {
		t.Run(b.name, func(t *testing.T) { fn(t, b.open(t)) })
	}
}

func openDirObjects(t *testing.T) testObjects {
	ds, err := NewDirStore(filepath.Join(t.TempDir(), "objects"))
	if err != nil {
		t.Fatal(err)
	}
	return testObjects{
		ObjectStore: ds,
		backdate: func(h Hash, d time.Duration) {
			old := time.Now().Add(-d)
			if err := os.Chtimes(ds.path(h), old, old); err != nil {
				t.Fatal(err)
			}
		},
		loose: func(h Hash) bool { _, err := os.Stat(ds.path(h)); return err == nil },
		readRaw: func(h Hash) []byte {
			b, _ := os.ReadFile(ds.path(h))
			return b
		},
		writeRaw:  func(h Hash, b []byte) { os.WriteFile(ds.path(h), b, 0o600) },
		removeRaw: func(h Hash) { os.Remove(ds.path(h)) },
	}
}

// offsetClock is the fake S3 server's clock for object times: real time
// plus an offset the test moves (gofakes3's FixedTimeSource is not safe for
// concurrent requests).
type offsetClock struct {
	mu  sync.Mutex
	off time.Duration
}

func (c *offsetClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.off)
}
func (c *offsetClock) Since(t time.Time) time.Duration { return c.Now().Sub(t) }
func (c *offsetClock) set(d time.Duration) {
	c.mu.Lock()
	c.off = d
	c.mu.Unlock()
}

const testBucket = "ecode-objects"

// openS3Objects starts an in-memory S3-compatible server (gofakes3) on
// loopback and opens an S3Store on it, which creates the bucket.
func openS3Objects(t *testing.T) testObjects {
	clock := &offsetClock{}
	mem := s3mem.New(s3mem.WithTimeSource(clock))
	srv := httptest.NewServer(gofakes3.New(mem).Server())
	t.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL)
	s, err := NewS3Store(context.Background(), S3Options{Endpoint: u.Host, Bucket: testBucket,
		AccessKey: "test", SecretKey: "test-secret", Insecure: true, TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	readRaw := func(h Hash) []byte {
		o, err := mem.GetObject(testBucket, s3Key(h), nil)
		if err != nil {
			return nil
		}
		defer o.Contents.Close()
		b, _ := io.ReadAll(o.Contents)
		return b
	}
	writeRaw := func(h Hash, b []byte) {
		if _, err := mem.PutObject(testBucket, s3Key(h), map[string]string{}, bytes.NewReader(b), int64(len(b)), nil); err != nil {
			t.Fatal(err)
		}
	}
	return testObjects{
		ObjectStore: s,
		backdate: func(h Hash, d time.Duration) {
			b := readRaw(h)
			clock.set(-d)
			defer clock.set(0)
			writeRaw(h, b)
		},
		loose:     func(Hash) bool { return true },
		readRaw:   readRaw,
		writeRaw:  writeRaw,
		removeRaw: func(h Hash) { mem.DeleteObject(testBucket, s3Key(h)) },
	}
}

func listed(t *testing.T, o ObjectStore) map[Hash]ObjectInfo {
	t.Helper()
	got := map[Hash]ObjectInfo{}
	if err := o.List(context.Background(), func(i ObjectInfo) error { got[i.Hash] = i; return nil }); err != nil {
		t.Fatal(err)
	}
	return got
}

// TestObjectStoreRoundTrip: put, get, has, list and delete behave the same
// on every backend, and a re-put renews the lease GC goes by.
func TestObjectStoreRoundTrip(t *testing.T) {
	forEachBackend(t, func(t *testing.T, to testObjects) {
		ctx := context.Background()
		o := to.ObjectStore
		big := strings.Repeat("large content that compresses\n", 20000)
		contents := []string{"", "hello", big}
		var hs []Hash
		for _, c := range contents {
			h, err := o.Put(ctx, strings.NewReader(c))
			if err != nil || !h.Valid() {
				t.Fatalf("put %d bytes: %s, %v", len(c), h, err)
			}
			hs = append(hs, h)
		}
		if h, _ := putBytes(ctx, o, []byte("hello")); h != hs[1] {
			t.Errorf("same content, other hash: %s vs %s", h, hs[1])
		}
		for i, h := range hs {
			if ok, err := o.Has(ctx, h); !ok || err != nil {
				t.Errorf("has %s = %v, %v", h, ok, err)
			}
			b, err := getBytes(ctx, o, h, 1<<30)
			if err != nil || string(b) != contents[i] {
				t.Errorf("get %s: %d bytes, %v (want %d)", h, len(b), err, len(contents[i]))
			}
		}
		got := listed(t, o)
		if len(got) != 3 {
			t.Errorf("listed %d objects, want 3: %v", len(got), got)
		}
		if s := got[hs[2]].Size; s <= 0 || s >= int64(len(big)) {
			t.Errorf("stored size of the large object = %d (want compressed, > 0)", s)
		}

		// Leases: both small objects aged two hours; one is put again.
		// A collection with a one-hour grace keeps only the renewed one.
		to.backdate(hs[0], 2*time.Hour)
		to.backdate(hs[1], 2*time.Hour)
		if mt := listed(t, o)[hs[1]].ModTime; time.Since(mt) < time.Hour {
			t.Fatalf("backdate did not age the object: %v", mt)
		}
		if _, err := o.Put(ctx, strings.NewReader("hello")); err != nil {
			t.Fatal(err)
		}
		ep, ok := o.(epocher)
		if !ok {
			t.Fatalf("%T has no collection epoch", o)
		}
		epoch, err := ep.Epoch()
		if err != nil || epoch == "" {
			t.Fatalf("epoch = %q, %v", epoch, err)
		}
		repo := NewRepo(o)
		keepBig := func(ctx context.Context, fn func(Refs) error) error { return fn(Refs{DB: hs[2]}) }
		st, err := repo.GC(ctx, keepBig, GCOptions{Grace: time.Hour, NoRepack: true})
		if err != nil || st.Deleted != 1 || st.Young != 1 || st.Referenced != 1 {
			t.Errorf("gc = %+v, %v (want 1 deleted, 1 young, 1 referenced)", st, err)
		}
		if ok, _ := o.Has(ctx, hs[0]); ok {
			t.Error("the old unreferenced object survived GC")
		}
		if e, err := ep.Epoch(); err != nil || e == epoch || e == "" {
			t.Errorf("epoch after GC = %q, %v (before: %q)", e, err, epoch)
		}
		if ok, _ := o.Has(ctx, hs[1]); !ok {
			t.Error("GC deleted the object whose lease a put renewed")
		}

		if err := o.Delete(ctx, hs[1]); err != nil {
			t.Fatal(err)
		}
		if err := o.Delete(ctx, hs[1]); err != nil {
			t.Errorf("deleting a missing object: %v", err)
		}
		if ok, err := o.Has(ctx, hs[1]); ok || err != nil {
			t.Errorf("has after delete = %v, %v", ok, err)
		}
		if _, err := o.Get(ctx, hs[1]); !errors.Is(err, ErrObjectNotFound) {
			t.Errorf("get after delete: %v, want ErrObjectNotFound", err)
		}
		if _, err := o.Get(ctx, "nothex"); err == nil {
			t.Error("get of a bad hash did not fail")
		}
		if got := listed(t, o); len(got) != 1 || got[hs[2]].Hash != hs[2] {
			t.Errorf("after deletes listed %v", got)
		}
		// List stops at fn's error.
		stop := errors.New("stop")
		if err := o.List(ctx, func(ObjectInfo) error { return stop }); !errors.Is(err, stop) {
			t.Errorf("list returned %v, want fn's error", err)
		}
	})
}

// TestS3StoreCleansTemporaryFiles: what a killed Put left in the upload
// folder is removed when the store opens; a Put in progress (locked) stays.
func TestS3StoreCleansTemporaryFiles(t *testing.T) {
	tmp := t.TempDir()
	left := filepath.Join(tmp, s3TempPrefix+"123")
	os.WriteFile(left, []byte("partial"), 0o600)
	busy, err := os.Create(filepath.Join(tmp, s3TempPrefix+"456"))
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	if err := unix.Flock(int(busy.Fd()), unix.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(tmp, "not-ours")
	os.WriteFile(other, nil, 0o600)
	if _, err := NewS3Store(context.Background(), S3Options{Endpoint: fakeS3Endpoint(t), Bucket: testBucket, Insecure: true, TempDir: tmp}); err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]bool{left: false, busy.Name(): true, other: true} {
		if _, err := os.Stat(p); (err == nil) != want {
			t.Errorf("%s: exists = %v, want %v", filepath.Base(p), err == nil, want)
		}
	}
}

// TestS3StoreUnreachable: a store whose server is gone reports errors (not
// "missing"), so GC never mistakes an outage for an empty bucket.
func TestS3StoreUnreachable(t *testing.T) {
	srv := httptest.NewServer(gofakes3.New(s3mem.New()).Server())
	u, _ := url.Parse(srv.URL)
	ctx := context.Background()
	s, err := NewS3Store(ctx, S3Options{Endpoint: u.Host, Bucket: testBucket, AccessKey: "a", SecretKey: "b", Insecure: true})
	if err != nil {
		t.Fatal(err)
	}
	h, err := s.Put(ctx, strings.NewReader("x"))
	if err != nil {
		t.Fatal(err)
	}
	srv.Close()
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if ok, err := s.Has(ctx, h); err == nil {
		t.Errorf("has with the server gone = %v, nil error", ok)
	}
	if err := s.List(ctx, func(ObjectInfo) error { return nil }); err == nil {
		t.Error("list with the server gone: nil error")
	}
}

// fakeS3Endpoint starts an in-memory S3 server on loopback for the test
// and returns its host:port.
func fakeS3Endpoint(t *testing.T) string {
	srv := httptest.NewServer(gofakes3.New(s3mem.New()).Server())
	t.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL)
	return u.Host
}

// openCrashObjects opens the crash tests' store: the folder objects, or
// with s3 set the bucket objects on that endpoint (in the parent and in
// the child process that is killed).
func openCrashObjects(ctx context.Context, s3, objects string) (ObjectStore, error) {
	if s3 == "" {
		return NewDirStore(objects)
	}
	return NewS3Store(ctx, S3Options{Endpoint: s3, Bucket: objects, AccessKey: "test", SecretKey: "test-secret", Insecure: true})
}

// forEachCrashBackend runs a crash test with the objects in a folder and
// on a loopback S3 server.
func forEachCrashBackend(t *testing.T, fn func(t *testing.T, s3 string)) {
	t.Run("dir", func(t *testing.T) { fn(t, "") })
	t.Run("s3", func(t *testing.T) { fn(t, fakeS3Endpoint(t)) })
}
