package auth

import (
	"context"
	"errors"
	"runtime"
	"time"
)

// ErrBusy means every password-hashing slot stayed taken for the whole
// wait: the caller should answer 503 and ask the client to retry.
var ErrBusy = errors.New("the server is busy; try again in a few seconds")

// hashPool bounds how many argon2id computations (19 MiB each) run at once,
// so a flood of sign-ups or sign-ins keeps memory flat: a request waits a
// short while for a slot, then gives up with ErrBusy.
type hashPool struct {
	slots chan struct{}
	wait  time.Duration
}

func newHashPool(size int, wait time.Duration) *hashPool {
	if size <= 0 {
		size = max(2, runtime.NumCPU())
	}
	return &hashPool{slots: make(chan struct{}, size), wait: wait}
}

// do runs fn in a slot.
func (p *hashPool) do(ctx context.Context, fn func()) error {
	t := time.NewTimer(p.wait)
	defer t.Stop()
	select {
	case p.slots <- struct{}{}:
	case <-t.C:
		return ErrBusy
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-p.slots }()
	fn()
	return nil
}

// hash is HashPassword in a slot.
func (p *hashPool) hash(ctx context.Context, password string) (h string, err error) {
	if perr := p.do(ctx, func() { h, err = HashPassword(password) }); perr != nil {
		return "", perr
	}
	return h, err
}

// check is CheckPassword in a slot.
func (p *hashPool) check(ctx context.Context, encoded, password string) (ok bool, err error) {
	if perr := p.do(ctx, func() { ok, err = CheckPassword(encoded, password) }); perr != nil {
		return false, perr
	}
	return ok, err
}
