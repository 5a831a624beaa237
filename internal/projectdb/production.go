package projectdb

import (
	"context"
	"errors"
	"io"
)

// Production databases (PostgreSQL project databases only): a deployment's
// database of its own, a database and role beside the project's
// development one (named like it, with "_prod"). Deployments make it at the
// first publish, empty or as a copy of the development database; production
// sandboxes are bound to it, so the proxy in them lets them reach it and
// nothing else. Drop removes it with the project's database.

// ErrNoProductionDB means production databases live elsewhere (SQLite
// project databases: a file in the deployment's data folder).
var ErrNoProductionDB = errors.New("projectdb: production databases need PostgreSQL project databases")

// Production returns the production database of a project.
func (p *PostgresServer) Production(projectID string) *PostgresDB {
	name := p.Project(projectID).Name + "_prod"
	return &PostgresDB{server: p, Name: name, password: p.password(name)}
}

// ProductionExists reports whether the project's production database has
// been made.
func (m *Manager) ProductionExists(ctx context.Context, projectID string) (bool, error) {
	if m.pg == nil {
		return false, ErrNoProductionDB
	}
	d := m.pg.Production(projectID)
	db, err := d.admin(ctx)
	if err != nil {
		return false, err
	}
	defer db.Close()
	var n int
	err = db.QueryRowContext(ctx, `SELECT count(*) FROM pg_database WHERE datname = $1`, d.Name).Scan(&n)
	return n > 0, err
}

// CreateProduction makes the project's production database if it is
// missing: empty, or (copyDev) a copy of the development database taken with
// pg_dump while the workspace may keep writing to it (one consistent
// snapshot) and restored under the production role. CREATE DATABASE …
// TEMPLATE would be faster but needs the development database to have no
// connections, which a running workspace app rarely allows. The copy is
// restored under a temporary name and renamed into place, so a failed copy
// leaves no production database behind (the next publish tries again).
func (m *Manager) CreateProduction(ctx context.Context, projectID string, copyDev bool) error {
	if ok, err := m.ProductionExists(ctx, projectID); err != nil || ok {
		return err
	}
	prod := m.pg.Production(projectID)
	if !copyDev {
		return prod.Create(ctx)
	}
	if err := prod.createRole(ctx); err != nil {
		return err
	}
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := m.pg.Project(projectID).Snapshot(ctx, pw)
		pw.CloseWithError(err)
		done <- err
	}()
	err := prod.Restore(ctx, pr)
	pr.CloseWithError(errors.New("restore ended"))
	if serr := <-done; serr != nil && err != nil {
		return serr // the dump's reason is the useful one
	}
	return err
}

// ProductionEnv is what a production sandbox's processes need to reach the
// project's production database (through the proxy, as in the workspace).
func (m *Manager) ProductionEnv(projectID string) []string {
	if m.pg == nil {
		return nil
	}
	return proxiedEnv(m.pg.Production(projectID))
}

// BindProduction makes the sandbox sandboxID (about to be opened) a
// production sandbox of the project: its proxy admits the production role
// and database instead of a workspace's. Call the returned func once the
// sandbox has closed.
func (m *Manager) BindProduction(sandboxID, projectID string) (unbind func()) {
	if m.pg == nil {
		return func() {}
	}
	m.mu.Lock()
	m.prod[sandboxID] = projectID
	m.mu.Unlock()
	return func() {
		m.proxy.Forget(sandboxID)
		m.mu.Lock()
		delete(m.prod, sandboxID)
		m.mu.Unlock()
	}
}

// SnapshotProduction writes a consistent copy of the project's production
// database to w (pg_dump's custom format, compressed) while its app keeps
// running: releases' data snapshots.
func (m *Manager) SnapshotProduction(ctx context.Context, projectID string, w io.Writer) error {
	if m.pg == nil {
		return ErrNoProductionDB
	}
	return m.pg.Production(projectID).Snapshot(ctx, w)
}

// RestoreProduction replaces the project's production database with a
// snapshot (restored aside, then swapped in; connections to the old one
// are ended).
func (m *Manager) RestoreProduction(ctx context.Context, projectID string, r io.Reader) error {
	if m.pg == nil {
		return ErrNoProductionDB
	}
	return m.pg.Production(projectID).Restore(ctx, r)
}

// ProductionDB is the project's production database (PostgreSQL project
// databases only; nil otherwise), to back it up and restore it.
func (m *Manager) ProductionDB(projectID string) DB {
	if m.pg == nil {
		return nil
	}
	return m.pg.Production(projectID)
}
