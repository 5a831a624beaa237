package api

import (
	"net/http"

	"ecode/internal/collab"
	"ecode/internal/store"
	"ecode/internal/workspace"
	"ecode/internal/wsock"
)

// collabSocket serves the y-websocket protocol for one file of the project
// (room name = the file path; the empty path is the project's presence
// room, awareness only). Any member may connect; viewers receive updates
// but cannot send them (see package collab for the close codes). Package
// wsock refuses upgrades whose Origin is not this host; its sockets let
// the room write to idle connections itself.
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
	conn, err := wsock.Accept(w, r)
	if err != nil {
		return nil // Accept has answered the client
	}
	defer conn.Close(collab.CloseGoingAway, "") // Serve has closed it already
	s.collab.Serve(r.Context(), collab.Socket(conn, s.collab.MaxMessageBytes()), collab.Client{
		ProjectID: p.ID, Path: path, UserID: principal(r).User.ID, CanWrite: p.Role.AtLeast(store.RoleEditor),
	})
	return nil
}
