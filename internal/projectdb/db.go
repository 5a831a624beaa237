package projectdb

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver
	sqlite "modernc.org/sqlite"
)

// DB is a project's own database, the one its app uses. It is what
// checkpoints snapshot and restore (checkpoint.ProjectDB).
type DB interface {
	// Create makes the database (and, on PostgreSQL, its role) if missing.
	Create(ctx context.Context) error
	// URL is the DATABASE_URL the app connects with.
	URL() string
	// Snapshot writes a consistent copy of the database to w while the app
	// may keep using it.
	Snapshot(ctx context.Context, w io.Writer) error
	// Restore replaces the whole database with a snapshot, atomically: other
	// connections see the old or the new database, never a mix.
	Restore(ctx context.Context, r io.Reader) error
	// Tables counts the rows of every table ("schema.table", or "table"
	// for PostgreSQL's public schema).
	Tables(ctx context.Context) (map[string]int64, error)
	// Drop deletes the database (and role).
	Drop(ctx context.Context) error
}

// SQLiteDB is a project database in a SQLite file. Keep the file outside the
// project's files (checkpoints snapshot it through SQLite, not as a file).
type SQLiteDB struct {
	Path string
}

var _ DB = (*SQLiteDB)(nil)

// Create implements DB: an empty file is an empty SQLite database.
func (d *SQLiteDB) Create(ctx context.Context) error {
	if err := os.MkdirAll(filepath.Dir(d.Path), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(d.Path, os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	return f.Close()
}

// URL implements DB: "sqlite:" and the host path of the file (the
// caller maps it into the sandbox).
func (d *SQLiteDB) URL() string { return "sqlite:" + d.Path }

func (d *SQLiteDB) open() (*sql.DB, error) {
	if _, err := os.Stat(d.Path); err != nil {
		return nil, fmt.Errorf("project database: %w", err)
	}
	db, err := sql.Open("sqlite", "file:"+d.Path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	return db, nil
}

// Snapshot implements DB with VACUUM INTO, which reads one consistent
// snapshot of the database.
func (d *SQLiteDB) Snapshot(ctx context.Context, w io.Writer) error {
	db, err := d.open()
	if err != nil {
		return err
	}
	defer db.Close()
	tmp := tempName(d.Path + ".snap")
	defer os.Remove(tmp)
	if _, err := db.ExecContext(ctx, `VACUUM INTO ?`, tmp); err != nil {
		return fmt.Errorf("sqlite snapshot: %w", err)
	}
	f, err := os.Open(tmp)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(w, f)
	return err
}

type restorer interface {
	NewRestore(string) (*sqlite.Backup, error)
}

// Restore implements DB with SQLite's online backup API: the copy
// into the live database is one write transaction.
func (d *SQLiteDB) Restore(ctx context.Context, r io.Reader) error {
	tmp := tempName(d.Path + ".restore")
	defer os.Remove(tmp)
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := d.Create(ctx); err != nil {
		return err
	}
	db, err := d.open()
	if err != nil {
		return err
	}
	defer db.Close()
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	for {
		err = conn.Raw(func(dc any) error {
			rs, ok := dc.(restorer)
			if !ok {
				return errors.New("sqlite driver has no backup API")
			}
			b, err := rs.NewRestore("file:" + tmp + "?mode=ro")
			if err != nil {
				return err
			}
			_, serr := b.Step(-1)
			return errors.Join(serr, b.Finish())
		})
		if err == nil || !strings.Contains(err.Error(), "busy") && !strings.Contains(err.Error(), "locked") {
			break
		}
		select { // another connection is writing; try again
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	if err != nil {
		return fmt.Errorf("sqlite restore: %w", err)
	}
	return nil
}

// Tables implements DB.
func (d *SQLiteDB) Tables(ctx context.Context) (map[string]int64, error) {
	db, err := d.open()
	if err != nil {
		return nil, err
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\_%' ESCAPE '\'`)
	if err != nil {
		return nil, err
	}
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			rows.Close()
			return nil, err
		}
		names = append(names, n)
	}
	rows.Close()
	out := map[string]int64{}
	for _, n := range names {
		var c int64
		if err := db.QueryRowContext(ctx, `SELECT count(*) FROM "`+strings.ReplaceAll(n, `"`, `""`)+`"`).Scan(&c); err != nil {
			return nil, err
		}
		out[n] = c
	}
	return out, nil
}

// Drop implements DB.
func (d *SQLiteDB) Drop(ctx context.Context) error {
	var errs []error
	for _, s := range []string{"", "-wal", "-shm", "-journal"} {
		if err := os.Remove(d.Path + s); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func tempName(base string) string {
	b := make([]byte, 6)
	rand.Read(b)
	return base + "." + hex.EncodeToString(b)
}

// PostgresServer makes a database and a role per project on a PostgreSQL
// server reached with an admin URL (a role with CREATEDB and CREATEROLE).
// Each project's password is derived from Secret, so nothing is stored.
type PostgresServer struct {
	AdminURL  string
	Secret    []byte
	PgDump    string // default "pg_dump"
	PgRestore string // default "pg_restore"
	// Hook, when set, is called at each step of a restore (fault
	// injection for crash tests).
	Hook func(op string)
}

func (p *PostgresServer) hook(op string) {
	if p.Hook != nil {
		p.Hook(op)
	}
}

// Project returns the database of a project.
func (p *PostgresServer) Project(projectID string) *PostgresDB {
	s := strings.ToLower(regexp.MustCompile(`[^A-Za-z0-9]+`).ReplaceAllString(projectID, "_"))
	if len(s) > 30 {
		s = s[:30]
	}
	sum := sha256.Sum256([]byte(projectID))
	name := "ecode_" + s + "_" + hex.EncodeToString(sum[:4])
	return &PostgresDB{server: p, Name: name, password: p.password(name)}
}

// password is the role name's password, derived from Secret.
func (p *PostgresServer) password(name string) string {
	mac := hmac.New(sha256.New, p.Secret)
	mac.Write([]byte("project-db:" + name))
	return hex.EncodeToString(mac.Sum(nil))[:32]
}

// PostgresDB is one project's database and role (both named Name).
type PostgresDB struct {
	server   *PostgresServer
	Name     string
	password string
}

var _ DB = (*PostgresDB)(nil)

// url returns the server URL for db as user, with or without the password.
func (d *PostgresDB) url(db, user, password string) string {
	u, err := url.Parse(d.server.AdminURL)
	if err != nil {
		return ""
	}
	if password != "" {
		u.User = url.UserPassword(user, password)
	} else {
		u.User = url.User(user)
	}
	u.Path = "/" + db
	q := u.Query()
	q.Del("search_path")
	u.RawQuery = q.Encode()
	return u.String()
}

// URL implements DB.
func (d *PostgresDB) URL() string { return d.url(d.Name, d.Name, d.password) }

func (d *PostgresDB) admin(ctx context.Context) (*sql.DB, error) {
	db, err := sql.Open("pgx", d.server.AdminURL)
	if err != nil {
		return nil, err
	}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

func ident(s string) string { return pgx.Identifier{s}.Sanitize() }

// Create implements DB.
func (d *PostgresDB) Create(ctx context.Context) error {
	if err := d.createRole(ctx); err != nil {
		return err
	}
	db, err := d.admin(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	var n int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM pg_database WHERE datname = $1`, d.Name).Scan(&n); err != nil {
		return err
	}
	if n == 0 {
		return d.createDB(ctx, db, d.Name)
	}
	return nil
}

// createRole makes the role (or sets its password again).
func (d *PostgresDB) createRole(ctx context.Context) error {
	db, err := d.admin(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	var n int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM pg_roles WHERE rolname = $1`, d.Name).Scan(&n); err != nil {
		return err
	}
	if n == 0 {
		if _, err := db.ExecContext(ctx, `CREATE ROLE `+ident(d.Name)+` LOGIN PASSWORD '`+d.password+`'`); err != nil {
			return fmt.Errorf("create role: %w", err)
		}
	} else if _, err := db.ExecContext(ctx, `ALTER ROLE `+ident(d.Name)+` LOGIN PASSWORD '`+d.password+`'`); err != nil {
		return fmt.Errorf("alter role: %w", err)
	}
	return nil
}

func (d *PostgresDB) createDB(ctx context.Context, db *sql.DB, name string) error {
	if _, err := db.ExecContext(ctx, `CREATE DATABASE `+ident(name)+` OWNER `+ident(d.Name)); err != nil {
		return fmt.Errorf("create database: %w", err)
	}
	if _, err := db.ExecContext(ctx, `REVOKE ALL ON DATABASE `+ident(name)+` FROM PUBLIC`); err != nil {
		return fmt.Errorf("revoke: %w", err)
	}
	return nil
}

func (d *PostgresDB) tool(ctx context.Context, name, def string, args ...string) *exec.Cmd {
	if name == "" {
		name = def
	}
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), "PGPASSWORD="+d.password, "PGCONNECT_TIMEOUT=10")
	return cmd
}

// Snapshot implements DB with pg_dump's custom format (one
// repeatable-read transaction, so consistent while the app writes).
func (d *PostgresDB) Snapshot(ctx context.Context, w io.Writer) error {
	var stderr bytes.Buffer
	cmd := d.tool(ctx, d.server.PgDump, "pg_dump", "-Fc", "--no-owner", "--no-acl", "-d", d.url(d.Name, d.Name, ""))
	cmd.Stdout, cmd.Stderr = w, &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("pg_dump: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	return nil
}

// Restore implements DB: the snapshot is restored into a new
// database, which then takes the project database's name in one transaction
// (connections to the old one are ended); the old one is dropped.
func (d *PostgresDB) Restore(ctx context.Context, r io.Reader) error {
	db, err := d.admin(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := d.dropLeftovers(ctx, db); err != nil {
		return err
	}
	sfx := make([]byte, 4)
	rand.Read(sfx)
	fresh := d.Name + "_r" + hex.EncodeToString(sfx)
	old := d.Name + "_o" + hex.EncodeToString(sfx)
	if err := d.createDB(ctx, db, fresh); err != nil {
		return err
	}
	d.server.hook("pg created " + fresh)
	var stderr bytes.Buffer
	cmd := d.tool(ctx, d.server.PgRestore, "pg_restore", "--no-owner", "--no-acl", "--exit-on-error", "--single-transaction",
		"-d", d.url(fresh, d.Name, ""))
	cmd.Stdin, cmd.Stderr = r, &stderr
	if err := cmd.Run(); err != nil {
		db.ExecContext(context.WithoutCancel(ctx), `DROP DATABASE IF EXISTS `+ident(fresh)+` WITH (FORCE)`)
		return fmt.Errorf("pg_restore: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	d.server.hook("pg restored " + fresh)
	// Swap names. Renaming needs the database idle: end its sessions, retry
	// if a new one slipped in.
	for attempt := 0; ; attempt++ {
		err = d.swap(ctx, db, fresh, old)
		if err == nil || attempt == 20 || ctx.Err() != nil {
			break
		}
		time.Sleep(time.Duration(attempt+1) * 10 * time.Millisecond)
	}
	if err != nil {
		db.ExecContext(context.WithoutCancel(ctx), `DROP DATABASE IF EXISTS `+ident(fresh)+` WITH (FORCE)`)
		return fmt.Errorf("swap databases: %w", err)
	}
	d.server.hook("pg swapped " + fresh)
	_, err = db.ExecContext(ctx, `DROP DATABASE IF EXISTS `+ident(old)+` WITH (FORCE)`)
	return err
}

func (d *PostgresDB) swap(ctx context.Context, db *sql.DB, fresh, old string) error {
	if _, err := db.ExecContext(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`, d.Name); err != nil {
		return err
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM pg_database WHERE datname = $1`, d.Name).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		if _, err := tx.ExecContext(ctx, `ALTER DATABASE `+ident(d.Name)+` RENAME TO `+ident(old)); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, `ALTER DATABASE `+ident(fresh)+` RENAME TO `+ident(d.Name)); err != nil {
		return err
	}
	return tx.Commit()
}

// dropLeftovers drops databases left by a restore that crashed.
func (d *PostgresDB) dropLeftovers(ctx context.Context, db *sql.DB) error {
	rows, err := db.QueryContext(ctx, `SELECT datname FROM pg_database WHERE starts_with(datname, $1) OR starts_with(datname, $2)`,
		d.Name+"_r", d.Name+"_o")
	if err != nil {
		return err
	}
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			rows.Close()
			return err
		}
		names = append(names, n)
	}
	rows.Close()
	for _, n := range names {
		if _, err := db.ExecContext(ctx, `DROP DATABASE IF EXISTS `+ident(n)+` WITH (FORCE)`); err != nil {
			return err
		}
	}
	return nil
}

// Tables implements DB.
func (d *PostgresDB) Tables(ctx context.Context) (map[string]int64, error) {
	db, err := sql.Open("pgx", d.URL())
	if err != nil {
		return nil, err
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, `SELECT table_schema, table_name FROM information_schema.tables
		WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema')`)
	if err != nil {
		return nil, err
	}
	var ts [][2]string
	for rows.Next() {
		var s, t string
		if err := rows.Scan(&s, &t); err != nil {
			rows.Close()
			return nil, err
		}
		ts = append(ts, [2]string{s, t})
	}
	rows.Close()
	out := map[string]int64{}
	for _, t := range ts {
		var c int64
		if err := db.QueryRowContext(ctx, `SELECT count(*) FROM `+pgx.Identifier{t[0], t[1]}.Sanitize()).Scan(&c); err != nil {
			return nil, err
		}
		key := t[0] + "." + t[1]
		if t[0] == "public" {
			key = t[1]
		}
		out[key] = c
	}
	return out, nil
}

// Drop implements DB.
func (d *PostgresDB) Drop(ctx context.Context) error {
	db, err := d.admin(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := d.dropLeftovers(ctx, db); err != nil {
		return err
	}
	if _, err := db.ExecContext(ctx, `DROP DATABASE IF EXISTS `+ident(d.Name)+` WITH (FORCE)`); err != nil {
		return err
	}
	_, err = db.ExecContext(ctx, `DROP ROLE IF EXISTS `+ident(d.Name))
	return err
}
