package collab

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"ecode/internal/yjs"
)

// Kinds of messages between nodes.
const (
	busUpdate    = 1 // a logged update with its sequence number
	busAwareness = 2 // accepted awareness entries
	busCheck     = 3 // the file may have changed on disk
	busFlush     = 4 // a client asked for the file to be written now
	busQuery     = 5 // a node opened the room: send it the awareness states you know (nodes before busHere)
	busHere      = 6 // the sender has the room open (payload: hereAsk, hereCatch flags; see room_peers.go)
	busGone      = 7 // the sender closed the room
)

// encodeBus frames a message between nodes: kind, sender node, sequence
// number, payload and the time it was sent (Unix microseconds; for the
// relay lag metric: nodes' clocks are taken to agree).
func encodeBus(kind byte, node string, seq int64, payload []byte) []byte {
	e := yjs.NewEncoder()
	e.WriteUint8(kind)
	e.WriteVarString(node)
	e.WriteVarUint(uint64(seq))
	e.WriteVarBytes(payload)
	e.WriteVarUint(uint64(time.Now().UnixMicro()))
	return e.Bytes()
}

// busSent is when a message was sent (the zero time for a message of a
// node that does not say).
func busSent(b []byte) time.Time {
	d := yjs.NewDecoder(b)
	if _, err := d.ReadUint8(); err != nil {
		return time.Time{}
	}
	if _, err := d.ReadVarString(); err != nil {
		return time.Time{}
	}
	if _, err := d.ReadVarUint(); err != nil {
		return time.Time{}
	}
	if _, err := d.ReadVarBytes(); err != nil {
		return time.Time{}
	}
	us, err := d.ReadVarUint()
	if err != nil || us == 0 || us > 1<<62 {
		return time.Time{}
	}
	return time.UnixMicro(int64(us))
}

// busFrom is the node that sent a message ("" if it is malformed).
func busFrom(b []byte) string {
	d := yjs.NewDecoder(b)
	if _, err := d.ReadUint8(); err != nil {
		return ""
	}
	node, _ := d.ReadVarString()
	return node
}

func decodeBus(b []byte) (kind byte, node string, seq int64, payload []byte, err error) {
	d := yjs.NewDecoder(b)
	if kind, err = d.ReadUint8(); err != nil {
		return
	}
	if node, err = d.ReadVarString(); err != nil {
		return
	}
	s, err := d.ReadVarUint()
	if err != nil {
		return
	}
	seq = int64(s)
	payload, err = d.ReadVarBytes()
	return
}

// redisBus relays room messages between nodes with Redis pub/sub, one
// channel per document.
//
// Nothing it loses waits for the rooms' periodic catch-up
// (Options.CatchUpEvery):
//
//   - A message this node could not publish (the queue was full, or Redis
//     failed) marks its channel; as soon as it can, the bus publishes on
//     each marked channel busHere(hereCatch), on which the other nodes read
//     the log (room.here). A gap in the relayed sequence numbers would
//     reveal a lost update only if a later one came: the last edit of a
//     burst would wait. Keeping the lost messages to publish them later
//     would hold memory while Redis is down, and one "read the log" per
//     channel covers any number of them, since an update is logged before
//     it is published.
//   - A subscription that starts on a new connection (go-redis reconnects
//     and subscribes again on its own after a connection loss, losing what
//     was published meanwhile) makes every room of this node read the log
//     once (busHooks.resubscribed).
//   - Messages the hub cannot hand to a room are the hub's (Hub.deliver).
type redisBus struct {
	client *redis.Client
	ps     *redis.PubSub
	node   string
	hooks  busHooks

	out  chan pubMsg   // published in order by publishLoop; full: dropped and the channel marked
	kick chan struct{} // capacity 1: lost has channels to announce

	prevCount int // channels subscribed at Redis's last (un)subscribe answer (run's loop only)

	mu      sync.Mutex
	subs    map[string]int
	pending map[string]chan struct{} // closed when Redis confirms the channel's SUBSCRIBE
	lost    map[string]bool          // channels with messages not published since last announced
	lastErr time.Time
}

// busHooks is how the bus reaches its hub.
type busHooks struct {
	deliver func(channel string, msg []byte)
	// resubscribed: the subscription started on a connection (reconnect:
	// a new one after losing one); every room reads the log.
	resubscribed func(reconnect bool)
	// unpublished counts messages dropped or failed on the way to Redis.
	unpublished func(n int)
}

type pubMsg struct {
	channel string
	msg     []byte
}

func newRedisBus(c *redis.Client, node string, hooks busHooks) *redisBus {
	ps := c.Subscribe(context.Background()) // no channel yet: nothing is sent
	return &redisBus{client: c, ps: ps, node: node, hooks: hooks, subs: map[string]int{}, lost: map[string]bool{},
		pending: map[string]chan struct{}{}, out: make(chan pubMsg, 8192), kick: make(chan struct{}, 1)}
}

// run publishes queued messages and delivers received ones until ctx ends.
func (b *redisBus) run(ctx context.Context, log *slog.Logger) {
	go b.publishLoop(ctx, log)
	ch := b.ps.ChannelWithSubscriptions(redis.WithChannelSize(4096))
	for {
		select {
		case <-ctx.Done():
			return
		case m, ok := <-ch:
			if !ok {
				return
			}
			switch m := m.(type) {
			case *redis.Message:
				b.hooks.deliver(m.Channel, []byte(m.Payload))
			case *redis.Subscription:
				b.subscribed(m, log)
			}
		}
	}
}

