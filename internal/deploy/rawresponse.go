package deploy

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"iter"
	"net/http/httputil"
)

// The raw path reads the app's responses with its own strict parser
// (parseRawResponse) rather than http.ReadResponse, which builds a header
// map per response: the fields stay in the app's order, as slices of the
// connection's head buffer. What the parser is not sure of (folded lines,
// bare CR or LF, both Content-Length and Transfer-Encoding, differing
// Content-Lengths, an encoding other than chunked, an odd status line)
// is refused, and the client gets the router's 502 page: nothing
// ambiguous is passed on.

// rawResponse is the head of an app's response (parseRawResponse).
type rawResponse struct {
	code    int
	fields  []rawField // the fields passed on, in the app's order: hop-by-hop ones removed
	length  int64      // Content-Length; -1 without one
	chunked bool
	noBody  bool // HEAD, 1xx, 204, 304: no body follows, whatever the framing says
	toEOF   bool // the body ends with the connection
	close   bool // the app closes the connection after this response
	typed   bool // a Content-Type field
	ctype   []byte
	encoded bool // a non-empty Content-Encoding
	dated   bool
	// trailer holds the Trailer fields' values (names the app announced);
	// trailers the trailer fields received after a chunked body.
	trailer  [][]byte
	trailers []rawField
	conn     [][]byte // the Connection tokens
	body     rawBody
}

// errRawResponse is an app's response the raw path does not pass on.
var errRawResponse = errors.New("malformed response from the app")

// maxTrailer bounds the trailer section after a chunked body, about as
// net/http's client does (it must be in its 4 KiB read buffer).
const maxTrailer = 4 << 10

