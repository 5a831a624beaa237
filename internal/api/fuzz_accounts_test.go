package api_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"ecode/internal/client"
	"ecode/internal/store"
	"ecode/internal/testutil"
)

// FuzzSecondFactorInputs sends arbitrary second-factor codes and passkey
// answers: the server refuses them with a client error, never a 5xx, and
// never signs in.
func FuzzSecondFactorInputs(f *testing.F) {
	srv := testutil.NewServer(f, testutil.NewStore(f, store.SQLite))
	en := enrolTOTP(f, srv, srv.User(f, "fuzz"))
	for _, seed := range []string{"", "123456", " 12 34 56 ", en.RecoveryCodes[0] + "x", "AAAAAA-BBBBBB-CCCCCC-DDDDDD",
		"aaaaaabbbbbbccccccdddddd", `{"id":"x","rawId":"eA","type":"public-key","response":{}}`, "null", "[]", "\x00\xff"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, input string) {
		srv.Clock.Advance(time.Minute) // refill the rate limits
		if input == en.RecoveryCodes[0] || len(input) == 6 && input == codeAt(t, en.Secret, srv.Clock.Now()) {
			return
		}
		_, err := login(srv, "fuzz@example.test", pw, input)
		refused(t, "login code", err)
		c := client.New(strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)) // passkeys need a host name
		var begun struct {
			Ceremony string `json:"ceremony"`
		}
		if err := call(c, "POST", "/api/auth/passkey/begin", nil, &begun); err != nil {
			t.Fatal(err)
		}
		cred := json.RawMessage(input)
		if !json.Valid(cred) {
			cred, _ = json.Marshal(input)
		}
		refused(t, "passkey answer", call(c, "POST", "/api/auth/passkey/finish", map[string]any{"ceremony": begun.Ceremony, "credential": cred}, nil))
	})
}

func refused(t *testing.T, what string, err error) {
	t.Helper()
	var e *client.Error
	if !errors.As(err, &e) {
		t.Fatalf("%s: accepted or failed oddly: %v", what, err)
	}
	if e.Status >= 500 || e.Status < 400 {
		t.Fatalf("%s: status %d (%s)", what, e.Status, e.Message)
	}
}
