package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Session is a signed-in browser. Only a hash of its token is stored.
type Session struct {
	ID         string
	TokenHash  string
	UserID     string
	CreatedAt  time.Time
	LastSeenAt time.Time
	ExpiresAt  time.Time // the absolute limit
	UserAgent  string
	IP         string
	PendingMFA bool // the password was right; the second factor is still missing
}

const sessionColumns = `id, token_hash, user_id, created_at, last_seen_at, expires_at, user_agent, ip, pending_mfa`

func scanSession(sc interface{ Scan(...any) error }) (Session, error) {
	var x Session
	var c, l, e int64
	err := sc.Scan(&x.ID, &x.TokenHash, &x.UserID, &c, &l, &e, &x.UserAgent, &x.IP, &x.PendingMFA)
	x.CreatedAt, x.LastSeenAt, x.ExpiresAt = fromMicros(c), fromMicros(l), fromMicros(e)
	return x, mapErr(err)
}

// CreateSession inserts a session.
func (s *Store) CreateSession(ctx context.Context, x Session) error {
	_, err := s.exec(ctx, `INSERT INTO sessions (`+sessionColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		x.ID, x.TokenHash, x.UserID, micros(x.CreatedAt), micros(x.LastSeenAt), micros(x.ExpiresAt), x.UserAgent, x.IP, x.PendingMFA)
	if err != nil {
		return fmt.Errorf("create session: %w", err)
	}
	return nil
}

// SessionByTokenHash finds a session by the hash of its token.
func (s *Store) SessionByTokenHash(ctx context.Context, hash string) (Session, error) {
	x, err := scanSession(s.queryRow(ctx, `SELECT `+sessionColumns+` FROM sessions WHERE token_hash = ?`, hash))
	if err != nil {
		return Session{}, fmt.Errorf("session: %w", err)
	}
	return x, nil
}

// TouchSession records activity on a session.
func (s *Store) TouchSession(ctx context.Context, id string, at time.Time) error {
	return affected(s.exec(ctx, `UPDATE sessions SET last_seen_at = ? WHERE id = ?`, micros(at), id))
}

// ListSessions returns a user's sessions, most recently active first.
func (s *Store) ListSessions(ctx context.Context, userID string) ([]Session, error) {
	rows, err := s.query(ctx, `SELECT `+sessionColumns+` FROM sessions WHERE user_id = ? ORDER BY last_seen_at DESC, id`, userID)
	if err != nil {
		return nil, fmt.Errorf("list sessions: %w", err)
	}
	defer rows.Close()
	var xs []Session
	for rows.Next() {
		x, err := scanSession(rows)
		if err != nil {
			return nil, err
		}
		xs = append(xs, x)
	}
	return xs, rows.Err()
}

// DeleteSession deletes one of a user's sessions; another user's session
// gives ErrNotFound.
func (s *Store) DeleteSession(ctx context.Context, userID, id string) error {
	return affected(s.exec(ctx, `DELETE FROM sessions WHERE id = ? AND user_id = ?`, id, userID))
}

// DeleteExpiredSessions removes sessions past their absolute limit or idle
// since before idleBefore.
func (s *Store) DeleteExpiredSessions(ctx context.Context, now, idleBefore time.Time) (int64, error) {
	res, err := s.exec(ctx, `DELETE FROM sessions WHERE expires_at <= ? OR last_seen_at < ?`, micros(now), micros(idleBefore))
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// Token is a personal access token. Only a hash of it is stored.
type Token struct {
	ID         string
	UserID     string
	Name       string
	TokenHash  string
	CreatedAt  time.Time
	LastUsedAt *time.Time
}

const tokenColumns = `id, user_id, name, token_hash, created_at, last_used_at`

func scanToken(sc interface{ Scan(...any) error }) (Token, error) {
	var t Token
	var c int64
	var l sql.NullInt64
	err := sc.Scan(&t.ID, &t.UserID, &t.Name, &t.TokenHash, &c, &l)
	t.CreatedAt, t.LastUsedAt = fromMicros(c), fromNullMicros(l)
	return t, mapErr(err)
}

// CreateToken inserts a token.
func (s *Store) CreateToken(ctx context.Context, t Token) error {
	_, err := s.exec(ctx, `INSERT INTO api_tokens (id, user_id, name, token_hash, created_at) VALUES (?, ?, ?, ?, ?)`,
		t.ID, t.UserID, t.Name, t.TokenHash, micros(t.CreatedAt))
	if err != nil {
		return fmt.Errorf("create token: %w", err)
	}
	return nil
}

// TokenByHash finds a token by its hash.
func (s *Store) TokenByHash(ctx context.Context, hash string) (Token, error) {
	t, err := scanToken(s.queryRow(ctx, `SELECT `+tokenColumns+` FROM api_tokens WHERE token_hash = ?`, hash))
	if err != nil {
		return Token{}, fmt.Errorf("token: %w", err)
	}
	return t, nil
}

// TouchToken records a use of a token.
func (s *Store) TouchToken(ctx context.Context, id string, at time.Time) error {
	return affected(s.exec(ctx, `UPDATE api_tokens SET last_used_at = ? WHERE id = ?`, micros(at), id))
}

// ListTokens returns a user's tokens, newest first.
func (s *Store) ListTokens(ctx context.Context, userID string) ([]Token, error) {
	rows, err := s.query(ctx, `SELECT `+tokenColumns+` FROM api_tokens WHERE user_id = ? ORDER BY created_at DESC, id`, userID)
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	defer rows.Close()
	var ts []Token
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, err
		}
		ts = append(ts, t)
	}
	return ts, rows.Err()
}

