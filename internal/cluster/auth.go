package cluster

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Header carries a forwarded request's proof that it comes from a node of
// the cluster: "<node id>;<unix seconds>;<hex HMAC-SHA256>".
const Header = "X-Ecode-Node"

// ClientHeader carries the client's address a forwarding node determined
// (believed only on a request whose Header verifies).
const ClientHeader = "X-Ecode-Client-Addr"

// skew is how far a signature's time may be from the verifier's clock.
const skew = time.Minute

// Sign marks r as sent by this node: an HMAC of the cluster secret over
// the node id, the time, the method, the host and the request URI.
func (c *Cluster) Sign(r *http.Request) {
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	r.Header.Set(Header, c.o.NodeID+";"+ts+";"+mac(c.o.Secret, c.o.NodeID, ts, r))
}

// Verify checks that r carries a valid, fresh signature of a node that
// knows the cluster secret, and returns that node's id.
func (c *Cluster) Verify(r *http.Request) (string, error) {
	if len(c.o.Secret) == 0 {
		return "", errors.New("no cluster secret configured")
	}
	parts := strings.Split(r.Header.Get(Header), ";")
	if len(parts) != 3 {
		return "", errors.New("missing or malformed " + Header)
	}
	node, ts, sig := parts[0], parts[1], parts[2]
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return "", errors.New("malformed signature time")
	}
	if d := time.Since(time.Unix(sec, 0)); d > skew || d < -skew {
		return "", errors.New("signature too old or from the future")
	}
	want := mac(c.o.Secret, node, ts, r)
	if !hmac.Equal([]byte(sig), []byte(want)) {
		return "", errors.New("bad signature")
	}
	return node, nil
}

func mac(secret []byte, node, ts string, r *http.Request) string {
	h := hmac.New(sha256.New, secret)
	for _, part := range []string{node, ts, r.Method, r.Host, r.URL.RequestURI(), r.Header.Get(ClientHeader)} {
		h.Write([]byte(part))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))
}
