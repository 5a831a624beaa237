// Package agentrun puts the AI agent (internal/agent) into the product: its
// Env over the project's files, sandbox and run, the provider chosen from
// the admin's settings (else the configuration), one running turn per project, cancellation, and every
// event and the conversation persisted in the store.
package agentrun

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"sync"
	"time"

	"ecode/internal/agent"
	"ecode/internal/billing"
	"ecode/internal/runner"
	"ecode/internal/secretbox"
	"ecode/internal/secrets"
	"ecode/internal/store"
	"ecode/internal/workspace"
)

// Config selects the model provider. Anthropic is used when its key is set;
// otherwise an OpenAI-compatible server when its base URL or key is set.
type Config struct {
	AnthropicAPIKey  string
	AnthropicBaseURL string
	OpenAIAPIKey     string
	OpenAIBaseURL    string
	Model            string // empty: the provider's default
}

// Deps are the product components the agent works through.
type Deps struct {
	Store  *store.Store
	Files  *workspace.Files
	Runner *runner.Manager
	Log    *slog.Logger
	Now    func() time.Time
	// NodeID is this node's id in a cluster ("" for one node): its turns are
	// recorded under it, and its start fails only its own leftovers.
	NodeID string
	// AppWait bounds how long run_app waits for the app to listen (default 30s).
	AppWait time.Duration
	// Checkpoint, when set, snapshots the project at the end of every turn
	// that changed it (recording what the turn cost) and returns the
	// checkpoint's id.
	Checkpoint func(ctx context.Context, projectID, userID, label string, cost agent.TurnCost) (string, error)
	// Changed, when set, is told after the agent wrote a file, so open
	// editors show the edit at once (the collaboration hub).
	Changed func(ctx context.Context, projectID, path string)
	// AgentEdit, when set, makes the agent's writes live edits of the
	// file's open editors (the collaboration hub); when it fails the file
	// is written and Changed told. AgentDone is told when a turn ends.
	AgentEdit func(ctx context.Context, projectID, path, text string) error
	AgentDone func(projectID string)
	// DBURL, when set, names the project's database the agent's sql tool
	// queries: "sqlite:" + the host path of its SQLite file, or a
	// postgres:// URL with the project's own role.
	DBURL func(projectID string) string
	// Secrets seals the API keys of the provider settings an admin stores
	// (nil: keys cannot be stored).
	Secrets *secretbox.Box
	// ProjectSecrets, when set, gives the secrets tool the project's secret
	// names and masks their values in everything the model or the store
	// gets (tool results, events, the conversation).
	ProjectSecrets *secrets.Service
	// Billing, when set, refuses turns the account's credits do not
	// allow, quotes each turn (its cap becomes the loop's money limit) and
	// charges it when it ends.
	Billing *billing.Service
	// OnTurn, when set, is told of every turn's result as it ends (metrics).
	OnTurn func(*agent.Result)
}

// Errors of Start.
var (
	ErrNotConfigured = errors.New("the AI agent has no model provider configured")
	ErrBusy          = errors.New("an agent turn is already running in this project")
	ErrClosed        = errors.New("the server is shutting down")
)

// Service runs agent turns, one at a time per project.
type Service struct {
	cfg  Config
	d    Deps
	prov agent.Provider // from Config; stored settings take precedence

	provMu     sync.Mutex
	provID     string // the settings provCached was built for
	provCached agent.Provider

	mu      sync.Mutex
	running map[string]*Turn // by project id
	closed  bool
	wg      sync.WaitGroup
}

