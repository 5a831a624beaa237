package api_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/cookiejar"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"ecode/internal/auth"
	"ecode/internal/client"
	"ecode/internal/store"
	"ecode/internal/testutil"
)

// clientFrom is a client of srv whose connections come from the loopback
// address src (127.0.0.2, …), as a second machine would.
func clientFrom(srv *testutil.Server, src string) *client.Client {
	c := client.New(srv.URL)
	jar, _ := cookiejar.New(nil)
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}}
	c.HTTP = &http.Client{Jar: jar, Transport: &http.Transport{DialContext: d.DialContext}}
	return c
}

// heapSampler records the largest heap in use until stopped.
func heapSampler() (stop func() uint64) {
	done, out := make(chan struct{}), make(chan uint64)
	go func() {
		var peak uint64
		var ms runtime.MemStats
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapInuse)
			select {
			case <-done:
				out <- peak
				return
			case <-t.C:
			}
		}
	}()
	return func() uint64 { close(done); return <-out }
}

func heapNow() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse
}

// TestSignupFloodKeepsMemoryFlat is the sign-up flood of issue 9: 300
// parallel sign-ups (argon2id takes 19 MiB each). With the per-address
// limit lifted, every one reaches the hashing pool; memory must stay
// bounded and every answer be 201, or 503 with Retry-After, never a 500.
func TestSignupFloodKeepsMemoryFlat(t *testing.T) {
	srv := testutil.NewServer(t, testutil.NewStore(t, store.SQLite))
	srv.Auth.SetLimits(auth.Limits{SignupBurst: 1000, SignupEvery: time.Millisecond})
	srv.User(t, "admin")
	base := heapNow()
	stop := heapSampler()
	const n = 300
	codes := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			_, err := srv.Client().Signup(context.Background(), fmt.Sprintf("flood%d@example.test", i), "correct horse battery", "Flood")
			var e *client.Error
			switch {
			case err == nil:
				codes[i] = 201
			case errors.As(err, &e):
				codes[i] = e.Status
			default:
				t.Errorf("sign-up %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	peak := stop()
	count := map[int]int{}
	for _, c := range codes {
		count[c]++
	}
	growth := int64(peak) - int64(base)
	t.Logf("300 parallel sign-ups: answers %v; heap in use %d MiB before, peak %d MiB (growth %d MiB; unbounded would be ~%d MiB)",
		count, base>>20, peak>>20, growth>>20, n*19)
	if count[201]+count[503] != n {
		t.Errorf("answers %v: want only 201 and 503", count)
	}
	if count[201] == 0 {
		t.Error("no sign-up went through")
	}
	if growth > 200<<20 {
		t.Errorf("heap grew by %d MiB during the flood", growth>>20)
	}
}

func TestSignupRateLimitPerAddress(t *testing.T) {
	ctx := context.Background()
	srv := testutil.NewServer(t, testutil.NewStore(t, store.SQLite))
	srv.Auth.SetLimits(auth.Limits{SignupBurst: 3, SignupEvery: time.Hour})
	for i := range 3 {
		if _, err := srv.Client().Signup(ctx, fmt.Sprintf("u%d@example.test", i), "correct horse battery", "U"); err != nil {
			t.Fatal(err)
		}
	}
	_, err := srv.Client().Signup(ctx, "u3@example.test", "correct horse battery", "U")
	wantStatus(t, err, http.StatusTooManyRequests)
	if _, err := clientFrom(srv, "127.0.0.2").Signup(ctx, "u4@example.test", "correct horse battery", "U"); err != nil {
		t.Fatalf("another address was limited too: %v", err)
	}
	srv.Clock.Advance(time.Hour)
	if _, err := srv.Client().Signup(ctx, "u5@example.test", "correct horse battery", "U"); err != nil {
		t.Fatalf("after the wait: %v", err)
	}
}

// TestSignupHashingPoolBusy: with one hashing slot and almost no wait,
// parallel sign-ups that find the slot taken answer 503 with Retry-After.
func TestSignupHashingPoolBusy(t *testing.T) {
	srv := testutil.NewServer(t, testutil.NewStore(t, store.SQLite))
	srv.Auth.SetLimits(auth.Limits{HashSlots: 1, HashWait: time.Millisecond})
	var mu sync.Mutex
	count := map[int]int{}
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			body := fmt.Sprintf(`{"email":"b%d@example.test","password":"correct horse battery","name":"B"}`, i)
			resp, err := http.Post(srv.URL+"/api/auth/signup", "application/json", strings.NewReader(body))
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			if resp.StatusCode == http.StatusServiceUnavailable && resp.Header.Get("Retry-After") == "" {
				t.Error("503 without Retry-After")
			}
			mu.Lock()
			count[resp.StatusCode]++
			mu.Unlock()
		})
	}
	wg.Wait()
	if count[201] == 0 || count[503] == 0 || count[201]+count[503] != 20 {
		t.Errorf("answers %v: want some 201 and some 503, nothing else", count)
	}
}