// readHeadLines reads lines from br into dst (reused) up to and including
// a blank one, at most limit bytes. The lines' endings are checked by the
// parser.
func readHeadLines(br *bufio.Reader, dst []byte, limit int) ([]byte, error) {
	dst = dst[:0]
	line := 0 // where the current line starts in dst
	for {
		b, err := br.ReadSlice('\n')
		dst = append(dst, b...)
		if len(dst) > limit {
			return nil, errRawResponse
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err == io.EOF {
			return nil, io.ErrUnexpectedEOF
		}
		if err != nil {
			return nil, err
		}
		if n := len(dst) - line; n == 1 || n == 2 && dst[line] == '\r' {
			return dst, nil
		}
		line = len(dst)
	}
}

// parseRawResponse parses b, a response head up to and including its
// blank line, to a request of method into r. False: not a response the
// raw path passes on.
func parseRawResponse(b []byte, method string, r *rawResponse) bool {
	r.reset()
	if !bytes.HasSuffix(b, crlfcrlf) {
		return false
	}
	line, rest, _ := bytes.Cut(b, []byte("\r\n"))
	http10, ok := r.statusLine(line)
	if !ok {
		return false
	}
	rest = rest[:len(rest)-2] // the blank line's CRLF
	var te bool
	for len(rest) > 0 {
		line, rest, _ = bytes.Cut(rest, []byte("\r\n"))
		f, ok := parseField(line)
		if !ok {
			return false
		}
		switch {
		case equalFold(f.name, "Content-Length"):
			if r.length >= 0 {
				if !bytes.Equal(f.value, r.fields[r.lengthAt()].value) {
					return false
				}
				continue // a duplicate of the same value: passed on once
			}
			if r.length = parseLength(f.value); r.length < 0 {
				return false
			}
		case equalFold(f.name, "Transfer-Encoding"):
			if te || http10 || !equalFold(f.value, "chunked") {
				return false
			}
			te, r.chunked = true, true
		case equalFold(f.name, "Connection"):
			if !r.connTokens(f.value) {
				return false
			}
		case equalFold(f.name, "Trailer"):
			r.trailer = append(r.trailer, f.value)
		}
		r.fields = append(r.fields, f)
	}
	if r.chunked && r.length >= 0 {
		return false
	}
	if http10 {
		r.close = true // the raw path does not keep HTTP/1.0 connections
	}
	if r.chunked && !r.trailerNames() {
		return false
	}
	r.noBody = method == "HEAD" || r.code < 200 || r.code == 204 || r.code == 304
	r.toEOF = !r.noBody && !r.chunked && r.length < 0
	r.close = r.close || r.toEOF
	return r.keepFields()
}

func (r *rawResponse) reset() {
	fields, trailer, trailers, conn := r.fields[:0], r.trailer[:0], r.trailers[:0], r.conn[:0]
	*r = rawResponse{fields: fields, trailer: trailer, trailers: trailers, conn: conn, length: -1}
}

// lengthAt is the index in fields of the first Content-Length.
func (r *rawResponse) lengthAt() int {
	for i, f := range r.fields {
		if equalFold(f.name, "Content-Length") {
			return i
		}
	}
	return -1
}

// statusLine parses "HTTP/1.x NNN reason" (a code from 100 to 599).
func (r *rawResponse) statusLine(line []byte) (http10, ok bool) {
	switch {
	case bytes.HasPrefix(line, []byte("HTTP/1.1 ")):
	case bytes.HasPrefix(line, []byte("HTTP/1.0 ")):
		http10 = true
	default:
		return false, false
	}
	line = line[9:]
	if len(line) < 3 || len(line) > 3 && line[3] != ' ' {
		return false, false
	}
	for _, c := range line[:3] {
		if c < '0' || c > '9' {
			return false, false
		}
		r.code = r.code*10 + int(c-'0')
	}
	if r.code < 100 || r.code > 599 {
		return false, false
	}
	for _, c := range line[3:] { // the reason: not passed on
		if c < ' ' && c != '\t' || c == 0x7f {
			return false, false
		}
	}
	return http10, true
}

// parseField parses a header line "name: value" (no folding, a token
// name, a value of visible characters, spaces, tabs and obs-text).
func parseField(line []byte) (rawField, bool) {
	name, value, ok := bytes.Cut(line, []byte(":"))
	if !ok || !validToken(name) {
		return rawField{}, false
	}
	value = trimOWS(value)
	for _, c := range value {
		if c < ' ' && c != '\t' || c == 0x7f {
			return rawField{}, false
		}
	}
	return rawField{name, value}, true
}

// parseLength parses a Content-Length value: digits only; -1 if not.
func parseLength(v []byte) int64 {
	if len(v) == 0 || len(v) > 18 {
		return -1
	}
	var n int64
	for _, c := range v {
		if c < '0' || c > '9' {
			return -1
		}
		n = n*10 + int64(c-'0')
	}
	return n
}

// connTokens notes the tokens of a Connection field.
func (r *rawResponse) connTokens(v []byte) bool {
	for len(v) > 0 {
		var t []byte
		t, v, _ = bytes.Cut(v, []byte(","))
		if t = trimOWS(t); len(t) == 0 {
			continue
		}
		if !validToken(t) || equalFold(t, "Content-Length") {
			return false // a framing field is not the app's to remove
		}
		r.close = r.close || equalFold(t, "close")
		r.conn = append(r.conn, t)
	}
	return true
}

// announced yields the names a chunked response announces as trailers.
func (r *rawResponse) announced() iter.Seq[[]byte] {
	return func(yield func([]byte) bool) {
		for _, v := range r.trailer {
			for len(v) > 0 {
				var t []byte
				t, v, _ = bytes.Cut(v, []byte(","))
				if t = trimOWS(t); len(t) > 0 && !yield(t) {
					return
				}
			}
		}
	}
}

// trailerNames checks the names a chunked response announces as
// trailers (not framing ones).
func (r *rawResponse) trailerNames() bool {
	for t := range r.announced() {
		if !validToken(t) || equalFold(t, "Transfer-Encoding") || equalFold(t, "Trailer") || equalFold(t, "Content-Length") {
			return false
		}
	}
	return true
}

// keepFields removes the hop-by-hop fields and the ones Connection names,
// and notes the fields the router looks at.
func (r *rawResponse) keepFields() bool {
	kept := r.fields[:0]
	for _, f := range r.fields {
		if r.hop(f.name) {
			continue
		}
		switch {
		case equalFold(f.name, "Content-Type"):
			if !r.typed {
				r.typed, r.ctype = true, f.value
			}
		case equalFold(f.name, "Content-Encoding"):
			if !r.encoded && len(f.value) > 0 {
				r.encoded = true
			}
		case equalFold(f.name, "Date"):
			r.dated = true
		}
		kept = append(kept, f)
	}
	r.fields = kept
	return true
}

// hop reports whether a response field stays between the app and the
// router (hopHeaders, and the ones Connection names).
func (r *rawResponse) hop(name []byte) bool {
	for _, k := range hopHeaders {
		if equalFold(name, k) {
			return true
		}
	}
	for _, t := range r.conn {
		if bytes.EqualFold(name, t) {
			return true
		}
	}
	return false
}

// rawBody reads a response's body from the app's connection with its
// framing.
type rawBody struct {
	br      *bufio.Reader
	res     *rawResponse
	left    int64     // of a Content-Length body
	chunks  io.Reader // of a chunked body
	tail    []byte    // the trailer section's buffer
	started bool
	done    bool
}

// start prepares b to read r's body from br.
func (b *rawBody) start(br *bufio.Reader, r *rawResponse) {
	tail := b.tail
	*b = rawBody{br: br, res: r, left: r.length, tail: tail, done: r.noBody}
	if r.chunked && !r.noBody {
		b.chunks = httputil.NewChunkedReader(br)
	}
}

// Read reads the body; io.EOF at its end (after the trailers of a
// chunked one, in res.trailers).
func (b *rawBody) Read(p []byte) (int, error) {
	switch {
	case b.done:
		return 0, io.EOF
	case b.chunks != nil:
		n, err := b.chunks.Read(p)
		if err == io.EOF {
			if err = b.readTrailers(); err == nil {
				b.done = true
				err = io.EOF
			}
		}
		return n, err
	case b.res.toEOF:
		n, err := b.br.Read(p)
		if err == io.EOF {
			b.done = true
		}
		return n, err
	}
	if b.left == 0 {
		b.done = true
		return 0, io.EOF
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.br.Read(p)
	b.left -= int64(n)
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}

// readTrailers reads the trailer section after a chunked body's last
// chunk.
func (b *rawBody) readTrailers() error {
	tail, err := readHeadLines(b.br, b.tail, maxTrailer)
	if err != nil {
		return err
	}
	b.tail = tail
	if len(tail) < 2 || !bytes.HasSuffix(tail, []byte("\r\n")) || len(tail) > 2 && !bytes.HasSuffix(tail, crlfcrlf) {
		return errRawResponse
	}
	rest := tail[:len(tail)-2]
	for len(rest) > 0 {
		var line []byte
		line, rest, _ = bytes.Cut(rest, []byte("\r\n"))
		f, ok := parseField(line)
		if !ok {
			return errRawResponse
		}
		b.res.trailers = append(b.res.trailers, f)
	}
	return nil
}
