package app

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"k8s.io/client-go/kubernetes"

	"ecode/internal/agent"
	"ecode/internal/agentrun"
	"ecode/internal/api"
	"ecode/internal/auth"
	"ecode/internal/billing"
	"ecode/internal/checkpoint"
	"ecode/internal/cluster"
	"ecode/internal/collab"
	"ecode/internal/config"
	"ecode/internal/deploy"
	"ecode/internal/domains"
	"ecode/internal/egress"
	"ecode/internal/errtrack"
	"ecode/internal/history"
	"ecode/internal/imports"
	"ecode/internal/jobs"
	"ecode/internal/live"
	"ecode/internal/monitor"
	"ecode/internal/notify"
	"ecode/internal/projectdb"
	"ecode/internal/projects"
	"ecode/internal/revoke"
	"ecode/internal/runner"
	"ecode/internal/sandbox"
	"ecode/internal/sandbox/kube"
	"ecode/internal/secretbox"
	"ecode/internal/secrets"
	"ecode/internal/store"
	"ecode/internal/telemetry"
	"ecode/internal/tracing"
	"ecode/internal/volume"
	"ecode/internal/workspace"
	"ecode/ui"
)

// Server is the whole object graph `ecode serve` runs; tests build the same
// one (package testutil). Build makes it, Run runs its background work,
// Close takes it down in order.
type Server struct {
	Config   *config.Config
	Log      *slog.Logger
	Store    *store.Store
	Auth     *auth.Service
	Files    *workspace.Files
	DBs      *projectdb.Manager
	Sandbox  sandbox.Runner
	Runner   *runner.Manager
	Collab   *collab.Hub
	Repo     *checkpoint.Repo
	History  *history.Service
	Agent    *agentrun.Service
	Live     *live.Registry
	Revoke   *revoke.Bus // revocations to every node: caches drop, live requests end
	Projects *projects.Service
	Metrics  *telemetry.Metrics
	API      *api.Server
	Secrets  *secrets.Service // project and account secrets (master key: --master-key-file etc.)
	Errors   *errtrack.Tracker
	Notify   *notify.Service
	Domains  *domains.Service // custom domains: DNS verification, ACME certificates
	// HTTPS answers on the HTTPS listener (--https-addr) for verified custom domains.
	HTTPS   http.Handler
	Imports *imports.Service
	Jobs    *jobs.Client      // the background job queue (River on the store's database)
	Billing *billing.Service  // the usage ledger, prices, plans, quotas
	Deploy  *deploy.Service   // published apps: releases, production sandboxes, the apps-domain router
	Monitor *monitor.Monitor  // the admin Monitoring page's samples
	Tracing *tracing.Provider // spans of requests, jobs and what they do (--otlp-endpoint; no-op when off)

	// Cluster is this node's membership of several (--internal-addr); nil
	// for a single node.
	Cluster *cluster.Cluster

	// RecheckTick, when set, drives the re-checks of live requests while
	// Redis is unreachable instead of a ticker of --live-recheck, and
	// OnRecheck is told of each that ran (tests; see runRecheck).
	RecheckTick <-chan time.Time
	OnRecheck   func(keys, ended int)

	// OnJob, when set, is told of each finished job attempt: its kind and
	// the state it ended in (tests wait on it).
	OnJob func(kind, state string)

	box *secretbox.Box // seals provider API keys under the same master key

	redis   *redis.Client  // shared by the revocation bus and the collaboration relay (--redis-url)
	closers []func() error // run by Close, last first
}

