package api

import (
	"net/http"
)

// The production secrets of a project's deployment: values its builds and
// instances get instead of the project's (development) ones. Setting or
// deleting one restarts the live instances with it (deploy.SecretsChanged).

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
	if err == nil {
		s.deploy.SecretsChanged(project(r).ID) // the live instances restart with it
	}
	return writeSecretPut(w, name, q.Value, created, err)
}

func (s *Server) deleteProductionSecret(w http.ResponseWriter, r *http.Request) error {
	if err := s.secrets.DeleteProduction(r.Context(), project(r).ID, r.PathValue("name")); err != nil {
		return secretErr(err)
	}
	s.deploy.SecretsChanged(project(r).ID)
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
