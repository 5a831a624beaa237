// Package imports brings projects in from a Git repository, a zip file, a
// Bolt or Lovable project or a Figma file. An import is a record (source,
// status, progress, report, error) and a job: the source is fetched and
// unpacked into a staging folder outside the project store, checked,
// detected (app root, framework, package manager, run command written to
// .ecode.toml), its .env values and hard-coded Supabase settings moved
// into project secrets, and only then made a project (projects.CreateFrom).
// Each import runs as a job on the server's queue (internal/jobs), enqueued
// in the transaction that records it. A failure or cancellation leaves
// nothing; an import a stop or crash interrupted is run again by the queue
// from its staged request (the project is made only at the end), or, when
// its access token (kept only in memory) is gone, ends as failed.
package imports

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"ecode/internal/jobs"
	"ecode/internal/store"
)

// Sources an import can name.
const (
	SourceGit     = "git"
	SourceZip     = "zip"
	SourceBolt    = "bolt"
	SourceLovable = "lovable"
	SourceFigma   = "figma"
)

// Projects makes the project an import ends in (internal/projects).
type Projects interface {
	CreateFrom(ctx context.Context, id, ownerID, name, dir string) (store.Project, error)
	Discard(ctx context.Context, id string) error
}

// Secrets stores a project's secrets (internal/secrets).
type Secrets interface {
	Put(ctx context.Context, projectID, name, value string) (bool, error)
}

// FigmaConverter writes a Vite + React project for a Figma file into dir:
// from doc (the file's REST JSON) when set, else fetched by url and token.
// It says, in words, what it carried and what it could not.
type FigmaConverter func(ctx context.Context, doc []byte, url, token, dir string, p *Progress) (carried, notCarried []string, err error)

// Deps are what the service needs.
type Deps struct {
	Store    *store.Store
	Projects Projects
	Secrets  Secrets
	Log      *slog.Logger
	Now      func() time.Time
	NewID    func() string
	StageDir string // where imports are staged (outside the project store)
	Limits   Limits
	Timeout  time.Duration // per import (default 10 minutes)
	Guard    Guard
	Jobs     *jobs.Client   // the queue imports run on
	Figma    FigmaConverter // nil: Figma imports fail with a message
	// Notify, when set, is told when an import finishes or fails.
	Notify func(ctx context.Context, userID, kind, title, body, link string)
}

// Request is what a user asks to import.
type Request struct {
	Source string
	URL    string
	Token  string // never stored
	Ref    string
	Name   string
	Upload io.Reader // zip or Figma JSON (multipart)
}

// Job runs one import (Process); it is enqueued, unique by import id, in
// the transaction that records the import.
type Job struct {
	ImportID string `json:"import_id"`
}

// Kind names the job.
func (Job) Kind() string { return "import" }

// maxAttempts is how often an import's job runs before an interruption
// (a node stopping or dying mid-import) fails the import.
const maxAttempts = 5

// errCancelled is the cause an import's context ends with when a user
// cancels it on this node.
var errCancelled = errors.New("cancelled")

// Service runs imports.
type Service struct {
	d Deps

	mu      sync.Mutex
	cancels map[string]context.CancelCauseFunc
	tokens  map[string]string // an import's access token, kept only in memory until it ends
	subs    map[string]map[chan struct{}]bool
	prog    map[string]*Progress
}

// New builds the service.
func New(d Deps) *Service {
	if d.Timeout <= 0 {
		d.Timeout = 10 * time.Minute
	}
	d.Limits = d.Limits.orDefault()
	return &Service{d: d, cancels: map[string]context.CancelCauseFunc{}, tokens: map[string]string{},
		subs: map[string]map[chan struct{}]bool{}, prog: map[string]*Progress{}}
}

func (s *Service) stage(id string) string { return filepath.Join(s.d.StageDir, id) }

// Start records an import and enqueues its job in one transaction: if it
// rolls back, there is neither. An upload is saved into the staging folder
// first.
func (s *Service) Start(ctx context.Context, userID string, req Request) (store.Import, error) {
	if err := validate(&req); err != nil {
		return store.Import{}, err
	}
	now := s.d.Now()
	x := store.Import{ID: s.d.NewID(), UserID: userID, Source: req.Source, Name: req.Name, Status: store.ImportQueued,
		Progress: `{"step":"queued"}`, ProjectID: s.d.NewID(), CreatedAt: now, UpdatedAt: now}
	if err := os.MkdirAll(s.stage(x.ID), 0o750); err != nil {
		return x, err
	}
	err := writeRequest(s.stage(x.ID), req)
	if err == nil && req.Upload != nil {
		err = saveUpload(req.Upload, filepath.Join(s.stage(x.ID), "upload"), s.d.Limits.MaxBytes)
	}
	if err == nil {
		s.keepToken(x.ID, req.Token)
		err = s.d.Store.InTx(ctx, func(tx *store.Store) error { return s.record(ctx, tx, x) })
	}
	if err != nil {
		s.keepToken(x.ID, "")
		os.RemoveAll(s.stage(x.ID))
		return x, err
	}
	s.d.Jobs.Added() // committed: the workers look for it now
	return x, nil
}

// record stores the import and enqueues its job in tx.
func (s *Service) record(ctx context.Context, tx *store.Store, x store.Import) error {
	if err := tx.CreateImport(ctx, x); err != nil {
		return err
	}
	_, err := s.d.Jobs.EnqueueTx(ctx, tx, Job{ImportID: x.ID}, &jobs.Opts{Unique: true, MaxAttempts: maxAttempts})
	return err
}

