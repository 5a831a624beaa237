package secrets

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/url"
	"strings"
	"sync"
)

// Matcher finds secret values, and their common encodings, in text and
// replaces each with "[secret NAME]". It is an Aho–Corasick automaton over
// every pattern, so the cost per byte hardly depends on how many secrets
// there are. A Matcher is immutable and safe for concurrent use.
type Matcher struct {
	root  [256]int32 // transitions from the root (dense: most bytes stay there)
	nodes []node
	names []string // replacement text per pattern
	lens  []int    // pattern length per pattern
}

type node struct {
	edges []edge
	fail  int32
	depth int32
	out   int32 // longest pattern ending here (itself or by a suffix), or -1
}

type edge struct {
	b  byte
	to int32
}

// Value is one secret to mask.
type Value struct {
	Name, Value string
}

// Encodings returns the forms of v that are masked: the value itself,
// base64 (standard and URL alphabets, at each of the three alignments it
// can have inside a longer base64 text, without the characters that depend
// on its neighbours; padded and unpadded forms contain these), URL
// (query and path) escaping, hex in both cases, and JSON string escaping.
func Encodings(v string) []string {
	forms := []string{v, url.QueryEscape(v), url.PathEscape(v), hex.EncodeToString([]byte(v)),
		strings.ToUpper(hex.EncodeToString([]byte(v))), jsonEscape(v, true), jsonEscape(v, false)}
	for _, enc := range []*base64.Encoding{base64.RawStdEncoding, base64.RawURLEncoding} {
		for k := 0; k < 3; k++ {
			buf := append(make([]byte, k), v...)
			s := enc.EncodeToString(buf)
			from, to := (8*k+5)/6, 8*(k+len(v))/6 // characters made only of v's bits
			if to-from >= MinMaskBytes {
				forms = append(forms, s[from:to])
			}
		}
	}
	seen := map[string]bool{}
	out := forms[:0]
	for _, f := range forms {
		if len(f) >= MinMaskBytes && !seen[f] {
			seen[f] = true
			out = append(out, f)
		}
	}
	return out
}

func jsonEscape(v string, html bool) string {
	var b bytes.Buffer
	e := json.NewEncoder(&b)
	e.SetEscapeHTML(html)
	e.Encode(v)
	s := strings.TrimSuffix(b.String(), "\n")
	return s[1 : len(s)-1]
}

// NewMatcher builds a matcher over the values (those shorter than
// MinMaskBytes are left out: they would match ordinary text).
func NewMatcher(values []Value) *Matcher {
	m := &Matcher{nodes: []node{{out: -1}}}
	for _, v := range values {
		if len(v.Value) < MinMaskBytes {
			continue
		}
		for _, f := range Encodings(v.Value) {
			m.add(f, "[secret "+v.Name+"]")
		}
	}
	m.build()
	return m
}

// Empty reports whether the matcher masks nothing.
func (m *Matcher) Empty() bool { return m == nil || len(m.names) == 0 }

func (m *Matcher) child(s int32, b byte) int32 {
	for _, e := range m.nodes[s].edges {
		if e.b == b {
			return e.to
		}
	}
	return -1
}

func (m *Matcher) add(p, repl string) {
	s := int32(0)
	for i := 0; i < len(p); i++ {
		c := m.child(s, p[i])
		if c < 0 {
			c = int32(len(m.nodes))
			m.nodes = append(m.nodes, node{depth: int32(i + 1), out: -1})
			m.nodes[s].edges = append(m.nodes[s].edges, edge{p[i], c})
		}
		s = c
	}
	if m.nodes[s].out < 0 {
		m.nodes[s].out = int32(len(m.names))
		m.names = append(m.names, repl)
		m.lens = append(m.lens, len(p))
	}
}

// build computes failure links breadth first, and the root's dense table.
func (m *Matcher) build() {
	queue := make([]int32, 0, len(m.nodes))
	for _, e := range m.nodes[0].edges {
		m.nodes[e.to].fail = 0
		queue = append(queue, e.to)
	}
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		if m.nodes[s].out < 0 {
			m.nodes[s].out = m.nodes[m.nodes[s].fail].out
		}
		for _, e := range m.nodes[s].edges {
			f := m.nodes[s].fail
			for f != 0 && m.child(f, e.b) < 0 {
				f = m.nodes[f].fail
			}
			if c := m.child(f, e.b); c >= 0 && c != e.to {
				m.nodes[e.to].fail = c
			}
			queue = append(queue, e.to)
		}
	}
	for b := 0; b < 256; b++ {
		m.root[b] = max(m.child(0, byte(b)), 0)
	}
}

func (m *Matcher) step(s int32, b byte) int32 {
	for s != 0 {
		if c := m.child(s, b); c >= 0 {
			return c
		}
		s = m.nodes[s].fail
	}
	return m.root[b]
}

// Stream is a masking writer: what it writes on is masked, even when a
// value is split across writes. It holds back only the bytes that could
// still start a value (the automaton's depth), so ordinary output passes
// at once; Flush writes those out (at the end of the stream).
type Stream struct {
	mu    sync.Mutex // stdout and stderr may share a Stream
	m     *Matcher
	w     io.Writer
	state int32
	held  []byte
	out   []byte
}

// Stream returns a masking writer onto w.
func (m *Matcher) Stream(w io.Writer) *Stream { return &Stream{m: m, w: w} }

// Write masks p and writes what is certain onward. It reports len(p) on success.
func (s *Stream) Write(p []byte) (int, error) {
	if s.m.Empty() {
		return s.w.Write(p)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	buf := append(s.held, p...)
	out := s.out[:0]
	emitted, state := 0, s.state
	nodes := s.m.nodes
	for i := len(s.held); i < len(buf); i++ {
		state = s.m.step(state, buf[i])
		if o := nodes[state].out; o >= 0 {
			start := i + 1 - s.m.lens[o]
			out = append(out, buf[emitted:start]...)
			out = append(out, s.m.names[o]...)
			emitted, state = i+1, 0
		}
	}
	keep := len(buf) - int(nodes[state].depth)
	out = append(out, buf[emitted:keep]...)
	s.held = append(s.held[:0:0], buf[keep:]...)
	s.state, s.out = state, out
	if len(out) > 0 {
		if _, err := s.w.Write(out); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

// Flush writes the held-back bytes (no value can complete any more).
func (s *Stream) Flush() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.held) == 0 {
		return nil
	}
	h := s.held
	s.held, s.state = nil, 0
	_, err := s.w.Write(h)
	return err
}

// Bytes masks a whole text.
func (m *Matcher) Bytes(b []byte) []byte {
	if m.Empty() {
		return b
	}
	var out bytes.Buffer
	s := m.Stream(&out)
	s.Write(b)
	s.Flush()
	return out.Bytes()
}

// String masks a whole text.
func (m *Matcher) String(s string) string {
	if m.Empty() {
		return s
	}
	return string(m.Bytes([]byte(s)))
}

// Redact is String (the agent's Redactor).
func (m *Matcher) Redact(s string) string { return m.String(s) }
