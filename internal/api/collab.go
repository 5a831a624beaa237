package api

import (
	"net/http"

	"github.com/coder/websocket"

	"ecode/internal/collab"
	"ecode/internal/store"
	"ecode/internal/workspace"
)

// collabSocket serves the y-websocket protocol for one file of the project
// (room name = the file path; the empty path is the project's presence
// room, awareness only). Any member may connect; viewers receive updates
// but cannot send them (see package collab for the close codes). The
// WebSocket library refuses upgrades whose Origin is not this host.
func (s *Server) collabSocket(w http.ResponseWriter, r *http.Request) error {
	p := project(r)
	path, err := workspace.CleanPath(r.PathValue("path"))
	if err != nil {
		return fileError(workspace.ErrBadPath)
	}
	if path != "" {
		err := s.withFiles(r, func(wp *workspace.Project) error {
			info, err := wp.Stat(path)
			if err == nil && info.IsDir() {
				return workspace.ErrIsDir
			}
			return err
		})
		if err != nil {
			return err
		}
	}
	conn, err := websocket.Accept(w, r, nil)
	if err != nil {
		return nil // Accept has answered the client
	}
	defer conn.CloseNow()
	s.collab.Serve(r.Context(), collab.WebSocket(conn, s.collab.MaxMessageBytes()), collab.Client{
		ProjectID: p.ID, Path: path, UserID: principal(r).User.ID, CanWrite: p.Role.AtLeast(store.RoleEditor),
	})
	return nil
}
