package store

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
)

//go:embed migrations
var migrationFiles embed.FS

type migration struct {
	version int
	name    string
	sql     string
}

func (s *Store) migrations() ([]migration, error) {
	dir := path.Join("migrations", string(s.engine))
	entries, err := fs.ReadDir(migrationFiles, dir)
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, e := range entries {
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || !strings.HasSuffix(e.Name(), ".sql") {
			return nil, fmt.Errorf("migration %s: name must be NNNN_name.sql", e.Name())
		}
		b, err := fs.ReadFile(migrationFiles, path.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: e.Name(), sql: string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	for i, m := range ms {
		if m.version != i+1 {
			return nil, fmt.Errorf("migration %s: expected version %d", m.name, i+1)
		}
	}
	return ms, nil
}

// SchemaVersion returns the applied schema version and the version this
// build expects.
func (s *Store) SchemaVersion(ctx context.Context) (have, want int, err error) {
	ms, err := s.migrations()
	if err != nil {
		return 0, 0, err
	}
	if _, err := s.exec(ctx, `CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)`); err != nil {
		return 0, 0, fmt.Errorf("schema_version table: %w", err)
	}
	err = s.queryRow(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_version`).Scan(&have)
	return have, len(ms), err
}

// Migrate applies every pending migration, each in its own transaction.
// On PostgreSQL an advisory lock keeps concurrent nodes from racing.
func (s *Store) Migrate(ctx context.Context) error { return s.migrateTo(ctx, 0) }

// migrateTo applies the pending migrations up to version upTo (0: all).
func (s *Store) migrateTo(ctx context.Context, upTo int) error {
	ms, err := s.migrations()
	if err != nil {
		return err
	}
	if upTo > 0 && upTo < len(ms) {
		ms = ms[:upTo]
	}
	if _, _, err := s.SchemaVersion(ctx); err != nil {
		return err
	}
	for _, m := range ms {
		err := s.InTx(ctx, func(tx *Store) error {
			if tx.engine == Postgres {
				if _, err := tx.exec(ctx, `SELECT pg_advisory_xact_lock(7253001)`); err != nil {
					return err
				}
			}
			var have int
			if err := tx.queryRow(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_version`).Scan(&have); err != nil {
				return err
			}
			if have >= m.version {
				return nil
			}
			if _, err := tx.w().ExecContext(ctx, m.sql); err != nil {
				return fmt.Errorf("migration %s: %w", m.name, err)
			}
			_, err := tx.exec(ctx, `INSERT INTO schema_version (version) VALUES (?)`, m.version)
			return err
		})
		if err != nil {
			return err
		}
	}
	return nil
}
