package collab

import (
	"bytes"
	"context"
	"crypto/rand"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"ecode/internal/testutil/testdb"
)

// TestSubscribeWaitsForConfirmation: what a room publishes after
// subscribing (its busHere(hereAsk)) leaves only once Redis has confirmed
// the subscription, else another node's answer may be published before
// Redis runs the SUBSCRIBE and never reach this one. The client's
// connections are watched: Redis's confirmation is held back until a
// PUBLISH leaves the client, or for a grace period (a bus that publishes
// too early is caught unless it takes longer than that to publish).
func TestSubscribeWaitsForConfirmation(t *testing.T) {
	opt, err := redis.ParseURL(testdb.RedisURL(t))
	if err != nil {
		t.Fatal(err)
	}
	channel := "ecodetest:" + rand.Text() + ":doc"
	w := &busWatch{confirmation: []byte("$9\r\nsubscribe\r\n$" + strconv.Itoa(len(channel)) + "\r\n" + channel), published: make(chan struct{})}
	opt.Dialer = func(ctx context.Context, network, addr string) (net.Conn, error) {
		var d net.Dialer
		c, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return &watchedConn{Conn: c, w: w}, nil
	}
	client := redis.NewClient(opt)
	t.Cleanup(func() { client.Close() })

	b := newRedisBus(client, "node-test", busHooks{deliver: func(string, []byte) {}, resubscribed: func(bool) {}, unpublished: func(int) {}})
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		b.run(ctx, slog.New(slog.DiscardHandler))
	}()
	t.Cleanup(func() {
		cancel()
		b.close()
		<-stopped
	})

	b.subscribe(channel)
	b.publish(ctx, channel, []byte("here"), slog.New(slog.DiscardHandler))
	select {
	case <-w.published:
	case <-time.After(30 * time.Second):
		t.Fatal("nothing published within 30 seconds")
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.events) == 0 || w.events[0] != "confirmed" {
		t.Errorf("events %q: published before Redis confirmed the subscription", w.events)
	}
}

// confirmationGrace is how long a watched connection holds back the
// confirmation of a SUBSCRIBE while no PUBLISH has left the client.
const confirmationGrace = time.Second

// busWatch records, in order, the first PUBLISH leaving the client and
// the confirmation of one SUBSCRIBE reaching it.
type busWatch struct {
	confirmation []byte // the confirmation's bytes (RESP)
	published    chan struct{}
	once         sync.Once

	mu     sync.Mutex
	events []string
}

func (w *busWatch) record(event string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.events = append(w.events, event)
}

type watchedConn struct {
	net.Conn
	w *busWatch
}

func (c *watchedConn) Write(p []byte) (int, error) {
	if bytes.Contains(bytes.ToLower(p), []byte("\r\npublish\r\n")) {
		c.w.once.Do(func() {
			c.w.record("published")
			close(c.w.published)
		})
	}
	return c.Conn.Write(p)
}

func (c *watchedConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if bytes.Contains(p[:n], c.w.confirmation) {
		select {
		case <-c.w.published:
		case <-time.After(confirmationGrace):
		}
		c.w.record("confirmed")
	}
	return n, err
}
