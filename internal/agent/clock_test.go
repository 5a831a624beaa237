package agent

import (
	"context"
	"sync"
	"time"
)

// FakeClock is a manual clock: Sleep advances it at once (recording the
// total slept), Advance fires due timers.
type FakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*fakeTimer
	Slept  time.Duration
}

// NewFakeClock starts at t.
func NewFakeClock(t time.Time) *FakeClock { return &FakeClock{now: t} }

func (c *FakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

func (c *FakeClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	c.Slept += d
	c.mu.Unlock()
	c.Advance(d)
	return nil
}

// TotalSlept is the sum of all Sleep durations.
func (c *FakeClock) TotalSlept() time.Duration { c.mu.Lock(); defer c.mu.Unlock(); return c.Slept }

// Advance moves the clock and runs timers that fall due.
func (c *FakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	var due []func()
	for _, t := range c.timers {
		if t.active && !t.at.After(c.now) {
			t.active = false
			due = append(due, t.f)
		}
	}
	c.mu.Unlock()
	for _, f := range due {
		f()
	}
}

func (c *FakeClock) AfterFunc(d time.Duration, f func()) Timer {
	c.mu.Lock()
	t := &fakeTimer{c: c, at: c.now.Add(d), f: f, active: true}
	c.timers = append(c.timers, t)
	c.mu.Unlock()
	return t
}

type fakeTimer struct {
	c      *FakeClock
	at     time.Time
	f      func()
	active bool
}

func (t *fakeTimer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	was := t.active
	t.active = false
	return was
}

func (t *fakeTimer) Reset(d time.Duration) bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	was := t.active
	t.active = true
	t.at = t.c.now.Add(d)
	return was
}