// Deps are what Build is given rather than makes: the store (opened and
// migrated by the caller), the log and the clock.
type Deps struct {
	Store *store.Store
	Log   *slog.Logger
	Now   func() time.Time
	// Collab, when set, adjusts the collaboration hub's options (tests
	// shorten its leases and polling).
	Collab func(*collab.Options)
	// DeleteStep, when set, is called after each step of a project
	// deletion (fault injection for tests; see projects.Deps.AfterStep).
	DeleteStep func(projectID string, step projects.DeleteStep) error
	// JobClock, when set, is the job queue's clock (tests); nil: real time.
	JobClock func() time.Time
	// JobRescueAfter, when set, is how long a job may run, and stay
	// running before the queue takes its process to be dead and runs it
	// again (tests); zero: the queue's defaults.
	JobRescueAfter time.Duration
	// Spans, when set, receives the spans instead of --otlp-endpoint
	// (tests: an in-memory exporter).
	Spans sdktrace.SpanExporter
	// Kube, when set, is the Kubernetes API client of --sandbox=kubernetes
	// and KubeConnect how to reach a pod's agent (tests: a fake clientset
	// and an agent process); nil: from the configuration, remote.Dial.
	Kube        kubernetes.Interface
	KubeConnect func(ctx context.Context, id, addr, token string) (sandbox.Workspace, error)
	// WrapSandbox, when set, wraps the sandbox runner every component
	// opens workspaces with (tests: what specs they open them with).
	WrapSandbox func(sandbox.Runner) sandbox.Runner
}

