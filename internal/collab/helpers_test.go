package collab_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"ecode/internal/collab"
	"ecode/internal/store"
	"ecode/internal/workspace"
	"ecode/internal/yjs"
	"ecode/internal/yjs/protocol"
)

// env is a project with files on disk and a store, shared by the hubs of a test.
type env struct {
	t       testing.TB
	st      *store.Store
	files   *workspace.Files
	dir     string
	project string
	tick    chan struct{} // signalled whenever a client or a hub did something
	mu      sync.Mutex
	flushed map[string]string // path → last text written by any hub
}

func newEnv(t testing.TB, st *store.Store) *env {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	files, err := workspace.New(filepath.Join(dir, "projects"), nil)
	if err != nil {
		t.Fatal(err)
	}
	id := randomID()
	now := time.Now()
	if _, err := st.CreateUser(ctx, store.User{ID: "u" + id, Email: id + "@example.test", Name: "U", PasswordHash: "x", CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateProject(ctx, store.Project{ID: "p" + id, Name: "p", OwnerID: "u" + id, CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
	p, err := files.Create("p" + id)
	if err != nil {
		t.Fatal(err)
	}
	p.Close()
	return &env{t: t, st: st, files: files, dir: dir, project: "p" + id, tick: make(chan struct{}, 1), flushed: map[string]string{}}
}

func randomID() string {
	b := make([]byte, 6)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func (e *env) signal() {
	select {
	case e.tick <- struct{}{}:
	default:
	}
}

// waitUntil waits for cond, re-checking whenever something happens: a
// client got a message or lost its connection, a hub wrote a file or
// closed a room.
func (e *env) waitUntil(what string, cond func() bool) {
	e.t.Helper()
	deadline := time.NewTimer(20 * time.Second)
	defer deadline.Stop()
	for !cond() {
		select {
		case <-e.tick:
		case <-deadline.C:
			e.t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func (e *env) write(path, text string) {
	e.t.Helper()
	if err := e.files.WriteFile(e.project, path, []byte(text)); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) read(path string) string {
	e.t.Helper()
	b, err := os.ReadFile(filepath.Join(e.files.Dir(e.project), path))
	if err != nil {
		e.t.Fatal(err)
	}
	return string(b)
}

// hub starts a hub on the env; stop ends it (as a node shutting down) and
// waits for it.
func (e *env) hub(opts collab.Options) (h *collab.Hub, stop func()) {
	e.t.Helper()
	opts.OnFlush = func(project, path, text string) {
		e.mu.Lock()
		e.flushed[path] = text
		e.mu.Unlock()
		e.signal()
	}
	opts.OnRoomClosed = e.signal
	if opts.PollInterval == 0 {
		opts.PollInterval = 50 * time.Millisecond
	}
	if opts.FlushDelay == 0 {
		opts.FlushDelay = 20 * time.Millisecond
	}
	h, err := collab.New(e.st, e.files, opts)
	if err != nil {
		e.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		h.Run(ctx)
	}()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			<-done
		})
	}
	e.t.Cleanup(stop)
	return h, stop
}

// pipe is an in-memory Conn.
type pipe struct {
	toServer chan []byte
	toClient chan []byte
	closed   chan struct{}
	once     sync.Once
	code     int
	reason   string

	gate   atomic.Pointer[chan struct{}] // while set, writes wait until it is closed (a client not reading)
	writes atomic.Int64                  // messages the server wrote
}

// hold makes the server's writes wait (the client stops reading);
// release lets them through again.
func (p *pipe) hold() {
	g := make(chan struct{})
	p.gate.Store(&g)
}

func (p *pipe) release() {
	if g := p.gate.Swap(nil); g != nil {
		close(*g)
	}
}

var errPipeClosed = errors.New("pipe closed")

func newPipe() *pipe {
	return &pipe{toServer: make(chan []byte, 4096), toClient: make(chan []byte, 100000), closed: make(chan struct{})}
}

func (p *pipe) Read(ctx context.Context) ([]byte, error) {
	select {
	case b := <-p.toServer:
		return b, nil
	case <-p.closed:
		return nil, errPipeClosed
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (p *pipe) Write(ctx context.Context, msg []byte) error {
	if g := p.gate.Load(); g != nil {
		select {
		case <-*g:
		case <-p.closed:
			return errPipeClosed
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	select {
	case <-p.closed:
		return errPipeClosed
	default:
	}
	p.writes.Add(1)
	select {
	case p.toClient <- append([]byte(nil), msg...):
		return nil
	case <-p.closed:
		return errPipeClosed
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (p *pipe) Ping(ctx context.Context) error { return nil }

func (p *pipe) Close(code int, reason string) {
	p.once.Do(func() {
		p.code, p.reason = code, reason
		close(p.closed)
	})
}

// client is a Go Yjs client speaking the y-websocket protocol over a pipe.
type client struct {
	e      *env
	id     uint64
	p      *pipe
	served chan struct{}

	flushes atomic.Int32 // Flushed answers received

	mu        sync.Mutex
	doc       *yjs.Doc
	synced    bool
	denied    string
	awareness map[uint64]string
	got       []*protocol.Message // the document updates and awareness received, in order
}

func (e *env) connect(h *collab.Hub, path string, canWrite bool) *client {
	return e.connectDoc(h, path, canWrite, yjs.NewDoc(), 0)
}

func (e *env) connectDoc(h *collab.Hub, path string, canWrite bool, doc *yjs.Doc, id uint64) *client {
	return e.connectConn(h, path, canWrite, doc, id, func(p *pipe) collab.Conn { return p })
}

// connectConn connects a client whose pipe the hub sees through wrap.
func (e *env) connectConn(h *collab.Hub, path string, canWrite bool, doc *yjs.Doc, id uint64, wrap func(*pipe) collab.Conn) *client {
	if id == 0 {
		b := make([]byte, 4)
		rand.Read(b)
		id = uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 | 1
	}
	c := &client{e: e, id: id, p: newPipe(), served: make(chan struct{}), doc: doc, awareness: map[uint64]string{}}
	conn := wrap(c.p)
	go func() {
		defer close(c.served)
		h.Serve(context.Background(), conn, collab.Client{ProjectID: e.project, Path: path, UserID: "u", CanWrite: canWrite})
		e.signal()
	}()
	go c.receive()
	c.send(protocol.EncodeSyncStep1(doc.StateVector()))
	e.t.Cleanup(func() { c.p.Close(1000, "") })
	return c
}

func (c *client) send(msg []byte) {
	select {
	case c.p.toServer <- msg:
	case <-c.p.closed:
	}
}

func (c *client) receive() {
	for {
		var b []byte
		select {
		case b = <-c.p.toClient:
		case <-c.p.closed:
			c.e.signal()
			return
		}
		if len(b) == 1 && b[0] == collab.MessageFlushed {
			c.flushes.Add(1)
			c.e.signal()
			continue
		}
		m, err := protocol.Decode(b)
		if err != nil {
			c.e.t.Errorf("client got a malformed message %x: %v", b, err)
			return
		}
		c.mu.Lock()
		if m.Type == protocol.MessageAwareness || m.Type == protocol.MessageSync && m.SyncType == protocol.SyncUpdate {
			c.got = append(c.got, m)
		}
		switch m.Type {
		case protocol.MessageSync:
			reply, _, err := protocol.HandleSync(c.doc, m)
			if err != nil {
				c.e.t.Errorf("client: %v", err)
			}
			if m.SyncType == protocol.SyncStep2 {
				c.synced = true
			}
			if reply != nil {
				c.send(reply)
			}
		case protocol.MessageAwareness:
			for _, a := range m.Awareness {
				if a.Removed() {
					delete(c.awareness, a.ClientID)
				} else {
					c.awareness[a.ClientID] = a.State
				}
			}
		case protocol.MessageAuth:
			c.denied = m.AuthReason
		}
		c.mu.Unlock()
		c.e.signal()
	}
}

func (c *client) text() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.doc.Text(collab.TextName)
}

func (c *client) clone() *yjs.Doc {
	c.mu.Lock()
	defer c.mu.Unlock()
	st, err := c.doc.EncodeStateAsUpdate(nil)
	if err != nil {
		c.e.t.Fatal(err)
	}
	d := yjs.NewDoc()
	if err := d.ApplyUpdate(st); err != nil {
		c.e.t.Fatal(err)
	}
	return d
}

func (c *client) isSynced() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.synced
}

func (c *client) insert(pos int, s string) {
	c.mu.Lock()
	u, err := c.doc.InsertText(collab.TextName, pos, s, c.id)
	c.mu.Unlock()
	if err != nil {
		c.e.t.Fatal(err)
	}
	c.send(protocol.EncodeUpdate(u))
}

func (c *client) closed() bool {
	select {
	case <-c.p.closed:
		return true
	default:
		return false
	}
}

// converge waits until every client holds want.
func (e *env) converge(want string, cs ...*client) {
	e.t.Helper()
	e.waitUntil("clients to converge", func() bool {
		for _, c := range cs {
			if c.text() != want {
				return false
			}
		}
		return true
	})
}

func (e *env) flushedText(path string) (string, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	s, ok := e.flushed[path]
	return s, ok
}

// onDisk waits until the file holds want.
func (e *env) onDisk(path, want string) {
	e.t.Helper()
	e.waitUntil("file "+path+" to hold the document's text", func() bool {
		b, err := os.ReadFile(filepath.Join(e.files.Dir(e.project), path))
		return err == nil && string(b) == want
	})
}
