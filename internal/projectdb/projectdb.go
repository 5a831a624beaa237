// Package projectdb owns each project's own database, the one its app uses:
// a SQLite file inside the project's files (the default), or a database and
// role of its own on a PostgreSQL server the operator names. It creates and
// drops them, says how the sandbox reaches them (the variables, and the
// proxy that listens on the PostgreSQL port inside each sandbox), and hands
// them to checkpoints for snapshots and restores.
package projectdb

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"sync"

	"ecode/internal/dbproxy"
	"ecode/internal/sandbox"
)

// Path is where a project's SQLite database lives, inside its files so the
// sandbox sees it; checkpoints take it through SQLite, not as a file.
const Path = ".ecode/data.db"

// Files are the SQLite file and its companions, which checkpoints leave out
// of the files they capture.
var Files = []string{Path, Path + "-wal", Path + "-shm", Path + "-journal"}

// SandboxPort is where a sandbox reaches its PostgreSQL database (the proxy
// listens there inside the sandbox's network namespace). Port discovery of
// runs skips it.
const SandboxPort = dbproxy.Port

// SandboxAddr is SandboxPort on the sandbox's loopback.
const SandboxAddr = dbproxy.Addr

// ProjectFiles locates projects' files and writes into them.
type ProjectFiles interface {
	Dir(projectID string) string
	WriteFile(projectID, name string, data []byte) error
}

// Manager gives projects their databases.
type Manager struct {
	files ProjectFiles
	pg    *PostgresServer // nil: a SQLite file per project
	proxy *dbproxy.Proxy  // with pg: each sandbox's way to its database

	mu   sync.Mutex
	prod map[string]string // production sandbox id → project id (see BindProduction)
}

// NewSQLite keeps each project's database in a SQLite file in its files.
func NewSQLite(files ProjectFiles) *Manager { return &Manager{files: files} }

// NewPostgres gives each project a database and role on the PostgreSQL
// server at adminURL (a role with CREATEDB and CREATEROLE); role passwords
// derive from secret. Sandboxes reach their database, and only it, through
// a proxy on SandboxPort inside their network namespace.
func NewPostgres(files ProjectFiles, adminURL string, secret []byte, log *slog.Logger) (*Manager, error) {
	u, err := url.Parse(adminURL)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("project-db-url: %q is not a postgres:// URL with a host", adminURL)
	}
	target := u.Host
	if u.Port() == "" {
		target = net.JoinHostPort(u.Hostname(), "5432")
	}
	pg := &PostgresServer{AdminURL: adminURL, Secret: secret}
	m := &Manager{files: files, pg: pg, prod: map[string]string{}}
	allow := func(sandboxID string) (string, string) {
		m.mu.Lock()
		projectID, prod := m.prod[sandboxID]
		m.mu.Unlock()
		name := pg.Project(sandboxID).Name
		if prod {
			name = pg.Production(projectID).Name
		}
		return name, name
	}
	m.proxy = dbproxy.New(target, allow, sandbox.ListenInNetns, log)
	return m, nil
}

// Postgres reports whether projects have PostgreSQL databases.
func (m *Manager) Postgres() bool { return m.pg != nil }

// DB is the project's database.
func (m *Manager) DB(projectID string) DB {
	if m.pg != nil {
		return m.pg.Project(projectID)
	}
	return &SQLiteDB{Path: m.sqlitePath(projectID)}
}

func (m *Manager) sqlitePath(projectID string) string {
	return filepath.Join(m.files.Dir(projectID), Path)
}

// Exists reports whether the project's database exists yet.
func (m *Manager) Exists(projectID string) bool {
	if m.pg != nil {
		return true // Create ran when the project was created
	}
	_, err := os.Stat(m.sqlitePath(projectID))
	return err == nil
}

// Create makes the project's database if it is missing: a SQLite file
// owned like the project's files, or a PostgreSQL database and role.
func (m *Manager) Create(ctx context.Context, projectID string) error {
	if m.pg != nil {
		return m.pg.Project(projectID).Create(ctx)
	}
	if _, err := os.Stat(m.sqlitePath(projectID)); err == nil {
		return nil
	}
	return m.files.WriteFile(projectID, Path, nil)
}

// Drop deletes the project's database (a SQLite file goes with the
// project's files, but is removed here too). Dropping a missing database is
// not an error.
func (m *Manager) Drop(ctx context.Context, projectID string) error {
	if m.pg == nil {
		err := m.DB(projectID).Drop(ctx)
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		return err
	}
	return errors.Join(m.pg.Project(projectID).Drop(ctx), m.pg.Production(projectID).Drop(ctx))
}

// Env is what a project's processes need to reach its database.
func (m *Manager) Env(projectID string) []string {
	if m.pg == nil {
		return []string{"DATABASE_URL=sqlite:////workspace/" + Path, "DATABASE_PATH=/workspace/" + Path}
	}
	return proxiedEnv(m.pg.Project(projectID))
}

// proxiedEnv is the DATABASE_URL of d as a sandbox reaches it: through the
// proxy on SandboxPort.
func proxiedEnv(d *PostgresDB) []string {
	u, err := url.Parse(d.URL())
	if err != nil {
		return nil
	}
	u.Host = net.JoinHostPort("127.0.0.1", strconv.Itoa(SandboxPort))
	q := u.Query()
	q.Set("sslmode", "disable")
	u.RawQuery = q.Encode()
	return []string{"DATABASE_URL=" + u.String()}
}

// Role is the PostgreSQL role and database of a project ("" on SQLite).
func (m *Manager) Role(projectID string) string {
	if m.pg == nil {
		return ""
	}
	return m.pg.Project(projectID).Name
}

// SandboxSetup runs in each new sandbox's network namespace: it starts the
// project's database proxy there (nothing on SQLite).
func (m *Manager) SandboxSetup(ctx context.Context, projectID string, netns *os.File) error {
	if m.proxy == nil {
		return nil
	}
	return m.proxy.Setup(ctx, projectID, netns)
}

// SandboxAttach serves l, the project's database connections tunnelled
// from a workspace pod, through the same proxy (nothing on SQLite).
func (m *Manager) SandboxAttach(projectID string, l net.Listener) {
	if m.proxy == nil {
		l.Close()
		return
	}
	m.proxy.Attach(projectID, l)
}

// SandboxStopped is told when a project's sandbox stopped.
func (m *Manager) SandboxStopped(projectID string) {
	if m.proxy != nil {
		m.proxy.Forget(projectID)
	}
}

// Close stops the proxies.
func (m *Manager) Close() {
	if m.proxy != nil {
		m.proxy.Close()
	}
}

// Size is the bytes the project's database takes outside its files: its
// PostgreSQL database's size with its production database's (a SQLite
// database is a file among the project's files, and a SQLite production
// database one in the deployment's folder, measured with them: 0).
func (m *Manager) Size(ctx context.Context, projectID string) (int64, error) {
	if m.pg == nil {
		return 0, nil
	}
	d := m.pg.Project(projectID)
	db, err := d.admin(ctx)
	if err != nil {
		return 0, err
	}
	defer db.Close()
	var n int64
	err = db.QueryRowContext(ctx, `SELECT COALESCE(SUM(pg_database_size(datname)), 0)::bigint FROM pg_database WHERE datname IN ($1, $2)`,
		d.Name, m.pg.Production(projectID).Name).Scan(&n)
	return n, err
}