// New builds the service. It marks turns left running by a previous process as failed.
func New(cfg Config, d Deps) *Service {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	if d.AppWait == 0 {
		d.AppWait = 30 * time.Second
	}
	s := &Service{cfg: cfg, d: d, running: map[string]*Turn{}}
	switch {
	case cfg.AnthropicAPIKey != "":
		s.prov = agent.NewAnthropic(agent.AnthropicConfig{APIKey: cfg.AnthropicAPIKey, BaseURL: cfg.AnthropicBaseURL})
	case cfg.OpenAIBaseURL != "" || cfg.OpenAIAPIKey != "":
		s.prov = agent.NewOpenAI(agent.OpenAIConfig{APIKey: cfg.OpenAIAPIKey, BaseURL: cfg.OpenAIBaseURL})
	}
	s.prov = s.withRedaction(s.prov, "")
	if d.Store != nil {
		if err := d.Store.FailRunningAgentTurns(context.Background(), d.Now(), d.NodeID); err != nil {
			d.Log.Warn("agent: mark interrupted turns", "err", err)
		}
	}
	return s
}

// Status says whether a provider is configured, and how to add one.
type Status struct {
	Configured bool     `json:"configured"`
	Provider   string   `json:"provider,omitempty"`
	Model      string   `json:"model,omitempty"`
	Source     string   `json:"source"` // settings | environment | none
	Help       string   `json:"help,omitempty"`
	EnvVars    []string `json:"env_vars"`
}

const envHelp = "set ANTHROPIC_API_KEY (or ECODE_ANTHROPIC_API_KEY / --anthropic-api-key) in the server's environment, " +
	"or OPENAI_BASE_URL (and OPENAI_API_KEY) for an OpenAI-compatible server such as Ollama, vLLM or llama.cpp, " +
	"with ECODE_AGENT_MODEL naming the model, and restart the server."

// Status reports the provider in use (never the keys). The help says how
// to add one: admins in Settings → AI provider, others by asking an admin.
func (s *Service) Status(ctx context.Context, admin bool) Status {
	st := Status{Source: SourceNone, EnvVars: []string{"ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL", "OPENAI_API_KEY", "OPENAI_BASE_URL", "ECODE_AGENT_MODEL"}}
	ch, err := s.choose(ctx)
	if err != nil {
		switch {
		case admin:
			st.Help = "Open Settings → AI provider to choose a provider (Anthropic or an OpenAI-compatible server) and add its API key; or " + envHelp
		default:
			st.Help = "Ask an administrator to add a model provider in Settings → AI provider (or to " + envHelp[:len(envHelp)-1] + ")."
		}
		if !errors.Is(err, ErrNotConfigured) && s != nil {
			s.d.Log.Warn("agent: provider settings unusable", "err", err)
			st.Help = "The stored AI provider settings cannot be used (" + err.Error() + "). " + st.Help
		}
		return st
	}
	st.Configured, st.Provider, st.Source = true, ch.prov.Name(), ch.source
	if a, err := s.newAgent(ch, agent.Env{}, nil); err == nil {
		st.Model = a.Quote(&agent.Session{}, "", agent.Mode{}).Model.ID
	}
	return st
}

func (s *Service) newAgent(ch choice, env agent.Env, sink agent.Sink, capMicros ...int64) (*agent.Agent, error) {
	if ch.prov == nil {
		return nil, ErrNotConfigured
	}
	cfg := agent.Config{Provider: ch.prov, Env: env, Sink: sink, Model: ch.model, HighPowerModel: ch.highPower}
	if len(capMicros) > 0 && capMicros[0] > 0 {
		usd := float64(capMicros[0]) / 1e6 // the loop keeps its own cost in dollars
		cfg.Limits = func(m agent.Mode) agent.Limits {
			l := agent.DefaultLimits(m)
			l.MaxCostUSD = usd
			return l
		}
	}
	if ch.prov.Name() != "anthropic" {
		if cfg.Model == "" {
			cfg.Model = "qwen3-coder"
		}
		if cfg.HighPowerModel == "" {
			cfg.HighPowerModel = cfg.Model
		}
	}
	return agent.New(cfg)
}

