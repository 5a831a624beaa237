package api

import (
	"context"
	"io/fs"
	"log/slog"
	"net/http"
	"time"

	"ecode/internal/auth"
	"ecode/internal/store"
	"ecode/internal/workspace"
)

// Options are the settings the API needs from the configuration.
type Options struct {
	Version        string
	SecureCookies  bool
	SessionMax     time.Duration
	DevLogin       bool
	SignupOpen     bool
	MaxFileBytes   int64
	MaxUploadBytes int64
	Banners        []string
	// ReadyChecks are run by /readyz; each returns nil when ready.
	ReadyChecks map[string]func(context.Context) error
}

// Server holds the handlers' dependencies.
type Server struct {
	store *store.Store
	auth  *auth.Service
	files *workspace.Files
	ui    fs.FS
	log   *slog.Logger
	now   func() time.Time
	opts  Options
}

// New builds the API server.
func New(st *store.Store, au *auth.Service, files *workspace.Files, ui fs.FS, log *slog.Logger, now func() time.Time, opts Options) *Server {
	return &Server{store: st, auth: au, files: files, ui: ui, log: log, now: now, opts: opts}
}

// Handler is the whole HTTP handler: routes wrapped in the global middleware.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	for _, rt := range s.routes() {
		mux.Handle(rt.pattern, s.guard(rt))
	}
	mux.Handle("/", s.spa())
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, r, errForbidden("cross-origin request refused"))
	}))
	return s.recoverer(s.logRequests(securityHeaders(cop.Handler(mux))))
}
