package backup

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"ecode/internal/store"
)

// Archive entries of the server's database, by engine.
const (
	sqliteDBName   = "db/ecode.db"
	postgresDBName = "db/ecode.pgdump"
)

// snapshotDB writes the server's database into the archive: SQLite through
// VACUUM INTO (one read transaction), PostgreSQL through pg_dump -Fc (one
// repeatable-read transaction), both while the server keeps writing.
func (c *creator) snapshotDB(ctx context.Context) error {
	st := c.src.Store
	tmp, err := os.MkdirTemp(c.tmp, ".ecode-backup-db-*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if st.Engine() == store.SQLite {
		path := tmp + "/ecode.db"
		if err := st.SnapshotSQLite(ctx, path); err != nil {
			return err
		}
		return c.addPath(sqliteDBName, path)
	}
	conn, err := st.PgxConfig(ctx)
	if err != nil {
		return err
	}
	if err := checkPgDump(ctx, st.SQLDB(), c.src.PgDump); err != nil {
		return err
	}
	c.m.Schema = conn.RuntimeParams["search_path"]
	args := []string{"-Fc", "--no-owner", "--no-acl", "-f", tmp + "/ecode.pgdump", "-d", conninfo(conn)}
	if c.m.Schema != "" {
		args = append(args, "-n", c.m.Schema)
	}
	cmd := exec.CommandContext(ctx, tool(c.src.PgDump, "pg_dump"), args...)
	cmd.Env = append(os.Environ(), "PGPASSWORD="+conn.Password, "PGCONNECT_TIMEOUT=10")
	if err := runTool(cmd); err != nil {
		return err
	}
	return c.addPath(postgresDBName, tmp+"/ecode.pgdump")
}

func tool(name, def string) string {
	if name == "" {
		return def
	}
	return name
}

func runTool(cmd *exec.Cmd) error {
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s: %w: %s", cmd.Args[0], err, strings.TrimSpace(stderr.String()))
	}
	return nil
}

// conninfo is libpq's keyword form of a pgx configuration (the password
// goes in PGPASSWORD, never on the command line).
func conninfo(c *pgx.ConnConfig) string {
	q := func(s string) string { return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'" }
	ssl := "disable"
	if c.TLSConfig != nil {
		ssl = "require"
	}
	return fmt.Sprintf("host=%s port=%d user=%s dbname=%s sslmode=%s", q(c.Host), c.Port, q(c.User), q(c.Database), ssl)
}

var majorRE = regexp.MustCompile(`\) (\d+)`)

// checkPgDump refuses a pg_dump older than the server: it could not dump it.
func checkPgDump(ctx context.Context, db *sql.DB, pgDump string) error {
	out, err := exec.CommandContext(ctx, tool(pgDump, "pg_dump"), "--version").Output()
	if err != nil {
		return fmt.Errorf("pg_dump is needed to back up a PostgreSQL database (apt-get install postgresql-client): %w", err)
	}
	m := majorRE.FindSubmatch(out)
	var num int
	if err := db.QueryRowContext(ctx, `SELECT current_setting('server_version_num')::int`).Scan(&num); err != nil {
		return err
	}
	if m == nil {
		return nil
	}
	client, _ := strconv.Atoi(string(m[1]))
	if server := num / 10000; client < server {
		return fmt.Errorf("pg_dump %d cannot dump PostgreSQL %d: install postgresql-client-%d", client, server, server)
	}
	return nil
}

// RestoreSQLite writes the archive's SQLite database to path, which must
// not exist (its -wal and -shm companions are removed).
func (a *Archive) RestoreSQLite(ctx context.Context, path string) error {
	if a.M.Engine != string(store.SQLite) {
		return fmt.Errorf("the archive holds a %s database: restore it with a %s configuration", a.M.Engine, a.M.Engine)
	}
	if _, err := os.Stat(path); err == nil {
		return fmt.Errorf("%s exists", path)
	}
	for _, s := range []string{"-wal", "-shm", "-journal"} {
		os.Remove(path + s)
	}
	tmp := path + ".restoring"
	err := a.entry(sqliteDBName, func(r io.Reader) error { return writeFileSync(tmp, r, 0o600) })
	if err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, path)
}

// RestorePostgres loads the archive's PostgreSQL dump into the database at
// dbURL, which must be empty, in one transaction. The dump recreates its
// schema by name: a URL with search_path must name the same schema.
func (a *Archive) RestorePostgres(ctx context.Context, dbURL, pgRestore string) error {
	if a.M.Engine != string(store.Postgres) {
		return fmt.Errorf("the archive holds a %s database: restore it with a %s configuration", a.M.Engine, a.M.Engine)
	}
	u, err := url.Parse(dbURL)
	if err != nil {
		return fmt.Errorf("database URL: %w", err)
	}
	q := u.Query()
	schema := q.Get("search_path")
	if schema != a.M.Schema && !(schema == "" && a.M.Schema == "public") {
		return fmt.Errorf("the archive's database is in schema %q but the database URL's search_path is %q", a.M.Schema, schema)
	}
	if schema != "" {
		// An empty schema of that name (made beforehand) gives way to the dump's.
		db, err := sql.Open("pgx", dbURL)
		if err != nil {
			return err
		}
		_, err = db.ExecContext(ctx, `DROP SCHEMA IF EXISTS `+pgx.Identifier{schema}.Sanitize())
		db.Close()
		if err != nil {
			return fmt.Errorf("the database is not empty: %w", err)
		}
	}
	q.Del("search_path")
	u.RawQuery = q.Encode()
	password, _ := u.User.Password()
	if u.User != nil {
		u.User = url.User(u.User.Username()) // the password goes in the environment
	}
	return a.entry(postgresDBName, func(r io.Reader) error {
		cmd := exec.CommandContext(ctx, tool(pgRestore, "pg_restore"), "--no-owner", "--no-acl", "--single-transaction", "--exit-on-error", "-d", u.String())
		cmd.Env = append(os.Environ(), "PGPASSWORD="+password)
		cmd.Stdin = r
		return runTool(cmd)
	})
}

func writeFileSync(path string, r io.Reader, mode os.FileMode) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
