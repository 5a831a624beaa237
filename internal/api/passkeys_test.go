package api_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"github.com/fxamacker/cbor/v2"

	"ecode/internal/client"
	"ecode/internal/store"
	"ecode/internal/testutil"
)

// authenticator is a software passkey (ES256, "none" attestation) for one
// relying party, enough to drive the server's WebAuthn ceremonies.
type authenticator struct {
	t      *testing.T
	origin string
	rpID   string
	key    *ecdsa.PrivateKey
	credID []byte
	user   []byte
	count  uint32
}

var b64 = base64.RawURLEncoding

func newAuthenticator(t *testing.T, base string) *authenticator {
	u, _ := url.Parse(base)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	id := make([]byte, 16)
	rand.Read(id)
	return &authenticator{t: t, origin: base, rpID: u.Hostname(), key: key, credID: id}
}

func (a *authenticator) clientData(typ, challenge string) []byte {
	b, _ := json.Marshal(map[string]string{"type": typ, "challenge": challenge, "origin": a.origin})
	return b
}

func (a *authenticator) authData(flags byte, attested []byte) []byte {
	rp := sha256.Sum256([]byte(a.rpID))
	a.count++
	out := append(rp[:], flags)
	out = binary.BigEndian.AppendUint32(out, a.count)
	return append(out, attested...)
}

type ceremony struct {
	Ceremony string `json:"ceremony"`
	Options  struct {
		PublicKey struct {
			Challenge string `json:"challenge"`
			RP        struct {
				ID string `json:"id"`
			} `json:"rp"`
			RPID string `json:"rpId"`
			User struct {
				ID string `json:"id"`
			} `json:"user"`
		} `json:"publicKey"`
	} `json:"options"`
}

// create answers a registration ceremony.
func (a *authenticator) create(c ceremony) json.RawMessage {
	a.user, _ = b64.DecodeString(c.Options.PublicKey.User.ID)
	x, y := a.key.X.FillBytes(make([]byte, 32)), a.key.Y.FillBytes(make([]byte, 32))
	cose, err := cbor.Marshal(map[int]any{1: 2, 3: -7, -1: 1, -2: x, -3: y})
	if err != nil {
		a.t.Fatal(err)
	}
	attested := append(make([]byte, 16), byte(len(a.credID)>>8), byte(len(a.credID)))
	attested = append(append(attested, a.credID...), cose...)
	att, err := cbor.Marshal(map[string]any{"fmt": "none", "attStmt": map[string]any{}, "authData": a.authData(0x45, attested)})
	if err != nil {
		a.t.Fatal(err)
	}
	return a.credential(map[string]string{
		"clientDataJSON":    b64.EncodeToString(a.clientData("webauthn.create", c.Options.PublicKey.Challenge)),
		"attestationObject": b64.EncodeToString(att),
	})
}

// get answers a sign-in ceremony.
func (a *authenticator) get(c ceremony) json.RawMessage {
	cd := a.clientData("webauthn.get", c.Options.PublicKey.Challenge)
	ad := a.authData(0x05, nil)
	h := sha256.Sum256(cd)
	digest := sha256.Sum256(append(append([]byte{}, ad...), h[:]...))
	sig, err := ecdsa.SignASN1(rand.Reader, a.key, digest[:])
	if err != nil {
		a.t.Fatal(err)
	}
	return a.credential(map[string]string{"clientDataJSON": b64.EncodeToString(cd), "authenticatorData": b64.EncodeToString(ad),
		"signature": b64.EncodeToString(sig), "userHandle": b64.EncodeToString(a.user)})
}

func (a *authenticator) credential(response map[string]string) json.RawMessage {
	b, _ := json.Marshal(map[string]any{"id": b64.EncodeToString(a.credID), "rawId": b64.EncodeToString(a.credID),
		"type": "public-key", "response": response, "clientExtensionResults": map[string]any{}})
	return b
}

func begin(t *testing.T, c *client.Client, path string) ceremony {
	t.Helper()
	var cer ceremony
	if err := call(c, "POST", path, nil, &cer); err != nil {
		t.Fatal(err)
	}
	return cer
}

