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

	"ecode/internal/runconfig"
	"ecode/internal/store"
)

// Process is the job body: it runs the queued import id to its end. token
// is the request's access token (kept only in memory).
func (s *Service) Process(ctx context.Context, id, token string) error {
	x, err := s.d.Store.Import(ctx, id)
	if err != nil || x.Status != store.ImportQueued {
		return err // cancelled while queued, or gone
	}
	ctx, cancel := context.WithTimeout(ctx, s.d.Timeout)
	defer cancel()
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
		if err := s.d.Store.SetImportProgress(context.WithoutCancel(ctx), id, store.ImportRunning, p.json(), s.d.Now()); err == nil {
			s.publish(id)
		}
	}
	rep, err := s.pipeline(ctx, x, token, p)
	done := context.WithoutCancel(ctx)
	if err == nil {
		os.RemoveAll(s.stage(id))
		s.finish(done, x, store.ImportSucceeded, rep, nil)
		return nil
	}
	if derr := s.d.Projects.Discard(done, x.ProjectID); derr != nil {
		s.d.Log.Error("remove a failed import's project", "import_id", id, "err", derr)
	}
	os.RemoveAll(s.stage(id))
	status := store.ImportFailed
	if errors.Is(err, context.Canceled) {
		status, err = store.ImportCancelled, errors.New("cancelled")
	}
	s.finish(done, x, status, rep, err)
	return nil
}

func (s *Service) pipeline(ctx context.Context, x store.Import, token string, p *Progress) (*Report, error) {
	rep := &Report{Source: x.Source}
	files := filepath.Join(s.stage(x.ID), "files")
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
		var req struct{ URL string }
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
		var req struct{ URL, Ref string }
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
