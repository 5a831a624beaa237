package collab

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"ecode/internal/store"
	"ecode/internal/workspace"
	"ecode/internal/yjs/protocol"
)

// ServerClientID is the Yjs client id of the seed update (the file's text
// when its document is first created). Fixed, so that seeding the same text
// always yields the same update.
const ServerClientID = 0xEC0DE

// TextName is the root Y.Text holding a file's text.
const TextName = "content"

// Options tune a Hub. Zero values take the defaults in brackets.
type Options struct {
	// NodeID names this process among the nodes sharing the store [random].
	NodeID string
	// Redis relays updates and awareness between nodes; nil for a single
	// node. The caller owns it (and closes it after Run has returned).
	Redis *redis.Client
	// RedisPrefix starts every channel name ["ecode:"].
	RedisPrefix string

	FlushDelay    time.Duration // write the file this long after the last change [500ms]
	FlushMaxDelay time.Duration // ... but at most this long after the first unwritten one [2s]
	PollInterval  time.Duration // check the file and renew the flush lease [1s]
	LeaseTTL      time.Duration // a flush lease lasts this long unrenewed [5s]
	CatchUpEvery  time.Duration // with Redis, reload missed updates from the store [5s]
	// PresenceEvery: with Redis, a room tells the other nodes it is open
	// this often; one not heard from for 3 times this long is taken to be
	// closed, and no longer published to [30s].
	PresenceEvery time.Duration
	KeepAlive     time.Duration // send an empty update to a client idle this long [15s]
	PingInterval  time.Duration // WebSocket ping [30s]
	AwarenessTTL  time.Duration // drop awareness states not renewed for this long [45s]
	CompactEvery  int           // snapshot the document after this many logged updates [200]
	// Accepted updates are logged in batches, one transaction each (group
	// commit): a batch is written LogDelay after its first update came in,
	// or as soon as LogBatch updates wait, whichever is first. Nothing
	// acknowledges an update before it is logged (see the package comment);
	// editors get it at once.
	LogDelay time.Duration // [10ms]
	// EditorsLogDelay replaces LogDelay while only the senders' echoes wait
	// for the log: no other node has the room open and no viewer is in
	// it. Other
	// editors have the updates already, so a longer window delays no one's
	// view and saves transactions (at 10 edits/s from 10 clients, one per
	// edit at 10ms). Anything else that waits for the log (a client
	// joining, a save, the file, the agent) writes it at once.
	EditorsLogDelay time.Duration // [50ms]
	LogBatch        int           // [128]
	// BroadcastWindow, when positive, holds the updates editors send
	// before relaying them to the other editors: the first one opens the
	// window, and at its end each editor gets those held as one message
	// (the others' updates joined), so a room costs one write per editor
	// per window instead of one per editor per update. Awareness waits
	// behind the updates held; the server's own edits, another node's
	// updates and a client joining end the window early. Editors see each
	// other's edits up to this much later [0: at once].
	BroadcastWindow time.Duration
	AgentIdle       time.Duration // clear an agent's cursor this long after its last edit [10s]

	MaxMessageBytes   int64   // [16 MiB]
	MaxDocBytes       int     // encoded document [16 MiB]
	MaxFileBytes      int64   // files larger than this are not opened [8 MiB]
	MaxAwarenessBytes int     // one client's awareness state [16 KiB]
	MessageRate       float64 // messages per second per connection [300]
	MessageBurst      int     // [1000]
	SendQueue         int     // messages queued per connection [1024]
	// DirectFanout is the largest number of connections a room writes
	// to itself (conn.direct). Beyond it, every connection's writer
	// writes, so a large room's fan-out runs on both cores and the room
	// is free for the next update: writing 100 sockets in turn from the
	// room tripled the edit-to-client latency at 100 clients [16;
	// negative: never].
	DirectFanout   int
	MaxResyncBytes int // a lagging client is closed (1013) rather than sent a larger state [4 MiB]

	Log *slog.Logger
	Now func() time.Time
	// OnFlush, if set, is called (from the room's goroutine) after a
	// document's text was written to its file.
	OnFlush func(projectID, path, text string)
	// BeforeWrite, if set, is called before each write of a document's
	// text to its file, on the goroutine that writes (tests hold a write
	// in flight with it).
	BeforeWrite func(projectID, path, text string)
	// OnLogged, if set, is told (from a room's goroutine) of each write of
	// updates to the store's log: how many, and how long the oldest waited
	// between the room taking it and the write's end (log lag).
	OnLogged func(updates int, lag time.Duration)
	// OnRelayed, if set, is told of each update another node relayed
	// (Redis), with the time since that node sent it (relay lag).
	OnRelayed func(lag time.Duration)
	// OnPeers, if set, is called (from a room's goroutine) when the number
	// of other nodes a room knows to have it open changed (Hub.Peers).
	OnPeers func()
	// OnDropped, if set, is called (from the Redis bus's goroutines) when
	// messages between nodes were lost (Hub.Dropped counts them).
	OnDropped func()
	// OnRoomClosed, if set, is called once a room has stopped and is no
	// longer counted by Rooms (for tests waiting on it).
	OnRoomClosed func()
}

