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
type redisBus struct {
	client  *redis.Client
	ps      *redis.PubSub
	deliver func(channel string, msg []byte)

	out chan pubMsg // published in order by run; full: dropped (nodes catch up from the store)

	mu      sync.Mutex
	subs    map[string]int
	pending map[string]chan struct{} // closed when Redis confirms the channel's SUBSCRIBE
	lastErr time.Time
}

type pubMsg struct {
	channel string
	msg     []byte
}

func newRedisBus(c *redis.Client, deliver func(string, []byte)) *redisBus {
	ps := c.Subscribe(context.Background()) // no channel yet: nothing is sent
	return &redisBus{client: c, ps: ps, deliver: deliver, subs: map[string]int{},
		pending: map[string]chan struct{}{}, out: make(chan pubMsg, 8192)}
}

// run publishes queued messages and delivers received ones until ctx ends.
func (b *redisBus) run(ctx context.Context, log *slog.Logger) {
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case m := <-b.out:
				b.send(ctx, b.drain(m), log)
			}
		}
	}()
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
				b.deliver(m.Channel, []byte(m.Payload))
			case *redis.Subscription:
				if m.Kind == "subscribe" {
					b.confirmed(m.Channel)
				}
			}
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
	err := b.ps.Subscribe(ctx, channel) // errors: go-redis resubscribes on reconnect; catch-up covers the gap
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

// publish queues msg without waiting; a message dropped because Redis is
// slow or down only delays other nodes (they catch up from the store).
func (b *redisBus) publish(ctx context.Context, channel string, msg []byte, log *slog.Logger) {
	select {
	case b.out <- pubMsg{channel, msg}:
	default:
	}
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
// one behind it. Failures are logged at most once a minute.
func (b *redisBus) send(ctx context.Context, batch []pubMsg, log *slog.Logger) {
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
	if err != nil && !errors.Is(err, context.Canceled) {
		b.mu.Lock()
		quiet := time.Since(b.lastErr) < time.Minute
		if !quiet {
			b.lastErr = time.Now()
		}
		b.mu.Unlock()
		if !quiet {
			log.Warn("publish to redis", "err", err)
		}
	}
}

// close ends the subscription; the client is its owner's to close.
func (b *redisBus) close() { b.ps.Close() }
