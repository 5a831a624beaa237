package api

import (
	"errors"
	"net/http"

	"ecode/internal/agentrun"
)

type providerRequest struct {
	agentrun.ProviderUpdate
}

func (q *providerRequest) validate() map[string]string { return nil } // agentrun validates

// adminAgentSettings reports the provider in use: never the key, only
// whether one is set and its last four characters.
func (s *Server) adminAgentSettings(w http.ResponseWriter, r *http.Request) error {
	ps, err := s.agent.ProviderSettings(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, ps)
	return nil
}

func (s *Server) putAdminAgentSettings(w http.ResponseWriter, r *http.Request) error {
	var q providerRequest
	if err := decode(w, r, &q); err != nil {
		return err
	}
	ps, err := s.agent.SetProviderSettings(r.Context(), q.ProviderUpdate, principal(r).User.ID)
	var se *agentrun.SettingsError
	switch {
	case errors.As(err, &se):
		return errInvalid(se.Fields)
	case errors.Is(err, agentrun.ErrNoSecrets):
		return &Error{Status: http.StatusServiceUnavailable, Code: "unavailable", Message: "the server cannot store API keys: " + err.Error()}
	case err != nil:
		return err
	}
	s.log.Info("agent provider settings changed", "by", principal(r).User.ID, "provider", ps.Provider, "source", ps.Source)
	writeJSON(w, http.StatusOK, ps)
	return nil
}

// adminAgentTest makes a tiny streaming call with the provider in use.
func (s *Server) adminAgentTest(w http.ResponseWriter, r *http.Request) error {
	out := map[string]any{"ok": true}
	if err := s.agent.TestProvider(r.Context()); err != nil {
		out = map[string]any{"ok": false, "error": err.Error()}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
