package imports

import (
	"archive/zip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"ecode/internal/jobs"
	"ecode/internal/runconfig"
	"ecode/internal/store"
)

// Process is the body of an import's Job (attempt counts from 1): it runs
// the import to its end. An attempt after an interrupted one starts over:
// whatever the interrupted attempt made is discarded and the staging
// folder's files made again. It returns an error only when the import
// should run again later (the node is stopping, or the store failed).
func (s *Service) Process(ctx context.Context, id string, attempt int) error {
	x, err := s.d.Store.Import(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		os.RemoveAll(s.stage(id))
		return nil
	}
	if err != nil {
		return err
	}
	if x.Status != store.ImportQueued && x.Status != store.ImportRunning {
		os.RemoveAll(s.stage(id)) // cancelled while queued
		return nil
	}
	done := context.WithoutCancel(ctx)
	if x.Status == store.ImportRunning || attempt > 1 {
		s.d.Log.Info("running an interrupted import again", "import_id", id, "attempt", attempt)
		if err := s.d.Projects.Discard(done, x.ProjectID); err != nil {
			return fmt.Errorf("remove an interrupted import's project: %w", err)
		}
	}
	token, err := s.token(id)
	if err != nil {
		s.end(done, x, nil, err)
		return nil
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	tctx, stop := context.WithTimeout(ctx, s.d.Timeout)
	defer stop()
	s.mu.Lock()
	s.cancels[id] = cancel
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.cancels, id)
		s.mu.Unlock()
	}()
	p := s.progress(id)
	p.persist = func(p *Progress) {
		if err := s.d.Store.SetImportProgress(done, id, store.ImportRunning, p.json(), s.d.Now()); err == nil {
			s.publish(id)
		}
	}
	rep, err := s.pipeline(tctx, x, token, p)
	if err == nil {
		os.RemoveAll(s.stage(id))
		s.finish(done, x, store.ImportSucceeded, rep, nil)
		return nil
	}
	cause := context.Cause(ctx)
	switch {
	case errors.Is(cause, errCancelled) || jobs.CancelledRemotely(ctx):
		err = errCancelled
	case cause != nil && attempt < maxAttempts: // the node is stopping: the queue runs it again
		return fmt.Errorf("import %s interrupted: %w", id, cause)
	case cause != nil:
		err = errors.New("the import was interrupted too often (the server stopping); start it again")
	}
	s.end(done, x, rep, err)
	return nil
}

// token returns the access token the import's request had, or a user
// error when it had one that is gone (the server restarted: tokens are
// kept only in memory).
func (s *Service) token(id string) (string, error) {
	s.mu.Lock()
	token, ok := s.tokens[id]
	s.mu.Unlock()
	var req request
	readRequest(s.stage(id), &req)
	if req.HasToken && !ok {
		return "", userErr("the server restarted during the import, and access tokens are not kept: nothing was kept; start the import again")
	}
	return token, nil
}

// end ends an import that failed (or was cancelled, err errCancelled):
// whatever it made is removed.
func (s *Service) end(ctx context.Context, x store.Import, rep *Report, err error) {
	if derr := s.d.Projects.Discard(ctx, x.ProjectID); derr != nil {
		s.d.Log.Error("remove a failed import's project", "import_id", x.ID, "err", derr)
	}
	os.RemoveAll(s.stage(x.ID))
	status := store.ImportFailed
	if errors.Is(err, errCancelled) {
		status = store.ImportCancelled
	}
	s.finish(ctx, x, status, rep, err)
}

func (s *Service) pipeline(ctx context.Context, x store.Import, token string, p *Progress) (*Report, error) {
	rep := &Report{Source: x.Source}
	files := filepath.Join(s.stage(x.ID), "files")
	// An interrupted attempt may have left files (and a hoist folder).
	if err := errors.Join(os.RemoveAll(files), os.RemoveAll(files+".hoist")); err != nil {
		return rep, err
	}
	if err := os.Mkdir(files, 0o755); err != nil {
		return rep, err
	}
	p.set(func(p *Progress) { p.Step = "fetching" })
	if err := s.fetch(ctx, x, token, files, p, rep); err != nil {
		return rep, err
	}
	if err := ctx.Err(); err != nil {
		return rep, err
	}
	if err := hoistSingleFolder(files); err != nil {
		return rep, err
	}
	n, size, err := countFiles(files)
	if err != nil {
		return rep, err
	}
	if n > s.d.Limits.MaxFiles || size > s.d.Limits.MaxBytes {
		return rep, userErr("the project has %d files, %s: more than the limits (%d files, %s)", n, byteSize(size), s.d.Limits.MaxFiles, byteSize(s.d.Limits.MaxBytes))
	}
	p.set(func(p *Progress) { p.Step, p.Files, p.Bytes = "detecting", n, size })
	det, err := Detect(os.DirFS(files))
	if err != nil {
		return rep, err
	}
	rep.Detection = &det
	if err := s.writeRunConfig(files, &det, rep); err != nil {
		return rep, err
	}
	p.set(func(p *Progress) { p.Step = "secrets" })
	vals, moved, err := moveSecrets(files, det.AppRoot, det.Framework)
	if err != nil {
		return rep, err
	}
	rep.Secrets = moved
	if err := scanLeftovers(files, rep); err != nil {
		return rep, err
	}
	sourceNotes(x.Source, &det, rep)
	rep.Files, rep.Bytes, _ = countFiles(files)
	if err := ctx.Err(); err != nil {
		return rep, err
	}
	p.set(func(p *Progress) { p.Step = "creating" })
	if _, err := s.d.Projects.CreateFrom(ctx, x.ProjectID, x.UserID, x.Name, files); err != nil {
		return rep, fmt.Errorf("create project: %w", err)
	}
	for k, v := range vals {
		if _, err := s.d.Secrets.Put(ctx, x.ProjectID, k, v); err != nil {
			return rep, fmt.Errorf("store secret %s: %w", k, err)
		}
	}
	return rep, ctx.Err()
}

