// Package app is the composition root: it reads the configuration, builds
// every component, runs the server and owns every goroutine until shutdown.
package app

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"ecode/internal/api"
	"ecode/internal/auth"
	"ecode/internal/config"
	"ecode/internal/jobs"
	"ecode/internal/runner"
	"ecode/internal/sandbox"
	"ecode/internal/sandbox/kube"
	"ecode/internal/store"
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
		st, err := openMigrated(ctx, cfg)
		if err != nil {
			return err
		}
		defer st.Close()
		have, _, err := st.SchemaVersion(ctx)
		fmt.Fprintf(stdout, "database schema at version %d\n", have)
		return err
	case "token":
		return tokenCommand(ctx, args, getenv, stdout)
	case "deploy":
		return deployCommand(ctx, args, getenv, stdout)
	case "import":
		return importCommand(ctx, args, getenv, stdout)
	case "keys":
		return keysCommand(ctx, args, getenv, stdout)
	case "audit":
		return auditCommand(ctx, args, getenv, stdout)
	case "backup":
		return backupCommand(ctx, args, getenv, stdout)
	case "restore":
		return restoreCommand(ctx, args, getenv, stdout)
	case "nodes":
		return nodesCommand(ctx, args, getenv, stdout)
	case "sandbox-agent":
		return sandboxAgentCommand(ctx, args, getenv, stderr)
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
  deploy CMD PROJECT          a deployment through the API: list, logs, rollback, scale (ecode deploy -h)
  import SOURCE               a project from a Git URL, a zip, a Figma URL or JSON (ecode import -h)
  keys rotate                 new master key; every secrets data key rewrapped (server may run)
  audit verify                check the secrets audit log's hash chain
  backup --out FILE           one verifiable archive of the whole service (server may run; ecode backup -h)
  restore ARCHIVE             bring the service back from a backup onto an empty data dir and database
  nodes [list] | drain NODE   the nodes sharing the database; move a node's projects away
  sandbox-agent               the agent inside a workspace pod (ecode sandbox-agent -h)
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
	st, err := openCurrent(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
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

// openMigrated opens the store and brings its schema up to date.
func openMigrated(ctx context.Context, cfg *config.Config) (*store.Store, error) {
	st, err := openStore(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if err := st.Migrate(ctx); err != nil {
		st.Close()
		return nil, fmt.Errorf("migrate: %w", err)
	}
	if err := jobs.Migrate(ctx, st); err != nil {
		st.Close()
		return nil, err
	}
	return st, nil
}

// openCurrent opens the store for a command that runs beside the server:
// it refuses a schema other than this build's.
func openCurrent(ctx context.Context, cfg *config.Config) (*store.Store, error) {
	st, err := openStore(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if err := checkSchema(ctx, st); err != nil {
		st.Close()
		return nil, err
	}
	return st, nil
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

func apiOptions(cfg *config.Config, st *store.Store, runs *runner.Manager) api.Options {
	opts := api.Options{
		Version: Version, PublicURL: cfg.PublicURL, SecureCookies: cfg.SecureCookies(), SessionMax: cfg.SessionMax,
		DevLogin: cfg.DevLogin, SignupOpen: cfg.SignupOpen,
		MaxFileBytes: cfg.MaxFileBytes, MaxUploadBytes: cfg.MaxUploadBytes, PreviewDomain: cfg.PreviewDomain,
		MetricsToken: cfg.MetricsToken, TreePoll: cfg.TreePoll, AuthCacheTTL: cfg.AuthCacheTTL,
		MaxExecsPerUser: int(cfg.MaxExecsPerUser), MaxExecsPerProject: int(cfg.MaxExecsPerProj), AllowedHosts: allowedHosts(cfg),
		TrustedProxies: trustedProxies(cfg),
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
	} else if err := runs.Check(context.Background()); err != nil {
		hint := ". On Debian or Ubuntu, install bubblewrap (sudo apt-get install -y bubblewrap) and restart the server."
		if cfg.Sandbox == "kubernetes" {
			hint = ". Give the server's service account the Role in deploy/kubernetes/rbac.yaml and restart the server."
		}
		opts.Banners = append(opts.Banners, "Code cannot run on this server, so Run, terminals and the agent's commands will fail: "+err.Error()+hint)
	}
	return opts
}

// newSandbox picks the sandbox runner: bubblewrap, a pod per workspace on
// Kubernetes, or none when the operator explicitly chose to run code
// unsandboxed. The hooks run in local sandboxes' network namespaces only.
func newSandbox(cfg *config.Config, hooks []func(context.Context, string, *os.File) error, tunnels []kube.Tunnel, log *slog.Logger) (sandbox.Runner, error) {
	switch cfg.Sandbox {
	case "none":
		return sandbox.None(), nil
	case "kubernetes":
		return newKubeSandbox(cfg, tunnels, log)
	}
	name := stateName(cfg.DataDir)
	if id := nodeID(cfg); id != "" { // nodes sharing a data dir keep their own sandboxes
		name = stateName(cfg.DataDir + "\x00" + id)
	}
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
	return sandbox.NewLocal(opts), nil
}

// nodeID is this node's id when it is one of several, else "".
func nodeID(cfg *config.Config) string {
	if !cfg.Clustered() {
		return ""
	}
	return cfg.NodeName()
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