// DeleteToken revokes one of a user's tokens.
func (s *Store) DeleteToken(ctx context.Context, userID, id string) error {
	return affected(s.exec(ctx, `DELETE FROM api_tokens WHERE id = ? AND user_id = ?`, id, userID))
}

// SessionWithUser finds a session by the hash of its token, with its user,
// in one query (this runs on every request).
func (s *Store) SessionWithUser(ctx context.Context, hash string) (Session, User, error) {
	return s.sessionWithUser(ctx, "s.token_hash", hash)
}

// SessionWithUserByID finds a session by its ID, with its user (live
// requests know their session by ID; see live.Recheck).
func (s *Store) SessionWithUserByID(ctx context.Context, id string) (Session, User, error) {
	return s.sessionWithUser(ctx, "s.id", id)
}

func (s *Store) sessionWithUser(ctx context.Context, column, value string) (Session, User, error) {
	var x Session
	var u User
	var c, l, e, uc int64
	err := s.queryRow(ctx, `SELECT s.id, s.token_hash, s.user_id, s.created_at, s.last_seen_at, s.expires_at, s.user_agent, s.ip, s.pending_mfa,
			u.id, u.email, u.name, u.password_hash, u.is_admin, u.created_at, u.disabled
		FROM sessions s JOIN users u ON u.id = s.user_id WHERE `+column+` = ?`, value).
		Scan(&x.ID, &x.TokenHash, &x.UserID, &c, &l, &e, &x.UserAgent, &x.IP, &x.PendingMFA,
			&u.ID, &u.Email, &u.Name, &u.PasswordHash, &u.IsAdmin, &uc, &u.Disabled)
	if err != nil {
		return Session{}, User{}, fmt.Errorf("session: %w", mapErr(err))
	}
	x.CreatedAt, x.LastSeenAt, x.ExpiresAt, u.CreatedAt = fromMicros(c), fromMicros(l), fromMicros(e), fromMicros(uc)
	return x, u, nil
}

// TokenWithUser finds a personal access token by its hash, with its user.
func (s *Store) TokenWithUser(ctx context.Context, hash string) (Token, User, error) {
	return s.tokenWithUser(ctx, "t.token_hash", hash)
}

// TokenWithUserByID finds a personal access token by its ID, with its user.
func (s *Store) TokenWithUserByID(ctx context.Context, id string) (Token, User, error) {
	return s.tokenWithUser(ctx, "t.id", id)
}

func (s *Store) tokenWithUser(ctx context.Context, column, value string) (Token, User, error) {
	var t Token
	var u User
	var c, uc int64
	var l sql.NullInt64
	err := s.queryRow(ctx, `SELECT t.id, t.user_id, t.name, t.token_hash, t.created_at, t.last_used_at,
			u.id, u.email, u.name, u.password_hash, u.is_admin, u.created_at, u.disabled
		FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE `+column+` = ?`, value).
		Scan(&t.ID, &t.UserID, &t.Name, &t.TokenHash, &c, &l, &u.ID, &u.Email, &u.Name, &u.PasswordHash, &u.IsAdmin, &uc, &u.Disabled)
	if err != nil {
		return Token{}, User{}, fmt.Errorf("token: %w", mapErr(err))
	}
	t.CreatedAt, t.LastUsedAt, u.CreatedAt = fromMicros(c), fromNullMicros(l), fromMicros(uc)
	return t, u, nil
}
