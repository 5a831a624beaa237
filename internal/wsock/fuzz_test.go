package wsock

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"testing"
	"time"
)

// streamConn is a net.Conn that reads a fixed stream and discards writes.
type streamConn struct{ r io.Reader }

func (c streamConn) Read(p []byte) (int, error)     { return c.r.Read(p) }
func (streamConn) Write(p []byte) (int, error)      { return len(p), nil }
func (streamConn) Close() error                     { return nil }
func (streamConn) LocalAddr() net.Addr              { return &net.TCPAddr{} }
func (streamConn) RemoteAddr() net.Addr             { return &net.TCPAddr{} }
func (streamConn) SetDeadline(time.Time) error      { return nil }
func (streamConn) SetReadDeadline(time.Time) error  { return nil }
func (streamConn) SetWriteDeadline(time.Time) error { return nil }

// clientFrame encodes a masked frame as a client sends it.
func clientFrame(fin bool, op byte, p []byte, mask [4]byte) []byte {
	b0 := op
	if fin {
		b0 |= 0x80
	}
	b := []byte{b0}
	switch n := len(p); {
	case n < 126:
		b = append(b, 0x80|byte(n))
	case n <= 0xffff:
		b = binary.BigEndian.AppendUint16(append(b, 0x80|126), uint16(n))
	default:
		b = binary.BigEndian.AppendUint64(append(b, 0x80|127), uint64(n))
	}
	b = append(b, mask[:]...)
	for i, c := range p {
		b = append(b, c^mask[i&3])
	}
	return b
}

// FuzzRead feeds the reader two streams. The input itself, as raw bytes:
// Read may return messages or an error but never panics, never returns a
// message over the limit, and ends. And a well-formed stream built from
// the input: its bytes cut into messages, each split into frames of the
// sizes the input gives, with pings between frames: Read returns exactly
// those messages.
func FuzzRead(f *testing.F) {
	f.Add([]byte{0x82, 0x81, 1, 2, 3, 4, 'x'})
	f.Add([]byte{0x02, 0x82, 0, 0, 0, 0, 'a', 'b', 0x89, 0x80, 0, 0, 0, 0, 0x80, 0x81, 9, 9, 9, 9, 'c'})
	f.Add(clientFrame(true, OpBinary, bytes.Repeat([]byte("y"), 300), [4]byte{7, 7, 7, 7}))
	f.Add([]byte{0x88, 0x82, 0, 0, 0, 0, 0x03, 0xe8})
	f.Fuzz(func(t *testing.T, data []byte) {
		const limit = 4096
		c := newConn(streamConn{bytes.NewReader(data)}, bufio.NewReader(bytes.NewReader(data)))
		c.SetReadLimit(limit)
		for i := 0; ; i++ {
			_, msg, err := c.Read()
			if err != nil {
				break
			}
			if len(msg) > limit {
				t.Fatalf("message of %d bytes over the limit", len(msg))
			}
			if i > len(data) {
				t.Fatal("more messages than input bytes")
			}
		}

		// the structured stream
		var stream []byte
		var want [][]byte
		rest := data
		for len(rest) > 0 {
			n := int(rest[0]) % 64
			rest = rest[1:]
			n = min(n, len(rest))
			msg := rest[:n]
			rest = rest[n:]
			want = append(want, msg)
			parts := 1 + n%3
			mask := [4]byte{byte(n), 1, byte(len(want)), 3}
			for p := 0; p < parts; p++ {
				lo, hi := p*n/parts, (p+1)*n/parts
				op := byte(opContinuation)
				if p == 0 {
					op = OpBinary
				}
				stream = append(stream, clientFrame(p == parts-1, op, msg[lo:hi], mask)...)
				if p < parts-1 && n%2 == 0 {
					stream = append(stream, clientFrame(true, opPing, msg[:min(n, 125)], mask)...)
				}
			}
		}
		c = newConn(streamConn{bytes.NewReader(nil)}, bufio.NewReader(bytes.NewReader(stream)))
		for i, w := range want {
			op, got, err := c.Read()
			if err != nil || op != OpBinary || !bytes.Equal(got, w) {
				t.Fatalf("message %d: op %d %q %v, want %q", i, op, got, err, w)
			}
		}
		if _, _, err := c.Read(); !errors.Is(err, io.EOF) {
			t.Fatalf("after the last message: %v, want EOF", err)
		}
	})
}
