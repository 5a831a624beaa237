package wsock

import (
	"context"
	"encoding/binary"
	"errors"
	"net"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// appendHeader appends the header of an unmasked frame (the server's).
func appendHeader(b []byte, op byte, n int) []byte {
	b = append(b, 0x80|op)
	switch {
	case n < 126:
		return append(b, byte(n))
	case n <= 0xffff:
		return binary.BigEndian.AppendUint16(append(b, 126), uint16(n))
	}
	return binary.BigEndian.AppendUint64(append(b, 127), uint64(n))
}

// writeLocked writes one frame, after the rest of one TryWrite began
// (under wmu).
func (c *Conn) writeLocked(op byte, p []byte) error {
	if c.broken {
		return ErrClosed
	}
	if err := c.flushLocked(); err != nil {
		return err
	}
	var hb [10]byte
	h := appendHeader(hb[:0], op, len(p))
	var err error
	if len(p) <= smallFrame {
		c.wbuf = append(append(c.wbuf[:0], h...), p...)
		_, err = c.nc.Write(c.wbuf)
		if cap(c.wbuf) > 2*smallFrame {
			c.wbuf = nil
		}
	} else {
		bufs := net.Buffers{h, p}
		_, err = bufs.WriteTo(c.nc)
	}
	if err != nil {
		c.broken = true
	}
	return err
}

// flushLocked finishes the frame a TryWrite began (under wmu).
func (c *Conn) flushLocked() error {
	if len(c.pending) == 0 {
		return nil
	}
	_, err := c.nc.Write(c.pending)
	if err != nil {
		c.broken = true
		return err
	}
	c.pending = c.pending[:0]
	if cap(c.pending) > 2*smallFrame {
		c.pending = nil
	}
	return nil
}

// Write sends msg as one binary frame, waiting as long as the peer takes
// to read it (Close ends a Write that waits).
func (c *Conn) Write(msg []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.sentClose {
		return ErrClosed
	}
	return c.writeLocked(OpBinary, msg)
}

// Flush finishes the frame a TryWrite began, waiting as long as the peer
// takes to read it.
func (c *Conn) Flush() error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.broken {
		return ErrClosed
	}
	return c.flushLocked()
}

// TryWrite sends msg as one binary frame if it can without waiting: when
// no other write is under way and nothing is left to finish, with one
// write system call. sent false: nothing was written (the caller queues
// msg for Write). sent and more: the socket took part of the frame; the
// rest is kept and must be finished by Flush (or the next Write) before
// the connection sends anything else. An error means the connection is
// gone. A connection without a file descriptor (TLS) never sends here.
func (c *Conn) TryWrite(msg []byte) (sent, more bool, err error) {
	if c.raw == nil || !c.wmu.TryLock() {
		return false, false, nil
	}
	defer c.wmu.Unlock()
	if c.sentClose || c.broken {
		return false, false, ErrClosed
	}
	if len(c.pending) > 0 {
		return false, false, nil
	}
	var hb [10]byte
	h := appendHeader(hb[:0], OpBinary, len(msg))
	n, err := c.writevOnce(h, msg)
	if err != nil {
		c.broken = true
		return false, false, err
	}
	switch {
	case n == 0:
		return false, false, nil
	case n == len(h)+len(msg):
		return true, false, nil
	case n < len(h):
		c.pending = append(append(c.pending[:0], h[n:]...), msg...)
	default:
		c.pending = append(c.pending[:0], msg[n-len(h):]...)
	}
	return true, true, nil
}

// writevOnce makes one non-blocking writev of h and p: the bytes the
// socket took, 0 when its buffer is full.
func (c *Conn) writevOnce(h, p []byte) (int, error) {
	var n int
	var werr error
	err := c.raw.Write(func(fd uintptr) bool {
		iov := [][]byte{h, p}
		if len(p) == 0 {
			iov = iov[:1]
		}
		n, werr = unix.Writev(int(fd), iov)
		return true // one attempt: the descriptor is non-blocking
	})
	if err == nil {
		err = werr
	}
	if n < 0 {
		n = 0
	}
	if errors.Is(err, syscall.EAGAIN) || errors.Is(err, syscall.EINTR) {
		return n, nil
	}
	return n, err
}

// Ping sends a ping and waits for a pong (which Read notes).
func (c *Conn) Ping(ctx context.Context) error {
	select {
	case <-c.pong: // an old one
	default:
	}
	c.wmu.Lock()
	err := ErrClosed
	if !c.sentClose {
		err = c.writeLocked(opPing, nil)
	}
	c.wmu.Unlock()
	if err != nil {
		return err
	}
	select {
	case <-c.pong:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close sends a close frame with code and reason and ends the connection.
// A write that waits on a peer that does not read is given up (after up
// to closeWait). The peer's answering close frame is waited for up to
// closeWait, so that what it sent meanwhile is read and the close frame
// reaches it rather than being lost to a reset.
func (c *Conn) Close(code int, reason string) {
	if !c.closing.CompareAndSwap(false, true) {
		return
	}
	c.sendClose(code, reason)
	c.nc.SetReadDeadline(time.Now().Add(closeWait))
	c.rmu.Lock() // a Read under way ends by the deadline at the latest
	for !c.gotClose {
		if _, _, err := c.readMessage(); err != nil {
			break
		}
	}
	c.gotClose = true
	c.rmu.Unlock()
	c.nc.Close()
}

// sendClose writes a close frame unless one was sent or the stream is
// broken, giving a blocked write up to closeWait to finish first.
func (c *Conn) sendClose(code int, reason string) {
	if !c.wmu.TryLock() {
		c.nc.SetWriteDeadline(time.Now().Add(closeWait))
		c.wmu.Lock()
	}
	defer c.wmu.Unlock()
	if c.sentClose || c.broken {
		c.sentClose = true
		return
	}
	c.sentClose = true
	c.nc.SetWriteDeadline(time.Now().Add(closeWait))
	c.writeLocked(opClose, closePayload(code, reason))
}