// subscribed takes Redis's answer to a (un)subscribe. An answer counting
// one channel is the first channel of a connection: either this node's
// first room (catching it up costs one read of the log, often none, see
// room.load), or go-redis subscribing again on a new connection after
// losing one, with one SUBSCRIBE of every channel, which Redis has done as
// a whole before this first answer. What was published on the channels
// meanwhile is in the log, and the rooms read it after this point.
func (b *redisBus) subscribed(m *redis.Subscription, log *slog.Logger) {
	if m.Kind == "subscribe" {
		b.confirmed(m.Channel)
	}
	prev := b.prevCount
	b.prevCount = m.Count
	if m.Kind != "subscribe" || m.Count != 1 {
		return
	}
	reconnect := prev > 0
	if reconnect {
		log.Info("redis subscription restarted on a new connection: rooms read the log")
	}
	b.hooks.resubscribed(reconnect)
}

// publishLoop publishes the queued messages in order and announces the
// channels that lost some (see redisBus), retrying every second while
// Redis fails.
func (b *redisBus) publishLoop(ctx context.Context, log *slog.Logger) {
	retry := time.NewTimer(time.Hour)
	retry.Stop()
	defer retry.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case m := <-b.out:
			b.send(ctx, b.drain(m), log)
		case <-b.kick:
		case <-retry.C:
		}
		if !b.announceLost(ctx, log) {
			retry.Reset(time.Second)
		}
	}
}

// subscribe subscribes to channel and waits (at most 5 seconds) until
// Redis confirms it: a message published to the channel from then on
// reaches this node. The room announces itself after, and another node's
// answer to that is published to the channel (see room_peers.go); Redis
// may run the announcement, sent on another connection, before a SUBSCRIBE
// it has not confirmed yet.
func (b *redisBus) subscribe(channel string) {
	b.mu.Lock()
	if b.subs[channel]++; b.subs[channel] > 1 {
		b.mu.Unlock()
		return
	}
	done := make(chan struct{})
	b.pending[channel] = done
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := b.ps.Subscribe(ctx, channel) // errors: go-redis subscribes again on its next connection, and the rooms then read the log (subscribed)
	b.mu.Unlock()
	if err == nil {
		select {
		case <-done:
		case <-ctx.Done():
		}
	}
	b.mu.Lock()
	if b.pending[channel] == done {
		delete(b.pending, channel)
	}
	b.mu.Unlock()
}

// confirmed ends the wait of subscribe for channel.
func (b *redisBus) confirmed(channel string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if done := b.pending[channel]; done != nil {
		close(done)
		delete(b.pending, channel)
	}
}

func (b *redisBus) unsubscribe(channel string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.subs[channel]--; b.subs[channel] <= 0 {
		delete(b.subs, channel)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		b.ps.Unsubscribe(ctx, channel)
	}
}

// publish queues msg without waiting. When the queue is full (Redis slow
// or down) msg is dropped and its channel marked, to be announced (see
// redisBus).
func (b *redisBus) publish(ctx context.Context, channel string, msg []byte, log *slog.Logger) {
	select {
	case b.out <- pubMsg{channel, msg}:
	default:
		b.markLost([]pubMsg{{channel, msg}})
		select {
		case b.kick <- struct{}{}:
		default:
		}
	}
}

// markLost marks the channels of messages not published.
func (b *redisBus) markLost(msgs []pubMsg) {
	b.hooks.unpublished(len(msgs))
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, m := range msgs {
		b.lost[m.channel] = true
	}
}

// announceLost publishes busHere(hereCatch) on every marked channel this
// node still subscribes to (a room closed here needs none: its busGone or
// its silence tells the others). It reports false if that failed: the
// channels are marked again.
func (b *redisBus) announceLost(ctx context.Context, log *slog.Logger) bool {
	b.mu.Lock()
	var batch []pubMsg
	for channel := range b.lost {
		if b.subs[channel] > 0 {
			batch = append(batch, pubMsg{channel, encodeBus(busHere, b.node, 0, []byte{hereCatch})})
		}
	}
	clear(b.lost)
	b.mu.Unlock()
	if len(batch) == 0 {
		return true
	}
	return b.send(ctx, batch, log)
}

// maxPipeline caps the messages published in one round trip.
const maxPipeline = 256

// drain returns m and the messages queued behind it (at most maxPipeline).
func (b *redisBus) drain(m pubMsg) []pubMsg {
	batch := []pubMsg{m}
	for len(batch) < maxPipeline {
		select {
		case m := <-b.out:
			batch = append(batch, m)
			continue
		default:
		}
		break
	}
	return batch
}

// send publishes a batch of messages, in order, in one round trip (a
// pipeline): under load the queue fills while a publish is in flight, and
// waiting for Redis's answer to each message in turn would hold back every
// one behind it. A failed batch marks its channels (markLost) and reports
// false; failures are logged at most once a minute.
func (b *redisBus) send(ctx context.Context, batch []pubMsg, log *slog.Logger) bool {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	var err error
	if len(batch) == 1 {
		err = b.client.Publish(ctx, batch[0].channel, batch[0].msg).Err()
	} else {
		_, err = b.client.Pipelined(ctx, func(p redis.Pipeliner) error {
			for _, m := range batch {
				p.Publish(ctx, m.channel, m.msg)
			}
			return nil
		})
	}
	if err == nil {
		return true
	}
	if errors.Is(err, context.Canceled) {
		return false // shutting down
	}
	b.markLost(batch)
	b.mu.Lock()
	quiet := time.Since(b.lastErr) < time.Minute
	if !quiet {
		b.lastErr = time.Now()
	}
	b.mu.Unlock()
	if !quiet {
		log.Warn("publish to redis", "err", err)
	}
	return false
}

// close ends the subscription; the client is its owner's to close.
func (b *redisBus) close() { b.ps.Close() }
