package wsock

import (
	"encoding/binary"
	"math"
)

// Frames seen from outside: a whole close frame to put in a server's
// place, and where frames end in a stream of them (a relay that must not
// cut one in half).

// closePayload is a close frame's payload (RFC 6455 §5.5.1): the code,
// then the reason cut to the 123 bytes a control frame leaves it.
func closePayload(code int, reason string) []byte {
	reason = reason[:min(len(reason), 123)]
	return append(binary.BigEndian.AppendUint16(make([]byte, 0, 2+len(reason)), uint16(code)), reason...)
}

// CloseFrame is a whole close frame as a server sends it (unmasked).
func CloseFrame(code int, reason string) []byte {
	p := closePayload(code, reason)
	return append(appendHeader(nil, opClose, len(p)), p...)
}

// Edges follows the frames of one direction of a WebSocket (RFC 6455
// §5.2) as its bytes pass, to tell whether it stands between two frames.
// It only reads the headers' lengths; it does not check the frames.
type Edges struct {
	head [14]byte // the header being read (at most 14 bytes)
	n    int      // bytes of it read
	left uint64   // payload bytes left of the current frame
}

// Between reports whether the bytes so far end a frame (or are none).
func (f *Edges) Between() bool { return f.n == 0 && f.left == 0 }

// Feed takes the next bytes of the direction.
func (f *Edges) Feed(p []byte) {
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
