package revoke

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// redisLink relays events between nodes over two Redis channels: events,
// and acknowledgements ("<publisher node> <event id>"), which every node,
// the publisher included, sends once it has applied an event.
type redisLink struct {
	bus            *Bus
	client         *redis.Client
	events, acks   string
	node           string
	wait           time.Duration
	log            *slog.Logger
	mu             sync.Mutex
	waiting        map[string]chan struct{} // event id → one value per acknowledgement
	pending        []Event                  // events Redis did not take, published again once it does
	subscribedOnce chan struct{}
}

// maxPending bounds the events kept while Redis is down; past it they are
// replaced by one empty event (every node drops everything cached).
const maxPending = 1000

type wire struct {
	Node  string `json:"n"`
	ID    string `json:"i"`
	Event Event  `json:"e"`
}

// NewRedis returns a bus shared by every node subscribed to the same Redis
// (channels prefix+"revoke" and prefix+"revoke:ack") through c, which the
// caller owns and closes. Publish waits at most wait for the other nodes'
// acknowledgements. Until Run has subscribed, and while the subscription is
// down, Healthy is false.
func NewRedis(c *redis.Client, prefix string, wait time.Duration, log *slog.Logger) *Bus {
	b := &Bus{changed: make(chan struct{})}
	b.remote = &redisLink{bus: b, client: c, events: prefix + "revoke", acks: prefix + "revoke:ack",
		node: randomID(), wait: wait, log: log, waiting: map[string]chan struct{}{}, subscribedOnce: make(chan struct{})}
	return b
}

func randomID() string {
	b := make([]byte, 8)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// Subscribed is closed once the bus has first subscribed (tests wait on it).
func (b *Bus) Subscribed() <-chan struct{} {
	if b.remote == nil {
		c := make(chan struct{})
		close(c)
		return c
	}
	return b.remote.subscribedOnce
}

func (l *redisLink) publish(ctx context.Context, e Event) error {
	id := randomID()
	acked := make(chan struct{}, 256)
	l.mu.Lock()
	l.waiting[id] = acked
	l.mu.Unlock()
	defer func() {
		l.mu.Lock()
		delete(l.waiting, id)
		l.mu.Unlock()
	}()
	msg, _ := json.Marshal(wire{Node: l.node, ID: id, Event: e})
	n, err := l.client.Publish(ctx, l.events, msg).Result()
	if err != nil {
		l.keep(e)
		return fmt.Errorf("publish revocation: %w: %w", ErrDeferred, err)
	}
	timer := time.NewTimer(l.wait)
	defer timer.Stop()
	for got := int64(0); got < n; got++ {
		select {
		case <-acked:
		case <-timer.C:
			l.log.Warn("nodes did not acknowledge a revocation in time; their caches expire on their own",
				"missing", n-got, "wait", l.wait)
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// keep holds an event Redis did not take.
func (l *redisLink) keep(e Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.pending) >= maxPending {
		l.pending = []Event{{}}
		return
	}
	l.pending = append(l.pending, e)
}

// republish publishes the events Redis did not take, in order; those it
// still does not take are kept for the next time.
func (l *redisLink) republish(ctx context.Context) {
	l.mu.Lock()
	events := l.pending
	l.pending = nil
	l.mu.Unlock()
	for i, e := range events {
		if err := l.publish(ctx, e); err != nil {
			for _, e := range events[i+1:] {
				l.keep(e)
			}
			l.log.Warn("publish a revocation again", "err", err)
			return
		}
	}
	if len(events) > 0 {
		l.log.Info("revocations published again after redis came back", "events", len(events))
	}
}

func (l *redisLink) hasPending() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.pending) > 0
}

// run keeps a subscription to both channels until ctx ends, resubscribing
// (after a second) when it breaks.
func (l *redisLink) run(ctx context.Context) {
	for {
		err := l.subscribe(ctx)
		l.bus.setHealthy(false)
		if ctx.Err() != nil {
			return
		}
		l.log.Warn("revocation relay lost its redis subscription; caches are off until it is back", "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
	}
}

// subscribe receives until the subscription breaks.
func (l *redisLink) subscribe(ctx context.Context) error {
	ps := l.client.Subscribe(ctx, l.events, l.acks)
	defer ps.Close()
	defer context.AfterFunc(ctx, func() { ps.Close() })() // a wait for messages does not watch ctx
	confirmed := 0
	for {
		msg, err := ps.ReceiveTimeout(ctx, 30*time.Second)
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			// quiet: make sure the connection still lives, and publish
			// what Redis did not take before (it may have failed for
			// this node alone, the subscription surviving)
			if err = ps.Ping(ctx); err == nil && l.hasPending() {
				go l.republish(ctx)
			}
		}
		if err != nil {
			return err
		}
		switch m := msg.(type) {
		case *redis.Subscription:
			if m.Kind == "subscribe" {
				if confirmed++; confirmed == 2 {
					l.bus.apply(Event{}) // anything cached before may have missed events
					l.bus.setHealthy(true)
					go l.republish(ctx) // what this node published while Redis was down
					select {
					case <-l.subscribedOnce:
					default:
						close(l.subscribedOnce)
					}
				}
			}
		case *redis.Message:
			l.receive(ctx, m)
		}
	}
}

func (l *redisLink) receive(ctx context.Context, m *redis.Message) {
	if m.Channel == l.acks {
		node, id, _ := strings.Cut(m.Payload, " ")
		if node != l.node {
			return
		}
		l.mu.Lock()
		acked := l.waiting[id]
		l.mu.Unlock()
		if acked != nil {
			select {
			case acked <- struct{}{}:
			default:
			}
		}
		return
	}
	var w wire
	if err := json.Unmarshal([]byte(m.Payload), &w); err != nil {
		l.log.Warn("undecodable revocation", "err", err)
		l.bus.apply(Event{})
		return
	}
	if w.Node != l.node { // the publisher applied it before publishing
		l.bus.apply(w.Event)
	}
	actx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := l.client.Publish(actx, l.acks, w.Node+" "+w.ID).Err(); err != nil {
		l.log.Warn("acknowledge revocation", "err", err)
	}
}
