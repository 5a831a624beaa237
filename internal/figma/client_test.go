package figma_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ecode/internal/figma"
	"ecode/internal/figma/figmatest"
)

const fileKey = "TestKey0123456789"

// fakeSleep records the waits asked for, returning at once.
type fakeSleep struct{ waits []time.Duration }

func (s *fakeSleep) sleep(ctx context.Context, d time.Duration) error {
	s.waits = append(s.waits, d)
	return ctx.Err()
}

func newClient(srv *figmatest.Server, token string, sl *fakeSleep) *figma.Client {
	return &figma.Client{BaseURL: srv.URL, Token: token, Sleep: sl.sleep}
}

func TestImportByURLFetchesTheFileAndItsRenders(t *testing.T) {
	srv := figmatest.NewServer(t, "figd_secret-token", map[string]*figma.File{fileKey: figmatest.Document()})
	dir := t.TempDir()
	var notes []string
	res, err := figma.Import(context.Background(), figma.Source{URL: "https://www.figma.com/design/" + fileKey + "/Test?node-id=1-2",
		Client: newClient(srv, "figd_secret-token", &fakeSleep{})}, dir, func(s string) { notes = append(notes, s) })
	if err != nil {
		t.Fatal(err)
	}
	paths := strings.Join(srv.Paths(), "\n")
	for _, want := range []string{"/v1/files/" + fileKey, "/v1/images/" + fileKey + "?format=png&ids=1%3A4&scale=1", "/v1/images/" + fileKey + "?format=svg&ids=1%3A5&scale=1"} {
		if !strings.Contains(paths, want) {
			t.Errorf("no request %s in\n%s", want, paths)
		}
	}
	for _, tok := range srv.Tokens()[:3] {
		if tok != "figd_secret-token" {
			t.Errorf("X-Figma-Token %q", tok)
		}
	}
	png, err := os.ReadFile(filepath.Join(dir, "src/assets/logo-1-4.png"))
	if err != nil || string(png) != string(figmatest.PNG()) {
		t.Errorf("logo render: %v", err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "src/assets/icon-1-5.svg")); err != nil || !strings.Contains(string(b), "<svg") {
		t.Errorf("icon render: %v", err)
	}
	if res.Assets != 2 || len(res.Notes) != 0 {
		t.Errorf("assets %d notes %q", res.Assets, res.Notes)
	}
	if strings.Join(notes, "; ") != "fetching the Figma file; converting the design; fetching 1 png renders; fetching 1 svg renders; writing 16 files" {
		t.Errorf("progress notes %q", notes)
	}
	// The token is in no file written.
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if b, _ := os.ReadFile(p); !d.IsDir() && strings.Contains(string(b), "figd_secret") {
			t.Errorf("%s holds the token", p)
		}
		return nil
	})
}

func TestImportRefusals(t *testing.T) {
	srv := figmatest.NewServer(t, "right-token", map[string]*figma.File{fileKey: figmatest.Document()})
	for _, c := range []struct {
		name, url, token, want string
	}{
		{"wrong token", "https://www.figma.com/file/" + fileKey + "/x", "wrong-token", "Figma refused the access token (HTTP 403)"},
		{"missing file", "https://www.figma.com/file/Missing0123456789/x", "right-token", "Figma has no file with the key Missing0123456789"},
		{"no file key", "https://www.figma.com/files/recent", "right-token", "the URL has no Figma file key"},
		{"no token", "https://www.figma.com/file/" + fileKey + "/x", "", "give a Figma personal access token"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			_, err := figma.Import(context.Background(), figma.Source{URL: c.url, Client: newClient(srv, c.token, &fakeSleep{})}, dir, nil)
			var p *figma.Problem
			if !errors.As(err, &p) || !strings.Contains(p.Msg, c.want) {
				t.Fatalf("got %v, want %q", err, c.want)
			}
			if strings.Contains(p.Msg, "wrong-token") {
				t.Error("the message shows the token")
			}
			if ents, _ := os.ReadDir(dir); len(ents) != 0 {
				t.Errorf("a refused import wrote %d files", len(ents))
			}
		})
	}
}

func TestRateLimitWaitsAsTold(t *testing.T) {
	srv := figmatest.NewServer(t, "tok", map[string]*figma.File{fileKey: figmatest.Document()})
	sl := &fakeSleep{}
	c := newClient(srv, "tok", sl)
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	c.Now = func() time.Time { return now }
	var waited []time.Time
	c.OnWait = func(until time.Time) { waited = append(waited, until) }

	srv.Throttle(2, "7")
	if _, err := c.File(context.Background(), fileKey); err != nil {
		t.Fatal(err)
	}
	if len(sl.waits) != 2 || sl.waits[0] != 7*time.Second || len(waited) != 2 || !waited[0].Equal(now.Add(7*time.Second)) {
		t.Errorf("waits %v, told %v", sl.waits, waited)
	}

	// Without Retry-After: exponential backoff.
	sl.waits = nil
	srv.Throttle(3, "")
	if _, err := c.File(context.Background(), fileKey); err != nil {
		t.Fatal(err)
	}
	if len(sl.waits) != 3 || sl.waits[0] != time.Second || sl.waits[2] != 4*time.Second {
		t.Errorf("backoff %v", sl.waits)
	}

	// A storm: it gives up with a message.
	sl.waits = nil
	srv.Throttle(100, "1")
	_, err := c.File(context.Background(), fileKey)
	if err == nil || !strings.Contains(err.Error(), "too many requests") || len(sl.waits) != 6 {
		t.Errorf("storm: %v after %d waits", err, len(sl.waits))
	}

	// A wait longer than the limit is not waited.
	sl.waits = nil
	srv.Throttle(1, "86400")
	_, err = c.File(context.Background(), fileKey)
	if err == nil || !strings.Contains(err.Error(), "allows the next request only in 24h0m0s") || len(sl.waits) != 0 {
		t.Errorf("long wait: %v after %d waits", err, len(sl.waits))
	}

	// Cancelled while waiting.
	srv.Throttle(1, "5")
	ctx, cancel := context.WithCancel(context.Background())
	c.Sleep = func(ctx context.Context, d time.Duration) error { cancel(); return ctx.Err() }
	if _, err := c.File(ctx, fileKey); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled wait: %v", err)
	}
}

func TestImportFromJSONNeedsNoServer(t *testing.T) {
	doc, _ := jsonOf(figmatest.Document())
	dir := t.TempDir()
	res, err := figma.Import(context.Background(), figma.Source{JSON: doc}, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "src/frames/Landing.tsx")); err != nil {
		t.Error(err)
	}
	if len(res.Notes) != 1 || !strings.Contains(res.Notes[0], "placeholders") {
		t.Errorf("notes %q", res.Notes)
	}
}
