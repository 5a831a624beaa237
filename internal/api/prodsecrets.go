package api

import (
	"net/http"
)

// The production secrets of a project's deployment: values its builds and
// instances get instead of the project's (development) ones.

func (s *Server) listProductionSecrets(w http.ResponseWriter, r *http.Request) error {
	list, err := s.secrets.ListProduction(r.Context(), project(r).ID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, list)
	return nil
}

func (s *Server) putProductionSecret(w http.ResponseWriter, r *http.Request) error {
	var q secretValue
	if err := decode(w, r, &q); err != nil {
		return err
	}
	name := r.PathValue("name")
	created, err := s.secrets.PutProduction(r.Context(), project(r).ID, name, q.Value)
	return writeSecretPut(w, name, q.Value, created, err)
}

func (s *Server) deleteProductionSecret(w http.ResponseWriter, r *http.Request) error {
	if err := s.secrets.DeleteProduction(r.Context(), project(r).ID, r.PathValue("name")); err != nil {
		return secretErr(err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) revealProductionSecret(w http.ResponseWriter, r *http.Request) error {
	v, err := s.secrets.RevealProduction(r.Context(), project(r).ID, r.PathValue("name"))
	if err != nil {
		return secretErr(err)
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, secretValue{Value: v})
	return nil
}
