package auth

import (
	"crypto/sha256"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestPasswordHash(t *testing.T) {
	h, err := HashPassword("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Errorf("hash format %q", h)
	}
	if ok, err := CheckPassword(h, "correct horse"); !ok || err != nil {
		t.Errorf("right password: %v, %v", ok, err)
	}
	if ok, _ := CheckPassword(h, "correct horsf"); ok {
		t.Error("wrong password accepted")
	}
	h2, _ := HashPassword("correct horse")
	if h == h2 {
		t.Error("two hashes of one password are equal: salt missing")
	}
	for _, bad := range []string{"", "$argon2id$", "$bcrypt$x$y$z$w", "$argon2id$v=19$m=x$a$b"} {
		if ok, err := CheckPassword(bad, "x"); ok || err == nil {
			t.Errorf("CheckPassword(%q) = %v, %v", bad, ok, err)
		}
	}
}

func TestTokens(t *testing.T) {
	a, ha := NewToken("ecp_")
	b, _ := NewToken("ecp_")
	if a == b || !strings.HasPrefix(a, "ecp_") || len(a) < 40 {
		t.Errorf("tokens %q %q", a, b)
	}
	if HashToken(a) != ha || strings.Contains(ha, a) {
		t.Error("hash mismatch or hash contains the token")
	}
	// the stored form must not change: hex SHA-256, short and long tokens alike
	long := strings.Repeat("x", 200)
	for token, want := range map[string]string{
		"abc": "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
		long:  fmt.Sprintf("%x", sha256.Sum256([]byte(long))),
	} {
		if got := HashToken(token); got != want {
			t.Errorf("HashToken(%.10q…) = %s, want %s", token, got, want)
		}
	}
	if id := NewID(); len(id) != 16 || strings.ToLower(id) != id {
		t.Errorf("id %q", id)
	}
}

func TestLimiter(t *testing.T) {
	now := time.Unix(0, 0)
	l := NewLimiter(func() time.Time { return now }, 3, time.Second)
	for i := range 3 {
		if ok, _ := l.Allow("k"); !ok {
			t.Fatalf("attempt %d refused within the burst", i)
		}
	}
	ok, wait := l.Allow("k")
	if ok || wait != time.Second {
		t.Fatalf("4th attempt: %v, wait %v", ok, wait)
	}
	if ok, _ := l.Allow("other"); !ok {
		t.Error("keys are not independent")
	}
	now = now.Add(time.Second)
	if ok, _ := l.Allow("k"); !ok {
		t.Error("refill did not happen")
	}
}
