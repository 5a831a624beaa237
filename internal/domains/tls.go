package domains

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// certCache keeps the parsed certificates of verified domains, each until
// the store holds a newer one.
type certCache struct {
	mu sync.Mutex
	m  map[string]*cachedCert
}

type cachedCert struct {
	cert     *tls.Certificate
	notAfter time.Time
}

func (c *certCache) get(domain string, notAfter time.Time) *tls.Certificate {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e := c.m[domain]; e != nil && e.notAfter.Equal(notAfter) {
		return e.cert
	}
	return nil
}

func (c *certCache) put(domain string, cert *tls.Certificate, notAfter time.Time) {
	c.mu.Lock()
	c.m[domain] = &cachedCert{cert: cert, notAfter: notAfter}
	c.mu.Unlock()
}

func (c *certCache) forget(domain string) {
	c.mu.Lock()
	delete(c.m, domain)
	c.mu.Unlock()
}

// TLSConfig is the HTTPS listener's configuration: each verified custom
// domain gets its stored certificate (by SNI); other names fail the handshake.
func (s *Service) TLSConfig() *tls.Config {
	return &tls.Config{
		MinVersion:     tls.VersionTLS12,
		NextProtos:     []string{"h2", "http/1.1"},
		GetCertificate: s.getCertificate,
	}
}

func (s *Service) getCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	name := hostName(hello.ServerName)
	e, ok := (*s.verified.Load())[name]
	if !ok || e.notAfter.IsZero() {
		return nil, fmt.Errorf("no certificate for %q", hello.ServerName)
	}
	if c := s.certs.get(name, e.notAfter); c != nil {
		return c, nil
	}
	c, notAfter, err := s.loadCert(hello.Context(), name)
	if err != nil {
		s.log.Warn("load a custom domain's certificate", "domain", name, "err", err)
		return nil, fmt.Errorf("no certificate for %q", hello.ServerName)
	}
	s.certs.put(name, c, notAfter)
	return c, nil
}

// loadCert reads and opens domain's certificate from the store.
func (s *Service) loadCert(ctx context.Context, domain string) (*tls.Certificate, time.Time, error) {
	d, err := s.st.CustomDomain(ctx, domain)
	if err != nil {
		return nil, time.Time{}, err
	}
	if d.CertChain == "" || d.CertNotAfter == nil {
		return nil, time.Time{}, fmt.Errorf("%s has no certificate", domain)
	}
	key, err := openKey(s.opts.Box, d.CertKeySealed, certAD(domain))
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("the certificate's key: %w", err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, time.Time{}, err
	}
	c, err := tls.X509KeyPair([]byte(d.CertChain), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}))
	if err != nil {
		return nil, time.Time{}, err
	}
	return &c, *d.CertNotAfter, nil
}

// HTTPSRedirect is where a plain HTTP request for a verified custom domain
// goes: the same URL on the HTTPS listener. False when there is none.
func (s *Service) HTTPSRedirect(r *http.Request) (string, bool) {
	port := int(s.httpsPort.Load())
	if port == 0 {
		return "", false
	}
	host := hostName(r.Host)
	if port != 443 {
		host = net.JoinHostPort(host, strconv.Itoa(port))
	}
	return "https://" + host + r.URL.RequestURI(), true
}
