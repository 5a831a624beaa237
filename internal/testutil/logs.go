package testutil

import (
	"bytes"
	"sync"
	"time"
)

// LogBuffer is a ServerOptions.Logs sink the server's goroutines may write
// to while the test reads it.
type LogBuffer struct {
	mu      sync.Mutex
	b       bytes.Buffer
	changed chan struct{} // closed at the next write (Wait)
}

func (l *LogBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.changed != nil {
		close(l.changed)
		l.changed = nil
	}
	return l.b.Write(p)
}

// String is what was logged so far.
func (l *LogBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Wait waits, at each write, until ok accepts what was logged so far, at
// most for d (a bound on a failure, not a wait for something expected to
// take that long); it reports whether ok did.
func (l *LogBuffer) Wait(d time.Duration, ok func(logged string) bool) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	for {
		l.mu.Lock()
		if ok(l.b.String()) {
			l.mu.Unlock()
			return true
		}
		if l.changed == nil {
			l.changed = make(chan struct{})
		}
		changed := l.changed
		l.mu.Unlock()
		select {
		case <-changed:
		case <-t.C:
			return false
		}
	}
}
