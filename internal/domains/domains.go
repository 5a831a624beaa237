// Package domains gives published projects custom domains: a project's
// editor claims a host name, proves it controls the name's DNS with a TXT
// record, and the server obtains a certificate for it by ACME (http-01) and
// serves it on the HTTPS listener (TLSConfig). Certificates and the ACME
// account key live in the store, private keys sealed under the master key;
// Run renews certificates before they expire.
package domains

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"ecode/internal/secretbox"
	"ecode/internal/store"
)

// ErrNotFound is returned for a domain the project does not have.
var ErrNotFound = errors.New("domain not found")

// ClaimError refuses a domain someone already claimed; Msg says who.
type ClaimError struct{ Msg string }

func (e *ClaimError) Error() string { return e.Msg }

// ChallengeLabel is the label under the domain that holds the TXT record.
const ChallengeLabel = "_ecode-challenge"

// PendingClaimTTL is how long an unverified claim keeps other accounts from
// claiming the same domain.
const PendingClaimTTL = 7 * 24 * time.Hour

// Options configure the service.
type Options struct {
	Store *store.Store
	Box   *secretbox.Box // seals certificate and account keys (the master key)
	Log   *slog.Logger
	Now   func() time.Time
	// Resolver is the DNS server (host:port) asked for TXT records; empty
	// for the system's resolver.
	Resolver string
	// ACMEDirectory is the ACME server's directory URL; empty: no certificates.
	ACMEDirectory string
	ACMEEmail     string
	// ACMEClient talks to the ACME server (it may trust an extra CA);
	// nil for http.DefaultClient.
	ACMEClient *http.Client
	// Target is the host name (or IP address) custom domains point at: the
	// CNAME (or A) record users are told to create; empty for none.
	Target string
	// Reserved are the server's own names: they and their subdomains cannot
	// be claimed (the IDE's, the previews', the deployments').
	Reserved []string
}

// Service manages custom domains.
type Service struct {
	opts     Options
	st       *store.Store
	resolver *net.Resolver
	log      *slog.Logger
	now      func() time.Time

	// Notify, when set, tells a user that a domain's certificate was
	// issued or could not be. Set it before Run starts.
	Notify func(ctx context.Context, userID, kind, title, body, link string)

	verified   atomic.Pointer[map[string]hostEntry] // host → its project and certificate expiry
	httpsPort  atomic.Int32                         // the HTTPS listener's port; 0: none
	wake       chan struct{}
	work       sync.Mutex // one issuing pass at a time
	acme       acmeState
	challenges sync.Map // http-01 token → challenge
	certs      certCache
}

type hostEntry struct {
	projectID string
	notAfter  time.Time // of the stored certificate (zero: none)
}

// New makes the service. With no store it answers no host (tests of bare
// API servers).
func New(o Options) *Service {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	s := &Service{opts: o, st: o.Store, log: o.Log, now: o.Now, resolver: net.DefaultResolver, wake: make(chan struct{}, 1)}
	if o.Resolver != "" {
		s.resolver = &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, o.Resolver)
		}}
	}
	s.verified.Store(&map[string]hostEntry{})
	s.certs.m = map[string]*cachedCert{}
	return s
}