func (s *Service) fetch(ctx context.Context, x store.Import, token, files string, p *Progress, rep *Report) error {
	upload := filepath.Join(s.stage(x.ID), "upload")
	_, hasUpload := os.Stat(upload)
	switch {
	case x.Source == SourceFigma:
		if s.d.Figma == nil {
			return userErr("Figma imports are not available on this server")
		}
		var doc []byte
		var req request
		if hasUpload == nil {
			var err error
			if doc, err = os.ReadFile(upload); err != nil {
				return err
			}
		} else {
			readRequest(s.stage(x.ID), &req)
		}
		carried, notes, err := s.d.Figma(ctx, doc, req.URL, token, files, p)
		rep.Carried = append(rep.Carried, carried...)
		for _, n := range notes {
			rep.notCarried("%s", n)
		}
		return err
	case hasUpload == nil:
		return s.unzip(upload, files, p, rep)
	default:
		var req request
		readRequest(s.stage(x.ID), &req)
		t, err := s.d.Guard.Check(ctx, req.URL)
		if err != nil {
			return err
		}
		return GitFetch(ctx, t, req.Ref, token, files, func(line string) { p.Note(line) })
	}
}

func readRequest(dir string, v any) {
	if b, err := os.ReadFile(filepath.Join(dir, "request.json")); err == nil {
		json.Unmarshal(b, v)
	}
}

func (s *Service) unzip(upload, files string, p *Progress, rep *Report) error {
	zr, err := zip.OpenReader(upload)
	if err != nil {
		return userErr("the upload is not a zip file (%v)", err)
	}
	defer zr.Close()
	p.set(func(p *Progress) { p.Step = "unpacking" })
	ex, err := ExtractZip(&zr.Reader, files, s.d.Limits, func(n int, b int64) {
		p.set(func(p *Progress) { p.Files, p.Bytes = n, b })
	})
	for why, n := range ex.Skipped {
		rep.Carried = append(rep.Carried, fmt.Sprintf("left out %d entries: %s", n, why))
	}
	return err
}

// hoistSingleFolder moves the contents of a lone top folder up (GitHub's
// zips wrap the repository in one, Bolt's in project/).
func hoistSingleFolder(dir string) error {
	ents, err := os.ReadDir(dir)
	if err != nil || len(ents) != 1 || !ents[0].IsDir() {
		return err
	}
	inner := filepath.Join(dir, ents[0].Name())
	tmp := dir + ".hoist"
	if err := os.Rename(inner, tmp); err != nil {
		return err
	}
	if err := os.Remove(dir); err != nil {
		return err
	}
	return os.Rename(tmp, dir)
}

func countFiles(dir string) (n int, size int64, err error) {
	err = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if info, err := d.Info(); err == nil {
			n, size = n+1, size+info.Size()
		}
		return nil
	})
	return n, size, err
}

// writeRunConfig writes the detected .ecode.toml unless the project has one.
func (s *Service) writeRunConfig(files string, det *Detection, rep *Report) error {
	name := filepath.Join(files, runconfig.FileName)
	if b, err := os.ReadFile(name); err == nil {
		if c, err := runconfig.Parse(b); err == nil {
			det.Run = c
			rep.Carried = append(rep.Carried, "the project's own "+runconfig.FileName)
			return nil
		}
		det.Notes = append(det.Notes, "the project's "+runconfig.FileName+" was invalid and was replaced")
	}
	rep.Carried = append(rep.Carried, "run configuration detected and written to "+runconfig.FileName)
	return os.WriteFile(name, det.Run.Encode(), 0o644)
}

// sourceNotes adds what the named source implies to the report.
func sourceNotes(source string, det *Detection, rep *Report) {
	has := func(prefix string) bool {
		for _, s := range det.Signals {
			if len(s) >= len(prefix) && s[:len(prefix)] == prefix {
				return true
			}
		}
		return false
	}
	switch {
	case source == SourceLovable && !has("lovable"):
		det.Notes = append(det.Notes, "no Lovable marks found (lovable-tagger, README link): imported as a plain repository")
	case source == SourceBolt && !has("bolt"):
		det.Notes = append(det.Notes, "no .bolt folder found: imported as a plain project")
	}
}
