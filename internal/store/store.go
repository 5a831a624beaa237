// Package store keeps E-Code's records (users, sessions, tokens, projects,
// members) in SQLite or PostgreSQL with hand-written SQL. It imports no other
// internal package. Statements run under a traced request are spans of
// their own (OpenTelemetry API; kind of statement only, never arguments).
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	_ "modernc.org/sqlite"             // registers the "sqlite" database/sql driver
)

// ErrNotFound is returned when a requested row does not exist.
var ErrNotFound = errors.New("not found")

// ErrConflict is returned when a row would violate a uniqueness rule.
var ErrConflict = errors.New("already exists")

// Engine names a database engine.
type Engine string

// The supported engines.
const (
	SQLite   Engine = "sqlite"
	Postgres Engine = "postgres"
)

// querier is what *sql.DB and *sql.Tx have in common.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// Store is the database. A Store made by InTx is bound to one transaction.
type Store struct {
	engine Engine
	read   *sql.DB // readers (SQLite: a pool; PostgreSQL: the same pool as write)
	write  *sql.DB // the writer (SQLite: one connection)
	tx     *sql.Tx // non-nil inside InTx
	stmts  *stmtCache
	reads  *stmtCache // SQLite: read statements prepared on the reader pool
}

// Open connects to the database named by url: "postgres://..." selects
// PostgreSQL, anything else is a SQLite file path.
func Open(ctx context.Context, url string) (*Store, error) {
	if strings.HasPrefix(url, "postgres://") || strings.HasPrefix(url, "postgresql://") {
		return openPostgres(ctx, url)
	}
	return openSQLite(ctx, url)
}

func openPostgres(ctx context.Context, url string) (*Store, error) {
	db, err := sql.Open("pgx", url)
	if err != nil {
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	db.SetMaxOpenConns(20)
	db.SetConnMaxIdleTime(5 * time.Minute)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("connect to postgres: %w", err)
	}
	return &Store{engine: Postgres, read: db, write: db, stmts: newStmtCache()}, nil
}

