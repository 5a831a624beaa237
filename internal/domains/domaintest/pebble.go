package domaintest

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ecode/internal/testutil/testdb"
)

// Pebble is a Pebble ACME server for one test. NewPebble prepares it (its
// ports, its TLS certificate and the CA file to trust for it) so the
// server under test can be configured; Start runs it.
type Pebble struct {
	Directory string // the ACME directory URL
	CAFile    string // PEM of the CA that signed Pebble's TLS certificate
	dir       string
	listen    string
	mgmt      string
	caPool    *x509.CertPool
}

// Binary finds the pebble command on PATH or in $(go env GOPATH)/bin. It
// fails the test in CI (CI=true) when missing, else skips it.
func Binary(t testing.TB) string {
	t.Helper()
	return testdb.Command(t, "pebble", "go install github.com/letsencrypt/pebble/v2/cmd/pebble@v2.10.3")
}

// NewPebble prepares a Pebble server (not yet running).
func NewPebble(t testing.TB) *Pebble {
	t.Helper()
	Binary(t)
	p := &Pebble{dir: t.TempDir(), listen: freeAddr(t), mgmt: freeAddr(t)}
	p.Directory = "https://" + p.listen + "/dir"
	p.CAFile = filepath.Join(p.dir, "ca.pem")
	p.writeTLS(t)
	return p
}

// freeAddr is a loopback address with a port free a moment ago (Pebble
// cannot listen on port 0 and tell which port it got).
func freeAddr(t testing.TB) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// writeTLS makes a CA and, signed by it, Pebble's certificate for 127.0.0.1.
func (p *Pebble) writeTLS(t testing.TB) {
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ca := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "ecode test ACME CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour), IsCA: true,
		BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ = x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	leaf := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "pebble"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, DNSNames: []string{"localhost"},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, leaf, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalPKCS8PrivateKey(key)
	write := func(name, typ string, b []byte) {
		if err := os.WriteFile(filepath.Join(p.dir, name), pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: b}), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("ca.pem", "CERTIFICATE", caDER)
	write("cert.pem", "CERTIFICATE", der)
	write("key.pem", "PRIVATE KEY", kder)
	p.caPool = x509.NewCertPool()
	p.caPool.AddCert(ca)
}

// Start runs Pebble until the end of the test: it validates http-01
// challenges on httpPort of the addresses dnsAddr's server gives.
func (p *Pebble) Start(t testing.TB, dnsAddr string, httpPort int) {
	t.Helper()
	cfg := map[string]any{"pebble": map[string]any{
		"listenAddress": p.listen, "managementListenAddress": p.mgmt,
		"certificate": filepath.Join(p.dir, "cert.pem"), "privateKey": filepath.Join(p.dir, "key.pem"),
		"httpPort": httpPort, "tlsPort": 1, "keyAlgorithm": "ecdsa",
		"retryAfter": map[string]int{"authz": 1, "order": 1},
		"profiles":   map[string]any{"default": map[string]any{"description": "test", "validityPeriod": 90 * 24 * 3600}},
	}}
	b, _ := json.Marshal(cfg)
	cfgFile := filepath.Join(p.dir, "pebble.json")
	if err := os.WriteFile(cfgFile, b, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(Binary(t), "-config", cfgFile, "-dnsserver", dnsAddr)
	cmd.Env = append(os.Environ(), "PEBBLE_VA_NOSLEEP=1", "PEBBLE_WFE_NONCEREJECT=0")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if testing.Verbose() {
				t.Log(sc.Text())
			}
			if strings.Contains(sc.Text(), "ACME directory available at") {
				close(ready)
			}
		}
	}()
	select {
	case <-ready:
	case <-time.After(30 * time.Second):
		t.Fatal("pebble did not start")
	}
	p.waitListening(t)
}

// waitListening waits for Pebble's port: it logs its address just before
// it listens, so a dial may still be refused for a moment.
func (p *Pebble) waitListening(t testing.TB) {
	for i := 0; ; i++ {
		c, err := net.Dial("tcp", p.listen)
		if err == nil {
			c.Close()
			return
		}
		if i == 200 {
			t.Fatalf("pebble does not listen on %s: %v", p.listen, err)
		}
		<-time.After(10 * time.Millisecond)
	}
}

// Root is Pebble's issuing root, from its management interface: what the
// certificates it issues chain to.
func (p *Pebble) Root(t testing.TB) *x509.CertPool {
	t.Helper()
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: p.caPool}}}
	resp, err := c.Get("https://" + p.mgmt + "/roots/0")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		t.Fatalf("pebble's root: %s", b)
	}
	return pool
}