func (o *Options) defaults() {
	set := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	set(&o.FlushDelay, 500*time.Millisecond)
	set(&o.FlushMaxDelay, 2*time.Second)
	set(&o.PollInterval, time.Second)
	set(&o.LeaseTTL, 5*time.Second)
	set(&o.CatchUpEvery, 5*time.Second)
	set(&o.PresenceEvery, 30*time.Second)
	set(&o.KeepAlive, 15*time.Second)
	set(&o.PingInterval, 30*time.Second)
	set(&o.AwarenessTTL, 45*time.Second)
	set(&o.AgentIdle, 10*time.Second)
	if o.CompactEvery <= 0 {
		o.CompactEvery = 200
	}
	set(&o.LogDelay, 10*time.Millisecond)
	set(&o.EditorsLogDelay, 50*time.Millisecond)
	if o.LogBatch <= 0 {
		o.LogBatch = 128
	}
	if o.MaxMessageBytes <= 0 {
		o.MaxMessageBytes = 16 << 20
	}
	if o.MaxDocBytes <= 0 {
		o.MaxDocBytes = 16 << 20
	}
	if o.MaxFileBytes <= 0 {
		o.MaxFileBytes = 8 << 20
	}
	if o.MaxAwarenessBytes <= 0 {
		o.MaxAwarenessBytes = 16 << 10
	}
	if o.MessageRate <= 0 {
		o.MessageRate = 300
	}
	if o.MessageBurst <= 0 {
		o.MessageBurst = 1000
	}
	if o.SendQueue <= 0 {
		o.SendQueue = 1024
	}
	if o.DirectFanout == 0 {
		o.DirectFanout = 16
	}
	if o.MaxResyncBytes <= 0 {
		o.MaxResyncBytes = 4 << 20
	}
	if o.RedisPrefix == "" {
		o.RedisPrefix = "ecode:"
	}
	if o.NodeID == "" {
		b := make([]byte, 8)
		rand.Read(b)
		o.NodeID = hex.EncodeToString(b)
	}
	if o.Log == nil {
		o.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if o.Now == nil {
		o.Now = time.Now
	}
}

// Client describes who is on a connection.
type Client struct {
	ProjectID string
	Path      string // cleaned; "" is the project's presence room (awareness only)
	UserID    string
	CanWrite  bool // editors and owners; viewers only receive
}

type key struct{ project, path string }

// Hub owns the rooms of this process.
type Hub struct {
	st    *store.Store
	files *workspace.Files
	opts  Options
	log   *slog.Logger
	bus   *redisBus // nil without Redis

	ctx    context.Context // rooms' context, ended by shutdown
	cancel context.CancelFunc

	aborted atomic.Bool
	clients atomic.Int64 // connections being served
	sent    sentCounts
	pubs    [pubKinds]atomic.Int64  // messages published to Redis, by pubKind
	drops   [dropKinds]atomic.Int64 // relayed messages lost, by dropKind
	resubs  atomic.Int64            // Redis subscriptions restarted on a new connection

	mu        sync.Mutex
	rooms     map[key]*room
	byChannel map[string]*room
	closed    bool
	wg        sync.WaitGroup
}

// ErrClosed is returned by Serve once the hub is shutting down.
var ErrClosed = errors.New("collab: server shutting down")

// New builds a hub. With Options.Redis it relays between nodes through it.
// Run must be called for it to work.
func New(st *store.Store, files *workspace.Files, opts Options) (*Hub, error) {
	opts.defaults()
	h := &Hub{st: st, files: files, opts: opts, log: opts.Log.With("component", "collab"),
		rooms: map[key]*room{}, byChannel: map[string]*room{}}
	h.ctx, h.cancel = context.WithCancel(context.Background())
	if opts.Redis != nil {
		h.bus = newRedisBus(opts.Redis, opts.NodeID, busHooks{deliver: h.deliver, resubscribed: h.resubscribed,
			unpublished: func(n int) { h.dropped(dropPublish, n) }})
	}
	return h, nil
}

// Run serves until ctx ends, then closes every connection (1001), writes
// every document to its file and returns.
func (h *Hub) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	if h.bus != nil {
		busCtx, stop := context.WithCancel(context.Background())
		defer stop()
		wg.Go(func() { h.bus.run(busCtx, h.log) })
		defer wg.Wait()
		defer stop()
	}
	<-ctx.Done()
	h.shutdown()
	if h.bus != nil {
		h.bus.close()
	}
	return nil
}

