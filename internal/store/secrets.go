package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Secret scopes: a project's own secrets, a project's production secrets
// (its deployment's, overriding the project's), or a user's account secrets.
const (
	ScopeProject    = "project"
	ScopeProduction = "production"
	ScopeUser       = "user"
)

// SecretOwner is whose secret (or data key) a row is.
type SecretOwner struct {
	Scope string // ScopeProject | ScopeProduction | ScopeUser
	ID    string // the project's (project, production) or the user's id
}

// fk returns the owner as the (project_id, user_id) foreign keys.
func (o SecretOwner) fk() (project, user any) {
	if o.Scope == ScopeProject || o.Scope == ScopeProduction {
		return o.ID, nil
	}
	return nil, o.ID
}

// SecretKey is an owner's data key, wrapped under master key KekID.
type SecretKey struct {
	Owner   SecretOwner
	Wrapped []byte
	KekID   string
}

// SecretDataKey returns the owner's wrapped data key (ErrNotFound if none).
func (s *Store) SecretDataKey(ctx context.Context, o SecretOwner) (SecretKey, error) {
	k := SecretKey{Owner: o}
	err := s.queryRow(ctx, `SELECT wrapped, kek_id FROM secret_keys WHERE scope = ? AND owner_id = ?`, o.Scope, o.ID).
		Scan(&k.Wrapped, &k.KekID)
	return k, mapErr(err)
}

