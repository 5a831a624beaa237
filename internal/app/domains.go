package app

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"time"

	"ecode/internal/config"
	"ecode/internal/domains"
)

// buildDomains makes the custom domains service and the handler of the
// HTTPS listener.
func (s *Server) buildDomains(cfg *config.Config, now func() time.Time) error {
	acmeClient, err := acmeHTTPClient(cfg.ACMECAFile)
	if err != nil {
		return err
	}
	s.Domains = domains.New(domains.Options{Store: s.Store, Box: s.box, Log: s.Log.With("component", "domains"), Now: now,
		Resolver: cfg.DNSResolver, ACMEDirectory: cfg.ACMEDirectory, ACMEEmail: cfg.ACMEEmail, ACMEClient: acmeClient,
		Target: recordTarget(cfg), Reserved: append(allowedHosts(cfg), cfg.PreviewDomain)})
	return nil
}

// acmeHTTPClient is the client that talks to the ACME server: the system's
// roots plus those in caFile, if any.
func acmeHTTPClient(caFile string) (*http.Client, error) {
	if caFile == "" {
		return nil, nil
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("acme-ca-file: %w", err)
	}
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("acme-ca-file: %s holds no PEM certificate", caFile)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: pool}
	return &http.Client{Transport: tr, Timeout: time.Minute}, nil
}

// recordTarget is the name custom domains are told to point at: the host
// of --public-url (empty without one).
func recordTarget(cfg *config.Config) string {
	if u, err := url.Parse(cfg.PublicURL); err == nil {
		return u.Hostname()
	}
	return ""
}

// HTTPSServer is the server of the HTTPS listener (--https-addr) on ln:
// s.HTTPS (published apps) on the verified custom domains, each with its
// certificate. It tells the domains service the port, where plain HTTP
// requests for those domains are redirected. Serve it with ServeTLS(ln, "", "").
func (s *Server) HTTPSServer(ln net.Listener, log *slog.Logger) (*http.Server, net.Listener) {
	srv, ln := newHTTPServer(s.Config, s.HTTPS, ln, log)
	srv.TLSConfig = s.Domains.TLSConfig()
	if a, ok := ln.Addr().(*net.TCPAddr); ok {
		s.Domains.SetHTTPSPort(a.Port)
	}
	return srv, ln
}

// serveHTTPS starts the HTTPS listener when --https-addr is set; its end
// (an error) is sent on errc.
func (s *Server) serveHTTPS(errc chan<- error, log *slog.Logger) (*http.Server, error) {
	if s.Config.HTTPSAddr == "" {
		return nil, nil
	}
	ln, err := net.Listen("tcp", s.Config.HTTPSAddr)
	if err != nil {
		return nil, fmt.Errorf("https-addr: %w", err)
	}
	srv, ln := s.HTTPSServer(ln, log)
	log.Info("custom domains served on https://" + ln.Addr().String())
	go func() { errc <- srv.ServeTLS(ln, "", "") }()
	return srv, nil
}