// Abort drops every connection and room at once, as if the process died:
// no file is written and no lease released. For tests of node failure.
func (h *Hub) Abort() {
	h.aborted.Store(true)
	h.shutdown()
}

// shutdown stops every room and waits for them.
func (h *Hub) shutdown() {
	h.mu.Lock()
	h.closed = true
	var rooms []*room
	for _, r := range h.rooms {
		r.stopping = true
		rooms = append(rooms, r)
	}
	h.mu.Unlock()
	for _, r := range rooms {
		r.send(event{kind: evStop, code: CloseGoingAway})
	}
	h.wg.Wait()
	h.cancel()
}

// CloseProject stops every room of a project that is being deleted (their
// clients get 4410) and waits until they have stopped. Connections that
// arrive later are refused by the caller (the project is gone).
func (h *Hub) CloseProject(ctx context.Context, projectID string) error {
	h.mu.Lock()
	var rooms, stop []*room
	for k, r := range h.rooms {
		if k.project != projectID {
			continue
		}
		rooms = append(rooms, r)
		if !r.stopping {
			r.stopping = true
			stop = append(stop, r)
		}
	}
	h.mu.Unlock()
	for _, r := range stop {
		r.send(event{kind: evStop, code: CloseProjectDeleted})
	}
	for _, r := range rooms {
		select {
		case <-r.done:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// Serve runs one client connection until it ends. The caller has checked
// the client's access to the project.
func (h *Hub) Serve(ctx context.Context, c Conn, cl Client) {
	k := key{cl.ProjectID, cl.Path}
	r, err := h.acquire(k)
	if err != nil {
		c.Close(CloseGoingAway, "server shutting down")
		return
	}
	defer h.release(r)
	h.clients.Add(1)
	defer h.clients.Add(-1)
	cn := newConn(c, cl, &h.opts, &h.sent)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		cn.writeLoop(ctx, r)
	}()
	if r.send(event{kind: evJoin, conn: cn}) {
		go func() { // the room ending ends its connections
			select {
			case <-r.done:
				cn.kill(r.failure())
			case <-ctx.Done():
			}
		}()
		// Reading stops when the writer closes the connection (ctx ended,
		// or the room or a limit killed it), not on ctx itself: a read
		// cancelled mid-way would drop the connection before the close
		// frame with its reason (e.g. 4403, 4410) is sent.
		cn.readLoop(context.WithoutCancel(ctx), r)
		r.send(event{kind: evLeave, conn: cn})
	} else {
		code, reason := r.failure()
		cn.kill(code, reason)
	}
	cn.kill(endCode(ctx))
	<-writerDone
}

// FileChanged tells the hub that a file (or every file under a folder) of
// a project was changed on disk by something other than the collaboration
// server (a PUT, an upload, a move, a delete, a restore, the agent). Open
// documents take the new text as an edit; deleted files close their rooms
// (4404). Other nodes are told through Redis. It does not wait.
func (h *Hub) FileChanged(ctx context.Context, projectID, path string) {
	clean, err := workspace.CleanPath(path)
	if err != nil {
		return
	}
	h.mu.Lock()
	var rooms []*room
	for k, r := range h.rooms {
		if k.project == projectID && k.path != "" && (clean == "" || k.path == clean || strings.HasPrefix(k.path, clean+"/")) {
			rooms = append(rooms, r)
		}
	}
	h.mu.Unlock()
	for _, r := range rooms {
		r.trySend(event{kind: evCheck})
	}
	if h.bus != nil && clean != "" {
		h.published(pubControl)
		h.bus.publish(ctx, h.channel(key{projectID, clean}), encodeBus(busCheck, h.opts.NodeID, 0, nil), h.log)
	}
}

func (h *Hub) channel(k key) string {
	return h.opts.RedisPrefix + "collab:" + k.project + ":" + k.path
}

// acquire returns the room of k with a reference taken, starting it if
// needed (and waiting for a stopping one to finish first).
func (h *Hub) acquire(k key) (*room, error) {
	for {
		h.mu.Lock()
		if h.closed {
			h.mu.Unlock()
			return nil, ErrClosed
		}
		r := h.rooms[k]
		if r != nil && r.stopping {
			h.mu.Unlock()
			<-r.done
			continue
		}
		if r == nil {
			r = newRoom(h, k)
			h.rooms[k] = r
			h.byChannel[r.channel] = r
			h.wg.Add(1)
			go func() {
				defer h.wg.Done()
				r.run()
			}()
		}
		r.refs++
		h.mu.Unlock()
		return r, nil
	}
}

func (h *Hub) release(r *room) {
	h.mu.Lock()
	r.refs--
	stop := r.refs == 0 && !r.stopping
	if stop {
		r.stopping = true
	}
	h.mu.Unlock()
	if stop {
		r.send(event{kind: evStop, code: CloseNormal})
	}
}

// forget removes an exiting room from the maps.
func (h *Hub) forget(r *room) {
	h.mu.Lock()
	if h.rooms[r.key] == r {
		delete(h.rooms, r.key)
		delete(h.byChannel, r.channel)
	}
	r.stopping = true
	h.mu.Unlock()
}

// Clients reports how many client connections the hub serves (metrics).
func (h *Hub) Clients() int { return int(h.clients.Load()) }

// Sent counts the messages sent to clients since the hub started: those a
// room wrote itself (the socket took them at once) and those a
// connection's writer wrote (queued, or keep-alives).
func (h *Hub) Sent() (byRoom, byWriter int64) { return h.sent.room.Load(), h.sent.writer.Load() }

// Peers reports how many other nodes the room of a document (path; "" for
// the project's presence room) knows to have it open, and whether it is
// open here (for tests).
func (h *Hub) Peers(projectID, path string) (n int, open bool) {
	h.mu.Lock()
	r := h.rooms[key{projectID, path}]
	h.mu.Unlock()
	if r == nil {
		return 0, false
	}
	return int(r.npeers.Load()), true
}

// Rooms reports how many rooms are open (for tests and metrics).
func (h *Hub) Rooms() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.rooms)
}

