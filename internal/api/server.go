package api

import (
	"cmp"
	"context"
	"io/fs"
	"log/slog"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"go.opentelemetry.io/otel/trace"

	"ecode/internal/agentrun"
	"ecode/internal/auth"
	"ecode/internal/billing"
	"ecode/internal/cluster"
	"ecode/internal/collab"
	"ecode/internal/deploy"
	"ecode/internal/domains"
	"ecode/internal/errtrack"
	"ecode/internal/history"
	"ecode/internal/imports"
	"ecode/internal/jobs"
	"ecode/internal/live"
	"ecode/internal/monitor"
	"ecode/internal/notify"
	"ecode/internal/projects"
	"ecode/internal/revoke"
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
	// TrustedProxies are the reverse proxies whose X-Forwarded-For is
	// believed (see clientAddress).
	TrustedProxies []netip.Prefix
	// TreePoll is how often a project's listing is checked for the file
	// tree's change events (default 2 s).
	TreePoll time.Duration
	// AuthCacheTTL bounds how long a membership is kept in memory (0: not
	// at all); revocations drop it at once on every node (package revoke).
	AuthCacheTTL time.Duration
	// MaxImportBytes is the largest import upload (--import-max-bytes).
	MaxImportBytes int64
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
	Revoke   *revoke.Bus      // carries revocations to every node (and to Live)
	Secrets  *secrets.Service // nil: the secrets routes answer 503
	Errors   *errtrack.Tracker
	Notify   *notify.Service
	// OnRequest, when set, is told each request's status and duration
	// (the monitoring page's series); streamed marks a WebSocket or event
	// stream, whose duration is the connection's life, not a latency.
	OnRequest func(status int, d time.Duration, streamed bool)
	Monitor   *monitor.Monitor // the Monitoring page's series
	Domains   *domains.Service
	Imports   *imports.Service
	Jobs      *jobs.Client
	Billing   *billing.Service
	Deploy    *deploy.Service // deployments; its Router serves the apps domain's hosts
	// Cluster, when set, makes this server one node of several: project
	// sandbox traffic goes to the project's owner node (forward.go).
	Cluster *cluster.Cluster
	// Backups lists the scheduled backups (nil: the route answers 503).
	Backups func(context.Context) (BackupList, error)
	UI      fs.FS
	Log     *slog.Logger
	Now     func() time.Time
	// Tracer makes a span of every request (nil: no spans).
	Tracer trace.TracerProvider
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
	bus      *revoke.Bus
	members  *revoke.Cache[store.Project] // memberships by project and user
	secrets  *secrets.Service
	errors   *errtrack.Tracker
	notify   *notify.Service
	domains  *domains.Service
	imports  *imports.Service
	jobs     *jobs.Client
	backups  func(context.Context) (BackupList, error)
	billing  *billing.Service
	deploy   *deploy.Service
	cluster  *cluster.Cluster
	// forwarder proxies requests to the project's owner node.
	forwarder http.Handler
	ui        fs.FS
	log       *slog.Logger
	now       func() time.Time
	opts      Options
	execs     *execLimits
	fileBufs  sync.Pool // *[]byte of smallFile bytes: readFile's small files

	onRequest func(status int, d time.Duration, streamed bool)
	monitor   *monitor.Monitor
	tracer    trace.Tracer
}

// New builds the API server.
func New(d Deps, opts Options) *Server {
	if opts.PreviewDomain == "" {
		opts.PreviewDomain = "localhost"
	}
	if opts.TreePoll <= 0 {
		opts.TreePoll = 2 * time.Second
	}
	s := &Server{cluster: d.Cluster, store: d.Store, auth: d.Auth, files: d.Files, runner: d.Runner, collab: d.Collab, history: d.History, projects: d.Projects, agent: d.Agent, metrics: d.Metrics, live: d.Live, bus: d.Revoke, members: revoke.NewCache[store.Project](d.Revoke, opts.AuthCacheTTL, 100_000), secrets: d.Secrets, errors: d.Errors, notify: d.Notify, onRequest: d.OnRequest, monitor: d.Monitor, domains: d.Domains, imports: d.Imports, jobs: d.Jobs, backups: d.Backups, billing: d.Billing, deploy: d.Deploy, ui: d.UI, log: d.Log, now: d.Now, opts: opts,
		execs: newExecLimits(cmp.Or(opts.MaxExecsPerUser, 8), cmp.Or(opts.MaxExecsPerProject, 16)), tracer: tracerOf(d.Tracer)}
	s.fileBufs.New = newFileBuf
	if d.Cluster != nil {
		s.forwarder = s.newForwarder()
	}
	return s
}

// Handler is the whole HTTP handler: routes wrapped in the global middleware.
func (s *Server) Handler() http.Handler { return s.handler(s.routes()) }

// handler serves routes behind the global middleware.
func (s *Server) handler(routes []route) http.Handler {
	mux := http.NewServeMux()
	for _, rt := range routes {
		mux.Handle(rt.pattern, s.guard(rt))
	}
	mux.Handle("/", s.spa())
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, r, errForbidden("cross-origin request refused"))
	}))
	ide := securityHeaders(cop.Handler(mux))
	preview := s.previewHandler()
	// Published apps' hosts are served from the front, before the IDE's
	// middleware (package deploy's router); previews are a different
	// origin (another host name), routed before the IDE.
	return s.front(s.deploy.Router(), s.checkHost(s.customDomains(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if id, ok := s.previewProject(r.Host); ok {
			preview(w, r, id)
			return
		}
		ide.ServeHTTP(w, r)
	}))))
}
