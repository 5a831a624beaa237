package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// CustomDomain is a custom domain of a project: its ownership check (a DNS
// TXT record holding Token) and its certificate. OwnerID is the owner of
// the project (read, not stored), who holds the claim.
type CustomDomain struct {
	Domain     string
	ProjectID  string
	OwnerID    string
	CreatedBy  string
	Token      string
	Status     string // pending, verified
	Reason     string // why the last check failed
	CreatedAt  time.Time
	CheckedAt  *time.Time
	VerifiedAt *time.Time

	CertStatus    string // none, pending, issued, failed
	CertError     string
	CertChain     string // PEM, leaf first
	CertKeySealed string // the private key (PKCS#8), sealed under the master key
	CertNotAfter  *time.Time
	CertFailures  int
	CertRetryAt   *time.Time // no new attempt before (after failures)
}

// The custom domain statuses.
const (
	DomainPending  = "pending"
	DomainVerified = "verified"
)

const domainColumns = `d.domain, d.project_id, p.owner_id, d.created_by, d.token, d.status, d.reason, d.created_at,
	d.checked_at, d.verified_at, d.cert_status, d.cert_error, d.cert_chain, d.cert_key_sealed, d.cert_not_after,
	d.cert_failures, d.cert_retry_at`

const domainFrom = ` FROM custom_domains d JOIN projects p ON p.id = d.project_id`

func scanDomain(sc interface{ Scan(...any) error }) (CustomDomain, error) {
	var d CustomDomain
	var created int64
	var checked, verified, notAfter, retry sql.NullInt64
	err := sc.Scan(&d.Domain, &d.ProjectID, &d.OwnerID, &d.CreatedBy, &d.Token, &d.Status, &d.Reason, &created,
		&checked, &verified, &d.CertStatus, &d.CertError, &d.CertChain, &d.CertKeySealed, &notAfter,
		&d.CertFailures, &retry)
	d.CreatedAt = fromMicros(created)
	d.CheckedAt, d.VerifiedAt, d.CertNotAfter, d.CertRetryAt = fromNullMicros(checked), fromNullMicros(verified),
		fromNullMicros(notAfter), fromNullMicros(retry)
	return d, mapErr(err)
}

func (s *Store) queryDomains(ctx context.Context, where string, args ...any) ([]CustomDomain, error) {
	rows, err := s.query(ctx, `SELECT `+domainColumns+domainFrom+` WHERE `+where+` ORDER BY d.created_at, d.domain`, args...)
	if err != nil {
		return nil, fmt.Errorf("custom domains: %w", err)
	}
	defer rows.Close()
	var ds []CustomDomain
	for rows.Next() {
		d, err := scanDomain(rows)
		if err != nil {
			return nil, err
		}
		ds = append(ds, d)
	}
	return ds, rows.Err()
}

// AddCustomDomain stores a new claim on d.Domain; ErrConflict when the
// domain is already claimed.
func (s *Store) AddCustomDomain(ctx context.Context, d CustomDomain) error {
	_, err := s.exec(ctx, `INSERT INTO custom_domains (domain, project_id, created_by, token, status, created_at)
		VALUES (?, ?, ?, ?, ?, ?)`, d.Domain, d.ProjectID, d.CreatedBy, d.Token, d.Status, micros(d.CreatedAt))
	if err != nil {
		return fmt.Errorf("add custom domain %s: %w", d.Domain, err)
	}
	return nil
}

// CustomDomain returns the claim on domain, whoever holds it (also a
// project being deleted); ErrNotFound when there is none.
func (s *Store) CustomDomain(ctx context.Context, domain string) (CustomDomain, error) {
	d, err := scanDomain(s.queryRow(ctx, `SELECT `+domainColumns+domainFrom+` WHERE d.domain = ?`, domain))
	if err != nil {
		return CustomDomain{}, fmt.Errorf("custom domain %s: %w", domain, err)
	}
	return d, nil
}

// ProjectCustomDomains lists a project's domains, oldest first.
func (s *Store) ProjectCustomDomains(ctx context.Context, projectID string) ([]CustomDomain, error) {
	return s.queryDomains(ctx, `d.project_id = ?`, projectID)
}

// VerifiedCustomDomains lists the verified domains of projects not being
// deleted: the ones the server answers to.
func (s *Store) VerifiedCustomDomains(ctx context.Context) ([]CustomDomain, error) {
	return s.queryDomains(ctx, `d.status = 'verified' AND p.deleting_at IS NULL`)
}

