package api

import (
	"cmp"
	"context"
	"io/fs"
	"log/slog"
	"net/http"
	"time"

	"ecode/internal/agentrun"
	"ecode/internal/auth"
	"ecode/internal/collab"
	"ecode/internal/deploy"
	"ecode/internal/history"
	"ecode/internal/live"
	"ecode/internal/projects"
	"ecode/internal/runner"
	"ecode/internal/secrets"
	"ecode/internal/store"
	"ecode/internal/telemetry"
	"ecode/internal/workspace"
)

// Options are the settings the API needs from the configuration.
type Options struct {
	Version        string
	PublicURL      string // --public-url: passkeys are bound to its host (empty: the request's host)
	SecureCookies  bool
	SessionMax     time.Duration
	DevLogin       bool
	SignupOpen     bool
	MaxFileBytes   int64
	MaxUploadBytes int64
	Banners        []string
	// ReadyChecks are run by /readyz; each returns nil when ready.
	ReadyChecks map[string]func(context.Context) error
	// PreviewDomain: previews are served at p-<project id>.<PreviewDomain>.
	PreviewDomain string
	// MetricsToken, when set, lets scrapers read /metrics with it as a bearer token.
	MetricsToken string
	// MaxExecsPerUser and MaxExecsPerProject cap the commands, run starts
	// and terminal openings in progress at once (default 8 and 16).
	MaxExecsPerUser, MaxExecsPerProject int
	// AllowedHosts are the host names the server answers to besides
	// loopback names and preview subdomains ("*": any).
	AllowedHosts []string
	// TreePoll is how often a project's listing is checked for the file
	// tree's change events (default 2 s).
	TreePoll time.Duration
}

// Deps are the components the handlers use; all are required.
type Deps struct {
	Store    *store.Store
	Auth     *auth.Service
	Files    *workspace.Files
	Runner   *runner.Manager
	Collab   *collab.Hub
	History  *history.Service
	Projects *projects.Service
	Agent    *agentrun.Service
	Metrics  *telemetry.Metrics
	Live     *live.Registry
	Secrets  *secrets.Service // nil: the secrets routes answer 503
	Deploy   *deploy.Service  // deployments; its Router serves the apps domain's hosts
	UI       fs.FS
	Log      *slog.Logger
	Now      func() time.Time
}

// Server holds the handlers' dependencies.
type Server struct {
	store    *store.Store
	auth     *auth.Service
	files    *workspace.Files
	runner   *runner.Manager
	collab   *collab.Hub
	history  *history.Service
	projects *projects.Service
	agent    *agentrun.Service
	metrics  *telemetry.Metrics
	live     *live.Registry
	secrets  *secrets.Service
	deploy   *deploy.Service
	ui       fs.FS
	log      *slog.Logger
	now      func() time.Time
	opts     Options
	execs    *execLimits
}

// New builds the API server.
func New(d Deps, opts Options) *Server {
	if opts.PreviewDomain == "" {
		opts.PreviewDomain = "localhost"
	}
	if opts.TreePoll <= 0 {
		opts.TreePoll = 2 * time.Second
	}
	return &Server{store: d.Store, auth: d.Auth, files: d.Files, runner: d.Runner, collab: d.Collab, history: d.History, projects: d.Projects, agent: d.Agent, metrics: d.Metrics, live: d.Live, secrets: d.Secrets, deploy: d.Deploy, ui: d.UI, log: d.Log, now: d.Now, opts: opts,
		execs: newExecLimits(cmp.Or(opts.MaxExecsPerUser, 8), cmp.Or(opts.MaxExecsPerProject, 16))}
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
	ide := securityHeaders(cop.Handler(mux))
	preview := s.previewHandler()
	apps := s.deploy.Router()
	// Previews are a different origin (another host name), routed first.
	return s.recoverer(s.logRequests(s.checkHost(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.deploy.IsAppHost(r.Host) { // published apps: no session, no IDE middleware
			apps.ServeHTTP(w, r)
			return
		}
		if id, ok := s.previewProject(r.Host); ok {
			preview(w, r, id)
			return
		}
		ide.ServeHTTP(w, r)
	}))))
}