func (s *Service) keepToken(id, token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if token == "" {
		delete(s.tokens, id)
	} else {
		s.tokens[id] = token
	}
}

func validate(r *Request) error {
	switch r.Source {
	case SourceGit, SourceBolt, SourceLovable:
		if r.Upload == nil && r.URL == "" {
			return userErr("give the repository's URL")
		}
	case SourceZip:
		if r.Upload == nil {
			return userErr("upload a zip file")
		}
	case SourceFigma:
		if r.Upload == nil && (r.URL == "" || r.Token == "") {
			return userErr("give the Figma file's URL and a personal access token, or upload the file's JSON")
		}
	default:
		return userErr("source must be git, zip, bolt, lovable or figma")
	}
	if r.Name == "" {
		r.Name = defaultName(r)
	}
	if len(r.Name) > 100 {
		return userErr("the name is longer than 100 characters")
	}
	return nil
}

func saveUpload(r io.Reader, name string, limit int64) error {
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	n, err := io.Copy(f, io.LimitReader(r, limit+1))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil && n > limit {
		err = userErr("the upload is larger than %s (the limit)", byteSize(limit))
	}
	return err
}

// request is what the job reads of the request, kept in the staging
// folder: its non-secret fields, and whether it had a token.
type request struct {
	URL      string `json:"url"`
	Ref      string `json:"ref"`
	HasToken bool   `json:"has_token"`
}

// writeRequest keeps the request's non-secret fields in the staging
// folder, for the job.
func writeRequest(dir string, r Request) error {
	b, _ := json.Marshal(request{URL: r.URL, Ref: r.Ref, HasToken: r.Token != ""})
	return os.WriteFile(filepath.Join(dir, "request.json"), b, 0o600)
}

// Get returns an import.
func (s *Service) Get(ctx context.Context, id string) (store.Import, error) {
	return s.d.Store.Import(ctx, id)
}

// Cancel stops an import and cancels its job; one already finished is
// left as it is. A queued import ends at once; a running one when its job
// sees the cancellation (on this node at once, on another as the queue
// tells it).
func (s *Service) Cancel(ctx context.Context, x store.Import) error {
	s.mu.Lock()
	cancel := s.cancels[x.ID]
	s.mu.Unlock()
	if cancel != nil {
		cancel(errCancelled)
		return nil
	}
	if x.Status == store.ImportQueued {
		s.finish(ctx, x, store.ImportCancelled, nil, errCancelled)
		os.RemoveAll(s.stage(x.ID))
	}
	if x.Status == store.ImportQueued || x.Status == store.ImportRunning {
		return s.d.Jobs.CancelArgs(ctx, Job{ImportID: x.ID})
	}
	return nil
}

// Subscribe returns a channel told (without blocking, coalesced) when the
// import's record changes, and a function that stops it.
func (s *Service) Subscribe(id string) (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	s.mu.Lock()
	if s.subs[id] == nil {
		s.subs[id] = map[chan struct{}]bool{}
	}
	s.subs[id][ch] = true
	s.mu.Unlock()
	return ch, func() {
		s.mu.Lock()
		delete(s.subs[id], ch)
		if len(s.subs[id]) == 0 {
			delete(s.subs, id)
		}
		s.mu.Unlock()
	}
}

func (s *Service) publish(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for ch := range s.subs[id] {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

func (s *Service) finish(ctx context.Context, x store.Import, status string, rep *Report, cause error) {
	var repJSON []byte
	if rep != nil {
		repJSON, _ = json.Marshal(rep)
	}
	msg := ""
	if cause != nil {
		msg = cause.Error()
		var ue *UserError
		if !errors.As(cause, &ue) && status == store.ImportFailed && !errors.Is(cause, context.DeadlineExceeded) {
			s.d.Log.Error("import failed", "import_id", x.ID, "err", cause)
			msg = "the import failed on the server (id " + x.ID + "); the log has the details"
		}
		if errors.Is(cause, context.DeadlineExceeded) {
			msg = fmt.Sprintf("the import took longer than %s and was stopped", s.d.Timeout)
		}
	}
	p := s.progress(x.ID)
	p.set(func(p *Progress) { p.Step = status })
	if err := s.d.Store.FinishImport(ctx, x.ID, status, p.json(), string(repJSON), msg, s.d.Now()); err != nil && !errors.Is(err, store.ErrNotFound) {
		s.d.Log.Error("record the end of an import", "import_id", x.ID, "err", err)
	}
	s.mu.Lock()
	delete(s.prog, x.ID)
	delete(s.tokens, x.ID)
	s.mu.Unlock()
	s.publish(x.ID)
	if s.d.Notify != nil {
		title, link := "Import of "+x.Name+" finished", "/projects/"+x.ProjectID
		if status != store.ImportSucceeded {
			title, link = "Import of "+x.Name+" "+status, "/imports/"+x.ID
		}
		s.d.Notify(ctx, x.UserID, "import", title, msg, link)
	}
}

// SetNotify sets the callback told when an import finishes or fails.
func (s *Service) SetNotify(fn func(ctx context.Context, userID, kind, title, body, link string)) {
	s.mu.Lock()
	s.d.Notify = fn
	s.mu.Unlock()
}
