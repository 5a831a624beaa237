package domains

import (
	"strings"
	"testing"
	"time"

	"ecode/internal/store"
)

func TestNormalize(t *testing.T) {
	good := map[string]string{
		"app.example.com":                    "app.example.com",
		" App.Example.COM. ":                 "app.example.com",
		"xn--bcher-kva.example":              "xn--bcher-kva.example",
		"a-b.c-d.example.io":                 "a-b.c-d.example.io",
		"1.example.test":                     "1.example.test",
		strings.Repeat("a", 63) + ".example": strings.Repeat("a", 63) + ".example",
	}
	for in, want := range good {
		if got, err := Normalize(in); err != nil || got != want {
			t.Errorf("Normalize(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	bad := []string{"", "com", "localhost", "app.localhost", "*.example.com", "127.0.0.1", "[::1]", "::1",
		"https://app.example.com", "app.example.com:443", "app.example.com/x", "a..example.com", ".example.com",
		"-a.example.com", "a-.example.com", "app.example.123", "app_1.example.com", "bücher.example",
		strings.Repeat("a", 64) + ".example", strings.Repeat("abcdefghi.", 26) + "com", "a b.example"}
	for _, in := range bad {
		if got, err := Normalize(in); err == nil {
			t.Errorf("Normalize(%q) = %q, want an error", in, got)
		}
	}
}

// FuzzNormalize: an accepted name is canonical (normalizing it again gives
// it back), within DNS's limits, and made only of the allowed characters.
func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"app.example.com", "A.B.", "xn--bcher-kva.example", "*.x.y", "1.2.3.4", "a..b",
		"localhost", "x.localhost.", "ü.example", strings.Repeat("a.", 130), "[::1]:80"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := Normalize(s)
		if err != nil {
			if _, ok := err.(*NameError); !ok || err.Error() == "" {
				t.Fatalf("Normalize(%q): error %T %v", s, err, err)
			}
			return
		}
		if again, err := Normalize(got); err != nil || again != got {
			t.Fatalf("Normalize(%q) = %q, which normalizes to %q, %v", s, got, again, err)
		}
		if len(got) > maxNameLen || !strings.Contains(got, ".") || strings.HasSuffix(got, ".localhost") {
			t.Fatalf("Normalize(%q) = %q", s, got)
		}
		for _, c := range got {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
				t.Fatalf("Normalize(%q) = %q holds %q", s, got, c)
			}
		}
		if hostName(got) != got {
			t.Fatalf("hostName(%q) = %q", got, hostName(got))
		}
	})
}

func TestDue(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	later := now.Add(time.Hour)
	cases := []struct {
		name string
		d    store.CustomDomain
		want bool
	}{
		{"new", store.CustomDomain{CertStatus: "pending"}, true},
		{"failed, waiting", store.CustomDomain{CertStatus: "failed", CertRetryAt: &later}, false},
		{"failed, wait over", store.CustomDomain{CertStatus: "failed", CertRetryAt: &now}, true},
		{"issued, unreadable", store.CustomDomain{CertStatus: "issued", CertChain: "junk"}, true},
	}
	for _, c := range cases {
		if got := due(c.d, now); got != c.want {
			t.Errorf("%s: due = %v, want %v", c.name, got, c.want)
		}
	}
}
