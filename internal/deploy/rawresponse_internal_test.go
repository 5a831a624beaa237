package deploy

import (
	"bufio"
	"bytes"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"
)

// readRaw reads one response (head and body) from b as the raw path does.
func readRaw(b []byte, method string) (r *rawResponse, body []byte, ok bool) {
	br := bufio.NewReaderSize(bytes.NewReader(b), 4<<10)
	head, err := readHeadLines(br, nil, maxResponseHeader)
	if err != nil {
		return nil, nil, false
	}
	r = &rawResponse{}
	if !parseRawResponse(head, method, r) {
		return nil, nil, false
	}
	if r.code < 200 {
		return r, nil, true
	}
	r.body.start(br, r)
	body, err = io.ReadAll(&r.body)
	return r, body, err == nil
}

func fieldsOf(r *rawResponse) string {
	var s []string
	for _, f := range r.fields {
		s = append(s, string(f.name)+"="+string(f.value))
	}
	return strings.Join(s, ";")
}

// TestParseRawResponse: the app's fields in its order, hop-by-hop ones
// (and those Connection names) removed, the framing of each kind of
// response; and every shape the parser is unsure of refused.
func TestParseRawResponse(t *testing.T) {
	ok := []struct {
		in, method, fields, body string
		length                   int64
		chunked, close, noBody   bool
	}{
		{"HTTP/1.1 200 OK\r\nX-B: 1\r\nx-a: 2\r\nContent-Length: 2\r\nX-B: 3\r\n\r\nhi", "GET", "X-B=1;x-a=2;Content-Length=2;X-B=3", "hi", 2, false, false, false},
		{"HTTP/1.1 200 OK\r\nConnection: keep-alive, X-Secret\r\nX-Secret: s\r\nKeep-Alive: timeout=5\r\nProxy-Authenticate: x\r\nUpgrade: y\r\nContent-Length: 0\r\nX-Kept:  v \t\r\n\r\n",
			"GET", "Content-Length=0;X-Kept=v", "", 0, false, false, false},
		{"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc", "GET", "Content-Length=3", "abc", 3, false, false, false},
		{"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum\r\n\r\n3\r\nabc\r\n0\r\nX-Sum: 1\r\n\r\n", "GET", "", "abc", -1, true, false, false},
		{"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nto the end", "GET", "Content-Type=text/plain", "to the end", -1, false, true, false},
		{"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n", "HEAD", "Content-Length=10", "", 10, false, false, true},
		{"HTTP/1.1 204 No Content\r\n\r\n", "GET", "", "", -1, false, false, true},
		{"HTTP/1.1 304 Not Modified\r\nEtag: \"x\"\r\n\r\n", "GET", "Etag=\"x\"", "", -1, false, false, true},
		{"HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n", "GET", "Link=</a.css>; rel=preload", "", -1, false, false, true},
		{"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\nx", "GET", "Content-Length=1", "x", 1, false, true, false},
		{"HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nx", "GET", "Content-Length=1", "x", 1, false, true, false},
		{"HTTP/1.1 200\r\nX: caf\xc3\xa9\r\nContent-Length: 0\r\n\r\n", "GET", "X=caf\xc3\xa9;Content-Length=0", "", 0, false, false, false},
	}
	for _, c := range ok {
		r, body, good := readRaw([]byte(c.in), c.method)
		if !good {
			t.Errorf("refused %q", c.in)
			continue
		}
		if got := fieldsOf(r); got != c.fields || string(body) != c.body || r.length != c.length || r.chunked != c.chunked ||
			r.close != c.close || r.noBody != c.noBody {
			t.Errorf("%q: fields %q body %q length %d chunked %v close %v noBody %v", c.in, got, body, r.length, r.chunked, r.close, r.noBody)
		}
	}
	r, _, _ := readRaw([]byte(ok[3].in), "GET")
	if len(r.trailers) != 1 || string(r.trailers[0].name) != "X-Sum" || len(r.trailer) != 1 {
		t.Errorf("trailers %q, announced %q", r.trailers, r.trailer)
	}

	bad := []string{
		"HTTP/1.1 200 OK\r\nX: a\r\n b\r\nContent-Length: 0\r\n\r\n",                          // obs-fold
		"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", // both
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 1\r\n\r\n0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", // differing lengths
		"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 01\r\n\r\na",
		"HTTP/1.1 200 OK\r\nContent-Length: 1, 1\r\n\r\na",
		"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n",
		"HTTP/1.1 200 OK\r\nX: a\rb\r\nContent-Length: 0\r\n\r\n", // bare CR
		"HTTP/1.1 200 O\rK\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n", // bare LF
		"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
		"HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nConnection: Content-Length\r\nContent-Length: 1\r\n\r\na",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: Content-Length\r\n\r\n0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nX Y: 1\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nX : 1\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nX: \x00\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.1 2000 OK\r\n\r\n", "HTTP/1.1 099 x\r\n\r\n", "HTTP/1.1 600 x\r\n\r\n", "HTTP/1.1  200 OK\r\n\r\n",
		"HTTP/2.0 200 OK\r\n\r\n", "HTTP/1.1 20x OK\r\n\r\n", "\r\nHTTP/1.1 200 OK\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nabc",                                          // cut short
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nX: a\r\n b\r\n\r\n", // folded trailer
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nz\r\nabc\r\n0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n",                                     // no blank line
		"HTTP/1.1 200 OK\r\nX: " + strings.Repeat("a", maxResponseHeader) + "\r\n\r\n", // over-long head
	}
	for _, in := range bad {
		if _, _, good := readRaw([]byte(in), "GET"); good {
			t.Errorf("accepted %q", in[:min(len(in), 120)])
		}
	}
}