func openSQLite(ctx context.Context, path string) (*Store, error) {
	dsn := "file:" + path + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)" +
		"&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)&_txlock=immediate"
	write, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	write.SetMaxOpenConns(1)
	write.SetConnMaxIdleTime(0)
	if err := write.PingContext(ctx); err != nil {
		write.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	read, err := sql.Open("sqlite", dsn+"&mode=ro")
	if err != nil {
		write.Close()
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	read.SetMaxOpenConns(8)
	return &Store{engine: SQLite, read: read, write: write, stmts: newStmtCache(), reads: newStmtCache()}, nil
}

// Engine tells which database engine the store uses.
func (s *Store) Engine() Engine { return s.engine }

// Close closes the connections.
func (s *Store) Close() error {
	if s.read == s.write {
		return s.write.Close()
	}
	return errors.Join(s.read.Close(), s.write.Close())
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error { return s.write.PingContext(ctx) }

// InTx runs fn in one transaction; fn's Store is bound to it. A nested call
// joins the outer transaction. The transaction commits when fn returns nil.
func (s *Store) InTx(ctx context.Context, fn func(tx *Store) error) (err error) {
	if s.tx != nil {
		return fn(s)
	}
	ctx, sp := s.span(ctx, "TRANSACTION")
	defer func() { endSpan(sp, err) }()
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer func() {
		if err != nil {
			tx.Rollback()
		}
	}()
	if err := fn(&Store{engine: s.engine, read: s.read, write: s.write, tx: tx, stmts: s.stmts}); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// r is the querier for reads, w for writes.
func (s *Store) r() querier {
	if s.tx != nil {
		return s.tx
	}
	return s.read
}

func (s *Store) w() querier {
	if s.tx != nil {
		return s.tx
	}
	return s.write
}

// q rewrites ? placeholders as $n for PostgreSQL. SQL in this package never
// holds a literal question mark.
func (s *Store) q(query string) string {
	if s.engine != Postgres {
		return query
	}
	var b strings.Builder
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// stmtCache keeps statements prepared on the writer, for writes made so
// often that parsing their SQL each time shows: a collaborative document
// appends to its log once per keystroke, and SQLite spent a quarter of the
// append parsing.
type stmtCache struct {
	mu sync.Mutex
	m  map[string]*sql.Stmt
}

func newStmtCache() *stmtCache { return &stmtCache{m: map[string]*sql.Stmt{}} }

// prepared returns query prepared (once, for the life of the database),
// bound to s's transaction if any. A statement first prepared inside a
// transaction is not kept: preparing it on the writer would wait for
// SQLite's one writer connection, which the transaction holds.
//
// The cache's lock is never held while preparing: preparing on the writer
// waits for SQLite's one writer connection, and the transaction holding
// it may itself need the lock to look up its next statement (two
// documents' log appends deadlocked so, one waiting for the writer with
// the lock, the other holding the writer and waiting for the lock).
func (s *Store) prepared(ctx context.Context, query string) (*sql.Stmt, error) {
	s.stmts.mu.Lock()
	st := s.stmts.m[query]
	s.stmts.mu.Unlock()
	if st == nil && s.tx == nil {
		fresh, err := s.write.PrepareContext(ctx, s.q(query))
		if err != nil {
			return nil, err
		}
		s.stmts.mu.Lock()
		if st = s.stmts.m[query]; st == nil {
			st = fresh
			s.stmts.m[query] = st
		}
		s.stmts.mu.Unlock()
		if st != fresh { // prepared meanwhile by another caller
			fresh.Close()
		}
	}
	switch {
	case s.tx == nil:
		return st, nil
	case st == nil:
		return s.tx.PrepareContext(ctx, s.q(query))
	default:
		return s.tx.StmtContext(ctx, st), nil
	}
}

func (s *Store) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	ctx, sp := s.span(ctx, query)
	res, err := s.w().ExecContext(ctx, s.q(query), args...)
	err = mapErr(err)
	endSpan(sp, err)
	return res, err
}

func (s *Store) queryRow(ctx context.Context, query string, args ...any) *sql.Row {
	ctx, sp := s.span(ctx, query)
	defer sp.End()
	if st := s.readStmt(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return s.r().QueryRowContext(ctx, s.q(query), args...)
}

func (s *Store) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	ctx, sp := s.span(ctx, query)
	var rows *sql.Rows
	var err error
	if st := s.readStmt(ctx, query); st != nil {
		rows, err = st.QueryContext(ctx, args...)
	} else {
		rows, err = s.r().QueryContext(ctx, s.q(query), args...)
	}
	endSpan(sp, err)
	return rows, err
}

// maxReadStmts bounds the read statement cache (this package's SQL is a
// fixed set of constants; the bound only guards against a dynamic query).
const maxReadStmts = 256

// readStmt returns query prepared on SQLite's reader pool (each pooled
// connection prepares it once, on first use), or nil to run it unprepared:
// inside a transaction, on PostgreSQL (pgx caches prepared statements per
// connection by itself), or when it cannot be prepared (the query then
// reports the error). Every authenticated request reads its session and
// membership: SQLite spent most of those reads parsing their SQL.
func (s *Store) readStmt(ctx context.Context, query string) *sql.Stmt {
	if s.reads == nil || s.tx != nil {
		return nil
	}
	s.reads.mu.Lock()
	st, n := s.reads.m[query], len(s.reads.m)
	s.reads.mu.Unlock()
	if st != nil || n >= maxReadStmts {
		return st
	}
	// Prepared without the lock held: preparing waits for a pooled
	// connection, which a caller holding one may need the lock to give back.
	st, err := s.read.PrepareContext(ctx, query)
	if err != nil {
		return nil
	}
	s.reads.mu.Lock()
	defer s.reads.mu.Unlock()
	if prev := s.reads.m[query]; prev != nil {
		st.Close() // prepared twice at once: keep the first
		return prev
	}
	s.reads.m[query] = st
	return st
}

// mapErr turns driver errors into this package's sentinel errors.
func mapErr(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	msg := err.Error()
	if strings.Contains(msg, "UNIQUE constraint failed") || strings.Contains(msg, "SQLSTATE 23505") {
		return fmt.Errorf("%w: %v", ErrConflict, err)
	}
	return err
}

// affected returns ErrNotFound when a write touched no row.
func affected(res sql.Result, err error) error {
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}

// micros stores times as Unix microseconds (both engines, exact round trip).
func micros(t time.Time) int64 { return t.UnixMicro() }

func fromMicros(v int64) time.Time { return time.UnixMicro(v).UTC() }

func fromNullMicros(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := fromMicros(v.Int64)
	return &t
}