// Build makes every component from the configuration, then does what must
// happen before the server takes requests: it removes the sandboxes of a
// crashed previous process and finishes interrupted project deletions. On
// error, what was built is closed.
func Build(ctx context.Context, cfg *config.Config, d Deps) (s *Server, err error) {
	built := &Server{Config: cfg, Log: d.Log, Store: d.Store, Live: live.New(), Metrics: telemetry.New()}
	s = built
	defer func() {
		if err != nil {
			built.Close()
			s = nil
		}
	}()
	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		return nil, err
	}
	if err := s.buildTracing(cfg, d); err != nil {
		return nil, err
	}
	if s.Auth, err = auth.NewService(d.Store, d.Now, cfg.SessionIdle, cfg.SessionMax); err != nil {
		return nil, err
	}
	if err := s.buildRedis(ctx, cfg); err != nil {
		return nil, err
	}
	s.buildRevoke(cfg, d.Log)
	if s.Secrets, s.box, err = openSecrets(cfg, d.Store, d.Log); err != nil {
		return nil, err
	}
	d.Log = slog.New(s.Secrets.LogHandler(d.Log.Handler())) // loaded secret values are masked in the log
	s.Log = d.Log
	if err := s.buildJobs(ctx, d, cfg.JobPoll); err != nil {
		return nil, err
	}
	var vols workspace.Volumes
	disk := volume.Disk{Dir: cfg.DataDir, Reserve: cfg.DiskReserve}
	if vm := newVolumes(cfg, d.Log); vm != nil {
		vm.SetDisk(disk) // admission: the volumes promised must fit on the data disk
		vols = vm
		s.onClose(vm.Close) // after the sandboxes, which bind the volumes
	}
	if s.Files, err = workspace.New(filepath.Join(cfg.DataDir, "projects"), vols); err != nil {
		return nil, err
	}
	s.Files.SetSpaceCheck(disk.Check)
	s.Revoke.Handle(s.forgetRoots)
	s.onClose(func() error { s.Files.Forget(""); return nil }) // before the volumes unmount
	if s.DBs, err = newProjectDBs(ctx, cfg, d.Store, s.Files, d.Log); err != nil {
		return nil, err
	}
	s.onClose(func() error { s.DBs.Close(); return nil }) // after the sandboxes
	if s.Billing, err = buildBilling(cfg, d.Store, d.Log, d.Now, s.notifyAs(notify.QuotaWarning)); err != nil {
		return nil, err
	}
	if err := s.buildSandbox(cfg, d, d.Log); err != nil {
		return nil, err
	}
	s.buildCluster(cfg, d.Now, d.Log)
	collabOpts := collab.Options{Log: d.Log, Redis: s.redis, BroadcastWindow: cfg.CollabBroadcastWindow,
		OnLogged: s.Metrics.CollabLogged, OnRelayed: s.Metrics.CollabRelayed}
	if d.Collab != nil {
		d.Collab(&collabOpts)
	}
	if s.Collab, err = collab.New(d.Store, s.Files, collabOpts); err != nil {
		return nil, err
	}
	objects, err := newObjectStore(ctx, cfg)
	if err != nil {
		return nil, err
	}
	s.Repo = checkpoint.NewRepo(objects)
	s.onClose(s.Repo.Close)
	s.History = history.New(d.Store, s.Repo, s.Files, s.DBs, s.Runner, d.Now)
	s.History.Log = d.Log.With("component", "checkpoints")
	s.History.Space(disk.Check, cfg.ProjectDisk, cfg.CheckpointAllowance())
	s.History.Changed = func(ctx context.Context, projectID string) { s.Collab.FileChanged(ctx, projectID, "") }
	s.History.ForgetFolder = s.forgetEverywhere
	s.History.SecretSet = checkpointSecretSet(s.Secrets)
	s.History.Observe = s.Metrics.CheckpointOp
	s.History.Flush = func(ctx context.Context, projectID string) {
		if err := s.Collab.Flush(ctx, projectID, ""); err != nil {
			d.Log.Warn("flush editors before a checkpoint", "project_id", projectID, "err", err)
		}
	}
	if err := s.buildAgent(cfg, d.Log); err != nil {
		return nil, err
	}
	s.buildDeploy(cfg, d.Now)
	s.Projects = projects.New(projects.Deps{Store: d.Store, Files: s.Files, DBs: s.DBs, History: s.History,
		Runner: s.Runner, Collab: s.Collab, Agent: s.Agent, Revoke: s.Revoke, Deploy: s.Deploy, Log: d.Log.With("component", "projects"),
		Now: d.Now, AfterStep: d.DeleteStep, Jobs: s.Jobs})
	s.handleJobs()
	s.Metrics.Gauge("ecode_sandboxes_active", "Project sandboxes currently open.", func() float64 { return float64(s.Runner.Active()) })
	s.Metrics.Gauge("ecode_collab_rooms", "Collaboration rooms (open documents and presence rooms) on this node.", func() float64 { return float64(s.Collab.Rooms()) })
	s.Metrics.Gauge("ecode_collab_clients", "Collaboration connections this node serves.", func() float64 { return float64(s.Collab.Clients()) })
	s.Metrics.CounterVec("ecode_collab_messages_sent_total", "Messages sent to collaboration clients, by who wrote them: the room itself (the socket took them at once) or the connection's writer (queued).", "by", func() map[string]float64 {
		room, writer := s.Collab.Sent()
		return map[string]float64{"room": float64(room), "writer": float64(writer)}
	})
	s.Metrics.CounterVec("ecode_collab_publishes_total", "Messages this node published to the other nodes (Redis) for collaboration rooms, by kind: logged updates and awareness (only while another node has the room open), and control (presence, file checks, flush requests).", "kind", func() map[string]float64 {
		updates, awareness, control := s.Collab.Published()
		return map[string]float64{"update": float64(updates), "awareness": float64(awareness), "control": float64(control)}
	})
	s.Metrics.CounterVec("ecode_collab_relay_dropped_total", "Messages between nodes (Redis) for collaboration rooms that were lost, by where: inbox (received, the room's inbox was full) or publish (the queue to Redis was full, or Redis failed). Each makes the rooms concerned read the store's log at once.", "at", func() map[string]float64 {
		inbox, publish := s.Collab.Dropped()
		return map[string]float64{"inbox": float64(inbox), "publish": float64(publish)}
	})
	s.Metrics.Counter("ecode_collab_redis_resubscribes_total", "Times this node's Redis subscription for collaboration was lost and started again on a new connection (every room then read the store's log).", func() float64 { return float64(s.Collab.Resubscribes()) })
	s.Metrics.Gauge("ecode_data_disk_free_bytes", "Bytes free on the data directory's disk.", func() float64 {
		free, _, _ := disk.Usage()
		return float64(free)
	})
	s.Errors = errtrack.New(d.Store, d.Now, d.Log.With("component", "errtrack"), errtrack.Options{Mask: s.Secrets.MaskString,
		Retention: cfg.ErrorRetention})
	s.Notify = notify.New(d.Store, notify.SMTP{Addr: cfg.SMTPAddr, From: cfg.SMTPFrom, Username: cfg.SMTPUsername,
		Password: cfg.SMTPPassword}, d.Log.With("component", "notify"), d.Now)
	if err := s.buildDomains(cfg, d.Now); err != nil {
		return nil, err
	}
	s.buildImports(cfg, d.Now)
	s.Imports.SetNotify(s.notifyAs(notify.ImportFinished))
	s.Domains.Notify = s.notifyAs(notify.DomainCertificate)
	// Published apps answer on <slug>.<apps-domain> (main listener) and on
	// verified custom domains (HTTPS listener; plain HTTP redirects there).
	s.Deploy.Hosts = s.Domains
	s.HTTPS = s.Deploy.Router()
	s.Deploy.Notify = s.notifyKinds(map[string]string{"deploy_failed": notify.DeploymentFailed,
		"deploy_rolled_back": notify.DeploymentRolledBack, "deploy_suspended": notify.QuotaWarning})
	s.Deploy.CreditsLeft = s.creditsLeft
	opts := apiOptions(cfg, d.Store, s.Runner)
	opts.MaxImportBytes = cfg.ImportMaxBytes
	opts.ReadyChecks["data_disk"] = func(context.Context) error { return disk.Check() }
	opts.ReadyChecks["job_queue"] = func(ctx context.Context) error { _, err := s.Jobs.Counts(ctx); return err }
	s.buildMonitor(cfg, d, disk)
	s.API = api.New(api.Deps{Metrics: s.Metrics, Store: d.Store, Auth: s.Auth, Files: s.Files, Runner: s.Runner,
		Collab: s.Collab, History: s.History, Projects: s.Projects, Agent: s.Agent, Live: s.Live, Revoke: s.Revoke, Secrets: s.Secrets,
		Errors: s.Errors, Notify: s.Notify, Domains: s.Domains, Imports: s.Imports, Jobs: s.Jobs, Billing: s.Billing, Deploy: s.Deploy, Cluster: s.Cluster, UI: ui.FS(),
		Monitor: s.Monitor, Backups: s.Backups, OnRequest: s.Monitor.ObserveRequest,
		Log: d.Log, Now: d.Now, Tracer: s.Tracing}, opts)
	s.Deploy.Forward = s.API.ForwardApp      // apps run by another node of the cluster
	s.Secrets.Changed = s.API.SecretsChanged // on the node running the project
	return s, s.startup(ctx)
}

