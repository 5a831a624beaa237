// Package testdb gives tests real, empty, migrated stores on every engine:
// SQLite always; PostgreSQL from ECODE_TEST_POSTGRES_URL (required in CI),
// each test in a schema of its own so tests run in parallel. It depends on
// the store only, so that any package's tests can use it.
package testdb

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"ecode/internal/store"
)

// PostgresURLEnv names the variable holding the PostgreSQL server for tests.
const PostgresURLEnv = "ECODE_TEST_POSTGRES_URL"

// Engines returns the engines to test on. Without a PostgreSQL URL the
// PostgreSQL runs are skipped, except in CI (CI or ECODE_REQUIRE_POSTGRES
// set), where the missing URL fails the test.
func Engines() []store.Engine { return []store.Engine{store.SQLite, store.Postgres} }

// ForEachEngine runs fn as a parallel subtest per engine, with a fresh store.
func ForEachEngine(t *testing.T, fn func(t *testing.T, st *store.Store)) {
	t.Helper()
	for _, e := range Engines() {
		t.Run(string(e), func(t *testing.T) {
			t.Parallel()
			fn(t, NewStore(t, e))
		})
	}
}

// NewStore returns a migrated, empty store on engine, removed after the test.
func NewStore(t testing.TB, engine store.Engine) *store.Store {
	t.Helper()
	ctx := context.Background()
	var url string
	switch engine {
	case store.SQLite:
		url = filepath.Join(t.TempDir(), "test.db")
	case store.Postgres:
		url = postgresSchema(t)
	}
	st, err := store.Open(ctx, url)
	if err != nil {
		t.Fatalf("open %s store: %v", engine, err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(ctx); err != nil {
		t.Fatalf("migrate %s: %v", engine, err)
	}
	return st
}

// PostgresURL creates a schema of its own for the test on the PostgreSQL
// server of the environment and returns a URL whose search_path selects it
// (dropped when the test ends). Without a server it skips, or fails in CI.
func PostgresURL(t testing.TB) string { return postgresSchema(t) }

// postgresSchema creates a schema of its own for the test and returns a URL
// whose search_path selects it.
func postgresSchema(t testing.TB) string {
	t.Helper()
	base := os.Getenv(PostgresURLEnv)
	if base == "" {
		if os.Getenv("CI") != "" || os.Getenv("ECODE_REQUIRE_POSTGRES") != "" {
			t.Fatalf("%s is not set: CI must test PostgreSQL", PostgresURLEnv)
		}
		t.Skipf("PostgreSQL not tested: set %s (e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable)", PostgresURLEnv)
	}
	b := make([]byte, 6)
	rand.Read(b)
	schema := "t_" + hex.EncodeToString(b)
	db, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("open postgres: %v", err)
	}
	if _, err := db.Exec(`CREATE SCHEMA ` + schema); err != nil {
		db.Close()
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		if _, err := db.Exec(`DROP SCHEMA ` + schema + ` CASCADE`); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
		db.Close()
	})
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	return base + sep + "search_path=" + schema
}