// InsertSecretDataKey stores a new data key (ErrConflict if the owner has one).
func (s *Store) InsertSecretDataKey(ctx context.Context, k SecretKey, now time.Time) error {
	p, u := k.Owner.fk()
	_, err := s.exec(ctx, `INSERT INTO secret_keys (scope, owner_id, project_id, user_id, wrapped, kek_id, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, k.Owner.Scope, k.Owner.ID, p, u, k.Wrapped, k.KekID, micros(now))
	return mapErr(err)
}

// SecretDataKeys lists every data key (for rotating the master key).
func (s *Store) SecretDataKeys(ctx context.Context) ([]SecretKey, error) {
	rows, err := s.query(ctx, `SELECT scope, owner_id, wrapped, kek_id FROM secret_keys ORDER BY scope, owner_id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []SecretKey
	for rows.Next() {
		var k SecretKey
		if err := rows.Scan(&k.Owner.Scope, &k.Owner.ID, &k.Wrapped, &k.KekID); err != nil {
			return nil, err
		}
		out = append(out, k)
	}
	return out, rows.Err()
}

// UpdateSecretDataKey replaces a data key's wrapping.
func (s *Store) UpdateSecretDataKey(ctx context.Context, k SecretKey) error {
	return affected(s.exec(ctx, `UPDATE secret_keys SET wrapped = ?, kek_id = ? WHERE scope = ? AND owner_id = ?`,
		k.Wrapped, k.KekID, k.Owner.Scope, k.Owner.ID))
}

// SecretInfo is a secret without its value.
type SecretInfo struct {
	Name      string
	Version   int64 // current version; 0 when deleted
	CreatedAt time.Time
	UpdatedAt time.Time
	UpdatedBy string
}

// Secrets lists the owner's secrets (not deleted ones), by name.
func (s *Store) Secrets(ctx context.Context, o SecretOwner) ([]SecretInfo, error) {
	rows, err := s.query(ctx, `SELECT name, version, created_at, updated_at, updated_by FROM secrets
		WHERE scope = ? AND owner_id = ? AND version > 0 ORDER BY name`, o.Scope, o.ID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []SecretInfo
	for rows.Next() {
		var si SecretInfo
		var c, u int64
		if err := rows.Scan(&si.Name, &si.Version, &c, &u, &si.UpdatedBy); err != nil {
			return nil, err
		}
		si.CreatedAt, si.UpdatedAt = fromMicros(c), fromMicros(u)
		out = append(out, si)
	}
	return out, rows.Err()
}

// SecretCiphertext returns one version's ciphertext (ErrNotFound if none).
func (s *Store) SecretCiphertext(ctx context.Context, o SecretOwner, name string, version int64) ([]byte, error) {
	var ct []byte
	err := s.queryRow(ctx, `SELECT ciphertext FROM secret_versions WHERE scope = ? AND owner_id = ? AND name = ? AND version = ?`,
		o.Scope, o.ID, name, version).Scan(&ct)
	return ct, mapErr(err)
}

// SecretVersion returns the current version of a live secret (ErrNotFound
// if it does not exist or was deleted).
func (s *Store) SecretVersion(ctx context.Context, o SecretOwner, name string) (int64, error) {
	var v int64
	err := s.queryRow(ctx, `SELECT version FROM secrets WHERE scope = ? AND owner_id = ? AND name = ? AND version > 0`,
		o.Scope, o.ID, name).Scan(&v)
	return v, mapErr(err)
}

// PutSecretVersion adds the next version of a secret and makes it current;
// seal makes the ciphertext for that version number (it is bound to it).
func (s *Store) PutSecretVersion(ctx context.Context, o SecretOwner, name, by string, now time.Time, seal func(version int64) ([]byte, error)) (int64, error) {
	var version int64
	err := s.InTx(ctx, func(tx *Store) error {
		if err := tx.w().QueryRowContext(ctx, tx.q(`SELECT COALESCE(MAX(version), 0) FROM secret_versions
			WHERE scope = ? AND owner_id = ? AND name = ?`), o.Scope, o.ID, name).Scan(&version); err != nil {
			return err
		}
		version++
		ct, err := seal(version)
		if err != nil {
			return err
		}
		p, u := o.fk()
		if _, err := tx.exec(ctx, `INSERT INTO secret_versions (scope, owner_id, project_id, user_id, name, version, ciphertext, created_at, created_by)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, o.Scope, o.ID, p, u, name, version, ct, micros(now), by); err != nil {
			return mapErr(err)
		}
		_, err = tx.exec(ctx, `INSERT INTO secrets (scope, owner_id, project_id, user_id, name, version, created_at, updated_at, updated_by)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (scope, owner_id, name) DO UPDATE SET version = excluded.version, updated_at = excluded.updated_at,
				updated_by = excluded.updated_by`, o.Scope, o.ID, p, u, name, version, micros(now), micros(now), by)
		return mapErr(err)
	})
	return version, err
}

// SetSecretVersion makes an existing version current again (a checkpoint
// restore), or deletes the secret with version 0.
func (s *Store) SetSecretVersion(ctx context.Context, o SecretOwner, name string, version int64, by string, now time.Time) error {
	return affected(s.exec(ctx, `UPDATE secrets SET version = ?, updated_at = ?, updated_by = ? WHERE scope = ? AND owner_id = ? AND name = ?`,
		version, micros(now), by, o.Scope, o.ID, name))
}

// SecretLink is an account secret of UserID linked into a project.
type SecretLink struct {
	UserID string
	Name   string
}

// LinkSecret links user's account secret name into project (replacing a
// link of that name).
func (s *Store) LinkSecret(ctx context.Context, projectID string, l SecretLink, now time.Time) error {
	_, err := s.exec(ctx, `INSERT INTO secret_links (project_id, user_id, name, created_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (project_id, name) DO UPDATE SET user_id = excluded.user_id, created_at = excluded.created_at`,
		projectID, l.UserID, l.Name, micros(now))
	return mapErr(err)
}

// UnlinkSecret removes a link (ErrNotFound if none).
func (s *Store) UnlinkSecret(ctx context.Context, projectID, name string) error {
	return affected(s.exec(ctx, `DELETE FROM secret_links WHERE project_id = ? AND name = ?`, projectID, name))
}

// SecretLinks lists the account secrets linked into a project.
func (s *Store) SecretLinks(ctx context.Context, projectID string) ([]SecretLink, error) {
	rows, err := s.query(ctx, `SELECT user_id, name FROM secret_links WHERE project_id = ? ORDER BY name`, projectID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []SecretLink
	for rows.Next() {
		var l SecretLink
		if err := rows.Scan(&l.UserID, &l.Name); err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	return out, rows.Err()
}

// SecretAudit is one row of the audit log.
type SecretAudit struct {
	Seq      int64
	At       time.Time
	Owner    SecretOwner
	Action   string
	Name     string
	ActorID  string
	Actor    string
	Via      string // the session or token (an id, never the credential)
	Client   string // the client address
	Detail   string
	PrevHash string
	Hash     string
}

const auditCols = `seq, at, scope, owner_id, action, name, actor_id, actor, via, client, detail, prev_hash, hash`

// AppendSecretAudit appends a row: fill gets the sequence number and the
// previous row's hash and completes the row (its hash). Appends are
// serialised (SQLite's one writer; a transaction-scoped advisory lock on
// PostgreSQL), so the chain never forks.
func (s *Store) AppendSecretAudit(ctx context.Context, fill func(a *SecretAudit)) error {
	for attempt := 0; ; attempt++ {
		err := s.InTx(ctx, func(tx *Store) error {
			if tx.engine == Postgres {
				if _, err := tx.exec(ctx, `SELECT pg_advisory_xact_lock(7007007)`); err != nil {
					return err
				}
			}
			var a SecretAudit
			err := tx.w().QueryRowContext(ctx, tx.q(`SELECT seq, hash FROM secret_audit ORDER BY seq DESC LIMIT 1`)).Scan(&a.Seq, &a.PrevHash)
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return err
			}
			a.Seq++
			fill(&a)
			_, err = tx.exec(ctx, `INSERT INTO secret_audit (`+auditCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				a.Seq, micros(a.At), a.Owner.Scope, a.Owner.ID, a.Action, a.Name, a.ActorID, a.Actor, a.Via, a.Client, a.Detail, a.PrevHash, a.Hash)
			return mapErr(err)
		})
		if errors.Is(err, ErrConflict) && attempt < 20 && s.tx == nil {
			continue
		}
		if err != nil {
			return fmt.Errorf("append secret audit: %w", err)
		}
		return nil
	}
}

// SecretAuditLog lists the audit rows of one owner (all owners when o is
// zero), oldest first.
func (s *Store) SecretAuditLog(ctx context.Context, o SecretOwner) ([]SecretAudit, error) {
	q, args := `SELECT `+auditCols+` FROM secret_audit ORDER BY seq`, []any{}
	if o != (SecretOwner{}) {
		q, args = `SELECT `+auditCols+` FROM secret_audit WHERE scope = ? AND owner_id = ? ORDER BY seq`, []any{o.Scope, o.ID}
	}
	rows, err := s.query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []SecretAudit
	for rows.Next() {
		var a SecretAudit
		var at int64
		if err := rows.Scan(&a.Seq, &at, &a.Owner.Scope, &a.Owner.ID, &a.Action, &a.Name, &a.ActorID, &a.Actor, &a.Via,
			&a.Client, &a.Detail, &a.PrevHash, &a.Hash); err != nil {
			return nil, err
		}
		a.At = fromMicros(at)
		out = append(out, a)
	}
	return out, rows.Err()
}

// SecretLinkedProjects lists the projects user's account secret name is linked into.
func (s *Store) SecretLinkedProjects(ctx context.Context, userID, name string) ([]string, error) {
	return s.queryIDs(ctx, "secret links", `SELECT project_id FROM secret_links WHERE user_id = ? AND name = ? ORDER BY project_id`, userID, name)
}

// ExecRaw runs one statement (with ? placeholders) outside this package's
// topics: for operators' tools and for tests that tamper with rows.
func (s *Store) ExecRaw(ctx context.Context, query string, args ...any) error {
	_, err := s.exec(ctx, query, args...)
	return err
}

// EachValue calls fn with every stored value of every table, as text
// (numbers and times formatted): for checks that something is stored
// nowhere, such as a secret's plaintext.
func (s *Store) EachValue(ctx context.Context, fn func(table string, v []byte)) error {
	q := `SELECT name FROM sqlite_master WHERE type = 'table'`
	if s.engine == Postgres {
		q = `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()`
	}
	rows, err := s.query(ctx, q)
	if err != nil {
		return err
	}
	var tables []string
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			rows.Close()
			return err
		}
		tables = append(tables, t)
	}
	rows.Close()
	for _, t := range tables {
		if err := s.eachValueOf(ctx, t, fn); err != nil {
			return fmt.Errorf("table %s: %w", t, err)
		}
	}
	return nil
}

func (s *Store) eachValueOf(ctx context.Context, table string, fn func(table string, v []byte)) error {
	rows, err := s.query(ctx, `SELECT * FROM "`+table+`"`)
	if err != nil {
		return err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return err
	}
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return err
		}
		for _, v := range vals {
			switch v := v.(type) {
			case nil:
			case []byte:
				fn(table, v)
			case string:
				fn(table, []byte(v))
			default:
				fn(table, fmt.Append(nil, v))
			}
		}
	}
	return rows.Err()
}

// SealedTOTP is a user's TOTP secret as stored (sealed under the master key).
type SealedTOTP struct {
	UserID, Sealed string
}

// SealedTOTPSecrets lists every stored TOTP secret (for a master key rotation).
func (s *Store) SealedTOTPSecrets(ctx context.Context) ([]SealedTOTP, error) {
	rows, err := s.query(ctx, `SELECT user_id, secret FROM user_totp ORDER BY user_id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []SealedTOTP
	for rows.Next() {
		var t SealedTOTP
		if err := rows.Scan(&t.UserID, &t.Sealed); err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// ResealTOTPSecret replaces a user's sealed TOTP secret.
func (s *Store) ResealTOTPSecret(ctx context.Context, t SealedTOTP) error {
	return affected(s.exec(ctx, `UPDATE user_totp SET secret = ? WHERE user_id = ?`, t.Sealed, t.UserID))
}
