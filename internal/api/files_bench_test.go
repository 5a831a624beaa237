package api_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"ecode/internal/store"
	"ecode/internal/testutil"
)

// BenchmarkReadSmallFile is what bench/filebench's "read small" case
// costs the server per request: an authenticated GET of a 4 KiB project
// file. "handler" calls the whole handler (every middleware) without
// net/http's server; "loopback" sends the request over a kept-alive
// connection (a client that parses nothing it does not need, so allocs/op
// are the server's); "bare" is http.FileServer over the same folder, the
// bench's anchor.
func BenchmarkReadSmallFile(b *testing.B) {
	ctx := context.Background()
	srv := testutil.NewServer(b, testutil.NewStore(b, store.SQLite))
	c := srv.User(b, "ada")
	p, err := c.CreateProject(ctx, "bench", "blank")
	if err != nil {
		b.Fatal(err)
	}
	data := bytes.Repeat([]byte("a"), 4<<10)
	if err := c.WriteFile(ctx, p.ID, "s/0.txt", data); err != nil {
		b.Fatal(err)
	}
	base, _ := url.Parse(srv.URL)
	cookies := c.HTTP.Jar.Cookies(base)
	if len(cookies) == 0 {
		b.Fatal("no session cookie after sign-up")
	}
	path := "/api/projects/" + p.ID + "/files/s/0.txt"

	b.Run("handler", func(b *testing.B) {
		h := srv.Handler()
		r := httptest.NewRequest("GET", path, nil)
		r.Host = base.Host
		r.RemoteAddr = "127.0.0.1:40000"
		for _, ck := range cookies {
			r.AddCookie(ck)
		}
		w := &discardWriter{h: http.Header{}}
		b.ReportAllocs()
		defer reportCPU(b)()
		for b.Loop() {
			clear(w.h)
			w.status = 0
			h.ServeHTTP(w, r)
			if w.status != http.StatusOK {
				b.Fatalf("status %d", w.status)
			}
		}
	})
	req := "GET " + path + " HTTP/1.1\r\nHost: " + base.Host + "\r\nUser-Agent: Go-http-client/1.1\r\n" +
		"Cookie: " + cookies[0].Name + "=" + cookies[0].Value + "\r\nAccept-Encoding: gzip\r\n\r\n"
	b.Run("loopback", func(b *testing.B) { benchLoopback(b, base.Host, req, len(data)) })

	bare := httptest.NewServer(http.FileServer(http.Dir(filepath.Join(srv.Dir, "projects", p.ID, "files"))))
	defer bare.Close()
	bareHost := strings.TrimPrefix(bare.URL, "http://")
	b.Run("bare", func(b *testing.B) {
		benchLoopback(b, bareHost, "GET /s/0.txt HTTP/1.1\r\nHost: "+bareHost+
			"\r\nUser-Agent: Go-http-client/1.1\r\nAccept-Encoding: gzip\r\n\r\n", len(data))
	})
}

// benchLoopback sends req over one kept-alive connection to addr b.N
// times and checks that each answer is a 200 with a body of size bytes.
func benchLoopback(b *testing.B, addr, req string, size int) {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	br := bufio.NewReaderSize(conn, 16<<10)
	body := make([]byte, size)
	b.ReportAllocs()
	defer reportCPU(b)()
	for b.Loop() {
		if _, err := io.WriteString(conn, req); err != nil {
			b.Fatal(err)
		}
		n, err := readResponseHead(br)
		if err != nil {
			b.Fatal(err)
		}
		if n != size {
			b.Fatalf("Content-Length %d, want %d", n, size)
		}
		if _, err := io.ReadFull(br, body); err != nil {
			b.Fatal(err)
		}
	}
}

// readResponseHead reads a response's head and returns its Content-Length;
// anything but a 200 is an error.
func readResponseHead(br *bufio.Reader) (int, error) {
	line, err := br.ReadSlice('\n')
	if err != nil {
		return 0, err
	}
	if !bytes.HasPrefix(line, []byte("HTTP/1.1 200 ")) {
		return 0, fmt.Errorf("status line %q", line)
	}
	n := -1
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			return 0, err
		}
		if len(line) <= 2 {
			return n, nil
		}
		if v, ok := bytes.CutPrefix(line, []byte("Content-Length: ")); ok {
			n, _ = strconv.Atoi(string(bytes.TrimSpace(v)))
		}
	}
}

// discardWriter is a ResponseWriter that keeps the status and drops the body.
type discardWriter struct {
	h      http.Header
	status int
}

func (w *discardWriter) Header() http.Header { return w.h }

func (w *discardWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
}

func (w *discardWriter) Write(p []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return len(p), nil
}

// reportCPU reports the process's CPU time (user and system, both ends of
// a loopback connection) per operation when the returned func runs: on a
// shared machine a steadier measure than ns/op.
func reportCPU(b *testing.B) func() {
	start := cpuTime()
	return func() { b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op") }
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
