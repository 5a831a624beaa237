package agent

import (
	"context"
	"time"
)

// Files is the project's file tree. Paths are relative to the project root,
// slash-separated; the implementation confines them (os.Root).
type Files interface {
	ReadFile(ctx context.Context, path string) ([]byte, error)
	// WriteFile creates parent folders and replaces the file atomically.
	WriteFile(ctx context.Context, path string, data []byte) error
	// Walk visits dir and everything under it (dir "" or "." is the root).
	Walk(ctx context.Context, dir string, fn func(path string, isDir bool, size int64) error) error
}

// ExecResult is the outcome of a shell command.
type ExecResult struct {
	Output   string // stdout and stderr interleaved
	ExitCode int
	TimedOut bool
}

// Shell runs commands in the project's sandbox, in the project folder.
type Shell interface {
	Exec(ctx context.Context, command string, timeout time.Duration) (ExecResult, error)
}

// AppStatus describes the project's run.
type AppStatus struct {
	Running bool
	URL     string
	Message string
}

// PreviewResult is one HTTP request to the running app's preview, and,
// when a headless browser is available, a screenshot of the page and the
// console messages it logged.
type PreviewResult struct {
	Status      int
	ContentType string
	Body        string
	Screenshot  []byte   // PNG, nil without a browser
	Console     []string // console errors/warnings and uncaught exceptions
}

// App controls the project's run and preview.
type App interface {
	// Control starts, stops or restarts the run ("start"|"stop"|"restart").
	Control(ctx context.Context, action string) (AppStatus, error)
	// Logs returns the last tail lines of the run's output.
	Logs(ctx context.Context, tail int) (string, error)
	// Preview requests path from the running app.
	Preview(ctx context.Context, path string) (PreviewResult, error)
}

// Packages installs dependencies with the project's package manager.
type Packages interface {
	Install(ctx context.Context, manager string, packages []string) (string, error)
}

// Database runs a statement against the project's database and renders the result.
type Database interface {
	Query(ctx context.Context, sql string, allowWrite bool) (string, error)
}

// Secrets lists the names of the project's secrets (never their values).
type Secrets interface {
	SecretNames(ctx context.Context) ([]string, error)
}

// Redactor removes known secret values from text before the model sees it.
type Redactor interface {
	Redact(s string) string
}

// Checkpointer snapshots the project at the end of a turn (and, through
// the product's guard, before destructive steps).
type Checkpointer interface {
	Checkpoint(ctx context.Context, label string, cost TurnCost) (id string, err error)
}

// TurnCost is what the work a checkpoint captures cost: recorded in the
// checkpoint's metrics. Zero for checkpoints taken before a risky step.
type TurnCost struct {
	Tokens int64         // every token of the turn's model calls, prompt and output
	Time   time.Duration // the turn's wall time
}

// Persister stores the session after every step, so a crash loses nothing.
type Persister interface {
	SaveSession(ctx context.Context, s *Session) error
}

// Env is everything the tools reach. A nil member removes its tools.
type Env struct {
	Files       Files
	Shell       Shell
	App         App
	Packages    Packages
	DB          Database
	Secrets     Secrets
	Redactor    Redactor
	Checkpoints Checkpointer
	Persist     Persister
}

// Sink receives every event of a turn (the lead streams and persists them).
type Sink interface {
	Emit(Event)
}

// SinkFunc adapts a function to Sink.
type SinkFunc func(Event)

func (f SinkFunc) Emit(e Event) { f(e) }