func (s *Service) env(projectID, userID string) agent.Env {
	env := agent.Env{
		Files:    files{ws: s.d.Files, projectID: projectID, changed: s.d.Changed, edit: s.d.AgentEdit},
		Shell:    shell{run: s.d.Runner, projectID: projectID, use: "agent"},
		App:      app{run: s.d.Runner, projectID: projectID, wait: s.d.AppWait},
		Persist:  persister{st: s.d.Store, projectID: projectID, now: s.d.Now, redact: s.redactFunc(projectID)},
		Packages: packages{shell: shell{run: s.d.Runner, projectID: projectID}, files: files{ws: s.d.Files, projectID: projectID}},
		Redactor: identity{},
	}
	if s.d.ProjectSecrets != nil {
		env.Redactor = redactor{svc: s.d.ProjectSecrets, projectID: projectID, log: s.d.Log}
		env.Secrets = secretNames{svc: s.d.ProjectSecrets, projectID: projectID}
	}
	if s.d.DBURL != nil {
		env.DB = database{url: s.d.DBURL(projectID)}
	}
	if s.d.Checkpoint != nil {
		env.Checkpoints = checkpointer{fn: s.d.Checkpoint, projectID: projectID, userID: userID}
	}
	guard(&env) // a checkpoint before destructive commands and SQL
	return env
}

func (s *Service) session(ctx context.Context, projectID string) (*agent.Session, error) {
	sess := &agent.Session{}
	b, err := s.d.Store.AgentSession(ctx, projectID)
	if err != nil {
		return nil, err
	}
	if b != nil {
		if err := json.Unmarshal(b, sess); err != nil {
			s.d.Log.Warn("agent: stored session unreadable; starting afresh", "project", projectID, "err", err)
			sess = &agent.Session{}
		}
	}
	return sess, nil
}

// Quote reports the limits and the maximum cost of a turn with prompt.
func (s *Service) Quote(ctx context.Context, projectID, prompt string, mode agent.Mode) (agent.Quote, error) {
	ch, err := s.choose(ctx)
	if err != nil {
		return agent.Quote{}, err
	}
	a, err := s.newAgent(ch, s.env(projectID, ""), nil)
	if err != nil {
		return agent.Quote{}, err
	}
	sess, err := s.session(ctx, projectID)
	if err != nil {
		return agent.Quote{}, err
	}
	return a.Quote(sess, prompt, mode), nil
}

// Running returns the project's running turn, or nil.
func (s *Service) Running(projectID string) *Turn {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.running[projectID]
}

// Stop cancels the project's running turn; false when none runs.
func (s *Service) Stop(projectID string) bool {
	t := s.Running(projectID)
	if t == nil {
		return false
	}
	t.cancel()
	return true
}

