package domains

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"time"

	"ecode/internal/secretbox"
	"ecode/internal/store"
)

// Notification kinds passed to Notify.
const (
	KindCertIssued = "domain_certificate_issued"
	KindCertFailed = "domain_certificate_failed"
)

// maxBackoff caps the wait between failed attempts at a certificate.
const maxBackoff = 24 * time.Hour

// Run obtains and renews certificates until ctx ends: at once, on every
// tick and whenever Wake is called. It also rereads the verified domains.
func (s *Service) Run(ctx context.Context, tick <-chan time.Time) {
	for {
		if err := s.Reload(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("read custom domains", "err", err)
		}
		s.ProcessDue(ctx)
		select {
		case <-ctx.Done():
			return
		case <-tick:
		case <-s.wake:
		}
	}
}

// ProcessDue obtains the certificates that are due: new verified domains,
// failed ones whose wait is over, and issued ones in the last third of
// their lifetime (by the service's clock). One pass runs at a time.
func (s *Service) ProcessDue(ctx context.Context) {
	if s.opts.ACMEDirectory == "" {
		return
	}
	s.work.Lock()
	defer s.work.Unlock()
	ds, err := s.st.VerifiedCustomDomains(ctx)
	if err != nil {
		if ctx.Err() == nil {
			s.log.Warn("read custom domains", "err", err)
		}
		return
	}
	for _, d := range ds {
		if ctx.Err() != nil {
			return
		}
		if due(d, s.now()) {
			s.issue(ctx, d)
		}
	}
}

// due reports whether d needs a certificate now.
func due(d store.CustomDomain, now time.Time) bool {
	if d.CertRetryAt != nil && now.Before(*d.CertRetryAt) {
		return false
	}
	if d.CertStatus != "issued" {
		return true
	}
	leaf := leafOf(d.CertChain)
	if leaf == nil {
		return true
	}
	life := leaf.NotAfter.Sub(leaf.NotBefore)
	return !now.Before(leaf.NotAfter.Add(-life / 3))
}

func leafOf(chainPEM string) *x509.Certificate {
	b, _ := pem.Decode([]byte(chainPEM))
	if b == nil {
		return nil
	}
	c, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		return nil
	}
	return c
}

// issue obtains a certificate for d and records the result. A failed
// renewal keeps the old certificate serving; attempts back off from an
// hour, doubling up to a day.
func (s *Service) issue(parent context.Context, d store.CustomDomain) {
	renewal := d.CertStatus == "issued"
	ctx, cancel := context.WithTimeout(parent, 5*time.Minute)
	defer cancel()
	got, err := s.obtain(ctx, d.Domain)
	if err != nil {
		if parent.Err() != nil {
			return // shutting down: try again next start
		}
		d.CertFailures++
		retry := s.now().Add(min(time.Hour<<min(d.CertFailures-1, 5), maxBackoff))
		d.CertError, d.CertRetryAt = err.Error(), &retry
		if !renewal {
			d.CertStatus = "failed"
		}
		s.log.Warn("obtain a certificate", "domain", d.Domain, "renewal", renewal, "failures", d.CertFailures, "err", err)
		if err := s.st.SetCustomDomainCert(context.WithoutCancel(ctx), d); err != nil {
			s.log.Warn("record a certificate failure", "domain", d.Domain, "err", err)
		}
		if d.CertFailures == 1 {
			s.notify(ctx, d, KindCertFailed, "Certificate for "+d.Domain+" failed",
				"E-Code could not obtain a certificate for "+d.Domain+": "+err.Error()+". It will try again.")
		}
		return
	}
	d.CertStatus, d.CertError, d.CertChain, d.CertKeySealed = "issued", "", got.chainPEM, got.keySealed
	d.CertNotAfter, d.CertFailures, d.CertRetryAt = &got.notAfter, 0, nil
	if err := s.st.SetCustomDomainCert(ctx, d); err != nil {
		s.log.Warn("store a certificate", "domain", d.Domain, "err", err)
		return
	}
	s.certs.forget(d.Domain)
	if err := s.Reload(ctx); err != nil {
		s.log.Warn("read custom domains", "err", err)
	}
	s.log.Info("certificate obtained", "domain", d.Domain, "renewal", renewal, "not_after", got.notAfter)
	s.notify(ctx, d, KindCertIssued, "Certificate for "+d.Domain+" issued",
		"https://"+d.Domain+" is served with a certificate valid until "+got.notAfter.UTC().Format("2006-01-02")+".")
}

func (s *Service) notify(ctx context.Context, d store.CustomDomain, kind, title, body string) {
	if s.Notify != nil {
		s.Notify(ctx, d.CreatedBy, kind, title, body, "/p/"+d.ProjectID)
	}
}

// Reseal re-encrypts the keys sealed under the master key (the ACME
// accounts' and the certificates'), for `ecode keys rotate`.
func Reseal(ctx context.Context, tx *store.Store, from, to *secretbox.Box) error {
	accounts, err := tx.ACMEAccounts(ctx)
	if err != nil {
		return err
	}
	for _, a := range accounts {
		if a.KeySealed, err = reseal(from, to, a.KeySealed, accountAD(a.Directory)); err != nil {
			return err
		}
		if err := tx.PutACMEAccount(ctx, a); err != nil {
			return err
		}
	}
	ds, err := tx.SealedCustomDomainKeys(ctx)
	if err != nil {
		return err
	}
	for _, d := range ds {
		sealed, err := reseal(from, to, d.CertKeySealed, certAD(d.Domain))
		if err != nil {
			return err
		}
		if err := tx.ResealCustomDomainKey(ctx, d.Domain, sealed); err != nil {
			return err
		}
	}
	return nil
}

func reseal(from, to *secretbox.Box, sealed, ad string) (string, error) {
	v, err := from.OpenString(sealed, ad)
	if err != nil {
		return "", err
	}
	return to.SealString(v, ad), nil
}
