package collab

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"time"

	"ecode/internal/yjs"
	"ecode/internal/yjs/protocol"
)

// maxPending caps the structs a document parks while waiting for missing
// dependencies (a client sending updates that depend on nothing it sends).
const maxPending = 20000

type eventKind int

const (
	evJoin eventKind = iota
	evLeave
	evMsg
	evRemote // a message from another node
	evCheck  // the file may have changed on disk
	evFlush  // write the file now, then close done
	evStop
	evAgent     // an edit of the agent (Hub.AgentEdit)
	evAgentDone // the agent's turn ended: clear its cursor
	evResync    // a lagging connection drained its queue: send it the state
)

type event struct {
	kind eventKind
	conn *conn
	msg  *protocol.Message
	data []byte
	code int
	done chan struct{}

	agent  *agentEdit // evAgent
	client uint64     // evAgentDone
}

// room is one open document: its goroutine owns every field below mu-less.
type room struct {
	h       *Hub
	key     key
	channel string
	inbox   chan event
	done    chan struct{}

	// guarded by h.mu
	refs     int
	stopping bool

	// set before done is closed
	failCode   int
	failReason string

	// owned by the room's goroutine
	doc           *yjs.Doc
	base          []byte // the document as last written to (or read from) the file, as an update (baseDoc); nil: unknown
	aw            *protocol.Awareness
	seen          map[uint64]time.Time
	conns         map[*conn]struct{}
	viewers       int               // connections in conns that cannot write
	seq           int64             // the document holds every logged update up to seq
	pending       []pendingUpdate   // integrated updates not yet logged
	integratedN   int64             // updates integrated (integrated) ...
	loggedN       int64             // ... and logged of them (appended)
	heldAwareness []heldAwareness   // for viewers and other nodes once loggedN reaches their upTo
	directOn      bool              // the room writes to its connections itself (fanout)
	appending     bool              // a write of the log is in flight (startAppend)
	appendJobs    chan appendJob    // to the log writer (appender)
	appendDone    chan appendResult // its result
	logTimer      *time.Timer       // writes the pending updates (scheduleAppend)
	logArmed      bool              // logTimer runs
	pendingSince  time.Time         // when the oldest pending update came in (real time)
	window        []pendingUpdate   // updates held for the other editors (toEditors) ...
	windowAw      [][]byte          // ... and awareness messages held behind them
	windowTimer   *time.Timer       // ends the broadcast window (sendWindow)
	windowArmed   bool              // windowTimer runs
	sinceCompact  int
	size          int
	leader        bool // holds the flush lease
	leaseUntil    time.Time
	disk          string // the file's text as last read or written (leader only)
	stat          fileStat
	fileHash      string
	prevHash      string
	inherited     string // the hash of a write the previous flush-lease holder may still be making
	dirty         bool
	dirtySince    time.Time
	flushTimer    *time.Timer
	flushing      bool             // a write of the file is in flight
	flushDone     chan flushResult // its result
	flushBase     []byte           // the document as written by it (state)
	recheck       bool             // check the file once the write is done
	waitNext      []func()         // flush requests served by the next write
	waitCur       []func()         // ... and by the write in flight
	lastCatchUp   time.Time
	agents        map[uint64]*agentCursor // agents whose cursor is shown
	peers         map[string]time.Time    // other nodes with the room open, by node id: when last heard (room_peers.go)
	lastHere      time.Time               // when this node last announced the room (busHere)
	err           error

	npeers atomic.Int32 // len(peers), for Hub.Peers

	// behind: the room may have missed logged updates (a relayed one was
	// dropped, or the Redis subscription restarted): it reads the log once
	// woken (markBehind).
	behind atomic.Bool
	wake   chan struct{} // capacity 1
}

type flushResult struct {
	text string
	stat fileStat
	err  error
}

type fileStat struct {
	size  int64
	mtime time.Time
	ino   uint64
}

func newRoom(h *Hub, k key) *room {
	r := &room{h: h, key: k, inbox: make(chan event, 1024), done: make(chan struct{}), flushDone: make(chan flushResult, 1), appendDone: make(chan appendResult, 1), wake: make(chan struct{}, 1),
		aw: protocol.NewAwareness(), seen: map[uint64]time.Time{}, conns: map[*conn]struct{}{}, peers: map[string]time.Time{}}
	r.channel = h.channel(k)
	return r
}

func (r *room) presence() bool { return r.key.path == "" }

// send delivers ev unless the room has ended.
func (r *room) send(ev event) bool {
	select {
	case r.inbox <- ev:
		return true
	case <-r.done:
		return false
	}
}

