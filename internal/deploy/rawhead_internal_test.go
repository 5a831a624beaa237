package deploy

import (
	"bufio"
	"bytes"
	"net/http"
	"strings"
	"testing"
)

const okHead = "GET /a/b?c=d HTTP/1.1\r\nHost: x.apps.localhost:8080\r\nAccept-Encoding: gzip, br\r\nConnection: keep-alive, X-Hop\r\nX-Hop: 1\r\nTE: trailers\r\n\r\n"

// TestParseRawHead: a plain head is parsed (target, host, fields, the
// Connection tokens); request smuggling shapes and anything unusual are
// left to net/http.
func TestParseRawHead(t *testing.T) {
	var h rawHead
	if !parseRawHead([]byte(okHead), &h) {
		t.Fatal("refused a plain head")
	}
	if h.method != "GET" || string(h.target) != "/a/b?c=d" || string(h.host) != "x.apps.localhost:8080" || h.close || !h.trailers || h.n != 4 {
		t.Fatalf("parsed %+v", h)
	}
	var kept []string
	for _, f := range h.fields[:h.n] {
		if h.forwarded(f) {
			kept = append(kept, string(f.name)+"="+string(f.value))
		}
	}
	if strings.Join(kept, ";") != "Accept-Encoding=gzip, br" {
		t.Fatalf("forwarded %v", kept)
	}
	if !parseRawHead([]byte("HEAD / HTTP/1.1\r\nhost: a\r\nconnection: Close\r\n\r\n"), &h) || !h.close || h.method != "HEAD" {
		t.Fatalf("HEAD with close: %+v", h)
	}
	for _, bad := range []string{
		"POST / HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET / HTTP/1.0\r\nHost: a\r\n\r\n",
		"GET / HTTP/1.1\r\n\r\n",                                 // no Host
		"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",           // two
		"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n", // a body
		"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n", // even none
		"GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n",
		"GET / HTTP/1.1\nHost: a\r\n\r\n",                 // bare LF
		"GET / HTTP/1.1\r\nHost: a\n\r\n",                 // bare LF
		"GET / HTTP/1.1\r\nHost: a\r\n\n\r\n\r\n",         // an early end for a lenient parser
		"GET / HTTP/1.1\r\nHost : a\r\n\r\n",              // space before the colon
		"GET / HTTP/1.1\r\nHost: a\r\nX: a\x00b\r\n\r\n",  // NUL
		"GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n",    // bare CR
		"GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n", // folded
		"GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a\r\nCookie: ecode_session=x\r\n\r\n",
		"GET http://a/ HTTP/1.1\r\nHost: a\r\n\r\n", // absolute form
		"GET /a b HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET /%zz HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET /\xff HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a\r\nX: \xe9\r\n\r\n", // obs-text
		"GET / HTTP/1.1\r\nHost: a@b\r\n\r\n",
		"GET  / HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET / HTTP/1.1 \r\nHost: a\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", // more than one head
		"GET / HTTP/1.1\r\nHost: a\r\n" + strings.Repeat("X-A: 1\r\n", maxRawFields+1) + "\r\n",
	} {
		if parseRawHead([]byte(bad), &h) {
			t.Errorf("accepted %q", bad)
		}
	}
}

// FuzzRawRequestHead: whatever the raw parser accepts, net/http's server
// parser accepts as the same request: method, target, host, no body,
// keep-alive, the same header fields, and the same end of the head.
func FuzzRawRequestHead(f *testing.F) {
	for _, s := range []string{okHead, "HEAD / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\nTransfer-Encoding: chunked\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a\r\n\n\r\n\r\n", "GET / HTTP/1.1\r\nHost: a\r\nX:\t b \r\n\r\n",
		"GET /?a=%41;b HTTP/1.1\r\nHost: a\r\nCookie: a=b; c=d\r\n\r\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var h rawHead
		if !parseRawHead(b, &h) {
			return
		}
		br := bufio.NewReader(bytes.NewReader(b))
		req, err := http.ReadRequest(br)
		if err != nil {
			t.Fatalf("net/http refuses %q: %v", b, err)
		}
		if br.Buffered() != 0 {
			t.Fatalf("net/http's head of %q ends before the raw parser's", b)
		}
		if req.Method != h.method || req.RequestURI != string(h.target) || req.Host != string(h.host) ||
			req.ContentLength != 0 || len(req.TransferEncoding) != 0 || req.ProtoMinor != 1 || req.Close != h.close {
			t.Fatalf("%q: net/http read %s %s host %q length %d TE %v close %v; raw %+v", b, req.Method, req.RequestURI, req.Host,
				req.ContentLength, req.TransferEncoding, req.Close, h)
		}
		n := 0
		for k, vs := range req.Header {
			if k != "Host" {
				n += len(vs)
			}
		}
		if n != h.n {
			t.Fatalf("%q: net/http read %d header fields, raw %d", b, n, h.n)
		}
		for _, f := range h.fields[:h.n] {
			if !contains(req.Header.Values(string(f.name)), string(f.value)) {
				t.Fatalf("%q: net/http has %s = %q", b, f.name, req.Header.Values(string(f.name)))
			}
		}
	})
}

func contains(vs []string, v string) bool {
	for _, x := range vs {
		if x == v {
			return true
		}
	}
	return false
}
