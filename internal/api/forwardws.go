package api

import (
	"encoding/binary"
	"errors"
	"io"
	"math"
	"net/http"
	"strings"

	"ecode/internal/cluster"
	"ecode/internal/live"
)

// A forwarded WebSocket (a terminal) is copied byte for byte between the
// client and the owner node. When the owner goes silent (paused host,
// partition) the cluster's transport ends the connection to it (its reads
// fail with cluster.ErrNodeGone); the client is then told, as when the
// project moves (live.Moved, 4012), rather than seeing its socket drop:
// between two of the owner's frames, a close frame is sent in the owner's
// place before the connection ends. In the middle of a frame nothing can
// be added, and the socket just drops (the client sees 1006 and finds the
// node gone when it asks again).

// nodeGoneReason is the close reason sent with live.Moved's code.
const nodeGoneReason = "the node running the project does not answer"

// forwardedSocket adapts the owner's answer to a forwarded request: a
// WebSocket of the API (atOwner's routes) it switched to is closed with
// 4012 when the owner is gone. The sockets of a preview or a published
// app are the app's, which knows nothing of 4012: they are left as they
// are.
func forwardedSocket(resp *http.Response) error {
	if resp.StatusCode != http.StatusSwitchingProtocols || !strings.EqualFold(resp.Header.Get("Upgrade"), "websocket") ||
		resp.Request == nil || resp.Request.Context().Value(keyAPIRoute) == nil {
		return nil
	}
	if rwc, ok := resp.Body.(io.ReadWriteCloser); ok {
		resp.Body = &ownerSocket{ReadWriteCloser: rwc}
	}
	return nil
}

// ownerSocket is the connection to the owner node of a forwarded
// WebSocket, as read by the copy to the client.
type ownerSocket struct {
	io.ReadWriteCloser
	frames frameEdges // the owner's frames, as they pass
	tail   []byte     // what is left of the close frame sent in the owner's place
	ended  bool       // the owner is gone: tail, then EOF
}

func (s *ownerSocket) Read(p []byte) (int, error) {
	if s.ended {
		if len(s.tail) == 0 {
			return 0, io.EOF
		}
		n := copy(p, s.tail)
		s.tail = s.tail[n:]
		return n, nil
	}
	n, err := s.ReadWriteCloser.Read(p)
	s.frames.feed(p[:n])
	if err != nil && errors.Is(err, cluster.ErrNodeGone) && s.frames.between() {
		s.ended, s.tail = true, closeFrame(live.Moved.Code, nodeGoneReason)
		if n == 0 {
			return s.Read(p)
		}
		return n, nil
	}
	return n, err
}

// closeFrame is a server's close frame (RFC 6455 §5.5.1): unmasked, the
// code then the reason (at most 123 bytes).
func closeFrame(code int, reason string) []byte {
	reason = reason[:min(len(reason), 123)]
	f := []byte{0x88, byte(2 + len(reason)), byte(code >> 8), byte(code)}
	return append(f, reason...)
}

// frameEdges follows the frames of one direction of a WebSocket (RFC 6455
// §5.2) as its bytes pass, to tell whether it stands between two frames.
// It only reads the headers' lengths; it does not check the frames.
type frameEdges struct {
	head [14]byte // the header being read (at most 14 bytes)
	n    int      // bytes of it read
	left uint64   // payload bytes left of the current frame
}

// between reports whether the bytes so far end a frame (or are none).
func (f *frameEdges) between() bool { return f.n == 0 && f.left == 0 }

func (f *frameEdges) feed(p []byte) {
	for len(p) > 0 {
		if f.left > 0 {
			k := min(uint64(len(p)), f.left)
			f.left -= k
			p = p[k:]
			continue
		}
		f.head[f.n] = p[0]
		f.n++
		p = p[1:]
		if f.n == headerSize(f.head[:f.n]) {
			f.left, f.n = payloadSize(f.head[:f.n]), 0
		}
	}
}

// headerSize is the size of the frame header h starts (2 until its second
// byte is known).
func headerSize(h []byte) int {
	if len(h) < 2 {
		return 2
	}
	n := 2
	switch h[1] & 0x7f {
	case 126:
		n += 2
	case 127:
		n += 8
	}
	if h[1]&0x80 != 0 { // masked
		n += 4
	}
	return n
}

// payloadSize is the payload length a whole frame header h announces.
func payloadSize(h []byte) uint64 {
	switch l := h[1] & 0x7f; l {
	case 126:
		return uint64(binary.BigEndian.Uint16(h[2:4]))
	case 127:
		return binary.BigEndian.Uint64(h[2:10]) & math.MaxInt64 // its top bit must be 0
	default:
		return uint64(l)
	}
}