// onClose adds fn to what Close runs (last added, first run).
func (s *Server) onClose(fn func() error) { s.closers = append(s.closers, fn) }

// buildSandbox makes the sandbox runner, with the hooks that run in each new
// sandbox's network namespace (egress proxy, database proxy), and the
// runner that keeps one sandbox per active project.
func (s *Server) buildSandbox(cfg *config.Config, d Deps, log *slog.Logger) error {
	hooks := []func(context.Context, string, *os.File) error{s.DBs.SandboxSetup}
	stopHooks := []func(string){s.DBs.SandboxStopped}
	var tunnels []kube.Tunnel // the same proxies, for workspace pods
	if s.DBs.Postgres() {
		tunnels = append(tunnels, kube.Tunnel{Addr: projectdb.SandboxAddr, Attach: s.DBs.SandboxAttach})
	}
	runOpts := runner.Options{
		Limits: sandbox.Limits{MemoryBytes: cfg.SandboxMemory, CPU: cfg.CPU(), MaxProcs: int(cfg.SandboxProcs),
			TmpBytes: cfg.SandboxTmp, WallTime: 10 * time.Minute, DiskBytes: cfg.ProjectDisk},
		IdleTimeout: cfg.SandboxIdle, Now: time.Now, Log: log.With("component", "runner"),
		ProjectEnv:    s.DBs.Env,
		Prepare:       func(projectID string) error { return s.History.Prepare(projectID) },
		ReservedPorts: []int{projectdb.SandboxPort},
		Secrets:       s.Secrets.Env,
		Observe:       s.Metrics,
	}
	mirrorEnv, mirrorHosts := registryMirrors(cfg)
	runOpts.Env = mirrorEnv
	if cfg.Egress == "proxy" {
		proxy := egress.New(append(strings.Split(cfg.EgressAllow, ","), mirrorHosts...), sandbox.ListenInNetns, log.With("component", "egress"))
		s.onClose(func() error { proxy.Close(); return nil }) // after the sandboxes
		hooks, stopHooks = append(hooks, proxy.Setup), append(stopHooks, proxy.Forget)
		tunnels = append(tunnels, kube.Tunnel{Addr: egress.Addr, Attach: proxy.Attach})
		runOpts.Env = append(egress.Env(), mirrorEnv...)
		runOpts.ReservedPorts = append(runOpts.ReservedPorts, egress.Port)
	}
	runOpts.OnStop = func(projectID string) {
		for _, stop := range stopHooks {
			stop(projectID)
		}
		if s.Cluster != nil { // an idle project need not stay on this node
			if err := s.Cluster.Release(context.Background(), projectID); err != nil {
				log.Warn("release the project's lease", "project_id", projectID, "err", err)
			}
		}
	}
	var err error
	if cfg.Sandbox == "kubernetes" && d.Kube != nil {
		connect := d.KubeConnect
		if connect == nil {
			connect = kubeConnect
		}
		var r *kube.Runner
		if r, err = newKubeRunner(cfg, d.Kube, connect, tunnels, log); err == nil {
			s.Sandbox = r
		}
	} else {
		s.Sandbox, err = newSandbox(cfg, hooks, tunnels, log)
	}
	if err != nil {
		return err
	}
	if d.WrapSandbox != nil {
		s.Sandbox = d.WrapSandbox(s.Sandbox)
	}
	s.onClose(s.Sandbox.Close)
	runOpts.LimitsFor = s.planLimits
	s.Runner = runner.New(s.Sandbox, s.Files, s.Billing.Recorder(), runOpts)
	s.onClose(s.Runner.Close)
	return nil
}

