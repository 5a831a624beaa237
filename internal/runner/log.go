package runner

import "sync"

// Log is an append-only byte stream that keeps its last max bytes, with
// absolute offsets so that readers can resume where they stopped. Writers
// never block on readers: a reader that falls behind more than max bytes
// skips ahead (and is told so by the offset it gets back).
type Log struct {
	mu     sync.Mutex
	max    int
	buf    []byte // the kept tail
	start  int64  // offset of buf[0]
	closed bool
	notify chan struct{} // closed and replaced on every write and on Close
}

// NewLog returns an empty log keeping max bytes.
func NewLog(max int) *Log { return &Log{max: max, notify: make(chan struct{})} }

// Write appends p; it never fails.
func (l *Log) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return len(p), nil
	}
	l.buf = append(l.buf, p...)
	if over := len(l.buf) - l.max; over > 0 {
		l.start += int64(over)
		l.buf = append(l.buf[:0:0], l.buf[over:]...)
	}
	close(l.notify)
	l.notify = make(chan struct{})
	return len(p), nil
}

// Close marks the end of the stream: readers get done=true once they have
// read everything.
func (l *Log) Close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.closed {
		l.closed = true
		close(l.notify)
	}
}

// ReadFrom returns the bytes from offset on (from the oldest kept byte if
// offset is older), the offset after them, a channel that is closed when
// more arrives, and whether the stream has ended and everything was read.
func (l *Log) ReadFrom(offset int64) (data []byte, next int64, wait <-chan struct{}, done bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	end := l.start + int64(len(l.buf))
	if offset < l.start {
		offset = l.start
	}
	if offset > end {
		offset = end
	}
	data = append([]byte(nil), l.buf[offset-l.start:]...)
	return data, end, l.notify, l.closed
}

// End is the offset after the last byte written.
func (l *Log) End() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.start + int64(len(l.buf))
}
