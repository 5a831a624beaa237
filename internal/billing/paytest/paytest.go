// Package paytest runs what Stripe tests talk to on loopback:
// stripe-mock (github.com/stripe/stripe-mock, Stripe's own mock of its API)
// behind a recording proxy that counts requests by idempotency key, and
// signs webhook payloads the way Stripe does.
package paytest

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v82/webhook"

	"ecode/internal/testutil/testdb"
)

// Binary finds stripe-mock on PATH or in $(go env GOPATH)/bin. It fails
// the test in CI (CI=true) when missing, else skips it saying why.
func Binary(t testing.TB) string {
	t.Helper()
	return testdb.Command(t, "stripe-mock", "go install github.com/stripe/stripe-mock@v0.203.0")
}

// Mock is stripe-mock behind a recording proxy.
type Mock struct {
	URL string // the proxy's: give it as the Stripe API URL

	mu   sync.Mutex
	reqs []Request
	// Hold, when set, is called with each request after stripe-mock has
	// answered it and before the answer goes back: a test can stall the
	// answer there (a process that dies after Stripe got the request).
	Hold func(r Request)
	// Refuse, when set, answers the requests it holds true for with
	// Stripe's 400 instead of forwarding them.
	Refuse func(r Request) bool
}

// Request is one request the proxy forwarded.
type Request struct {
	Method, Path, IdempotencyKey string
	Form                         url.Values
}

// Start runs stripe-mock on a free loopback port and the proxy in front
// of it; both stop at the end of the test.
func Start(t testing.TB) *Mock {
	t.Helper()
	bin := Binary(t)
	ctx, cancel := context.WithCancel(context.Background())
	// Both listeners on free ports: stripe-mock also serves HTTPS, by
	// default on a fixed port two mocks could not share.
	cmd := exec.CommandContext(ctx, bin, "-http-addr", "127.0.0.1:", "-https-addr", "127.0.0.1:")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); cmd.Wait() })
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if testing.Verbose() {
				fmt.Fprintln(os.Stderr, "stripe-mock:", sc.Text())
			}
			if a, ok := strings.CutPrefix(sc.Text(), "Listening for HTTP at address: "); ok {
				addr <- a
			}
		}
		close(addr)
	}()
	var a string
	select {
	case a = <-addr:
	case <-time.After(30 * time.Second):
	}
	if a == "" {
		t.Fatal("stripe-mock did not say where it listens")
	}
	target, _ := url.Parse("http://" + a)
	m := &Mock{}
	rp := httputil.NewSingleHostReverseProxy(target)
	rp.ModifyResponse = func(resp *http.Response) error {
		m.mu.Lock()
		hold := m.Hold
		m.mu.Unlock()
		if hold != nil {
			hold(m.last(resp.Request))
		}
		return nil
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		form, _ := url.ParseQuery(string(body))
		req := Request{Method: r.Method, Path: r.URL.Path, IdempotencyKey: r.Header.Get("Idempotency-Key"), Form: form}
		m.mu.Lock()
		m.reqs = append(m.reqs, req)
		refuse := m.Refuse
		m.mu.Unlock()
		if refuse != nil && refuse(req) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			io.WriteString(w, `{"error":{"type":"invalid_request_error","message":"refused by the test"}}`)
			return
		}
		r.Body = io.NopCloser(strings.NewReader(string(body)))
		r.ContentLength = int64(len(body))
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	m.URL = srv.URL
	return m
}

func (m *Mock) last(r *http.Request) Request {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := len(m.reqs) - 1; i >= 0; i-- {
		if m.reqs[i].Path == r.URL.Path && m.reqs[i].IdempotencyKey == r.Header.Get("Idempotency-Key") {
			return m.reqs[i]
		}
	}
	return Request{Path: r.URL.Path}
}

// SetRefuse sets (or with nil clears) Refuse.
func (m *Mock) SetRefuse(f func(Request) bool) {
	m.mu.Lock()
	m.Refuse = f
	m.mu.Unlock()
}

// SetHold sets (or with nil clears) Hold.
func (m *Mock) SetHold(f func(Request)) {
	m.mu.Lock()
	m.Hold = f
	m.mu.Unlock()
}

// Requests returns the requests forwarded so far to paths with prefix.
func (m *Mock) Requests(prefix string) []Request {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Request
	for _, r := range m.reqs {
		if strings.HasPrefix(r.Path, prefix) {
			out = append(out, r)
		}
	}
	return out
}

// Sign returns the Stripe-Signature header of payload signed with secret now.
func Sign(payload []byte, secret string) string {
	return webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: payload, Secret: secret, Timestamp: time.Now()}).Header
}

// Event is a webhook event's JSON: id, type, created and its object.
func Event(id, typ string, created int64, object string) []byte {
	return fmt.Appendf(nil, `{"id":%q,"object":"event","type":%q,"created":%d,"api_version":"2025-08-27.basil","data":{"object":%s}}`,
		id, typ, created, object)
}