// buildAgent makes the agent service; the master key seals the provider
// keys admins store.
func (s *Server) buildAgent(cfg *config.Config, log *slog.Logger) error {
	s.Auth.SetSecretBox(s.box) // TOTP secrets, under the same master key (rotation reseals them)
	s.Agent = agentrun.New(agentrun.Config{AnthropicAPIKey: cfg.AnthropicAPIKey, AnthropicBaseURL: cfg.AnthropicBaseURL,
		OpenAIAPIKey: cfg.OpenAIAPIKey, OpenAIBaseURL: cfg.OpenAIBaseURL, Model: cfg.AgentModel},
		agentrun.Deps{NodeID: nodeID(cfg), Store: s.Store, Files: s.Files, Runner: s.Runner, Log: log.With("component", "agent"), Now: time.Now,
			Secrets: s.box, ProjectSecrets: s.Secrets, Billing: s.Billing, OnTurn: s.observeTurn, Changed: s.Collab.FileChanged, AgentEdit: s.Collab.EditAsAgent, AgentDone: s.Collab.AgentTurnEnded,
			DBURL: func(projectID string) string { return s.DBs.DB(projectID).URL() },
			Checkpoint: func(ctx context.Context, projectID, userID, label string, cost agent.TurnCost) (string, error) {
				cp, err := s.History.CreateWithCost(ctx, projectID, userID, "agent", label, cost.Tokens, cost.Time)
				return cp.ID, err
			}})
	s.onClose(func() error { s.Agent.Close(); return nil })
	s.classifyWithModel(cfg)
	return nil
}

// startup runs before the server takes requests.
func (s *Server) startup(ctx context.Context) error {
	if s.Cluster != nil {
		if err := s.Cluster.Register(ctx); err != nil {
			return fmt.Errorf("register this node: %w", err)
		}
	}
	if err := s.Sandbox.Check(); err != nil {
		s.Log.Warn("code cannot run: "+err.Error(), "sandbox", s.Config.Sandbox)
	} else if err := s.Sandbox.Cleanup(ctx); err != nil {
		s.Log.Warn("clean up sandboxes of a previous run", "err", err)
	}
	if err := s.Projects.ResumeDeletions(ctx); err != nil {
		return fmt.Errorf("finish interrupted project deletions: %w", err)
	}
	if err := s.History.Recover(ctx); err != nil { // restores a crash interrupted
		return fmt.Errorf("recover interrupted restores: %w", err)
	}
	return nil
}

// Handler is the server's whole HTTP handler.
func (s *Server) Handler() http.Handler { return s.API.Handler() }