// StopAndWait cancels the project's running turn, if any, and waits until
// it has been recorded (or ctx ends).
func (s *Service) StopAndWait(ctx context.Context, projectID string) error {
	t := s.Running(projectID)
	if t == nil {
		return nil
	}
	t.cancel()
	select {
	case <-t.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close cancels every running turn and waits for them to end.
func (s *Service) Close() {
	s.mu.Lock()
	s.closed = true
	for _, t := range s.running {
		t.cancel()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

func newID() string {
	b := make([]byte, 12)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// Start begins a turn in the background: it outlives the request that
// started it (Stop cancels it). Watch its events with Turn.Events.
func (s *Service) Start(ctx context.Context, projectID, userID, prompt string, mode agent.Mode) (*Turn, error) {
	return s.StartLevel(ctx, projectID, userID, prompt, mode, "")
}

// StartLevel is Start with the user's choice of complexity level ("": the
// classifier's): with billing, the turn is refused when the account may not
// start agent work (*billing.QuotaError), and its quote's cap is the loop's money limit.
func (s *Service) StartLevel(ctx context.Context, projectID, userID, prompt string, mode agent.Mode, level string) (*Turn, error) {
	ch, err := s.choose(ctx) // per turn: settings saved since apply at once
	if err != nil {
		return nil, err
	}
	quote, rawCap, err := s.admit(ctx, userID, prompt, mode, level)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, ErrClosed
	}
	if s.running[projectID] != nil {
		s.mu.Unlock()
		return nil, ErrBusy
	}
	s.wg.Add(1) // released when the turn is recorded (or fails to start)
	defer s.wg.Done()
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	t := newTurn(newID(), projectID)
	t.cancel = cancel
	s.running[projectID] = t
	s.mu.Unlock()
	release := func() {
		cancel()
		s.mu.Lock()
		delete(s.running, projectID)
		s.mu.Unlock()
	}

	sess, err := s.session(ctx, projectID)
	if err != nil {
		release()
		return nil, err
	}
	t.quote = quote
	a, err := s.newAgent(ch, s.env(projectID, userID), agent.SinkFunc(t.emit), rawCap)
	if err != nil {
		release()
		return nil, err
	}
	t.model = a.Quote(sess, "", mode).Model.ID
	modeJSON, _ := json.Marshal(mode)
	if err := s.d.Store.CreateAgentTurn(ctx, store.AgentTurn{ID: t.ID, ProjectID: projectID, UserID: userID, Prompt: s.redact(projectID, prompt),
		Mode: modeJSON, Status: "running", CreatedAt: s.d.Now(), NodeID: s.d.NodeID}); err != nil {
		release()
		if errors.Is(err, store.ErrConflict) { // a turn runs on another node
			return nil, ErrBusy
		}
		return nil, err
	}
	s.wg.Add(2)
	flushed := make(chan struct{})
	go func() {
		defer s.wg.Done()
		defer close(flushed)
		s.flush(t)
	}()
	go func() {
		defer s.wg.Done()
		defer cancel()
		res, err := a.Run(runCtx, sess, prompt, mode)
		if s.d.AgentDone != nil {
			s.d.AgentDone(projectID)
		}
		t.finish(res, err)
		if s.d.OnTurn != nil && res != nil {
			s.d.OnTurn(res)
		}
		<-flushed
		s.record(t, sess)
		s.charge(t, userID)
		release()
		t.close()
	}()
	return t, nil
}

// flush writes the turn's events to the store as they come, until the turn ends.
func (s *Service) flush(t *Turn) {
	next := 0
	for {
		evs, wait, ended := t.events(next)
		if len(evs) > 0 {
			rows := make([]store.AgentEvent, len(evs))
			for i, e := range evs {
				b, _ := json.Marshal(e)
				b = []byte(s.redact(t.ProjectID, string(b))) // JSON-escaped values are masked too
				rows[i] = store.AgentEvent{Seq: e.Seq, Type: string(e.Type), Data: b}
			}
			if err := s.d.Store.AppendAgentEvents(context.Background(), t.ID, rows); err != nil {
				s.d.Log.Error("agent: store events", "turn", t.ID, "err", err)
			}
			next += len(evs)
		}
		if ended && len(evs) == 0 {
			return
		}
		if len(evs) == 0 {
			<-wait
		}
	}
}

// record stores the outcome and the conversation of a finished turn.
func (s *Service) record(t *Turn, sess *agent.Session) {
	ctx := context.Background()
	res, runErr := t.Result()
	status, stop := "finished", ""
	var out []byte
	if res != nil {
		stop = string(res.Stop)
		out, _ = json.Marshal(res)
	}
	if runErr != nil || res == nil || res.Stop == agent.StopError {
		status = "failed"
		if runErr != nil {
			out, _ = json.Marshal(map[string]any{"result": res, "error": runErr.Error()})
		}
	}
	if err := s.d.Store.FinishAgentTurn(ctx, t.ID, status, stop, out, s.d.Now()); err != nil {
		s.d.Log.Error("agent: finish turn", "turn", t.ID, "err", err)
	}
	if err := (persister{st: s.d.Store, projectID: t.ProjectID, now: s.d.Now, redact: s.redactFunc(t.ProjectID)}).SaveSession(ctx, sess); err != nil {
		s.d.Log.Error("agent: save session", "project", t.ProjectID, "err", err)
	}
}

// Turns lists the project's last turns with their stored events.
func (s *Service) Turns(ctx context.Context, projectID string, limit int) ([]store.AgentTurn, error) {
	return s.d.Store.AgentTurns(ctx, projectID, limit, true)
}
