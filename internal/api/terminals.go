package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/coder/websocket"

	"ecode/internal/runner"
)

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only called with JSON-safe values
	}
	return string(b)
}

func (s *Server) listTerminals(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, s.runner.Terminals(project(r).ID))
	return nil
}

type terminalRequest struct {
	Rows uint16 `json:"rows,omitempty"`
	Cols uint16 `json:"cols,omitempty"`
}

func (q *terminalRequest) validate() map[string]string {
	if q.Rows > 1000 || q.Cols > 1000 {
		return map[string]string{"rows": "rows and cols must be at most 1000"}
	}
	return nil
}

func (s *Server) openTerminal(w http.ResponseWriter, r *http.Request) error {
	var q terminalRequest
	if r.ContentLength != 0 {
		if err := decode(w, r, &q); err != nil {
			return err
		}
	}
	if err := s.sandboxReady(r); err != nil {
		return err
	}
	release, err := s.execSlot(w, r)
	if err != nil {
		return err
	}
	defer release()
	t, err := s.runner.OpenTerminal(r.Context(), project(r).ID, q.Rows, q.Cols)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, t.Info())
	return nil
}

func (s *Server) closeTerminal(w http.ResponseWriter, r *http.Request) error {
	if err := s.runner.CloseTerminal(project(r).ID, r.PathValue("tid")); errors.Is(err, runner.ErrNoTerminal) {
		return errNotFound("terminal")
	} else if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// terminalSocket attaches a browser to a terminal: binary frames carry
// terminal bytes both ways, text frames carry JSON control messages. The
// kept scrollback is sent first. The WebSocket library refuses upgrades
// whose Origin is not this host.
// writeTimeout bounds one WebSocket write to a client that stopped reading.
const writeTimeout = 30 * time.Second

func (s *Server) terminalSocket(w http.ResponseWriter, r *http.Request) error {
	t, err := s.runner.Terminal(project(r).ID, r.PathValue("tid"))
	if err != nil {
		return errNotFound("terminal")
	}
	conn, err := websocket.Accept(w, r, nil)
	if err != nil {
		return nil // Accept has answered the client
	}
	defer conn.CloseNow()
	conn.SetReadLimit(1 << 20)
	detach := t.Attach()
	defer detach()

	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	// The reader's context ends only when the handler returns: a Read
	// cancelled by a revocation would drop the connection before the close
	// frame with the reason is sent.
	readCtx, stopReading := context.WithCancel(context.WithoutCancel(r.Context()))
	defer stopReading()
	go func() {
		defer cancel()
		for {
			typ, data, err := conn.Read(readCtx)
			if err != nil {
				return
			}
			if typ == websocket.MessageBinary {
				if _, err := t.Write(data); err != nil {
					return
				}
				continue
			}
			var msg struct {
				Type       string
				Rows, Cols uint16
			}
			if json.Unmarshal(data, &msg) == nil && msg.Type == "resize" {
				t.Resize(msg.Rows, msg.Cols)
			}
		}
	}()

	// Writes are not cut by a revocation (a Write whose context ends drops
	// the connection without the close frame that says why); a client that
	// stops reading gets writeTimeout.
	write := func(typ websocket.MessageType, data []byte) error {
		wctx, done := context.WithTimeout(readCtx, writeTimeout)
		defer done()
		return conn.Write(wctx, typ, data)
	}
	var offset int64
	for {
		if c, reason := closeCode(r.Context(), 0); c != 0 { // revoked or deleted: say so, whatever else ended
			conn.Close(c, reason)
			return nil
		}
		data, next, wait, done := t.Output().ReadFrom(offset)
		offset = next
		if len(data) > 0 {
			if err := write(websocket.MessageBinary, data); err != nil {
				return nil
			}
		}
		if done {
			if c, reason := closeCode(r.Context(), 0); c != 0 { // the shell ended because its project went
				conn.Close(c, reason)
				return nil
			}
			code, _ := t.ExitCode()
			write(websocket.MessageText, []byte(mustJSON(map[string]any{"type": "exit", "exit_code": code})))
			conn.Close(websocket.StatusNormalClosure, "process exited")
			return nil
		}
		select {
		case <-ctx.Done():
			conn.Close(closeCode(r.Context(), websocket.StatusGoingAway))
			return nil
		case <-wait:
		}
	}
}
