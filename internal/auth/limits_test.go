package auth

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestBackoff(t *testing.T) {
	now := time.Unix(0, 0)
	b := NewBackoff(func() time.Time { return now }, 2, time.Second, 4*time.Second)
	for i := range 2 {
		if ok, _ := b.Begin("k"); !ok {
			t.Fatalf("free attempt %d refused", i)
		}
	}
	// The third attempt is allowed but sets a wait of 1 s, then 2 s, then 4 s (the most).
	for _, wait := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 4 * time.Second} {
		if ok, _ := b.Begin("k"); !ok {
			t.Fatal("attempt after the wait refused")
		}
		ok, got := b.Begin("k")
		if ok || got != wait {
			t.Fatalf("attempt during the wait: %v, wait %v; want refused, %v", ok, got, wait)
		}
		now = now.Add(wait)
	}
	b.Reset("k")
	if ok, _ := b.Begin("k"); !ok {
		t.Error("reset did not clear the key")
	}
}

func TestLoginLimitsOwnerNotLockedOut(t *testing.T) {
	now := time.Unix(0, 0)
	l := newLoginLimits(func() time.Time { return now })
	refused := 0
	for range 50 {
		if ok, _ := l.begin("198.51.100.7", "owner@example.test"); !ok {
			refused++
		}
	}
	if refused < 40 {
		t.Fatalf("attacker refused only %d of 50 attempts", refused)
	}
	if ok, _ := l.begin("203.0.113.9", "owner@example.test"); !ok {
		t.Fatal("owner from another address refused")
	}
	l.succeeded("203.0.113.9", "owner@example.test")
	// Many addresses guessing one account hit the account's loose ceiling…
	hit := false
	for i := range 300 {
		if ok, _ := l.begin(string(rune('a'+i%26))+string(rune('a'+i/26)), "victim@example.test"); !ok {
			hit = true
			break
		}
	}
	if !hit {
		t.Error("no ceiling per account")
	}
	// …which the owner's successful sign-in resets.
	l.succeeded("203.0.113.9", "victim@example.test")
	if ok, _ := l.begin("203.0.113.9", "victim@example.test"); !ok {
		t.Error("account ceiling not reset by a success")
	}
}

func TestHashPoolBusy(t *testing.T) {
	p := newHashPool(1, time.Millisecond)
	hold, release := make(chan struct{}), make(chan struct{})
	go p.do(context.Background(), func() { close(hold); <-release })
	<-hold
	if _, err := p.hash(context.Background(), "x"); !errors.Is(err, ErrBusy) {
		t.Fatalf("hash with the only slot taken: %v, want ErrBusy", err)
	}
	close(release)
	p2 := newHashPool(1, time.Minute)
	if h, err := p2.hash(context.Background(), "correct horse"); err != nil {
		t.Fatal(err)
	} else if ok, err := p2.check(context.Background(), h, "correct horse"); !ok || err != nil {
		t.Fatalf("check: %v %v", ok, err)
	}
}

func TestPasswordProblem(t *testing.T) {
	for pw, bad := range map[string]bool{
		"short":                   true,
		"password":                true,
		"password123":             true,
		"Password123":             true,
		"qwertyuiop":              true,
		"1234567890":              true,
		"iloveyou123":             true,
		"correct horse battery":   false,
		"ann-password":            false,
		"tr0ub4dor&3-staple":      false,
		string(make([]byte, 300)): true,
	} {
		if got := PasswordProblem(pw) != ""; got != bad {
			t.Errorf("PasswordProblem(%q) refused=%v, want %v", pw, got, bad)
		}
	}
}