func hashText(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// randomClientID returns a fresh Yjs client id for a server-side edit.
func randomClientID() uint64 {
	for {
		var b [4]byte
		rand.Read(b[:])
		id := uint64(binary.LittleEndian.Uint32(b[:]))
		if id != 0 && id != ServerClientID {
			return id
		}
	}
}

// keepAliveFrame is an empty sync update: clients apply it as a no-op and
// do not answer, but it counts as traffic for their 30 s liveness check.
var keepAliveFrame = protocol.EncodeUpdate([]byte{0, 0})

// MaxMessageBytes is the largest message a client may send.
func (h *Hub) MaxMessageBytes() int64 { return h.opts.MaxMessageBytes }

// Flush writes the open documents of a file (or of every file under a
// folder; "" for the whole project) of this node to disk now, for callers
// about to read, move or archive the files. Documents whose flush lease is
// held by another node are written by it within Options.FlushDelay.
func (h *Hub) Flush(ctx context.Context, projectID, path string) error {
	clean, err := workspace.CleanPath(path)
	if err != nil {
		return err
	}
	h.mu.Lock()
	var rooms []*room
	for k, r := range h.rooms {
		if k.project == projectID && k.path != "" && (clean == "" || k.path == clean || strings.HasPrefix(k.path, clean+"/")) {
			rooms = append(rooms, r)
		}
	}
	h.mu.Unlock()
	for _, r := range rooms {
		done := make(chan struct{})
		if !r.send(event{kind: evFlush, done: done}) {
			continue
		}
		select {
		case <-done:
		case <-r.done:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// endCode is the close code for a connection whose context ended: the code
// its cause carries when it was ended from outside (access revoked, project
// deleted), otherwise a normal close.
func endCode(ctx context.Context) (int, string) {
	var c interface{ CloseCode() (int, string) }
	if errors.As(context.Cause(ctx), &c) {
		return c.CloseCode()
	}
	return CloseNormal, ""
}