func TestPasskeys(t *testing.T) {
	testutil.ForEachEngine(t, func(t *testing.T, st *store.Store) {
		srv := testutil.NewServer(t, st)
		// WebAuthn needs a host name: the test talks to localhost, not 127.0.0.1.
		local := strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)
		wantError(t, call(srv.User(t, "ip"), "POST", "/api/me/passkeys/begin", nil, nil), 400, "passkeys_unavailable")
		ola, pat := localUser(t, local, "ola"), localUser(t, local, "pat")
		a := newAuthenticator(t, local)

		reg := begin(t, ola, "/api/me/passkeys/begin")
		if reg.Options.PublicKey.RP.ID != a.rpID {
			t.Fatalf("relying party %q, want the request's host %q", reg.Options.PublicKey.RP.ID, a.rpID)
		}
		answer := a.create(reg)
		// Another user cannot finish ola's ceremony, which is then used up.
		wantError(t, call(pat, "POST", "/api/me/passkeys/finish", map[string]any{"ceremony": reg.Ceremony, "credential": answer}, nil), 400, "passkey_failed")
		reg = begin(t, ola, "/api/me/passkeys/begin")
		var pk struct{ ID, Name string }
		if err := call(ola, "POST", "/api/me/passkeys/finish", map[string]any{"ceremony": reg.Ceremony, "name": "laptop", "credential": a.create(reg)}, &pk); err != nil {
			t.Fatal(err)
		}
		if pk.Name != "laptop" || pk.ID != b64.EncodeToString(a.credID) {
			t.Fatalf("passkey %+v", pk)
		}
		// The ceremony was used once.
		wantError(t, call(ola, "POST", "/api/me/passkeys/finish", map[string]any{"ceremony": reg.Ceremony, "credential": a.create(reg)}, nil), 400, "passkey_failed")

		// Password-less sign-in in a fresh client; a replayed answer is refused.
		anon := client.New(local)
		login := begin(t, anon, "/api/auth/passkey/begin")
		signed := a.get(login)
		if err := call(anon, "POST", "/api/auth/passkey/finish", map[string]any{"ceremony": login.Ceremony, "credential": signed}, nil); err != nil {
			t.Fatal(err)
		}
		if whoami(t, anon).Email != "ola@example.test" {
			t.Fatal("signed in as someone else")
		}
		other := client.New(local)
		wantError(t, call(other, "POST", "/api/auth/passkey/finish", map[string]any{"ceremony": login.Ceremony, "credential": signed}, nil), 400, "passkey_failed")

		// As the second factor after the password when two-factor is on.
		enrolTOTP(t, srv, ola)
		c, err := loginClient(local, "ola@example.test")
		wantError(t, err, 401, "totp_required")
		mfa := begin(t, c, "/api/auth/passkey/begin")
		if err := call(c, "POST", "/api/auth/passkey/finish", map[string]any{"ceremony": mfa.Ceremony, "credential": a.get(mfa)}, nil); err != nil {
			t.Fatal(err)
		}
		whoami(t, c)
		// pat has no passkey: the second-factor ceremony has nothing to offer.
		enrolTOTP(t, srv, pat)
		pc, err := loginClient(local, "pat@example.test")
		wantError(t, err, 401, "totp_required")
		wantError(t, call(pc, "POST", "/api/auth/passkey/begin", nil, nil), 400, "bad_request")

		// Listing and deleting: only one's own.
		var list []struct{ ID, Name string }
		if err := call(ola, "GET", "/api/me/passkeys", nil, &list); err != nil || len(list) != 1 {
			t.Fatalf("list %v, %v", list, err)
		}
		wantError(t, call(pat, "DELETE", "/api/me/passkeys/"+pk.ID, nil, nil), 404, "not_found")
		if err := call(ola, "DELETE", "/api/me/passkeys/"+pk.ID, nil, nil); err != nil {
			t.Fatal(err)
		}
		login = begin(t, client.New(local), "/api/auth/passkey/begin")
		wantError(t, call(client.New(local), "POST", "/api/auth/passkey/finish", map[string]any{"ceremony": login.Ceremony, "credential": a.get(login)}, nil), 400, "passkey_failed")
		k := eventKinds(t, ola, "/api/me/security-events")
		if !k["passkey_added"] || !k["passkey_removed"] {
			t.Errorf("events %v", k)
		}

		// Starting password-less sign-ins stores a ceremony for anyone: it is
		// limited per client address (10 at once, then one every 6 s).
		var limited error
		for range 11 {
			if limited = call(client.New(local), "POST", "/api/auth/passkey/begin", nil, nil); limited != nil {
				break
			}
		}
		wantError(t, limited, 429, "rate_limited")
	})
}

func loginClient(base, email string) (*client.Client, error) {
	c := client.New(base)
	return c, call(c, "POST", "/api/auth/login", map[string]string{"email": email, "password": pw}, nil)
}

func localUser(t *testing.T, base, name string) *client.Client {
	t.Helper()
	c := client.New(base)
	if _, err := c.Signup(context.Background(), name+"@example.test", pw, name); err != nil {
		t.Fatal(err)
	}
	return c
}
