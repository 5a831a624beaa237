package api

import (
	"context"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"
)

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write([]byte("ok\n"))
	return nil
}

// readyz runs every readiness check (database, sandbox) with a deadline.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) error {
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	checks := map[string]string{}
	ready := true
	detail := s.mayReadDetail(r) // anonymous callers learn only ok / failed
	for name, check := range s.opts.ReadyChecks {
		if err := check(ctx); err != nil {
			checks[name] = "failed"
			if detail {
				checks[name] = err.Error()
			}
			ready = false
		} else {
			checks[name] = "ok"
		}
	}
	if !ready {
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "unready", "checks": checks})
		return nil
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": "ready", "checks": checks})
	return nil
}

// mayReadDetail reports whether the caller may see internal detail (error
// texts naming database users and hosts): an admin, or a scraper with the
// metrics token.
func (s *Server) mayReadDetail(r *http.Request) bool {
	_, err := s.authorize(r, Metrics)
	return err == nil
}

func (s *Server) serverInfo(w http.ResponseWriter, r *http.Request) error {
	n, err := s.store.CountUsers(r.Context())
	if err != nil {
		return err
	}
	policy, err := s.signupPolicy(r)
	if err != nil {
		return err
	}
	banners := s.opts.Banners
	if banners == nil {
		banners = []string{}
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"version": s.opts.Version, "dev_login": s.opts.DevLogin, "banners": banners,
		"signup_open": policy == SignupOpen || n == 0, "signup_policy": policy, "has_users": n > 0,
		"max_file_bytes": s.opts.MaxFileBytes, "max_upload_bytes": s.opts.MaxUploadBytes,
	})
	return nil
}

// spa serves the web UI: files that exist are served (hashed assets cached
// for a year), unknown paths get index.html (never cached) so that the UI's
// router handles them. Unknown /api/ paths answer a JSON 404.
func (s *Server) spa() http.Handler {
	files := http.FileServerFS(s.ui)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/api/") || r.URL.Path == "/internal" || isNodeCall(r) {
			// Calls between nodes are served only on the internal listener.
			s.writeError(w, r, errNotFound("endpoint"))
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			s.writeError(w, r, &Error{Status: http.StatusMethodNotAllowed, Code: "bad_request", Message: "method not allowed"})
			return
		}
		name := strings.TrimPrefix(path.Clean(r.URL.Path), "/")
		if name != "" && name != "index.html" {
			if info, err := fs.Stat(s.ui, name); err == nil && !info.IsDir() {
				if strings.HasPrefix(name, "assets/") {
					w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
				} else {
					w.Header().Set("Cache-Control", "no-cache")
				}
				if s.servePrecompressed(w, r, name) {
					return
				}
				files.ServeHTTP(w, r)
				return
			}
		}
		index, err := fs.ReadFile(s.ui, "index.html")
		if err != nil {
			s.writeError(w, r, errInternal(err))
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		w.Write(index)
	})
}

func (s *Server) serveMetrics(w http.ResponseWriter, r *http.Request) error {
	s.metrics.Handler().ServeHTTP(w, r)
	return nil
}