// Record is a DNS record the user creates.
type Record struct {
	Type  string `json:"type"`
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Certificate is the state of a domain's certificate.
type Certificate struct {
	Status   string     `json:"status"` // none, pending, issued, failed
	Error    string     `json:"error,omitempty"`
	NotAfter *time.Time `json:"not_after,omitempty"`
}

// Domain is a project's custom domain as the API shows it.
type Domain struct {
	Domain      string      `json:"domain"`
	Status      string      `json:"status"` // pending, verified
	Reason      string      `json:"reason,omitempty"`
	Records     []Record    `json:"records"`
	Certificate Certificate `json:"certificate"`
	CreatedAt   time.Time   `json:"created_at"`
	CheckedAt   *time.Time  `json:"checked_at,omitempty"`
	VerifiedAt  *time.Time  `json:"verified_at,omitempty"`
}

func (s *Service) view(d store.CustomDomain) Domain {
	v := Domain{Domain: d.Domain, Status: d.Status, Reason: d.Reason, Records: s.records(d), CreatedAt: d.CreatedAt,
		CheckedAt: d.CheckedAt, VerifiedAt: d.VerifiedAt,
		Certificate: Certificate{Status: d.CertStatus, Error: d.CertError, NotAfter: d.CertNotAfter}}
	if d.CertStatus == "none" && d.Status == store.DomainVerified && s.opts.ACMEDirectory == "" {
		v.Certificate.Error = "this server obtains no certificates (its operator has not set --acme-directory)"
	}
	return v
}

// records are what the user creates at their DNS provider: the TXT record
// proving ownership and, when the server knows its name, the record
// pointing the domain at it.
func (s *Service) records(d store.CustomDomain) []Record {
	rs := []Record{{Type: "TXT", Name: ChallengeLabel + "." + d.Domain, Value: d.Token}}
	switch t := s.opts.Target; {
	case t == "":
	case net.ParseIP(t) != nil && strings.Contains(t, ":"):
		rs = append(rs, Record{Type: "AAAA", Name: d.Domain, Value: t})
	case net.ParseIP(t) != nil:
		rs = append(rs, Record{Type: "A", Name: d.Domain, Value: t})
	default:
		rs = append(rs, Record{Type: "CNAME", Name: d.Domain, Value: t})
	}
	return rs
}

// List returns a project's domains.
func (s *Service) List(ctx context.Context, projectID string) ([]Domain, error) {
	ds, err := s.st.ProjectCustomDomains(ctx, projectID)
	if err != nil {
		return nil, err
	}
	out := make([]Domain, 0, len(ds))
	for _, d := range ds {
		out = append(out, s.view(d))
	}
	return out, nil
}

// Add claims name for a project owned by ownerID, on userID's request. A
// domain another account claimed (verified, or pending for less than
// PendingClaimTTL) is refused with a *ClaimError; a bad name with a
// *NameError.
func (s *Service) Add(ctx context.Context, projectID, ownerID, userID, name string) (Domain, error) {
	domain, err := s.normalize(name)
	if err != nil {
		return Domain{}, err
	}
	d := store.CustomDomain{Domain: domain, ProjectID: projectID, CreatedBy: userID, Token: newToken(),
		Status: store.DomainPending, CreatedAt: s.now(), CertStatus: "none"}
	err = s.st.InTx(ctx, func(tx *store.Store) error {
		old, err := tx.CustomDomain(ctx, domain)
		if errors.Is(err, store.ErrNotFound) {
			return tx.AddCustomDomain(ctx, d)
		}
		if err != nil {
			return err
		}
		if err := s.claimable(old, projectID, ownerID); err != nil {
			return err
		}
		if err := tx.DeleteCustomDomain(ctx, old.ProjectID, domain); err != nil { // a stale pending claim
			return err
		}
		return tx.AddCustomDomain(ctx, d)
	})
	if errors.Is(err, store.ErrConflict) { // claimed at the same moment
		return Domain{}, &ClaimError{domain + " was just claimed by another project"}
	}
	if err != nil {
		return Domain{}, err
	}
	d.OwnerID = ownerID
	return s.view(d), nil
}

// claimable says whether old, an existing claim, gives way to a new one by
// projectID (owned by ownerID): only an unverified claim of another account
// older than PendingClaimTTL does.
func (s *Service) claimable(old store.CustomDomain, projectID, ownerID string) error {
	switch {
	case old.ProjectID == projectID:
		return &ClaimError{old.Domain + " is already added to this project"}
	case old.OwnerID == ownerID:
		return &ClaimError{old.Domain + " is already added to another of your projects: remove it there first"}
	case old.Status == store.DomainVerified:
		return &ClaimError{old.Domain + " is claimed by another account, which proved it controls the domain's DNS"}
	case s.now().Sub(old.CreatedAt) < PendingClaimTTL:
		return &ClaimError{old.Domain + " is claimed by another account that has not verified it yet; its claim lapses " +
			old.CreatedAt.Add(PendingClaimTTL).UTC().Format("2006-01-02 15:04 MST") + " unless verified"}
	}
	return nil
}

// normalize is Normalize plus the server's own names.
func (s *Service) normalize(name string) (string, error) {
	domain, err := Normalize(name)
	if err != nil {
		return "", err
	}
	for _, r := range s.opts.Reserved {
		if under(domain, hostName(r)) {
			return "", &NameError{domain + " is one of this server's own names and cannot be claimed"}
		}
	}
	return domain, nil
}

// Remove deletes a project's domain; the server stops answering to it.
func (s *Service) Remove(ctx context.Context, projectID, domain string) error {
	err := s.st.DeleteCustomDomain(ctx, projectID, hostName(domain))
	if errors.Is(err, store.ErrNotFound) {
		return ErrNotFound
	}
	if err != nil {
		return err
	}
	s.certs.forget(hostName(domain))
	return s.Reload(ctx)
}

// domain returns a project's domain, or ErrNotFound.
func (s *Service) domain(ctx context.Context, projectID, domain string) (store.CustomDomain, error) {
	d, err := s.st.CustomDomain(ctx, hostName(domain))
	if errors.Is(err, store.ErrNotFound) || (err == nil && d.ProjectID != projectID) {
		return store.CustomDomain{}, ErrNotFound
	}
	return d, err
}

// Verify checks a domain's TXT record. Found, the domain is verified (the
// server answers to it) and a certificate is requested; not found, it stays
// pending with the reason. A verified domain stays verified; verifying it
// again retries a failed certificate at once.
func (s *Service) Verify(ctx context.Context, projectID, domain string) (Domain, error) {
	d, err := s.domain(ctx, projectID, domain)
	if err != nil {
		return Domain{}, err
	}
	now := s.now()
	if d.Status == store.DomainVerified {
		if d.CertStatus == "failed" {
			d.CertStatus, d.CertRetryAt = "pending", nil
			if err := s.st.SetCustomDomainCert(ctx, d); err != nil {
				return Domain{}, err
			}
			s.Wake()
		}
		return s.view(d), nil
	}
	d.CheckedAt = &now
	d.Reason = s.checkTXT(ctx, d.Domain, d.Token)
	if d.Reason == "" {
		d.Status, d.VerifiedAt, d.CertStatus = store.DomainVerified, &now, "pending"
		if s.opts.ACMEDirectory == "" {
			d.CertStatus = "none"
		}
	}
	if err := s.st.SetCustomDomainCheck(ctx, d); err != nil {
		return Domain{}, err
	}
	if d.Status == store.DomainVerified {
		if err := s.Reload(ctx); err != nil {
			return Domain{}, err
		}
		s.Wake()
	}
	return s.view(d), nil
}

// checkTXT looks up the domain's challenge record and returns why it does
// not hold token, or "" when it does.
func (s *Service) checkTXT(ctx context.Context, domain, token string) string {
	name := ChallengeLabel + "." + domain
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	values, err := s.resolver.LookupTXT(ctx, name+".")
	var dnsErr *net.DNSError
	switch {
	case errors.As(err, &dnsErr) && dnsErr.IsNotFound:
		return "no TXT record at " + name + " yet (a new record can take a few minutes to appear)"
	case err != nil:
		return "the DNS lookup of " + name + " failed: " + err.Error()
	}
	for _, v := range values {
		if strings.TrimSpace(v) == token {
			return ""
		}
	}
	if len(values) == 0 {
		return "no TXT record at " + name + " yet (a new record can take a few minutes to appear)"
	}
	return fmt.Sprintf("the TXT record at %s holds %q, not the value %q", name, strings.Join(values, `", "`), token)
}

// ProjectForHost returns the project a verified custom domain belongs to;
// host may carry a port.
func (s *Service) ProjectForHost(_ context.Context, host string) (projectID string, ok bool) {
	e, ok := (*s.verified.Load())[hostName(host)]
	return e.projectID, ok
}

// Reload reads the verified domains from the store (Run does it every
// tick, so a domain verified through another node is seen here too).
func (s *Service) Reload(ctx context.Context) error {
	ds, err := s.st.VerifiedCustomDomains(ctx)
	if err != nil {
		return err
	}
	m := make(map[string]hostEntry, len(ds))
	for _, d := range ds {
		e := hostEntry{projectID: d.ProjectID}
		if d.CertNotAfter != nil {
			e.notAfter = *d.CertNotAfter
		}
		m[d.Domain] = e
	}
	s.verified.Store(&m)
	return nil
}

// Wake makes Run look for certificates to obtain now.
func (s *Service) Wake() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// SetHTTPSPort tells the service the HTTPS listener's port, where plain
// HTTP requests for custom domains are redirected (0: no listener).
func (s *Service) SetHTTPSPort(port int) { s.httpsPort.Store(int32(port)) }

func newToken() string {
	b := make([]byte, 20)
	rand.Read(b)
	return "ecode-verify-" + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b))
}