// TestLoginLockoutByOtherAddress is the lockout attack of issue 9: an
// attacker's address fails many times for the owner's email; the owner,
// from another address, still signs in with the right password.
func TestLoginLockoutByOtherAddress(t *testing.T) {
	testutil.ForEachEngine(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		srv := testutil.NewServer(t, st)
		srv.User(t, "owner")
		attacker := clientFrom(srv, "127.0.0.2")
		var limited int
		for range 15 {
			_, err := attacker.Login(ctx, "owner@example.test", "not the password")
			var e *client.Error
			if errors.As(err, &e) && e.Status == http.StatusTooManyRequests {
				limited++
			} else if e == nil || e.Status != http.StatusUnauthorized {
				t.Fatalf("attacker's attempt: %v", err)
			}
		}
		if limited == 0 {
			t.Error("the attacker was never slowed down")
		}
		// Even the right password is refused from the attacker's address for now.
		_, err := attacker.Login(ctx, "owner@example.test", "correct horse battery")
		wantStatus(t, err, http.StatusTooManyRequests)
		owner := clientFrom(srv, "127.0.0.3")
		if _, err := owner.Login(ctx, "owner@example.test", "correct horse battery"); err != nil {
			t.Fatalf("the owner, from another address, is locked out: %v", err)
		}
	})
}

// TestLoginRetryAfterTellsTheWait: a refused sign-in says how long the
// backoff really has left, and an attempt after that wait is admitted.
func TestLoginRetryAfterTellsTheWait(t *testing.T) {
	srv := testutil.NewServer(t, testutil.NewStore(t, store.SQLite))
	srv.User(t, "owner")
	attempt := func() *http.Response {
		t.Helper()
		resp, err := http.Post(srv.URL+"/api/auth/login", "application/json",
			strings.NewReader(`{"email":"owner@example.test","password":"wrong"}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	for i := range 6 { // five free attempts, the sixth starts a 1 s backoff
		if r := attempt(); r.StatusCode != http.StatusUnauthorized {
			t.Fatalf("attempt %d: %d", i+1, r.StatusCode)
		}
	}
	for _, want := range []struct {
		advance time.Duration
		retry   string
	}{{0, "1"}, {500 * time.Millisecond, "1"}, {time.Second, "2"}} {
		srv.Clock.Advance(want.advance)
		if want.retry == "2" { // the wait is over: admitted (and failed), the next waits 2 s
			if r := attempt(); r.StatusCode != http.StatusUnauthorized {
				t.Fatalf("after the wait: %d", r.StatusCode)
			}
		}
		r := attempt()
		if r.StatusCode != http.StatusTooManyRequests || r.Header.Get("Retry-After") != want.retry {
			t.Fatalf("after %v: %d Retry-After %q, want 429 %s", want.advance, r.StatusCode, r.Header.Get("Retry-After"), want.retry)
		}
	}
}
