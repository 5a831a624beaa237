// Package app is the composition root: it reads the configuration, builds
// every component, runs the server and owns every goroutine until shutdown.
package app

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"ecode/internal/agent"
	"ecode/internal/agentrun"
	"ecode/internal/api"
	"ecode/internal/auth"
	"ecode/internal/checkpoint"
	"ecode/internal/collab"
	"ecode/internal/config"
	"ecode/internal/dbproxy"
	"ecode/internal/egress"
	"ecode/internal/history"
	"ecode/internal/runner"
	"ecode/internal/sandbox"
	"ecode/internal/secretbox"
	"ecode/internal/store"
	"ecode/internal/telemetry"
	"ecode/internal/volume"
	"ecode/internal/workspace"
	"ecode/ui"
)

// Version is set at build time with -ldflags "-X ecode/internal/app.Version=...".
var Version = "dev"

// Main runs the ecode command line: args excludes the program name.
func Main(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cmd := "serve"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		cfg, err := config.Load("ecode serve", args, getenv)
		if err != nil {
			return err
		}
		return Serve(ctx, cfg, newLogger(cfg, stderr), nil)
	case "migrate":
		cfg, err := config.Load("ecode migrate", args, getenv)
		if err != nil {
			return err
		}
		st, err := openStore(ctx, cfg)
		if err != nil {
			return err
		}
		defer st.Close()
		if err := st.Migrate(ctx); err != nil {
			return err
		}
		have, _, err := st.SchemaVersion(ctx)
		fmt.Fprintf(stdout, "database schema at version %d\n", have)
		return err
	case "token":
		return tokenCommand(ctx, args, getenv, stdout)
	case "config":
		cfg, err := config.Load("ecode config", args, getenv)
		if err != nil {
			return err
		}
		fmt.Fprint(stdout, cfg.Dump())
		return nil
	case "version":
		fmt.Fprintln(stdout, "ecode", Version)
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	return fmt.Errorf("unknown command %q\n%s", cmd, usage)
}

const usage = `usage: ecode [command] [flags]

commands:
  serve                       run the server (the default; see ecode serve -h)
  migrate                     apply database migrations and exit
  token create --email EMAIL  print a new personal access token for an account
  config                      print the effective configuration (secrets redacted)
  version                     print the version
`

func tokenCommand(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	if len(args) == 0 || args[0] != "create" {
		return errors.New("usage: ecode token create --email EMAIL [--name NAME] [server flags]")
	}
	var email, name string
	rest := args[1:]
	var serverArgs []string
	for i := 0; i < len(rest); i++ {
		a := rest[i]
		switch {
		case (a == "--email" || a == "-email" || a == "--name" || a == "-name") && i+1 < len(rest):
			if strings.HasSuffix(a, "email") {
				email = rest[i+1]
			} else {
				name = rest[i+1]
			}
			i++
		case strings.HasPrefix(a, "--email="), strings.HasPrefix(a, "-email="):
			_, email, _ = strings.Cut(a, "=")
		case strings.HasPrefix(a, "--name="), strings.HasPrefix(a, "-name="):
			_, name, _ = strings.Cut(a, "=")
		default:
			serverArgs = append(serverArgs, a)
		}
	}
	if email == "" {
		return errors.New("token create: --email is required")
	}
	if name == "" {
		name = "cli"
	}
	cfg, err := config.Load("ecode token create", serverArgs, getenv)
	if err != nil {
		return err
	}
	st, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := checkSchema(ctx, st); err != nil {
		return err
	}
	au, err := auth.NewService(st, time.Now, cfg.SessionIdle, cfg.SessionMax)
	if err != nil {
		return err
	}
	u, err := st.UserByEmail(ctx, strings.ToLower(strings.TrimSpace(email)))
	if err != nil {
		return fmt.Errorf("account %s: %w", email, err)
	}
	token, _, err := au.CreateToken(ctx, u.ID, name)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, token)
	return nil
}

