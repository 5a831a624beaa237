package store

import (
	"context"
	"database/sql"
	"errors"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// SQLDB is the writer connection pool, for the job queue (package jobs),
// which keeps its tables in the same database so that a job can be
// enqueued in the transaction of the row that needs it.
func (s *Store) SQLDB() *sql.DB { return s.write }

// SQLTx is the transaction a Store made by InTx is bound to (nil outside
// one): the job queue inserts jobs in it.
func (s *Store) SQLTx() *sql.Tx { return s.tx }

// PgxConfig is the connection configuration of a PostgreSQL store (with
// its runtime parameters, such as search_path), for a pgx pool of the job
// queue's workers.
func (s *Store) PgxConfig(ctx context.Context) (*pgx.ConnConfig, error) {
	if s.engine != Postgres {
		return nil, errors.New("not a PostgreSQL store")
	}
	conn, err := s.write.Conn(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	var cfg *pgx.ConnConfig
	err = conn.Raw(func(dc any) error {
		c, ok := dc.(*stdlib.Conn)
		if !ok {
			return errors.New("not a pgx connection")
		}
		cfg = c.Conn().Config().Copy()
		return nil
	})
	return cfg, err
}

// JobCounts counts the job queue's jobs by state (the queue's tables exist
// once package jobs migrated them).
func (s *Store) JobCounts(ctx context.Context) (map[string]int64, error) {
	rows, err := s.w().QueryContext(ctx, `SELECT state, COUNT(*) FROM river_job GROUP BY state`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	counts := map[string]int64{}
	for rows.Next() {
		var state string
		var n int64
		if err := rows.Scan(&state, &n); err != nil {
			return nil, err
		}
		counts[state] = n
	}
	return counts, rows.Err()
}
