package api

import (
	"errors"
	"io"
	"net/http"
	"strings"

	"ecode/internal/cluster"
	"ecode/internal/live"
	"ecode/internal/wsock"
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
	frames wsock.Edges // the owner's frames, as they pass
	tail   []byte      // what is left of the close frame sent in the owner's place
	ended  bool        // the owner is gone: tail, then EOF
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
	s.frames.Feed(p[:n])
	if err != nil && errors.Is(err, cluster.ErrNodeGone) && s.frames.Between() {
		s.ended, s.tail = true, wsock.CloseFrame(live.Moved.Code, nodeGoneReason)
		if n == 0 {
			return s.Read(p)
		}
		return n, nil
	}
	return n, err
}