// Run does the server's background work until ctx ends: the job queue
// (session sweep, checkpoint GC, project deletions, imports; see jobs.go), the
// monitoring samples (every --monitor-interval), sandbox
// maintenance (usage, idle stop), the revocation relay with the re-checks of
// live requests while it is down, and the collaboration hub, which at the
// end closes its connections (1001) and writes every open document to its
// file.
func (s *Server) Run(ctx context.Context) {
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := s.Jobs.Run(ctx); err != nil {
			s.Log.Error("job queue", "err", err)
		}
	})
	maintain := time.NewTicker(time.Minute)
	defer maintain.Stop()
	wg.Go(func() { s.Runner.Run(ctx, maintain.C) })
	wg.Go(func() { s.Collab.Run(ctx) })
	wg.Go(func() { s.Revoke.Run(ctx) })
	wg.Go(func() { s.runRecheck(ctx) })
	wg.Go(func() { s.Notify.Run(ctx) })
	certTick := time.NewTicker(time.Hour)
	defer certTick.Stop()
	wg.Go(func() { s.Domains.Run(ctx, certTick.C) })
	wg.Go(func() { s.Deploy.Run(ctx) })
	wg.Go(func() { s.Billing.Run(ctx, s.stopRunsOf) })
	monitorTick := time.NewTicker(s.Config.MonitorInterval)
	defer monitorTick.Stop()
	wg.Go(func() { s.Monitor.Run(ctx, monitorTick.C) })
	wg.Go(func() { s.runCluster(ctx) })
	wg.Wait()
}

// Close stops what Build made, in order: agent turns, the runner and every
// sandbox, the proxies, the checkpoint repository, the volumes.
func (s *Server) Close() error {
	var errs []error
	for i := len(s.closers) - 1; i >= 0; i-- {
		errs = append(errs, s.closers[i]())
	}
	s.closers = nil
	return errors.Join(errs...)
}

// Serve runs the server until ctx ends. ready, if not nil, receives the
// listening address once the server accepts connections.
func Serve(ctx context.Context, cfg *config.Config, log *slog.Logger, ready chan<- string) error {
	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		return err
	}
	st, err := openMigrated(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	srv, err := Build(ctx, cfg, Deps{Store: st, Log: log, Now: time.Now})
	if err != nil {
		return err
	}
	defer srv.Close()
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
	}
	httpServer, ln := newHTTPServer(cfg, srv.Handler(), ln, log)
	ln = srv.AppListener(ln)
	log.Info("listening on http://"+ln.Addr().String(), "database", st.Engine(), "data_dir", cfg.DataDir, "ui", ui.Embedded)
	if ready != nil {
		ready <- ln.Addr().String()
	}
	bgCtx, stopBackground := context.WithCancel(context.Background())
	bgDone := make(chan struct{})
	go func() {
		defer close(bgDone)
		srv.Run(bgCtx)
	}()
	errc := make(chan error, 3)
	go func() { errc <- httpServer.Serve(ln) }()
	httpsServer, err := srv.serveHTTPS(errc, log)
	var internalServer *http.Server
	if err == nil {
		internalServer, err = srv.serveInternal(errc, log)
	}
	if err != nil {
		httpServer.Close()
		<-errc
		stopBackground()
		<-bgDone
		return err
	}
	select {
	case err = <-errc:
	case <-ctx.Done():
		log.Info("shutting down")
		srv.Agent.Close() // cancels agent turns, so their event streams end
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if httpsServer != nil {
			httpsServer.Shutdown(shutdownCtx)
		}
		if internalServer != nil {
			internalServer.Shutdown(shutdownCtx)
		}
		err = httpServer.Shutdown(shutdownCtx)
		<-errc
	}
	// Background work and sandboxes stop after the HTTP server, so no
	// request races them. WebSockets are hijacked, so Shutdown does not
	// wait for them: the hub closes them (1001) as Run ends.
	stopBackground()
	<-bgDone
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// newProjectDBs gives projects their databases: SQLite files, or, with
// --project-db-url, PostgreSQL databases and roles whose passwords derive
// from a secret kept in the settings (shared by all nodes).
func newProjectDBs(ctx context.Context, cfg *config.Config, st *store.Store, files *workspace.Files, log *slog.Logger) (*projectdb.Manager, error) {
	if cfg.ProjectDBURL == "" {
		return projectdb.NewSQLite(files), nil
	}
	secret, err := st.SettingOrInit(ctx, "project_db_secret", func() string {
		b := make([]byte, 32)
		rand.Read(b)
		return hex.EncodeToString(b)
	})
	if err != nil {
		return nil, err
	}
	return projectdb.NewPostgres(files, cfg.ProjectDBURL, []byte(secret), log.With("component", "dbproxy"))
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
