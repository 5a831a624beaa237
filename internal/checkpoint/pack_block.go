package checkpoint

import (
	"bufio"
	"bytes"
	"compress/flate"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"os"
	"runtime"
	"sync"
)

// Block packs (format 2). Objects are decompressed and concatenated into
// blocks of about blockSize bytes, each compressed as one DEFLATE stream, so
// that similar objects placed next to each other (successive versions of a
// directory's tree or of a file, see pack_order.go) compress against each
// other within DEFLATE's 32 KB window.
//
//	<id>.pack2   "ECPACK2\n", then the blocks one after the other
//	<id>.idx2    "ECIDX2\n\x00", block count; per block: compressed length,
//	             CRC-32C of the compressed bytes, raw length, object count;
//	             per object in block order: 32-byte hash, raw length;
//	             CRC-32C of everything before (numbers are uvarints)
//
// An object's place (block, offset inside it) follows from the lengths, so
// the index costs about 34 bytes per object. An object larger than
// blockSize gets a block of its own.

const (
	pack2Magic = "ECPACK2\n"
	idx2Magic  = "ECIDX2\n\x00"

	// blockSize is the raw size at which a block is closed. Larger blocks
	// compress a little better (the stored size of 10,000 source-like
	// files and 100 edits: 64 KB 5.72 MB, 128 KB 5.59 MB, 1 MB 5.40 MB),
	// but reading one object inflates its whole block (BenchmarkPackedGet:
	// 0.27 ms at 64 KB, 0.5 ms at 128 KB, uncached). Reads in tree order
	// mostly hit the block cache.
	blockSize = 64 << 10
	// blockLevel: level 6 stores 10% less than level 5 and 13% less than
	// level 4 here, for 2.4 and 5 times their compression time; level 9
	// saves under 2% more.
	blockLevel = flate.DefaultCompression
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// blockWriter writes a block pack and builds its index. Blocks are
// compressed on up to GOMAXPROCS goroutines (DEFLATE at this level is most
// of Repack's time) and written in order.
type blockWriter struct {
	w   *bufio.Writer
	raw []byte // the block being filled
	n   int    // objects in it

	queue []*blockJob   // compressing, in pack order
	slots chan struct{} // one per compressing goroutine

	blocks []byte // index: per-block records
	objs   []byte // index: per-object records
	count  int    // blocks written
}

type blockJob struct {
	raw    []byte // nil for a copied block
	rawLen int
	n      int // objects
	done   chan struct{}
	z      []byte // compressed
	err    error
}

var blockWriters = sync.Pool{New: func() any { w, _ := flate.NewWriter(nil, blockLevel); return w }}

func newBlockWriter(w io.Writer) (*blockWriter, error) {
	bw := &blockWriter{w: bufio.NewWriterSize(w, 1<<20), slots: make(chan struct{}, runtime.GOMAXPROCS(0))}
	_, err := bw.w.WriteString(pack2Magic)
	return bw, err
}

// add appends one object (its uncompressed content).
func (bw *blockWriter) add(h Hash, b []byte) error {
	raw, err := hex.DecodeString(string(h))
	if err != nil || len(raw) != 32 {
		return fmt.Errorf("bad hash %q", h)
	}
	if len(b) > 1<<31 {
		return fmt.Errorf("object %s too large to pack", h)
	}
	if bw.n > 0 && len(bw.raw)+len(b) > blockSize {
		if err := bw.flush(); err != nil {
			return err
		}
	}
	bw.raw = append(bw.raw, b...)
	bw.n++
	bw.objs = append(bw.objs, raw...)
	bw.objs = binary.AppendUvarint(bw.objs, uint64(len(b)))
	return nil
}

// flush starts compressing the current block, first writing out finished
// blocks while too many are queued.
func (bw *blockWriter) flush() error {
	if bw.n == 0 {
		return nil
	}
	job := &blockJob{raw: bw.raw, rawLen: len(bw.raw), n: bw.n, done: make(chan struct{})}
	bw.raw, bw.n = nil, 0
	bw.slots <- struct{}{}
	go func() {
		defer func() { <-bw.slots; close(job.done) }()
		var z bytes.Buffer
		zw := blockWriters.Get().(*flate.Writer)
		defer blockWriters.Put(zw)
		zw.Reset(&z)
		if _, job.err = zw.Write(job.raw); job.err == nil {
			job.err = zw.Close()
		}
		job.z = z.Bytes()
	}()
	return bw.enqueue(job)
}

func (bw *blockWriter) enqueue(job *blockJob) error {
	bw.queue = append(bw.queue, job)
	for len(bw.queue) > cap(bw.slots) {
		if err := bw.writeNext(); err != nil {
			return err
		}
	}
	return nil
}

// copyBlock appends a block of an older block pack as it is: z, compressed,
// holding the objects hs of the given raw lengths.
func (bw *blockWriter) copyBlock(z []byte, hs []Hash, lens []uint32) error {
	if err := bw.flush(); err != nil {
		return err
	}
	job := &blockJob{z: z, n: len(hs), done: make(chan struct{})}
	close(job.done)
	for i, h := range hs {
		raw, err := hex.DecodeString(string(h))
		if err != nil || len(raw) != 32 {
			return fmt.Errorf("bad hash %q", h)
		}
		bw.objs = append(bw.objs, raw...)
		bw.objs = binary.AppendUvarint(bw.objs, uint64(lens[i]))
		job.rawLen += int(lens[i])
	}
	return bw.enqueue(job)
}

// writeNext waits for the oldest queued block and writes it.
func (bw *blockWriter) writeNext() error {
	job := bw.queue[0]
	bw.queue = bw.queue[1:]
	<-job.done
	if job.err != nil {
		return job.err
	}
	if _, err := bw.w.Write(job.z); err != nil {
		return err
	}
	bw.blocks = binary.AppendUvarint(bw.blocks, uint64(len(job.z)))
	bw.blocks = binary.BigEndian.AppendUint32(bw.blocks, crc32.Checksum(job.z, castagnoli))
	bw.blocks = binary.AppendUvarint(bw.blocks, uint64(job.rawLen))
	bw.blocks = binary.AppendUvarint(bw.blocks, uint64(job.n))
	bw.count++
	return nil
}

// finish writes the remaining blocks and returns the index. After an
// error, it still waits for the compressing goroutines.
func (bw *blockWriter) finish() ([]byte, error) {
	err := bw.flush()
	for len(bw.queue) > 0 {
		if werr := bw.writeNext(); err == nil {
			err = werr
		}
	}
	if err != nil {
		return nil, err
	}
	if err := bw.w.Flush(); err != nil {
		return nil, err
	}
	idx := []byte(idx2Magic)
	idx = binary.AppendUvarint(idx, uint64(bw.count))
	idx = append(idx, bw.blocks...)
	idx = append(idx, bw.objs...)
	return binary.BigEndian.AppendUint32(idx, crc32.Checksum(idx, castagnoli)), nil
}

// parseIdx2 calls fn for each object of a format-2 index.
func parseIdx2(b []byte, fn func(Hash, packLoc)) error {
	bad := errors.New("damaged")
	if len(b) < len(idx2Magic)+4 || string(b[:len(idx2Magic)]) != idx2Magic {
		return bad
	}
	body, sum := b[:len(b)-4], binary.BigEndian.Uint32(b[len(b)-4:])
	if crc32.Checksum(body, castagnoli) != sum {
		return bad
	}
	r := bytes.NewReader(body[len(idx2Magic):])
	nblocks, err := binary.ReadUvarint(r)
	if err != nil || nblocks > uint64(len(body)) {
		return bad
	}
	type block struct {
		n, raw, objs uint64
		crc          uint32
	}
	blocks := make([]block, nblocks)
	for i := range blocks {
		var crc [4]byte
		blk := &blocks[i]
		blk.n, err = binary.ReadUvarint(r)
		if err == nil {
			_, err = io.ReadFull(r, crc[:])
		}
		if err == nil {
			blk.raw, err = binary.ReadUvarint(r)
		}
		if err == nil {
			blk.objs, err = binary.ReadUvarint(r)
		}
		if err != nil || blk.n > math.MaxUint32 || blk.raw > math.MaxUint32 {
			return bad
		}
		blk.crc = binary.BigEndian.Uint32(crc[:])
	}
	off := int64(len(pack2Magic))
	for _, blk := range blocks {
		var in uint64
		for range blk.objs {
			var raw [32]byte
			if _, err := io.ReadFull(r, raw[:]); err != nil {
				return bad
			}
			n, err := binary.ReadUvarint(r)
			if err != nil || in+n > blk.raw {
				return bad
			}
			fn(Hash(hex.EncodeToString(raw[:])), packLoc{
				v2: true, off: off, n: uint32(blk.n), crc: blk.crc,
				blockRaw: uint32(blk.raw), inOff: uint32(in), inN: uint32(n),
			})
			in += n
		}
		if in != blk.raw {
			return bad
		}
		off += int64(blk.n)
	}
	if r.Len() != 0 {
		return bad
	}
	return nil
}

// readBlock returns the object at loc in block pack f. Small blocks are
// inflated whole and kept in the store's block cache, since neighbours
// (files of one directory) are often read together.
func (s *DirStore) readBlock(f *os.File, loc packLoc) (io.ReadCloser, error) {
	z, err := readCompressedBlock(f, loc)
	if err != nil {
		return nil, err
	}
	corrupt := func(err error) error {
		return fmt.Errorf("%w: pack %s, block at %d: %v", errCorruptBlock, loc.pack, loc.off, err)
	}
	if loc.blockRaw > 2*blockSize {
		// One large object: inflate it while it is read, uncached.
		return &flateBlock{r: flate.NewReader(bytes.NewReader(z)), left: int64(loc.inN)}, nil
	}
	zr := flateReaders.Get().(io.ReadCloser)
	defer flateReaders.Put(zr)
	zr.(flate.Resetter).Reset(bytes.NewReader(z), nil)
	b := make([]byte, loc.blockRaw)
	if _, err := io.ReadFull(zr, b); err != nil {
		return nil, corrupt(err)
	}
	if n, _ := zr.Read(make([]byte, 1)); n != 0 {
		return nil, corrupt(errors.New("longer than indexed"))
	}
	s.blocks.put(loc.pack, loc.off, b)
	return blockObject(b, loc), nil
}

// readCompressedBlock reads the block holding loc and checks its CRC.
func readCompressedBlock(f *os.File, loc packLoc) ([]byte, error) {
	z := make([]byte, loc.n)
	_, err := f.ReadAt(z, loc.off)
	switch {
	case errors.Is(err, io.EOF):
		err = errors.New("truncated")
	case err != nil:
		return nil, err
	case crc32.Checksum(z, castagnoli) != loc.crc:
		err = errors.New("checksum mismatch")
	default:
		return z, nil
	}
	return nil, fmt.Errorf("%w: pack %s, block at %d: %v", errCorruptBlock, loc.pack, loc.off, err)
}

func blockObject(block []byte, loc packLoc) io.ReadCloser {
	return io.NopCloser(bytes.NewReader(block[loc.inOff : loc.inOff+loc.inN]))
}

// flateBlock reads a block holding one object, reporting a stream that ends
// early or runs long as an error.
type flateBlock struct {
	r    io.ReadCloser
	left int64
}

func (f *flateBlock) Read(p []byte) (int, error) {
	if f.left == 0 {
		if n, _ := f.r.Read(make([]byte, 1)); n != 0 {
			return 0, fmt.Errorf("%w: longer than indexed", errCorruptBlock)
		}
		return 0, io.EOF
	}
	if int64(len(p)) > f.left {
		p = p[:f.left]
	}
	n, err := f.r.Read(p)
	f.left -= int64(n)
	switch {
	case err == io.EOF && f.left > 0:
		err = fmt.Errorf("%w: shorter than indexed", errCorruptBlock)
	case err == io.EOF:
		err = nil
	case err != nil:
		err = fmt.Errorf("%w: %v", errCorruptBlock, err)
	}
	return n, err
}

func (f *flateBlock) Close() error { return f.r.Close() }

// blockCache keeps the most recently inflated blocks (a few MB at most).
type blockCache struct {
	mu      sync.Mutex
	entries []cachedBlock // most recent first
	size    int
}

type cachedBlock struct {
	pack string
	off  int64
	b    []byte // never modified once cached
}

const blockCacheSize = 4 << 20

func (c *blockCache) get(pack string, off int64) []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, e := range c.entries {
		if e.pack == pack && e.off == off {
			copy(c.entries[1:i+1], c.entries[:i])
			c.entries[0] = e
			return e.b
		}
	}
	return nil
}

func (c *blockCache) put(pack string, off int64, b []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, e := range c.entries {
		if e.pack == pack && e.off == off {
			return // inflated by a concurrent reader too
		}
	}
	c.entries = append([]cachedBlock{{pack, off, b}}, c.entries...)
	c.size += len(b)
	for c.size > blockCacheSize && len(c.entries) > 1 {
		last := c.entries[len(c.entries)-1]
		c.entries = c.entries[:len(c.entries)-1]
		c.size -= len(last.b)
	}
}
