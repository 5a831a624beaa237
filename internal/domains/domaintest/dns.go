// Package domaintest runs what custom domain tests talk to on loopback: an
// authoritative DNS server whose records the test sets (github.com/miekg/dns)
// and Pebble, Let's Encrypt's test ACME server.
package domaintest

import (
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/miekg/dns"
)

// DNS is a DNS server on loopback (UDP and TCP on one port) answering from
// the records the test sets; other names get NXDOMAIN.
type DNS struct {
	Addr    string // host:port
	mu      sync.Mutex
	records map[string][]dns.RR // by lower-case FQDN
}

// StartDNS starts a DNS server that stops at the end of the test.
func StartDNS(t testing.TB) *DNS {
	t.Helper()
	d := &DNS{records: map[string][]dns.RR{}}
	var tcp net.Listener
	var udp net.PacketConn
	for range 20 { // the UDP port of a free TCP port is nearly always free
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		if udp, err = net.ListenPacket("udp", l.Addr().String()); err == nil {
			tcp = l
			break
		}
		l.Close()
	}
	if tcp == nil {
		t.Fatal("no port free for both TCP and UDP")
	}
	d.Addr = tcp.Addr().String()
	for _, srv := range []*dns.Server{{Listener: tcp, Handler: d}, {PacketConn: udp, Handler: d}} {
		started := make(chan struct{})
		srv.NotifyStartedFunc = func() { close(started) }
		go srv.ActivateAndServe()
		<-started
		t.Cleanup(func() { srv.Shutdown() })
	}
	return d
}

// SetA makes name resolve to ip.
func (d *DNS) SetA(name, ip string) {
	d.set(name, dns.TypeA, &dns.A{Hdr: d.hdr(name, dns.TypeA), A: net.ParseIP(ip)})
}

// SetTXT replaces name's TXT records with one holding value.
func (d *DNS) SetTXT(name, value string) {
	d.set(name, dns.TypeTXT, &dns.TXT{Hdr: d.hdr(name, dns.TypeTXT), Txt: []string{value}})
}

func (d *DNS) hdr(name string, typ uint16) dns.RR_Header {
	return dns.RR_Header{Name: dns.Fqdn(strings.ToLower(name)), Rrtype: typ, Class: dns.ClassINET, Ttl: 0}
}

func (d *DNS) set(name string, typ uint16, rr dns.RR) {
	d.mu.Lock()
	defer d.mu.Unlock()
	key := dns.Fqdn(strings.ToLower(name))
	var keep []dns.RR
	for _, old := range d.records[key] {
		if old.Header().Rrtype != typ {
			keep = append(keep, old)
		}
	}
	d.records[key] = append(keep, rr)
}

// ServeDNS answers a query from the records.
func (d *DNS) ServeDNS(w dns.ResponseWriter, q *dns.Msg) {
	m := new(dns.Msg)
	m.SetReply(q)
	m.Authoritative = true
	d.mu.Lock()
	for _, question := range q.Question {
		rrs, ok := d.records[strings.ToLower(question.Name)]
		if !ok {
			m.Rcode = dns.RcodeNameError
		}
		for _, rr := range rrs {
			if rr.Header().Rrtype == question.Qtype {
				m.Answer = append(m.Answer, rr)
			}
		}
	}
	d.mu.Unlock()
	w.WriteMsg(m)
}