func newLogger(cfg *config.Config, w io.Writer) *slog.Logger {
	var level slog.Level
	level.UnmarshalText([]byte(cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func openStore(ctx context.Context, cfg *config.Config) (*store.Store, error) {
	url := cfg.DatabaseURL
	if !cfg.Postgres() {
		url = cfg.SQLitePath()
		if err := os.MkdirAll(filepath.Dir(url), 0o750); err != nil {
			return nil, err
		}
	}
	return store.Open(ctx, url)
}

func checkSchema(ctx context.Context, st *store.Store) error {
	have, want, err := st.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	if have != want {
		return fmt.Errorf("database schema is at version %d, this build needs %d: run `ecode migrate` or start the server", have, want)
	}
	return nil
}

// Serve runs the server until ctx ends. ready, if not nil, receives the
// listening address once the server accepts connections.
func Serve(ctx context.Context, cfg *config.Config, log *slog.Logger, ready chan<- string) error {
	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		return err
	}
	st, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.Migrate(ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	au, err := auth.NewService(st, time.Now, cfg.SessionIdle, cfg.SessionMax)
	if err != nil {
		return err
	}
	var vols workspace.Volumes
	if vm := newVolumes(cfg, log); vm != nil {
		vols = vm
		defer func() { // after the sandboxes, which bind the volumes
			if err := vm.Close(); err != nil {
				log.Warn("unmount project volumes", "err", err)
			}
		}()
	}
	files, err := workspace.New(filepath.Join(cfg.DataDir, "projects"), vols)
	if err != nil {
		return err
	}
	var proxy *egress.Proxy
	if cfg.Egress == "proxy" {
		proxy = egress.New(strings.Split(cfg.EgressAllow, ","), sandbox.ListenInNetns, log.With("component", "egress"))
		defer proxy.Close() // after the sandboxes
	}
	// Hooks that run in each new sandbox's network namespace.
	var hooks []func(context.Context, string, *os.File) error
	var stopHooks []func(string)
	if proxy != nil {
		hooks, stopHooks = append(hooks, proxy.Setup), append(stopHooks, proxy.Forget)
	}
	pg, err := projectPostgres(ctx, cfg, st)
	if err != nil {
		return err
	}
	if pg != nil {
		dbp, err := newDBProxy(cfg, pg, log)
		if err != nil {
			return err
		}
		defer dbp.Close() // after the sandboxes
		hooks, stopHooks = append(hooks, dbp.Setup), append(stopHooks, dbp.Forget)
	}
	sb := newSandbox(cfg, hooks)
	if err := sb.Check(); err != nil {
		log.Warn("code cannot run: "+err.Error(), "sandbox", cfg.Sandbox)
	} else if err := sb.Cleanup(ctx); err != nil {
		log.Warn("clean up sandboxes of a previous run", "err", err)
	}
	runOpts := runner.Options{
		Limits: sandbox.Limits{MemoryBytes: cfg.SandboxMemory, CPU: cfg.CPU(), MaxProcs: int(cfg.SandboxProcs),
			TmpBytes: cfg.SandboxTmp, WallTime: 10 * time.Minute},
		IdleTimeout: cfg.SandboxIdle, Now: time.Now, Log: log.With("component", "runner"),
	}
	var hist *history.Service // built below; runs ask it for each project's database
	runOpts.ProjectEnv = func(projectID string) []string { return hist.Env(projectID) }
	if proxy != nil {
		runOpts.Env = egress.Env()
	}
	runOpts.OnStop = func(projectID string) {
		for _, stop := range stopHooks {
			stop(projectID)
		}
	}
	runs := runner.New(sb, files, st, runOpts)
	// Live collaboration; Redis relays rooms between nodes when configured.
	hub, err := collab.New(st, files, collab.Options{Log: log, RedisURL: cfg.RedisURL})
	if err != nil {
		return err
	}
	metrics := telemetry.New()
	metrics.Gauge("ecode_sandboxes_active", "Project sandboxes currently open.", func() float64 { return float64(runs.Active()) })
	objects, err := checkpoint.NewDirStore(filepath.Join(cfg.DataDir, "objects"))
	if err != nil {
		return err
	}
	repo := checkpoint.NewRepo(objects)
	defer repo.Close()
	hist = history.New(st, repo, files, runs, time.Now)
	if pg != nil {
		hist.UsePostgres(pg)
	}
	hist.Changed = func(ctx context.Context, projectID string) { hub.FileChanged(ctx, projectID, "") }
	hist.Flush = func(ctx context.Context, projectID string) {
		if err := hub.Flush(ctx, projectID, ""); err != nil {
			log.Warn("flush editors before a checkpoint", "project_id", projectID, "err", err)
		}
	}
	// The master key seals secrets stored in the database (provider API keys).
	secrets, err := secretbox.OpenFile(filepath.Join(cfg.DataDir, "master.key"))
	if err != nil {
		return err
	}
	ag := agentrun.New(agentrun.Config{AnthropicAPIKey: cfg.AnthropicAPIKey, AnthropicBaseURL: cfg.AnthropicBaseURL,
		OpenAIAPIKey: cfg.OpenAIAPIKey, OpenAIBaseURL: cfg.OpenAIBaseURL, Model: cfg.AgentModel},
		agentrun.Deps{Store: st, Files: files, Runner: runs, Log: log.With("component", "agent"), Now: time.Now, Secrets: secrets,
			Changed: hub.FileChanged, AgentEdit: hub.EditAsAgent, AgentDone: hub.AgentTurnEnded,
			DBURL: func(projectID string) string { return hist.DB(projectID).URL() },
			Checkpoint: func(ctx context.Context, projectID, userID, label string, cost agent.TurnCost) (string, error) {
				cp, err := hist.CreateWithCost(ctx, projectID, userID, "agent", label, cost.Tokens, cost.Time)
				return cp.ID, err
			}})
	defer ag.Close()
	srv := api.New(api.Deps{Metrics: metrics, Store: st, Auth: au, Files: files, Runner: runs, Collab: hub, History: hist, Agent: ag, UI: ui.FS(), Log: log, Now: time.Now},
		apiOptions(cfg, st, runs))

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
	}
	httpServer, ln := newHTTPServer(cfg, srv.Handler(), ln, log)
	log.Info("listening on http://"+ln.Addr().String(), "database", st.Engine(), "data_dir", cfg.DataDir, "ui", ui.Embedded)
	if ready != nil {
		ready <- ln.Addr().String()
	}

	var wg sync.WaitGroup
	errc := make(chan error, 1)
	wg.Go(func() { errc <- httpServer.Serve(ln) })
	wg.Go(func() { sweepSessions(ctx, au, log) })
	maintain := time.NewTicker(time.Minute)
	defer maintain.Stop()
	runCtx, stopRuns := context.WithCancel(context.Background())
	wg.Go(func() { runs.Run(runCtx, maintain.C) })
	gcTick := time.NewTicker(time.Hour)
	defer gcTick.Stop()
	wg.Go(func() { hist.RunGC(runCtx, gcTick.C, log.With("component", "checkpoints")) })
	hubCtx, stopHub := context.WithCancel(context.Background())
	wg.Go(func() { hub.Run(hubCtx) })

	select {
	case err = <-errc:
	case <-ctx.Done():
		log.Info("shutting down")
		ag.Close() // cancels agent turns, so their event streams end
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		err = httpServer.Shutdown(shutdownCtx)
		<-errc
	}
	// Sandboxes stop after the HTTP server, so no request races them.
	// WebSockets are hijacked, so Shutdown does not wait for them: the hub
	// closes them (1001) and writes every open document to its file.
	stopHub()
	stopRuns()
	wg.Wait()
	if cerr := sb.Close(); cerr != nil {
		log.Warn("close sandboxes", "err", cerr)
	}
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

func apiOptions(cfg *config.Config, st *store.Store, runs *runner.Manager) api.Options {
	opts := api.Options{
		Version: Version, SecureCookies: cfg.SecureCookies(), SessionMax: cfg.SessionMax,
		DevLogin: cfg.DevLogin, SignupOpen: cfg.SignupOpen,
		MaxFileBytes: cfg.MaxFileBytes, MaxUploadBytes: cfg.MaxUploadBytes, PreviewDomain: cfg.PreviewDomain,
		MetricsToken: cfg.MetricsToken, MaxExecsPerUser: int(cfg.MaxExecsPerUser), MaxExecsPerProject: int(cfg.MaxExecsPerProj),
		AllowedHosts: allowedHosts(cfg),
		ReadyChecks: map[string]func(context.Context) error{
			"database": st.Ping,
			"sandbox":  runs.Check,
		},
	}
	if cfg.DevLogin {
		opts.Banners = append(opts.Banners, "Development login is enabled: anyone who can reach this server can sign in as anyone.")
	}
	if cfg.Sandbox == "none" {
		opts.Banners = append(opts.Banners, "Sandbox is off (--sandbox=none): project code runs unsandboxed on this machine.")
	}
	return opts
}

// newVolumes gives projects a disk of --project-disk bytes each, when the
// server can mount (root); otherwise projects have no disk limit.
func newVolumes(cfg *config.Config, log *slog.Logger) *volume.Manager {
	if cfg.ProjectDisk == 0 {
		return nil
	}
	vols, err := volume.New(filepath.Join(cfg.DataDir, "volumes"), cfg.ProjectDisk)
	if err != nil {
		log.Warn("projects have no disk limit: "+err.Error(), "project_disk", cfg.ProjectDisk)
		return nil
	}
	return vols
}

// newSandbox picks the sandbox runner: bubblewrap, or none when the
// operator explicitly chose to run code unsandboxed.
func newSandbox(cfg *config.Config, hooks []func(context.Context, string, *os.File) error) sandbox.Runner {
	if cfg.Sandbox == "none" {
		return sandbox.None()
	}
	name := stateName(cfg.DataDir)
	opts := sandbox.Options{
		StateDir:     filepath.Join(os.TempDir(), "ecode-sandbox-"+name),
		CgroupPrefix: "ecode-" + name,
	}
	if len(hooks) > 0 {
		opts.NetworkSetup = func(ctx context.Context, id string, netns *os.File) error {
			for _, h := range hooks {
				if err := h(ctx, id, netns); err != nil {
					return err
				}
			}
			return nil
		}
	}
	return sandbox.NewLocal(opts)
}

// projectPostgres is the server that holds the projects' databases when the
// operator gave --project-db-url (nil: a SQLite file per project). Role
// passwords derive from a secret kept in the settings, shared by all nodes.
func projectPostgres(ctx context.Context, cfg *config.Config, st *store.Store) (*checkpoint.PostgresServer, error) {
	if cfg.ProjectDBURL == "" {
		return nil, nil
	}
	secret, err := st.SettingOrInit(ctx, "project_db_secret", func() string {
		b := make([]byte, 32)
		rand.Read(b)
		return hex.EncodeToString(b)
	})
	if err != nil {
		return nil, err
	}
	return &checkpoint.PostgresServer{AdminURL: cfg.ProjectDBURL, Secret: []byte(secret)}, nil
}

// newDBProxy lets each sandbox reach its project's PostgreSQL database, and
// only that one.
func newDBProxy(cfg *config.Config, pg *checkpoint.PostgresServer, log *slog.Logger) (*dbproxy.Proxy, error) {
	u, err := url.Parse(cfg.ProjectDBURL)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("project-db-url: %q is not a postgres:// URL with a host", cfg.ProjectDBURL)
	}
	target := u.Host
	if u.Port() == "" {
		target = net.JoinHostPort(u.Hostname(), "5432")
	}
	allow := func(projectID string) (string, string) {
		name := pg.Project(projectID).Name
		return name, name
	}
	return dbproxy.New(target, allow, sandbox.ListenInNetns, log.With("component", "dbproxy")), nil
}

// stateName distinguishes the sandbox state of servers with different data dirs.
func stateName(dataDir string) string {
	abs, err := filepath.Abs(dataDir)
	if err != nil {
		abs = dataDir
	}
	h := fnv.New32a()
	h.Write([]byte(abs))
	return strconv.FormatUint(uint64(h.Sum32()), 36)
}

// sweepSessions deletes expired sessions every hour until ctx ends.
func sweepSessions(ctx context.Context, au *auth.Service, log *slog.Logger) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		if n, err := au.SweepSessions(ctx); err != nil && ctx.Err() == nil {
			log.Warn("sweep sessions", "err", err)
		} else if n > 0 {
			log.Info("swept expired sessions", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
