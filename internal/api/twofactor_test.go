package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"ecode/internal/client"
	"ecode/internal/store"
	"ecode/internal/testutil"
)

// call sends in as JSON and decodes the answer into out (either may be nil).
func call(c *client.Client, method, path string, in, out any) error {
	var body *bytes.Reader
	if in == nil {
		body = bytes.NewReader(nil)
	} else {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	return c.Do(context.Background(), method, path, body, "application/json", out)
}

// wantError fails unless err is an API error with status and code.
func wantError(t testing.TB, err error, status int, code string) {
	t.Helper()
	var e *client.Error
	if !errors.As(err, &e) || e.Status != status || (code != "" && e.Code != code) {
		t.Fatalf("got %v, want %d %s", err, status, code)
	}
}

func codeAt(t testing.TB, secret string, at time.Time) string {
	t.Helper()
	c, err := totp.GenerateCodeCustom(secret, at, totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func sessionCookie(t *testing.T, c *client.Client) string {
	t.Helper()
	u, _ := url.Parse(c.BaseURL)
	for _, k := range c.HTTP.Jar.Cookies(u) {
		if k.Name == "ecode_session" {
			return k.Value
		}
	}
	return ""
}

type enrolled struct {
	Secret        string
	RecoveryCodes []string
}

// enrolTOTP turns two-factor on for c and returns the secret and codes.
func enrolTOTP(t testing.TB, srv *testutil.Server, c *client.Client) enrolled {
	t.Helper()
	var en struct {
		Secret     string `json:"secret"`
		OtpauthURL string `json:"otpauth_url"`
		QRCode     string `json:"qr_code"`
	}
	if err := call(c, "POST", "/api/auth/totp/enroll", nil, &en); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(en.OtpauthURL, "otpauth://totp/") || !strings.Contains(en.OtpauthURL, "secret="+en.Secret) ||
		!strings.HasPrefix(en.QRCode, "data:image/png;base64,") {
		t.Fatalf("enrol answered %+v", en)
	}
	wantError(t, call(c, "POST", "/api/auth/totp/confirm", map[string]string{"code": "000000"}, nil), 400, "invalid")
	var conf struct {
		RecoveryCodes []string `json:"recovery_codes"`
	}
	if err := call(c, "POST", "/api/auth/totp/confirm", map[string]string{"code": codeAt(t, en.Secret, srv.Clock.Now())}, &conf); err != nil {
		t.Fatal(err)
	}
	if len(conf.RecoveryCodes) != 10 {
		t.Fatalf("%d recovery codes, want 10", len(conf.RecoveryCodes))
	}
	return enrolled{en.Secret, conf.RecoveryCodes}
}

func login(srv *testutil.Server, email, password, code string) (*client.Client, error) {
	c := srv.Client()
	in := map[string]string{"email": email, "password": password}
	if code != "" {
		in["totp"] = code
	}
	return c, call(c, "POST", "/api/auth/login", in, nil)
}

const pw = "correct horse battery"

func TestTOTPSignIn(t *testing.T) {
	testutil.ForEachEngine(t, func(t *testing.T, st *store.Store) {
		srv := testutil.NewServer(t, st)
		ctx := context.Background()
		ann := srv.User(t, "ann")
		en := enrolTOTP(t, srv, ann)
		var sealed string
		if err := st.InTx(ctx, func(tx *store.Store) error {
			tt, err := tx.TOTPOf(ctx, whoami(t, ann).ID)
			sealed = tt.Secret
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(sealed, en.Secret) {
			t.Fatal("the TOTP secret is stored in the clear")
		}
		// The enrolment code's step is used up: the same code does not sign in.
		_, err := login(srv, "ann@example.test", pw, codeAt(t, en.Secret, srv.Clock.Now()))
		wantError(t, err, 401, "totp_invalid")

		// Without a code: 401 totp_required, and the pending session reaches nothing.
		c, err := login(srv, "ann@example.test", pw, "")
		wantError(t, err, 401, "totp_required")
		pending := sessionCookie(t, c)
		if pending == "" {
			t.Fatal("no pending session cookie")
		}
		wantError(t, call(c, "GET", "/api/me", nil, nil), 401, "")

		// The second step with a later code signs in, with a new session id.
		// (Later phases wait long enough to refill the per-account limit of
		// five attempts at once, then one a minute; a pending sign-in lasts
		// five minutes.)
		srv.Clock.Advance(90 * time.Second)
		code := codeAt(t, en.Secret, srv.Clock.Now())
		if err := call(c, "POST", "/api/auth/login/second-factor", map[string]string{"code": code}, nil); err != nil {
			t.Fatal(err)
		}
		if full := sessionCookie(t, c); full == pending || full == "" {
			t.Fatal("the second factor did not issue a new session id")
		}
		whoami(t, c)
		old := srv.Client()
		old.HTTP.Jar.SetCookies(mustURL(srv.URL), []*http.Cookie{{Name: "ecode_session", Value: pending}})
		wantError(t, call(old, "POST", "/api/auth/login/second-factor", map[string]string{"code": code}, nil), 400, "no_pending_sign_in")

		// Replay: the same code again, and an earlier step's code, are refused.
		srv.Clock.Advance(5 * time.Minute)
		code = codeAt(t, en.Secret, srv.Clock.Now())
		if _, err := login(srv, "ann@example.test", pw, code); err != nil {
			t.Fatal(err)
		}
		_, err = login(srv, "ann@example.test", pw, code)
		wantError(t, err, 401, "totp_invalid")
		_, err = login(srv, "ann@example.test", pw, codeAt(t, en.Secret, srv.Clock.Now().Add(-30*time.Second)))
		wantError(t, err, 401, "totp_invalid")
		// One-shot sign-in with the next step's code works.
		srv.Clock.Advance(5 * time.Minute)
		if _, err := login(srv, "ann@example.test", pw, codeAt(t, en.Secret, srv.Clock.Now())); err != nil {
			t.Fatal(err)
		}

		// A recovery code works once (typed in lower case without dashes too).
		srv.Clock.Advance(5 * time.Minute)
		rc := strings.ToLower(strings.ReplaceAll(en.RecoveryCodes[3], "-", ""))
		if _, err := login(srv, "ann@example.test", pw, rc); err != nil {
			t.Fatal(err)
		}
		_, err = login(srv, "ann@example.test", pw, en.RecoveryCodes[3])
		wantError(t, err, 401, "totp_invalid")
		var status struct {
			Enabled           bool `json:"enabled"`
			RecoveryCodesLeft int  `json:"recovery_codes_left"`
		}
		if err := call(ann, "GET", "/api/auth/totp", nil, &status); err != nil || !status.Enabled || status.RecoveryCodesLeft != 9 {
			t.Fatalf("status %+v, %v", status, err)
		}
		kinds := eventKinds(t, ann, "/api/me/security-events")
		for _, k := range []string{"totp_enabled", "recovery_code_used", "second_factor_failed"} {
			if !kinds[k] {
				t.Errorf("no %s event in %v", k, kinds)
			}
		}
	})
}

func TestSecondFactorRateLimited(t *testing.T) {
	testutil.ForEachEngine(t, func(t *testing.T, st *store.Store) {
		srv := testutil.NewServer(t, st)
		en := enrolTOTP(t, srv, srv.User(t, "bob"))
		srv.Clock.Advance(5 * time.Minute) // the bucket refills after the enrolment's attempts
		for range 5 {
			_, err := login(srv, "bob@example.test", pw, "123456")
			wantError(t, err, 401, "totp_invalid")
		}
		_, err := login(srv, "bob@example.test", pw, codeAt(t, en.Secret, srv.Clock.Now()))
		wantError(t, err, 429, "rate_limited")
		srv.Clock.Advance(time.Minute)
		if _, err := login(srv, "bob@example.test", pw, codeAt(t, en.Secret, srv.Clock.Now())); err != nil {
			t.Fatalf("after a minute: %v", err)
		}
	})
}

func TestDisableTOTPNeedsPasswordAndCode(t *testing.T) {
	testutil.ForEachEngine(t, func(t *testing.T, st *store.Store) {
		srv := testutil.NewServer(t, st)
		cy := srv.User(t, "cy")
		en := enrolTOTP(t, srv, cy)
		srv.Clock.Advance(5 * time.Minute)
		code := codeAt(t, en.Secret, srv.Clock.Now())
		wantError(t, call(cy, "POST", "/api/auth/totp/disable", map[string]string{"password": "wrong password", "code": code}, nil), 400, "invalid")
		wantError(t, call(cy, "POST", "/api/auth/totp/disable", map[string]string{"password": pw, "code": "000000"}, nil), 400, "invalid")
		wantError(t, call(cy, "POST", "/api/auth/totp/disable", map[string]string{"password": pw}, nil), 400, "invalid")
		if err := call(cy, "POST", "/api/auth/totp/disable", map[string]string{"password": pw, "code": code}, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := login(srv, "cy@example.test", pw, ""); err != nil {
			t.Fatalf("two-factor still asked for: %v", err)
		}
		if !eventKinds(t, cy, "/api/me/security-events")["totp_disabled"] {
			t.Error("no totp_disabled event")
		}
	})
}

func whoami(t *testing.T, c *client.Client) struct{ ID, Email string } {
	t.Helper()
	me, err := c.Me(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return struct{ ID, Email string }{me.ID, me.Email}
}

func mustURL(s string) *url.URL {
	u, _ := url.Parse(s)
	return u
}

type eventJSON struct {
	UserID  string `json:"user_id"`
	ActorID string `json:"actor_id"`
	Kind    string `json:"kind"`
	Detail  string `json:"detail"`
	IP      string `json:"ip"`
}

func events(t *testing.T, c *client.Client, path string) []eventJSON {
	t.Helper()
	var es []eventJSON
	if err := call(c, "GET", path, nil, &es); err != nil {
		t.Fatal(err)
	}
	return es
}

func eventKinds(t *testing.T, c *client.Client, path string) map[string]bool {
	t.Helper()
	m := map[string]bool{}
	for _, e := range events(t, c, path) {
		m[e.Kind] = true
	}
	return m
}
