package wsock

import (
	"encoding/binary"
	"errors"
	"io"
	"time"
	"unicode/utf8"
)

// header is a frame's header.
type header struct {
	fin    bool
	op     byte
	length int64
	mask   [4]byte
}

// readHeader reads a client frame's header, checking what RFC 6455 asks
// of it: no extension bits (none is negotiated), a known opcode, a mask,
// control frames short and whole, the length's shortest form.
func readHeader(br io.Reader) (header, error) {
	var b [8]byte
	if _, err := io.ReadFull(br, b[:2]); err != nil {
		return header{}, err
	}
	h := header{fin: b[0]&0x80 != 0, op: b[0] & 0x0f}
	if b[0]&0x70 != 0 {
		return h, &ProtocolError{"reserved bits set"}
	}
	switch h.op {
	case opContinuation, OpText, OpBinary:
	case opClose, opPing, opPong:
		if !h.fin {
			return h, &ProtocolError{"fragmented control frame"}
		}
	default:
		return h, &ProtocolError{"unknown opcode"}
	}
	if b[1]&0x80 == 0 {
		return h, &ProtocolError{"unmasked client frame"}
	}
	switch n := b[1] & 0x7f; n {
	case 126:
		if _, err := io.ReadFull(br, b[:2]); err != nil {
			return h, unexpected(err)
		}
		h.length = int64(binary.BigEndian.Uint16(b[:2]))
		if h.length < 126 {
			return h, &ProtocolError{"length not in its shortest form"}
		}
	case 127:
		if _, err := io.ReadFull(br, b[:8]); err != nil {
			return h, unexpected(err)
		}
		u := binary.BigEndian.Uint64(b[:8])
		if u>>63 != 0 || u <= 0xffff {
			return h, &ProtocolError{"bad 64-bit length"}
		}
		h.length = int64(u)
	default:
		h.length = int64(n)
	}
	if h.op >= opClose && h.length > 125 {
		return h, &ProtocolError{"control frame over 125 bytes"}
	}
	if _, err := io.ReadFull(br, h.mask[:]); err != nil {
		return h, unexpected(err)
	}
	return h, nil
}

// unexpected turns the end of the stream inside a frame into
// io.ErrUnexpectedEOF.
func unexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// unmask XORs b with the frame's mask, b starting at offset pos of the
// payload.
func unmask(b []byte, mask [4]byte, pos int64) {
	for i := range b {
		b[i] ^= mask[(pos+int64(i))&3]
	}
}

// Read returns the next data message: its opcode (OpText or OpBinary) and
// payload. Pings are answered and pongs noted on the way. The peer's
// close frame is answered and returned as a *CloseError; a frame that
// breaks the protocol or a message over the read limit closes the
// connection (1002, 1009) and is returned as an error.
func (c *Conn) Read() (int, []byte, error) {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	if c.gotClose {
		return 0, nil, ErrClosed
	}
	op, msg, err := c.readMessage()
	if err == nil {
		return op, msg, nil
	}
	var pe *ProtocolError
	switch {
	case errors.As(err, &pe):
		c.fail(CloseProtocol, pe.Msg)
	case errors.Is(err, ErrTooBig):
		c.fail(CloseTooBig, "message too big")
	}
	return 0, nil, err
}

// readMessage reads frames up to the end of a data message (under rmu).
func (c *Conn) readMessage() (int, []byte, error) {
	op := 0
	var msg []byte
	for {
		h, err := readHeader(c.br)
		if err != nil {
			if op != 0 {
				err = unexpected(err)
			}
			return 0, nil, err
		}
		if h.op >= opClose {
			if err := c.control(h); err != nil {
				return 0, nil, err
			}
			continue
		}
		switch {
		case h.op == opContinuation && op == 0:
			return 0, nil, &ProtocolError{"continuation without a message"}
		case h.op != opContinuation && op != 0:
			return 0, nil, &ProtocolError{"new message inside a fragmented one"}
		case op == 0:
			op = int(h.op)
		}
		if int64(len(msg))+h.length > c.limit {
			return 0, nil, ErrTooBig
		}
		start := len(msg)
		msg = append(msg, make([]byte, h.length)...)
		if _, err := io.ReadFull(c.br, msg[start:]); err != nil {
			return 0, nil, unexpected(err)
		}
		unmask(msg[start:], h.mask, 0)
		if h.fin {
			if msg == nil {
				msg = []byte{}
			}
			return op, msg, nil
		}
	}
}

// control handles a ping, pong or close frame (under rmu).
func (c *Conn) control(h header) error {
	var b [125]byte
	p := b[:h.length]
	if _, err := io.ReadFull(c.br, p); err != nil {
		return unexpected(err)
	}
	unmask(p, h.mask, 0)
	switch h.op {
	case opPing:
		c.wmu.Lock()
		defer c.wmu.Unlock()
		if c.sentClose || c.broken {
			return nil
		}
		return c.writeLocked(opPong, p)
	case opPong:
		select {
		case c.pong <- struct{}{}:
		default:
		}
		return nil
	}
	// close
	code, reason := 1005, ""
	switch {
	case len(p) == 1:
		return &ProtocolError{"close frame of one byte"}
	case len(p) >= 2:
		code, reason = int(binary.BigEndian.Uint16(p)), string(p[2:])
		if !validCloseCode(code) || !utf8.ValidString(reason) {
			return &ProtocolError{"bad close frame"}
		}
	}
	c.gotClose = true
	c.wmu.Lock()
	if !c.sentClose && !c.broken {
		// answer with the same code (an empty frame for none)
		c.nc.SetWriteDeadline(time.Now().Add(closeWait))
		c.writeLocked(opClose, p[:min(len(p), 2)])
	}
	c.sentClose = true
	c.wmu.Unlock()
	return &CloseError{Code: code, Reason: reason}
}

// validCloseCode reports whether a peer may send code (RFC 6455 §7.4).
func validCloseCode(code int) bool {
	switch {
	case code >= 3000 && code <= 4999:
		return true
	case code >= 1000 && code <= 1014:
		return code != 1004 && code != 1005 && code != 1006
	}
	return false
}

// fail closes the connection with code after a bad frame (under rmu).
func (c *Conn) fail(code int, reason string) {
	c.gotClose = true // nothing more is read
	if c.closing.CompareAndSwap(false, true) {
		c.sendClose(code, reason)
		c.nc.Close()
	} // else a Close waits for this Read to end, and closes

}
