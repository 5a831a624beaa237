package domains

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/acme"

	"ecode/internal/secretbox"
	"ecode/internal/store"
)

// acmeState is the ACME client, made once its account is loaded or registered.
type acmeState struct {
	mu     sync.Mutex
	client *acme.Client
}

// challenge is an http-01 challenge this server answers while a
// certificate for domain is being obtained.
type challenge struct {
	domain  string
	keyAuth string
}

// accountAD and certAD bind sealed keys to their use (secretbox's
// associated data).
func accountAD(directory string) string { return "acme-account:" + directory }
func certAD(domain string) string       { return "domain-cert:" + domain }

// client returns the ACME client with the server's account, creating the
// account key (stored sealed) and registering it on first use.
func (s *Service) client(ctx context.Context) (*acme.Client, error) {
	s.acme.mu.Lock()
	defer s.acme.mu.Unlock()
	if s.acme.client != nil {
		return s.acme.client, nil
	}
	dir := s.opts.ACMEDirectory
	a, err := s.st.GetACMEAccount(ctx, dir)
	if errors.Is(err, store.ErrNotFound) {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, err
		}
		der, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			return nil, err
		}
		a = store.ACMEAccount{Directory: dir, KeySealed: s.opts.Box.SealString(string(der), accountAD(dir)), CreatedAt: s.now()}
		if err := s.st.PutACMEAccount(ctx, a); err != nil {
			return nil, err
		}
	} else if err != nil {
		return nil, err
	}
	key, err := openKey(s.opts.Box, a.KeySealed, accountAD(dir))
	if err != nil {
		return nil, fmt.Errorf("the ACME account key: %w", err)
	}
	c := &acme.Client{Key: key, DirectoryURL: dir, HTTPClient: s.opts.ACMEClient, UserAgent: "ecode"}
	if a.URL == "" {
		acct := &acme.Account{}
		if s.opts.ACMEEmail != "" {
			acct.Contact = []string{"mailto:" + s.opts.ACMEEmail}
		}
		reg, err := c.Register(ctx, acct, acme.AcceptTOS)
		if errors.Is(err, acme.ErrAccountAlreadyExists) {
			reg, err = c.GetReg(ctx, "")
		}
		if err != nil {
			return nil, fmt.Errorf("register with the ACME server: %w", err)
		}
		a.URL = reg.URI
		if err := s.st.PutACMEAccount(ctx, a); err != nil {
			return nil, err
		}
	}
	c.KID = acme.KeyID(a.URL)
	s.acme.client = c
	return c, nil
}

// openKey opens a sealed PKCS#8 ECDSA key.
func openKey(box *secretbox.Box, sealed, ad string) (*ecdsa.PrivateKey, error) {
	der, err := box.OpenString(sealed, ad)
	if err != nil {
		return nil, err
	}
	k, err := x509.ParsePKCS8PrivateKey([]byte(der))
	if err != nil {
		return nil, err
	}
	ek, ok := k.(*ecdsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("the key is a %T, not ECDSA", k)
	}
	return ek, nil
}

// issued is a certificate just obtained.
type issued struct {
	chainPEM  string
	keySealed string
	notAfter  time.Time
}

// obtain gets a certificate for domain from the ACME server, answering its
// http-01 challenge on the main listener (ServeChallenge).
func (s *Service) obtain(ctx context.Context, domain string) (issued, error) {
	c, err := s.client(ctx)
	if err != nil {
		return issued{}, err
	}
	order, err := c.AuthorizeOrder(ctx, acme.DomainIDs(domain))
	if err != nil {
		return issued{}, fmt.Errorf("new order: %w", err)
	}
	for _, u := range order.AuthzURLs {
		if err := s.authorize(ctx, c, u, domain); err != nil {
			return issued{}, err
		}
	}
	if order, err = c.WaitOrder(ctx, order.URI); err != nil {
		return issued{}, fmt.Errorf("order: %w", err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return issued{}, err
	}
	csr, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{DNSNames: []string{domain}}, key)
	if err != nil {
		return issued{}, err
	}
	ders, _, err := c.CreateCertFromOrder(ctx, order, csr, true)
	if err != nil {
		return issued{}, fmt.Errorf("finalize: %w", err)
	}
	leaf, err := checkChain(ders, domain, key)
	if err != nil {
		return issued{}, err
	}
	var chain strings.Builder
	for _, der := range ders {
		pem.Encode(&chain, &pem.Block{Type: "CERTIFICATE", Bytes: der})
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return issued{}, err
	}
	return issued{chainPEM: chain.String(), keySealed: s.opts.Box.SealString(string(kder), certAD(domain)), notAfter: leaf.NotAfter}, nil
}

// authorize completes one authorization of an order with its http-01 challenge.
func (s *Service) authorize(ctx context.Context, c *acme.Client, url, domain string) error {
	z, err := c.GetAuthorization(ctx, url)
	if err != nil {
		return fmt.Errorf("authorization: %w", err)
	}
	if z.Status == acme.StatusValid {
		return nil
	}
	var chal *acme.Challenge
	for _, ch := range z.Challenges {
		if ch.Type == "http-01" {
			chal = ch
		}
	}
	if chal == nil {
		return errors.New("the ACME server offers no http-01 challenge")
	}
	keyAuth, err := c.HTTP01ChallengeResponse(chal.Token)
	if err != nil {
		return err
	}
	s.challenges.Store(chal.Token, challenge{domain: domain, keyAuth: keyAuth})
	defer s.challenges.Delete(chal.Token)
	if _, err := c.Accept(ctx, chal); err != nil {
		return fmt.Errorf("accept the challenge: %w", err)
	}
	if _, err := c.WaitAuthorization(ctx, z.URI); err != nil {
		return fmt.Errorf("the ACME server could not validate http://%s%s: %w", domain, c.HTTP01ChallengePath(chal.Token), err)
	}
	return nil
}

// checkChain parses the chain and checks its leaf is for domain and key.
func checkChain(ders [][]byte, domain string, key *ecdsa.PrivateKey) (*x509.Certificate, error) {
	if len(ders) == 0 {
		return nil, errors.New("the ACME server returned no certificate")
	}
	leaf, err := x509.ParseCertificate(ders[0])
	if err != nil {
		return nil, fmt.Errorf("the certificate: %w", err)
	}
	if err := leaf.VerifyHostname(domain); err != nil {
		return nil, fmt.Errorf("the certificate: %w", err)
	}
	if pub, ok := leaf.PublicKey.(*ecdsa.PublicKey); !ok || !pub.Equal(&key.PublicKey) {
		return nil, errors.New("the certificate is not for the key requested")
	}
	return leaf, nil
}

// ServeChallenge answers the ACME server's http-01 request for a challenge
// in progress; false when r is not one.
func (s *Service) ServeChallenge(w http.ResponseWriter, r *http.Request) bool {
	token, ok := strings.CutPrefix(r.URL.Path, "/.well-known/acme-challenge/")
	if !ok || r.Method != http.MethodGet {
		return false
	}
	v, ok := s.challenges.Load(token)
	if !ok || v.(challenge).domain != hostName(r.Host) {
		return false
	}
	w.Header().Set("Content-Type", "text/plain")
	w.Write([]byte(v.(challenge).keyAuth))
	return true
}
