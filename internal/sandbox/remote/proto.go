package remote

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"time"
)

// Frame types. Node → agent: header, stdin, stdinEOF, resize, signal, kill.
// Agent → node: started, ok, stdout, stderr, exit, fail.
const (
	frameHeader   byte = 'H'
	frameStdin    byte = 'i'
	frameStdinEOF byte = 'e'
	frameResize   byte = 'r'
	frameSignal   byte = 's'
	frameKill     byte = 'k'
	frameStarted  byte = 'S'
	frameOK       byte = 'K'
	frameStdout   byte = 'o'
	frameStderr   byte = 'x'
	frameExit     byte = 'X'
	frameFail     byte = 'E'
)

// maxFrame is the largest payload of one frame.
const maxFrame = 64 << 10

const (
	magic            = "ECODE-SANDBOX-AGENT/1\n"
	nonceLen         = 32
	handshakeTimeout = 10 * time.Second
	authOK           = 'K'
)

var errFrame = errors.New("remote: malformed frame")

func knownFrame(t byte) bool {
	switch t {
	case frameHeader, frameStdin, frameStdinEOF, frameResize, frameSignal, frameKill,
		frameStarted, frameOK, frameStdout, frameStderr, frameExit, frameFail:
		return true
	}
	return false
}

// writeFrame writes one frame; payloads longer than maxFrame are split
// (only data frames may be long).
func writeFrame(w io.Writer, t byte, p []byte) error {
	for first := true; first || len(p) > 0; first = false {
		n := min(len(p), maxFrame)
		var h [5]byte
		h[0] = t
		binary.BigEndian.PutUint32(h[1:], uint32(n))
		if _, err := w.Write(append(h[:], p[:n]...)); err != nil {
			return err
		}
		p = p[n:]
	}
	return nil
}

// readFrame reads one frame into buf (grown as needed) and returns its type
// and payload.
func readFrame(r io.Reader, buf []byte) (byte, []byte, error) {
	var h [5]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return 0, nil, err
	}
	n := binary.BigEndian.Uint32(h[1:])
	if !knownFrame(h[0]) || n > maxFrame {
		return 0, nil, errFrame
	}
	if cap(buf) < int(n) {
		buf = make([]byte, n)
	}
	buf = buf[:n]
	if _, err := io.ReadFull(r, buf); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return 0, nil, err
	}
	return h[0], buf, nil
}

// request is the header frame of a stream.
type request struct {
	Op          string   `json:"op"` // exec, start, pty, dial, killall, usage; tunnel (agent → node)
	Args        []string `json:"args,omitempty"`
	Env         []string `json:"env,omitempty"`
	Dir         string   `json:"dir,omitempty"`
	Stdin       bool     `json:"stdin,omitempty"`
	TimeoutMS   int64    `json:"timeout_ms,omitempty"`  // Cmd.Timeout
	DeadlineMS  int64    `json:"deadline_ms,omitempty"` // time left on the caller's ctx
	OutputLimit int      `json:"output_limit,omitempty"`
	Rows        uint16   `json:"rows,omitempty"`
	Cols        uint16   `json:"cols,omitempty"`
	Network     string   `json:"network,omitempty"`
	Addr        string   `json:"addr,omitempty"`
}

// parseRequest decodes and checks a header frame.
func parseRequest(b []byte) (request, error) {
	var r request
	if err := json.Unmarshal(b, &r); err != nil {
		return r, fmt.Errorf("remote: bad request: %w", err)
	}
	switch r.Op {
	case "exec", "start", "pty":
		if len(r.Args) == 0 {
			return r, errors.New("remote: empty command")
		}
		if r.Dir != "" && !filepath.IsAbs(r.Dir) && !filepath.IsLocal(r.Dir) {
			return r, fmt.Errorf("remote: dir %q leaves the workspace", r.Dir)
		}
		if r.TimeoutMS < 0 || r.DeadlineMS < 0 || r.OutputLimit < 0 {
			return r, errors.New("remote: negative limit")
		}
	case "dial":
		if r.Network == "" || r.Addr == "" {
			return r, errors.New("remote: dial needs a network and an address")
		}
	case "tunnel":
		if r.Addr == "" {
			return r, errors.New("remote: tunnel needs an address")
		}
	case "killall", "usage":
	default:
		return r, fmt.Errorf("remote: unknown operation %q", r.Op)
	}
	return r, nil
}

// resize payload: rows and cols, big-endian uint16 each.
func resizePayload(rows, cols uint16) []byte {
	return binary.BigEndian.AppendUint16(binary.BigEndian.AppendUint16(nil, rows), cols)
}

func parseResize(p []byte) (rows, cols uint16, err error) {
	if len(p) != 4 {
		return 0, 0, errFrame
	}
	return binary.BigEndian.Uint16(p), binary.BigEndian.Uint16(p[2:]), nil
}

func newNonce() []byte {
	b := make([]byte, nonceLen)
	rand.Read(b)
	return b
}

// proof is the MAC one side sends: role binds it to the direction, so the
// agent's answer cannot be replayed as the node's.
func proof(token, role string, nodeNonce, agentNonce []byte) []byte {
	m := hmac.New(sha256.New, []byte(token))
	m.Write([]byte(role))
	m.Write(nodeNonce)
	m.Write(agentNonce)
	return m.Sum(nil)
}

// ErrAuth is returned by Dial when the agent refuses the token or cannot
// prove that it holds it.
var ErrAuth = errors.New("remote: workspace agent authentication failed")

// clientHandshake is the node's side of the challenge–response.
func clientHandshake(rw io.ReadWriter, token string) error {
	nn := newNonce()
	if _, err := rw.Write(append([]byte(magic), nn...)); err != nil {
		return err
	}
	resp := make([]byte, nonceLen+sha256.Size)
	if _, err := io.ReadFull(rw, resp); err != nil {
		return fmt.Errorf("%w: %v", ErrAuth, err)
	}
	an := resp[:nonceLen]
	if !hmac.Equal(resp[nonceLen:], proof(token, "agent", nn, an)) {
		return fmt.Errorf("%w: the agent does not hold the token", ErrAuth)
	}
	if _, err := rw.Write(proof(token, "node", nn, an)); err != nil {
		return err
	}
	var ok [1]byte
	if _, err := io.ReadFull(rw, ok[:]); err != nil || ok[0] != authOK {
		return fmt.Errorf("%w: the agent refused the token", ErrAuth)
	}
	return nil
}

// serverHandshake is the agent's side; it returns an error (and the caller
// closes the connection) unless the node proved it holds the token.
func serverHandshake(rw io.ReadWriter, token string) error {
	hello := make([]byte, len(magic)+nonceLen)
	if _, err := io.ReadFull(rw, hello); err != nil {
		return err
	}
	if string(hello[:len(magic)]) != magic {
		return errors.New("remote: not an E-Code node (bad magic)")
	}
	nn := hello[len(magic):]
	an := newNonce()
	if _, err := rw.Write(append(an, proof(token, "agent", nn, an)...)); err != nil {
		return err
	}
	mac := make([]byte, sha256.Size)
	if _, err := io.ReadFull(rw, mac); err != nil {
		return err
	}
	if !hmac.Equal(mac, proof(token, "node", nn, an)) {
		return errors.New("remote: wrong token")
	}
	_, err := rw.Write([]byte{authOK})
	return err
}