// DeleteCustomDomain removes a project's domain; ErrNotFound when the
// project has no such domain.
func (s *Store) DeleteCustomDomain(ctx context.Context, projectID, domain string) error {
	return affected(s.exec(ctx, `DELETE FROM custom_domains WHERE project_id = ? AND domain = ?`, projectID, domain))
}

// SetCustomDomainCheck records an ownership check: its status, the reason it
// failed (or ""), when it ran, and when the domain was first verified.
func (s *Store) SetCustomDomainCheck(ctx context.Context, d CustomDomain) error {
	return affected(s.exec(ctx, `UPDATE custom_domains SET status = ?, reason = ?, checked_at = ?, verified_at = ?,
		cert_status = ? WHERE domain = ? AND project_id = ?`, d.Status, d.Reason, nullMicros(d.CheckedAt),
		nullMicros(d.VerifiedAt), d.CertStatus, d.Domain, d.ProjectID))
}

// SetCustomDomainCert records a certificate (or a failure to obtain one).
func (s *Store) SetCustomDomainCert(ctx context.Context, d CustomDomain) error {
	return affected(s.exec(ctx, `UPDATE custom_domains SET cert_status = ?, cert_error = ?, cert_chain = ?,
		cert_key_sealed = ?, cert_not_after = ?, cert_failures = ?, cert_retry_at = ? WHERE domain = ? AND project_id = ?`,
		d.CertStatus, d.CertError, d.CertChain, d.CertKeySealed, nullMicros(d.CertNotAfter), d.CertFailures,
		nullMicros(d.CertRetryAt), d.Domain, d.ProjectID))
}

// ACMEAccount is the server's account at an ACME directory.
type ACMEAccount struct {
	Directory string
	KeySealed string // PKCS#8 private key sealed under the master key
	URL       string // the account's URL at the directory, once registered
	CreatedAt time.Time
}

// GetACMEAccount returns the account at directory; ErrNotFound when none.
func (s *Store) GetACMEAccount(ctx context.Context, directory string) (ACMEAccount, error) {
	a := ACMEAccount{Directory: directory}
	var created int64
	err := mapErr(s.queryRow(ctx, `SELECT key_sealed, url, created_at FROM acme_accounts WHERE directory = ?`, directory).
		Scan(&a.KeySealed, &a.URL, &created))
	a.CreatedAt = fromMicros(created)
	return a, err
}

// ACMEAccounts lists every stored ACME account (for resealing).
func (s *Store) ACMEAccounts(ctx context.Context) ([]ACMEAccount, error) {
	rows, err := s.query(ctx, `SELECT directory, key_sealed, url, created_at FROM acme_accounts ORDER BY directory`)
	if err != nil {
		return nil, fmt.Errorf("acme accounts: %w", err)
	}
	defer rows.Close()
	var as []ACMEAccount
	for rows.Next() {
		var a ACMEAccount
		var created int64
		if err := rows.Scan(&a.Directory, &a.KeySealed, &a.URL, &created); err != nil {
			return nil, err
		}
		a.CreatedAt = fromMicros(created)
		as = append(as, a)
	}
	return as, rows.Err()
}

// PutACMEAccount stores the account at a.Directory, replacing its key and URL.
func (s *Store) PutACMEAccount(ctx context.Context, a ACMEAccount) error {
	_, err := s.exec(ctx, `INSERT INTO acme_accounts (directory, key_sealed, url, created_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (directory) DO UPDATE SET key_sealed = excluded.key_sealed, url = excluded.url`,
		a.Directory, a.KeySealed, a.URL, micros(a.CreatedAt))
	if err != nil {
		return fmt.Errorf("store acme account: %w", err)
	}
	return nil
}

// ResealCustomDomainKey replaces the sealed private key of domain's certificate.
func (s *Store) ResealCustomDomainKey(ctx context.Context, domain, sealed string) error {
	return affected(s.exec(ctx, `UPDATE custom_domains SET cert_key_sealed = ? WHERE domain = ?`, sealed, domain))
}

// SealedCustomDomainKeys lists the domains holding a sealed key, with it.
func (s *Store) SealedCustomDomainKeys(ctx context.Context) ([]CustomDomain, error) {
	return s.queryDomains(ctx, `d.cert_key_sealed <> ''`)
}

func nullMicros(t *time.Time) any {
	if t == nil {
		return nil
	}
	return micros(*t)
}
