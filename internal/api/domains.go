package api

import (
	"errors"
	"net/http"

	"ecode/internal/domains"
)

// domainRoutes are a deployment's custom domains.
func (s *Server) domainRoutes() []route {
	return []route{
		{"GET /api/projects/{id}/deployment/domains", ProjViewer, s.listDomains},
		{"POST /api/projects/{id}/deployment/domains", ProjEditor, s.addDomain},
		{"POST /api/projects/{id}/deployment/domains/{domain}/verify", ProjEditor, s.verifyDomain},
		{"DELETE /api/projects/{id}/deployment/domains/{domain}", ProjEditor, s.removeDomain},
	}
}

// domainErr maps the service's errors to answers.
func domainErr(err error) error {
	var ne *domains.NameError
	var ce *domains.ClaimError
	switch {
	case errors.As(err, &ne):
		return errInvalid(map[string]string{"domain": ne.Msg})
	case errors.As(err, &ce):
		return &Error{Status: http.StatusConflict, Code: "domain_claimed", Message: ce.Msg}
	case errors.Is(err, domains.ErrNotFound):
		return errNotFound("domain")
	}
	return err
}

func (s *Server) listDomains(w http.ResponseWriter, r *http.Request) error {
	list, err := s.domains.List(r.Context(), project(r).ID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, list)
	return nil
}

type addDomainRequest struct {
	Domain string `json:"domain"`
}

func (q *addDomainRequest) validate() map[string]string {
	if _, err := domains.Normalize(q.Domain); err != nil {
		return map[string]string{"domain": err.Error()}
	}
	return nil
}

func (s *Server) addDomain(w http.ResponseWriter, r *http.Request) error {
	var q addDomainRequest
	if err := decode(w, r, &q); err != nil {
		return err
	}
	p := project(r)
	d, err := s.domains.Add(r.Context(), p.ID, p.OwnerID, principal(r).User.ID, q.Domain)
	if err != nil {
		return domainErr(err)
	}
	writeJSON(w, http.StatusCreated, d)
	return nil
}

func (s *Server) verifyDomain(w http.ResponseWriter, r *http.Request) error {
	d, err := s.domains.Verify(r.Context(), project(r).ID, r.PathValue("domain"))
	if err != nil {
		return domainErr(err)
	}
	writeJSON(w, http.StatusOK, d)
	return nil
}

func (s *Server) removeDomain(w http.ResponseWriter, r *http.Request) error {
	if err := s.domains.Remove(r.Context(), project(r).ID, r.PathValue("domain")); err != nil {
		return domainErr(err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// customDomains serves plain HTTP requests for verified custom domains:
// the ACME server's http-01 challenges, and a redirect to the HTTPS
// listener for everything else (these hosts never reach the IDE).
func (s *Server) customDomains(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := s.domains.ProjectForHost(r.Context(), r.Host); !ok {
			next.ServeHTTP(w, r)
			return
		}
		if s.domains.ServeChallenge(w, r) {
			return
		}
		if u, ok := s.domains.HTTPSRedirect(r); ok {
			http.Redirect(w, r, u, http.StatusPermanentRedirect)
			return
		}
		http.Error(w, "this domain is served over HTTPS only, which this server's operator has not enabled (--https-addr)",
			http.StatusServiceUnavailable)
	})
}