// FuzzRawResponse checks the raw path's response parser against
// net/http's: whatever the raw parser accepts, net/http accepts too with
// the same status, framing, header values and body (and trailers).
func FuzzRawResponse(f *testing.F) {
	for _, s := range []string{
		"HTTP/1.1 200 OK\r\nX-B: 1\r\nx-a: 2\r\nContent-Length: 2\r\n\r\nhi",
		"HTTP/1.1 200 OK\r\nConnection: X-Secret, close\r\nX-Secret: s\r\nKeep-Alive: 5\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum, X-B\r\n\r\n3\r\nabc\r\n0\r\nX-Sum: 1\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nto the end",
		"HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nx", "HTTP/1.1 304 Not Modified\r\nContent-Length: 7\r\n\r\n",
		"HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n", "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx",
		"HTTP/1.1 200 OK\r\nX: a\r\n b\r\nContent-Length: 0\r\n\r\n",
	} {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
	f.Fuzz(func(t *testing.T, b []byte, head bool) {
		method := "GET"
		if head {
			method = "HEAD"
		}
		r, body, ok := readRaw(b, method)
		if !ok {
			return
		}
		res, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(b)), &http.Request{Method: method})
		if err != nil {
			t.Fatalf("net/http refuses %q: %v", b, err)
		}
		if res.StatusCode != r.code {
			t.Fatalf("%q: status %d, raw %d", b, res.StatusCode, r.code)
		}
		chunked := len(res.TransferEncoding) > 0
		if chunked != r.chunked || !r.noBody && !chunked && res.ContentLength != r.length || r.noBody && res.Body != http.NoBody ||
			res.Close && !r.close {
			t.Fatalf("%q: net/http chunked %v length %d close %v no body %v; raw %+v", b, chunked, res.ContentLength, res.Close, res.Body == http.NoBody, r)
		}
		removeHopHeaders(res.Header)
		for _, t := range r.conn { // net/http drops a Connection field saying close before they are looked at
			res.Header.Del(string(t))
		}
		mine := http.Header{}
		for _, f := range r.fields {
			mine.Add(string(f.name), string(f.value))
		}
		if !maps.EqualFunc(mine, res.Header, slices.Equal) {
			t.Fatalf("%q: net/http's header %q, raw %q", b, res.Header, mine)
		}
		if r.code < 200 {
			return
		}
		theirs, err := io.ReadAll(res.Body)
		if err != nil || !bytes.Equal(theirs, body) {
			t.Fatalf("%q: net/http's body %q (%v), raw %q", b, theirs, err, body)
		}
		trailers := http.Header{}
		for _, f := range r.trailers {
			trailers.Add(string(f.name), string(f.value))
		}
		maps.DeleteFunc(res.Trailer, func(_ string, vs []string) bool { return vs == nil })
		if len(res.Trailer) > 0 || len(trailers) > 0 {
			if !maps.EqualFunc(trailers, res.Trailer, slices.Equal) {
				t.Fatalf("%q: net/http's trailers %q, raw %q", b, res.Trailer, trailers)
			}
		}
	})
}
