package countwriter_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ecode/internal/countwriter"
)

// serve runs h behind a Writer on a real server and returns what the
// Writer kept and the body the client received.
func serve(t *testing.T, h func(w http.ResponseWriter, r *http.Request)) (*countwriter.Writer, string) {
	t.Helper()
	kept := make(chan *countwriter.Writer, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cw := &countwriter.Writer{ResponseWriter: w}
		h(cw, r)
		kept <- cw
	}))
	defer srv.Close()
	res, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	return <-kept, string(body)
}

func TestKeepsTheFinalStatusNotAnEarlyHint(t *testing.T) {
	cw, body := serve(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", "</app.css>; rel=preload")
		w.WriteHeader(http.StatusEarlyHints)
		w.WriteHeader(http.StatusTeapot)
		io.WriteString(w, "short and stout")
	})
	if cw.Status != http.StatusTeapot || cw.Bytes != int64(len(body)) || body != "short and stout" {
		t.Fatalf("kept status %d, %d bytes; client got %q", cw.Status, cw.Bytes, body)
	}
}

func TestImplicitOKAndFileBodiesCounted(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f.txt")
	content := strings.Repeat("sendfile ", 4096)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	cw, body := serve(t, func(w http.ResponseWriter, r *http.Request) {
		f, err := os.Open(path)
		if err != nil {
			t.Error(err)
			return
		}
		defer f.Close()
		if _, err := io.Copy(w, f); err != nil { // goes through ReadFrom
			t.Error(err)
		}
	})
	if cw.Status != http.StatusOK || cw.Bytes != int64(len(content)) || body != content {
		t.Fatalf("kept status %d, %d bytes; client got %d bytes", cw.Status, cw.Bytes, len(body))
	}
}

func TestFlushReachesTheClient(t *testing.T) {
	flushed := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cw := &countwriter.Writer{ResponseWriter: w}
		io.WriteString(cw, "first\n")
		cw.Flush()
		<-flushed // the client read "first" before the handler returned
	}))
	defer srv.Close()
	defer close(flushed)                              // (first) the handler returns, whatever the test saw
	client := &http.Client{Timeout: 10 * time.Second} // without the flush the read waits for this
	res, err := client.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	buf := make([]byte, 6)
	if _, err := io.ReadFull(res.Body, buf); err != nil || string(buf) != "first\n" {
		t.Fatalf("read %q, %v", buf, err)
	}
}

// TestAbandonReachesTheWritersUnder: a status recorded for a response never
// written reaches the Writer under the one it is recorded on (the access
// log's under the router's), writes nothing, and keeps a status already
// sent.
func TestAbandonReachesTheWritersUnder(t *testing.T) {
	rec := httptest.NewRecorder()
	outer := &countwriter.Writer{ResponseWriter: rec}
	inner := &countwriter.Writer{ResponseWriter: outer}
	inner.Abandon(499)
	if outer.Status != 499 || inner.Status != 499 || rec.Body.Len() != 0 || rec.Flushed {
		t.Fatalf("statuses %d %d, body %q", outer.Status, inner.Status, rec.Body)
	}
	sent := &countwriter.Writer{ResponseWriter: httptest.NewRecorder()}
	sent.WriteHeader(http.StatusOK)
	sent.Abandon(499)
	if sent.Status != http.StatusOK {
		t.Fatalf("a sent status became %d", sent.Status)
	}
}
