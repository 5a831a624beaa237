package store

import (
	"context"
	"fmt"
	"time"
)

// Import is a user's request to bring a project in. Progress and Report are
// JSON documents owned by package imports; ProjectID is the id the project
// gets when the import succeeds (reserved at creation so a crash can be
// cleaned up).
type Import struct {
	ID        string
	UserID    string
	Source    string
	Name      string
	Status    string
	Progress  string
	ProjectID string
	Report    string
	Error     string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// The statuses of an import.
const (
	ImportQueued    = "queued"
	ImportRunning   = "running"
	ImportSucceeded = "succeeded"
	ImportFailed    = "failed"
	ImportCancelled = "cancelled"
)

const importColumns = `id, user_id, source, name, status, progress, project_id, report, error, created_at, updated_at`

func scanImport(sc interface{ Scan(...any) error }) (Import, error) {
	var x Import
	var created, updated int64
	err := sc.Scan(&x.ID, &x.UserID, &x.Source, &x.Name, &x.Status, &x.Progress, &x.ProjectID, &x.Report, &x.Error, &created, &updated)
	x.CreatedAt, x.UpdatedAt = fromMicros(created), fromMicros(updated)
	return x, mapErr(err)
}

// CreateImport stores a new import.
func (s *Store) CreateImport(ctx context.Context, x Import) error {
	_, err := s.exec(ctx, `INSERT INTO imports (`+importColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		x.ID, x.UserID, x.Source, x.Name, x.Status, x.Progress, x.ProjectID, x.Report, x.Error, micros(x.CreatedAt), micros(x.UpdatedAt))
	if err != nil {
		return fmt.Errorf("create import: %w", err)
	}
	return nil
}

// Import returns one import; ErrNotFound when there is none.
func (s *Store) Import(ctx context.Context, id string) (Import, error) {
	return scanImport(s.queryRow(ctx, `SELECT `+importColumns+` FROM imports WHERE id = ?`, id))
}

// UserImports returns a user's imports, newest first (at most limit).
func (s *Store) UserImports(ctx context.Context, userID string, limit int) ([]Import, error) {
	return s.imports(ctx, `SELECT `+importColumns+` FROM imports WHERE user_id = ? ORDER BY created_at DESC, id LIMIT ?`, userID, limit)
}

func (s *Store) imports(ctx context.Context, query string, args ...any) ([]Import, error) {
	rows, err := s.query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("list imports: %w", err)
	}
	defer rows.Close()
	var xs []Import
	for rows.Next() {
		x, err := scanImport(rows)
		if err != nil {
			return nil, err
		}
		xs = append(xs, x)
	}
	return xs, rows.Err()
}

// SetImportProgress records an unfinished import's status and progress;
// ErrNotFound when it is missing or already finished.
func (s *Store) SetImportProgress(ctx context.Context, id, status, progress string, now time.Time) error {
	return affected(s.exec(ctx, `UPDATE imports SET status = ?, progress = ?, updated_at = ?
		WHERE id = ? AND status IN ('queued', 'running')`, status, progress, micros(now), id))
}

// FinishImport records an import's end (succeeded, failed or cancelled);
// ErrNotFound when it is missing or already finished.
func (s *Store) FinishImport(ctx context.Context, id, status, progress, report, errText string, now time.Time) error {
	return affected(s.exec(ctx, `UPDATE imports SET status = ?, progress = ?, report = ?, error = ?, updated_at = ?
		WHERE id = ? AND status IN ('queued', 'running')`, status, progress, report, errText, micros(now), id))
}
