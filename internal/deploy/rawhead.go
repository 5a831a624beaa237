package deploy

import "bytes"

// rawHead is a request head the raw path may serve (parseRawHead): a GET
// or HEAD over HTTP/1.1 without a body, an origin-form target and one
// Host. Its slices point into the connection's read buffer: valid until
// the next read.
type rawHead struct {
	method   string // "GET" or "HEAD"
	target   []byte // as sent
	host     []byte
	close    bool // Connection: close
	trailers bool // TE names trailers
	n        int  // header fields kept in fields
	fields   [maxRawFields]rawField
	conn     [maxRawFields][]byte // the tokens of Connection
	nconn    int
}

// rawField is one header line of the request.
type rawField struct{ name, value []byte }

const (
	maxRawFields = 64      // more: net/http serves the request
	maxRawHead   = 8 << 10 // the raw path's read buffer: a larger head goes to net/http
)

var crlfcrlf = []byte("\r\n\r\n")

// parseRawHead parses b, a request head up to and including the blank
// line, into h. It accepts only what it is sure of; anything else (other
// methods, HTTP/1.0, bodies, upgrades, Expect, odd bytes, bare LF,
// folded lines, duplicate Host, E-Code's cookies) returns false, and
// net/http's server reads the request instead, with its own rules.
func parseRawHead(b []byte, h *rawHead) bool {
	*h = rawHead{}
	if !bytes.HasSuffix(b, crlfcrlf) || bytes.Index(b, crlfcrlf) != len(b)-4 {
		return false
	}
	line, rest, _ := bytes.Cut(b, []byte("\r\n"))
	switch {
	case bytes.HasPrefix(line, []byte("GET ")):
		h.method, line = "GET", line[4:]
	case bytes.HasPrefix(line, []byte("HEAD ")):
		h.method, line = "HEAD", line[5:]
	default:
		return false
	}
	target, proto, ok := bytes.Cut(line, []byte(" "))
	if !ok || string(proto) != "HTTP/1.1" || !validTarget(target) {
		return false
	}
	h.target = target
	rest = rest[:len(rest)-2] // the blank line's CRLF
	hosts := 0
	for len(rest) > 0 {
		line, rest, _ = bytes.Cut(rest, []byte("\r\n"))
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok || !validToken(name) {
			return false
		}
		value = trimOWS(value)
		if !validValue(value) {
			return false
		}
		switch {
		case equalFold(name, "Host"):
			hosts++
			h.host = value
			continue
		case equalFold(name, "Content-Length"), equalFold(name, "Transfer-Encoding"), equalFold(name, "Upgrade"),
			equalFold(name, "Expect"), equalFold(name, "Http2-Settings"):
			return false
		case equalFold(name, "Cookie"):
			if bytes.Contains(value, []byte("ecode_")) { // stripPlatformCookies's job
				return false
			}
		case equalFold(name, "Connection"):
			if !h.connTokens(value) {
				return false
			}
		case equalFold(name, "Te"):
			h.trailers = h.trailers || hasToken(value, "trailers")
		}
		if h.n == maxRawFields {
			return false
		}
		h.fields[h.n] = rawField{name, value}
		h.n++
	}
	return hosts == 1 && validHost(h.host)
}

// connTokens notes the tokens of a Connection header; an upgrade is not
// for the raw path.
func (h *rawHead) connTokens(v []byte) bool {
	for len(v) > 0 {
		var t []byte
		t, v, _ = bytes.Cut(v, []byte(","))
		if t = trimOWS(t); len(t) == 0 {
			continue
		}
		if !validToken(t) || equalFold(t, "upgrade") || h.nconn == maxRawFields {
			return false
		}
		h.close = h.close || equalFold(t, "close")
		h.conn[h.nconn] = t
		h.nconn++
	}
	return true
}

// forwarded reports whether the field f goes to the app: not hop-by-hop,
// not named by Connection, not one the router replaces
// (skipRequestHeader).
func (h *rawHead) forwarded(f rawField) bool {
	for _, k := range [...]string{"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization",
		"Te", "Trailer", "Forwarded", "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto"} {
		if equalFold(f.name, k) {
			return false
		}
	}
	for _, t := range h.conn[:h.nconn] {
		if bytes.EqualFold(f.name, t) {
			return false
		}
	}
	return true
}

func hasToken(v []byte, token string) bool {
	for len(v) > 0 {
		var t []byte
		t, v, _ = bytes.Cut(v, []byte(","))
		if t, _, _ = bytes.Cut(t, []byte(";")); equalFold(trimOWS(t), token) {
			return true
		}
	}
	return false
}

func equalFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range len(b) {
		c, d := b[i], s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if 'A' <= d && d <= 'Z' {
			d += 'a' - 'A'
		}
		if c != d {
			return false
		}
	}
	return true
}

func trimOWS(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

// validToken: RFC 9110 tchar, one or more.
func validToken(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if !isTchar(c) {
			return false
		}
	}
	return true
}

func isTchar(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		bytes.IndexByte([]byte("!#$%&'*+-.^_`|~"), c) >= 0
}

// validValue: visible ASCII, spaces and tabs only (obs-text, controls,
// NUL: net/http decides).
func validValue(b []byte) bool {
	for _, c := range b {
		if c < ' ' && c != '\t' || c >= 0x7f {
			return false
		}
	}
	return true
}

// validTarget: an origin-form target of unreserved, sub-delim (but ';'),
// ':', '@', '/', '?' characters and well-formed escapes.
func validTarget(b []byte) bool {
	if len(b) == 0 || b[0] != '/' || len(b) > 4<<10 {
		return false
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch {
		case 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9':
		case bytes.IndexByte([]byte("-._~!$&'()*+,=:@/?"), c) >= 0:
		case c == '%':
			if i+2 >= len(b) || !isHex(b[i+1]) || !isHex(b[i+2]) {
				return false
			}
			i += 2
		default:
			return false
		}
	}
	return true
}

// validHost: a lower-risk subset of host[:port] (letters, digits, '-',
// '.', and a port).
func validHost(b []byte) bool {
	if len(b) == 0 || len(b) > 255 {
		return false
	}
	for _, c := range b {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == ':') {
			return false
		}
	}
	return true
}
