package api

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"testing"

	"ecode/internal/cluster"
	"ecode/internal/wsock"
)

// ownerConn is the connection to the owner of a forwarded socket.
type ownerConn struct {
	io.Reader
	io.Writer
}

func (ownerConn) Close() error { return nil }

// The owner's socket, cut by the transport because the owner went silent:
// between two frames, the client gets a close frame with 4012 after the
// owner's frames, then the end; in the middle of a frame, the failure as
// it is (nothing can be added). A socket not of the API (a published
// app's, a preview's), or one that fails otherwise, is left as it is.
func TestForwardedSocketClosesWith4012(t *testing.T) {
	gone := fmt.Errorf("node b is silent: %w", cluster.ErrNodeGone)
	frames := []byte{0x82, 3, 'h', 'i', '!', 0x81, 0}
	socket := func(sent []byte, err error, app bool) io.Reader {
		req, _ := http.NewRequest("GET", "http://b/api/projects/p/terminals/t/ws", nil)
		if !app {
			req = req.WithContext(context.WithValue(req.Context(), keyAPIRoute, true))
		}
		resp := &http.Response{StatusCode: http.StatusSwitchingProtocols, Header: http.Header{"Upgrade": {"websocket"}}, Request: req,
			Body: ownerConn{Reader: io.MultiReader(bytes.NewReader(sent), &failing{err}), Writer: io.Discard}}
		if err := forwardedSocket(resp); err != nil {
			t.Fatal(err)
		}
		return resp.Body
	}
	for _, tc := range []struct {
		name string
		sent []byte
		err  error
		app  bool
		want []byte
	}{
		{"between frames", frames, gone, false, append(frames, wsock.CloseFrame(4012, nodeGoneReason)...)},
		{"nothing sent", nil, gone, false, wsock.CloseFrame(4012, nodeGoneReason)},
		{"mid-frame", frames[:3], gone, false, nil},
		{"other failure", frames, io.ErrUnexpectedEOF, false, nil},
		{"an app's or a preview's socket", frames, gone, true, nil},
	} {
		got, err := io.ReadAll(socket(tc.sent, tc.err, tc.app))
		if tc.want == nil {
			if !errors.Is(err, tc.err) || !bytes.Equal(got, tc.sent) {
				t.Errorf("%s: read %q, %v; want what was sent and the failure", tc.name, got, err)
			}
			continue
		}
		if err != nil || !bytes.Equal(got, tc.want) {
			t.Errorf("%s: read %q, %v; want %q then the end", tc.name, got, err, tc.want)
		}
	}
}

type failing struct{ err error }

func (f *failing) Read([]byte) (int, error) { return 0, f.err }
