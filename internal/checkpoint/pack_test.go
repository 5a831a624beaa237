package checkpoint

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// packTestObjects stores a mix of objects: empty, small and similar, and
// incompressible ones larger than a block (one up to twice blockSize, which
// is cached when read, one larger, which is streamed).
func packTestObjects(t *testing.T, s *DirStore) map[Hash][]byte {
	t.Helper()
	ctx := context.Background()
	r := rand.New(rand.NewPCG(1, 2))
	contents := [][]byte{{}, []byte("x"), make([]byte, 5*blockSize)}
	for _, n := range []int{blockSize + 1000, 3 * blockSize} {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		contents = append(contents, b)
	}
	for i := range 400 {
		contents = append(contents, []byte(strings.Repeat(fmt.Sprintf("line %d of object %d\n", r.IntN(50), i), 1+r.IntN(200))))
	}
	objs := map[Hash][]byte{}
	for _, b := range contents {
		h, err := s.Put(ctx, bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		objs[h] = b
	}
	return objs
}

func checkObjects(t *testing.T, s *DirStore, objs map[Hash][]byte) {
	t.Helper()
	ctx := context.Background()
	for h, want := range objs {
		got, err := getBytes(ctx, s, h, 1<<30)
		if err != nil {
			t.Fatalf("get %s: %v", h, err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("object %s: got %d bytes, want %d", h, len(got), len(want))
		}
		if ok, err := s.Has(ctx, h); !ok || err != nil {
			t.Fatalf("has %s = %v, %v", h, ok, err)
		}
	}
}

func repackAll(t *testing.T, s *DirStore, keep func(Hash) bool) RepackStats {
	t.Helper()
	st, err := s.Repack(context.Background(), keep, time.Now().Add(time.Hour), 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func packFiles(t *testing.T, s *DirStore) []string {
	t.Helper()
	es, _ := os.ReadDir(s.packsDir())
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}

func TestBlockPackRoundTrip(t *testing.T) {
	ctx := context.Background()
	s, _ := NewDirStore(t.TempDir())
	objs := packTestObjects(t, s)
	st := repackAll(t, s, func(Hash) bool { return true })
	if st.Packed != len(objs) || st.Loose != len(objs) {
		t.Fatalf("repack = %+v, want %d objects", st, len(objs))
	}
	if names := packFiles(t, s); len(names) != 2 || !strings.HasSuffix(names[0], ".idx2") || !strings.HasSuffix(names[1], ".pack2") {
		t.Fatalf("packs folder holds %v", names)
	}
	checkObjects(t, s, objs)
	listed := 0
	s.List(ctx, func(o ObjectInfo) error {
		if _, ok := objs[o.Hash]; !ok {
			t.Errorf("listed unknown %s", o.Hash)
		}
		listed++
		return nil
	})
	if listed != len(objs) {
		t.Errorf("listed %d of %d", listed, len(objs))
	}
	// A fresh store reads the index from disk; dropping objects rewrites
	// the pack without them.
	s, _ = NewDirStore(s.dir)
	checkObjects(t, s, objs)
	var dropped []Hash
	for h := range objs {
		if len(dropped) < 10 {
			dropped = append(dropped, h)
		}
	}
	for _, h := range dropped {
		delete(objs, h)
	}
	st = repackAll(t, s, func(h Hash) bool { _, ok := objs[h]; return ok })
	if st.Dropped != 10 || st.Packed != len(objs) || st.Loose != 0 {
		t.Fatalf("second repack = %+v", st)
	}
	checkObjects(t, s, objs)
	for _, h := range dropped {
		if ok, _ := s.Has(ctx, h); ok {
			t.Errorf("dropped %s still there", h)
		}
	}
	if names := packFiles(t, s); len(names) != 2 {
		t.Errorf("packs folder holds %v", names)
	}
}

// writeFormat1Pack moves loose objects into a pack "old" of format 1.
func writeFormat1Pack(t testing.TB, s *DirStore, hs []Hash) {
	var pack, idx []byte
	for _, h := range hs {
		b, err := os.ReadFile(s.path(h))
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := hex.DecodeString(string(h))
		idx = append(idx, raw...)
		idx = binary.BigEndian.AppendUint64(idx, uint64(len(pack)))
		idx = binary.BigEndian.AppendUint32(idx, uint32(len(b)))
		pack = append(pack, b...)
		os.Remove(s.path(h))
	}
	os.MkdirAll(s.packsDir(), 0o700)
	os.WriteFile(filepath.Join(s.packsDir(), "old.pack"), pack, 0o600)
	os.WriteFile(filepath.Join(s.packsDir(), "old.idx"), idx, 0o600)
}

// TestFormat1Packs: packs written by earlier versions (the loose objects'
// bytes one after the other) are read, and the next Repack rewrites them.
func TestFormat1Packs(t *testing.T) {
	s, _ := NewDirStore(t.TempDir())
	objs := packTestObjects(t, s)
	var hs []Hash
	for h := range objs {
		hs = append(hs, h)
	}
	writeFormat1Pack(t, s, hs)
	checkObjects(t, s, objs)
	if st := repackAll(t, s, func(Hash) bool { return true }); st.Packed != len(objs) || st.Loose != 0 {
		t.Fatalf("repack = %+v", st)
	}
	for _, name := range packFiles(t, s) {
		if strings.HasPrefix(name, "old.") {
			t.Errorf("%s left", name)
		}
	}
	checkObjects(t, s, objs)
}

// TestCorruptBlock: a damaged block is reported as an error when its
// objects are read (and by Fsck), a damaged index when it is loaded.
func TestCorruptBlock(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	files := map[string]string{"b/c.txt": strings.Repeat("data ", 1000)}
	for i := range 70 { // enough loose objects to be worth packing
		files[fmt.Sprintf("f%d.txt", i)] = fmt.Sprint("file ", i)
	}
	write(t, dir, files)
	s, _ := NewDirStore(filepath.Join(t.TempDir(), "o"))
	repo := NewRepo(s)
	cp, err := repo.Create(ctx, dir, CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	repackAll(t, s, func(Hash) bool { return true })
	var packFile string
	for _, name := range packFiles(t, s) {
		if strings.HasSuffix(name, ".pack2") {
			packFile = filepath.Join(s.packsDir(), name)
		}
	}
	b, err := os.ReadFile(packFile)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 0x55
	os.WriteFile(packFile, b, 0o600)
	s, _ = NewDirStore(s.dir) // nothing cached
	rc, err := s.Get(ctx, cp.Manifest)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadAll(rc); !errors.Is(err, errCorruptBlock) {
		t.Errorf("read of a corrupt block: %v", err)
	}
	rep, err := NewRepo(s).Fsck(ctx, func(ctx context.Context, fn func(Refs) error) error { return fn(cp.Refs()) })
	if err != nil || len(rep.Corrupt) == 0 {
		t.Errorf("fsck = %+v, %v", rep, err)
	}
	for _, name := range packFiles(t, s) {
		if strings.HasSuffix(name, ".idx2") {
			p := filepath.Join(s.packsDir(), name)
			b, _ := os.ReadFile(p)
			b[10] ^= 1
			os.WriteFile(p, b, 0o600)
		}
	}
	s, _ = NewDirStore(s.dir)
	if _, err := s.Has(ctx, cp.Manifest); err == nil || !strings.Contains(err.Error(), "damaged") {
		t.Errorf("has with a damaged index: %v", err)
	}
}

func TestConcurrentPackedGets(t *testing.T) {
	s, _ := NewDirStore(t.TempDir())
	objs := packTestObjects(t, s)
	repackAll(t, s, func(Hash) bool { return true })
	var hs []Hash
	for h := range objs {
		hs = append(hs, h)
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(g), 0))
			for range 300 {
				h := hs[r.IntN(len(hs))]
				got, err := getBytes(context.Background(), s, h, 1<<30)
				if err != nil || !bytes.Equal(got, objs[h]) {
					t.Errorf("get %s: %v", h, err)
					return
				}
			}
		})
	}
	wg.Wait()
}

// BenchmarkPackedGet reads random single objects (1–4 KB of text) from a
// format-1 pack and from a block pack, with and without the block cache.
func BenchmarkPackedGet(b *testing.B) {
	ctx := context.Background()
	r := rand.New(rand.NewPCG(3, 4))
	words := strings.Fields("func return if else for range var const type struct err nil value")
	var contents [][]byte
	for range 3000 {
		var sb strings.Builder
		for n := 1000 + r.IntN(3000); sb.Len() < n; {
			sb.WriteString(words[r.IntN(len(words))] + " ")
		}
		contents = append(contents, []byte(sb.String()))
	}
	for _, format := range []string{"format1", "blocks", "blocks-uncached"} {
		b.Run(format, func(b *testing.B) {
			s, _ := NewDirStore(b.TempDir())
			var hs []Hash
			for _, c := range contents {
				h, _ := s.Put(ctx, bytes.NewReader(c))
				hs = append(hs, h)
			}
			if format == "format1" {
				writeFormat1Pack(b, s, hs)
			} else if _, err := s.Repack(ctx, func(Hash) bool { return true }, time.Now().Add(time.Hour), 1<<30); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for i := range b.N {
				if format == "blocks-uncached" {
					s.blocks = blockCache{}
				}
				if _, err := getBytes(ctx, s, hs[(i*7919)%len(hs)], 1<<20); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestRepackCopiesBlocks: a repack copies the blocks nothing new sorts into
// and compresses the rest again; everything still reads.
func TestRepackCopiesBlocks(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	files := map[string]string{}
	for i := range 600 {
		files[fmt.Sprintf("d%02d/f%03d.txt", i/30, i)] = strings.Repeat(fmt.Sprintf("line of file %d\n", i), 200)
	}
	write(t, dir, files)
	s, _ := NewDirStore(filepath.Join(t.TempDir(), "o"))
	repo := NewRepo(s)
	defer repo.Close()
	var cps []Checkpoint
	create := func() {
		cp, err := repo.Create(ctx, dir, CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		cps = append(cps, cp)
	}
	all := func(ctx context.Context, fn func(Refs) error) error {
		for _, cp := range cps {
			if err := fn(cp.Refs()); err != nil {
				return err
			}
		}
		return nil
	}
	create()
	if gs, err := repo.GC(ctx, all, GCOptions{Grace: -time.Hour}); err != nil || gs.Repack.Copied != 0 {
		t.Fatalf("gc = %+v, %v", gs, err)
	}
	write(t, dir, map[string]string{"d05/f150.txt": "changed\n"})
	for i := range 70 {
		write(t, dir, map[string]string{fmt.Sprintf("zz/new%d.txt", i): fmt.Sprint("new ", i)})
	}
	create()
	gs, err := repo.GC(ctx, all, GCOptions{Grace: -time.Hour})
	if err != nil || gs.Repack.Copied == 0 || gs.Repack.Copied >= gs.Repack.Packed-gs.Repack.Loose {
		t.Fatalf("gc = %+v, %v", gs, err)
	}
	if rep, err := repo.Fsck(ctx, all); err != nil || !rep.OK() {
		t.Fatalf("fsck: %+v %v", rep, err)
	}
	fork := filepath.Join(t.TempDir(), "fork")
	if _, err := repo.Restore(ctx, fork, cps[1], RestoreOptions{}); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(dirTree(t, dir), dirTree(t, fork)); diff != "" {
		t.Errorf("restore (-want +got):\n%s", diff)
	}
}