func (r *room) sendOrQuit(ev event, quit <-chan struct{}) bool {
	select {
	case r.inbox <- ev:
		return true
	case <-r.done:
		return false
	case <-quit:
		return false
	}
}

// markBehind makes the room read the log as soon as it can (from any
// goroutine, without waiting): any number of marks before it does are one
// read.
func (r *room) markBehind() {
	r.behind.Store(true)
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// trySend delivers ev if the inbox has room (for events that may be lost).
func (r *room) trySend(ev event) {
	select {
	case r.inbox <- ev:
	default:
	}
}

func (r *room) failure() (int, string) {
	if r.failCode == 0 {
		return CloseGoingAway, "document closed"
	}
	return r.failCode, r.failReason
}

func (r *room) log() *slog.Logger {
	return r.h.log.With("project_id", r.key.project, "path", r.key.path)
}

func (r *room) ctx() context.Context { return r.h.ctx }

func (r *room) now() time.Time { return r.h.opts.Now() }

func (r *room) run() {
	r.appendJobs = make(chan appendJob, 1)
	go r.appender(r.appendJobs)
	defer close(r.appendJobs) // after exit, which waits for a write in flight
	defer r.exit()
	if r.h.bus != nil {
		// Subscribe, then say so, then load: a node that has the room
		// open starts publishing on hearing it, and answers, which makes
		// this room read the log again (see room_peers.go).
		r.h.bus.subscribe(r.channel)
		defer r.h.bus.unsubscribe(r.channel)
		defer r.leave()
		r.announce(hereAsk)
	}
	if err := r.load(); err != nil {
		var le *loadError
		if errors.As(err, &le) {
			r.failCode, r.failReason = le.code, le.reason
		} else {
			r.log().Error("open document", "err", err)
			r.failCode, r.failReason = CloseServerError, "cannot open the document"
		}
		return
	}
	poll := time.NewTicker(r.h.opts.PollInterval)
	defer poll.Stop()
	for {
		var flushC, logC, windowC <-chan time.Time
		if r.flushTimer != nil {
			flushC = r.flushTimer.C
		}
		if r.logArmed {
			logC = r.logTimer.C
		}
		if r.windowArmed {
			windowC = r.windowTimer.C
		}
		select {
		case ev := <-r.inbox:
			stop := r.handle(ev)
			for i := 0; !stop && r.err == nil && i < 256 && len(r.inbox) > 0; i++ {
				stop = r.handle(<-r.inbox)
			}
			if stop && r.err == nil {
				if r.err = r.commit(); r.err == nil {
					if !r.h.aborted.Load() {
						r.finishFlushes()
					}
					return
				}
			}
			if r.err == nil {
				r.scheduleAppend()
			}
		case res := <-r.appendDone:
			if r.err = r.appended(res); r.err == nil {
				r.scheduleAppend() // what came in meanwhile, in one write
			}
		case <-logC:
			r.logArmed = false
			r.startAppend()
		case <-windowC:
			r.windowArmed = false
			r.sendWindow()
		case <-flushC:
			r.flushTimer = nil
			r.flush()
		case res := <-r.flushDone:
			r.flushed(res)
		case <-poll.C:
			r.tick()
		case <-r.wake:
			if r.behind.Swap(false) {
				r.err = r.catchUp()
			}
		}
		if r.err != nil {
			var le *loadError
			if errors.As(r.err, &le) {
				r.closeAll(le.code, le.reason)
				return
			}
			r.log().Error("document failed; clients will reconnect and it is reloaded", "err", r.err)
			r.closeAll(CloseServerError, "server error, reconnect")
			return
		}
	}
}

// exit releases the lease and unregisters the room; closing done ends
// every connection that joined it (see Hub.Serve).
func (r *room) exit() {
	if r.appending {
		<-r.appendDone // failed: nothing is sent
	}
	if r.flushTimer != nil {
		r.flushTimer.Stop()
	}
	if r.logTimer != nil {
		r.logTimer.Stop()
	}
	if r.windowTimer != nil {
		r.windowTimer.Stop()
	}
	if r.leader && !r.h.aborted.Load() {
		if err := r.h.st.CollabReleaseLease(r.ctx(), r.key.project, r.key.path, r.h.opts.NodeID); err != nil {
			r.log().Warn("release flush lease", "err", err)
		}
	}
	r.h.forget(r)
	close(r.done)
	if f := r.h.opts.OnRoomClosed; f != nil {
		f()
	}
}

func (r *room) closeAll(code int, reason string) {
	r.failCode, r.failReason = code, reason
	for c := range r.conns {
		c.kill(code, reason)
	}
}
