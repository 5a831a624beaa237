package store

import (
	"context"
	"errors"
	"fmt"
)

// SnapshotSQLite writes a consistent copy of a SQLite store to dest (a
// file that must not exist) with VACUUM INTO, on a read connection: writers
// go on while it runs, and the copy is the database as of one moment.
func (s *Store) SnapshotSQLite(ctx context.Context, dest string) error {
	if s.engine != SQLite {
		return errors.New("not a SQLite store")
	}
	if _, err := s.read.ExecContext(ctx, `VACUUM INTO ?`, dest); err != nil {
		return fmt.Errorf("sqlite snapshot: %w", err)
	}
	return nil
}

// AllProjectIDs lists every project, those being deleted included.
func (s *Store) AllProjectIDs(ctx context.Context) ([]string, error) {
	return s.queryIDs(ctx, "all projects", `SELECT id FROM projects ORDER BY id`)
}

// TableCount counts the tables in the store's database (on PostgreSQL, in
// the schema of its search_path): zero means a fresh database.
func (s *Store) TableCount(ctx context.Context) (int, error) {
	q := `SELECT COUNT(*) FROM sqlite_master WHERE type = 'table'`
	if s.engine == Postgres {
		q = `SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema()`
	}
	var n int
	if err := s.read.QueryRowContext(ctx, q).Scan(&n); err != nil {
		return 0, fmt.Errorf("count tables: %w", err)
	}
	return n, nil
}
