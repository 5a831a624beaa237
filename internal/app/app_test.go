package app

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"ecode/internal/client"
	"ecode/internal/config"
	"ecode/internal/sandbox"
	"ecode/internal/store"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestCommands(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	e := env(map[string]string{"ECODE_DATA_DIR": dir})
	var out bytes.Buffer
	if err := Main(ctx, []string{"version"}, e, &out, io.Discard); err != nil || !strings.HasPrefix(out.String(), "ecode ") {
		t.Fatalf("version: %q, %v", out.String(), err)
	}
	out.Reset()
	if err := Main(ctx, []string{"migrate"}, e, &out, io.Discard); err != nil || !strings.Contains(out.String(), "schema at version") {
		t.Fatalf("migrate: %q, %v", out.String(), err)
	}
	out.Reset()
	if err := Main(ctx, []string{"config", "--database-url", "postgres://u:pw@h/db"}, e, &out, io.Discard); err != nil ||
		strings.Contains(out.String(), "pw@") || !strings.Contains(out.String(), "ECODE_DATA_DIR="+dir) {
		t.Fatalf("config: %q, %v", out.String(), err)
	}
	out.Reset()
	if err := Main(ctx, []string{"nodes"}, e, &out, io.Discard); err != nil || !strings.Contains(out.String(), "no nodes") {
		t.Fatalf("nodes on a single server: %q, %v", out.String(), err)
	}
	if err := Main(ctx, []string{"nodes", "drain", "ghost"}, e, io.Discard, io.Discard); err == nil || !strings.Contains(err.Error(), `no node "ghost"`) {
		t.Fatalf("drain an unknown node: %v", err)
	}
	if err := Main(ctx, []string{"token", "create", "--email", "nobody@example.test"}, e, io.Discard, io.Discard); err == nil {
		t.Fatal("token for a missing account")
	}
	if err := Main(ctx, []string{"frobnicate"}, e, io.Discard, io.Discard); err == nil || !strings.Contains(err.Error(), "unknown command") {
		t.Fatalf("unknown command: %v", err)
	}
}

// TestServeAndTokenCommand starts the real server, signs up through the
// API, prints a token with the CLI and uses it.
func TestServeAndTokenCommand(t *testing.T) {
	dir := t.TempDir()
	cfg, err := config.Load("test", []string{"--addr", "127.0.0.1:0", "--https-addr", "127.0.0.1:0", "--data-dir", dir, "--project-disk", "0"}, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ready, done := make(chan string, 1), make(chan error, 1)
	go func() { done <- Serve(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), ready) }()
	var addr string
	select {
	case addr = <-ready:
	case err := <-done:
		t.Fatal(err)
	}
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	}()
	c := client.New("http://" + addr)
	if _, err := c.Signup(ctx, "ada@example.test", "correct horse battery", "Ada"); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := Main(ctx, []string{"token", "create", "--email", "ADA@example.test", "--data-dir", dir}, env(nil), &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	bot := client.New("http://" + addr)
	bot.Token = strings.TrimSpace(out.String())
	if me, err := bot.Me(ctx); err != nil || me.Email != "ada@example.test" {
		t.Fatalf("CLI token: %+v, %v", me, err)
	}
	resp, err := http.Get("http://" + addr + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("readyz: %s", resp.Status)
	}
}

func TestBannersForUnsafeModes(t *testing.T) {
	cfg, err := config.Load("test", []string{"--sandbox", "none", "--dev-login"}, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	opts := apiOptions(cfg, nil, nil)
	all := strings.Join(opts.Banners, "\n")
	if !strings.Contains(all, "unsandboxed") || !strings.Contains(all, "Development login") {
		t.Errorf("banners = %q", opts.Banners)
	}
	if sb, err := newSandbox(cfg, nil, nil, slog.New(slog.DiscardHandler)); err != nil || !isNone(sb) {
		t.Error("--sandbox=none did not select the None runner")
	}
}

// ecode nodes lists the registered nodes with their state and drains one.
func TestNodesCommand(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	e := env(map[string]string{"ECODE_DATA_DIR": dir})
	if err := Main(ctx, []string{"migrate"}, e, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load("test", nil, e)
	if err != nil {
		t.Fatal(err)
	}
	st, err := openCurrent(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if err := st.RegisterNode(ctx, store.Node{ID: "n1", Address: "http://10.0.0.1:7071", StartedAt: now, HeartbeatAt: now, ExpiresAt: now.Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	st.Close()
	var out bytes.Buffer
	if err := Main(ctx, []string{"nodes", "drain", "n1"}, e, &out, io.Discard); err != nil || !strings.Contains(out.String(), "n1 is draining") {
		t.Fatalf("drain: %q, %v", out.String(), err)
	}
	out.Reset()
	if err := Main(ctx, []string{"nodes", "list"}, e, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 || !strings.Contains(lines[1], "http://10.0.0.1:7071") || !strings.Contains(lines[1], "draining") || !strings.Contains(lines[1], "true") {
		t.Fatalf("nodes list:\n%s", out.String())
	}
}

func isNone(r sandbox.Runner) bool { _, ok := r.(*sandbox.NoneRunner); return ok }
