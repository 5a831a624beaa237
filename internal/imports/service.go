// Package imports brings projects in from a Git repository, a zip file, a
// Bolt or Lovable project or a Figma file. An import is a record (source,
// status, progress, report, error) and a job: the source is fetched and
// unpacked into a staging folder outside the project store, checked,
// detected (app root, framework, package manager, run command written to
// .ecode.toml), its .env values and hard-coded Supabase settings moved
// into project secrets, and only then made a project (projects.CreateFrom).
// A failure or cancellation leaves nothing; an import a crash interrupted
// ends as failed when the server starts again (Resume).
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

// job is a queued import with what is not stored (the token).
type job struct {
	id    string
	token string
}

// Service runs imports.
type Service struct {
	d     Deps
	queue chan job

	mu      sync.Mutex
	cancels map[string]context.CancelFunc
	subs    map[string]map[chan struct{}]bool
	prog    map[string]*Progress
}

// New builds the service.
func New(d Deps) *Service {
	if d.Timeout <= 0 {
		d.Timeout = 10 * time.Minute
	}
	d.Limits = d.Limits.orDefault()
	return &Service{d: d, queue: make(chan job, 256), cancels: map[string]context.CancelFunc{},
		subs: map[string]map[chan struct{}]bool{}, prog: map[string]*Progress{}}
}

func (s *Service) stage(id string) string { return filepath.Join(s.d.StageDir, id) }

// Start records an import and queues it. An upload is saved into the
// staging folder before Start returns.
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
	if req.Upload != nil {
		if err := saveUpload(req.Upload, filepath.Join(s.stage(x.ID), "upload"), s.d.Limits.MaxBytes); err != nil {
			os.RemoveAll(s.stage(x.ID))
			return x, err
		}
	} else if err := writeRequest(s.stage(x.ID), req); err != nil {
		os.RemoveAll(s.stage(x.ID))
		return x, err
	}
	if err := s.d.Store.CreateImport(ctx, x); err != nil {
		os.RemoveAll(s.stage(x.ID))
		return x, err
	}
	select {
	case s.queue <- job{id: x.ID, token: req.Token}:
	default:
		s.finish(context.WithoutCancel(ctx), x, store.ImportFailed, nil, errors.New("too many imports are waiting: try again in a minute"))
		return s.d.Store.Import(ctx, x.ID)
	}
	return x, nil
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

// writeRequest keeps the request's non-secret fields beside the staging
// folder, for the job.
func writeRequest(dir string, r Request) error {
	b, _ := json.Marshal(map[string]string{"url": r.URL, "ref": r.Ref})
	return os.WriteFile(filepath.Join(dir, "request.json"), b, 0o600)
}

// Get returns an import.
func (s *Service) Get(ctx context.Context, id string) (store.Import, error) {
	return s.d.Store.Import(ctx, id)
}

// Cancel stops an import; one already finished is left as it is.
func (s *Service) Cancel(ctx context.Context, x store.Import) error {
	s.mu.Lock()
	cancel := s.cancels[x.ID]
	s.mu.Unlock()
	if cancel != nil {
		cancel()
		return nil
	}
	if x.Status == store.ImportQueued {
		s.finish(ctx, x, store.ImportCancelled, nil, errors.New("cancelled"))
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

// Run works through queued imports (two at a time) until ctx ends.
func (s *Service) Run(ctx context.Context) {
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			for {
				select {
				case <-ctx.Done():
					return
				case j := <-s.queue:
					if err := s.Process(ctx, j.id, j.token); err != nil && ctx.Err() == nil {
						s.d.Log.Warn("import", "import_id", j.id, "err", err)
					}
				}
			}
		})
	}
	wg.Wait()
}

// Resume ends the imports a previous process left queued or running: each
// is marked failed and whatever it made is removed. The composition root
// calls it before the server takes requests.
func (s *Service) Resume(ctx context.Context) error {
	xs, err := s.d.Store.UnfinishedImports(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for _, x := range xs {
		s.d.Log.Info("failing an import the server's restart interrupted", "import_id", x.ID)
		errs = append(errs, s.d.Projects.Discard(ctx, x.ProjectID), os.RemoveAll(s.stage(x.ID)))
		s.finish(ctx, x, store.ImportFailed, nil, errors.New("the server restarted during the import: nothing was kept; start the import again"))
	}
	return errors.Join(errs...)
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
