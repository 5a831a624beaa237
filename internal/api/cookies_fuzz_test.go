package api

import (
	"net/http"
	"strings"
	"testing"
)

// FuzzAppCookies: whatever Set-Cookie lines an app sends, none that
// survives carries a Domain attribute or an IDE cookie's name.
func FuzzAppCookies(f *testing.F) {
	for _, s := range []string{"a=1; Domain=localhost", "ecode_session=x; Path=/", "b=2;domain=.x;HttpOnly",
		"__Host-ecode_preview=1", " c = 3 ; DOMAIN = y", "=", ";;;", "d"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		h := http.Header{}
		h.Add("Set-Cookie", line)
		h.Add("Set-Cookie", "keep=1; Path=/")
		sanitizeAppCookies(h)
		out := h.Values("Set-Cookie")
		if len(out) == 0 || out[len(out)-1] != "keep=1; Path=/" {
			t.Fatalf("an ordinary cookie was changed: %q", out)
		}
		for _, l := range out {
			parts := strings.Split(l, ";")
			name, _, _ := strings.Cut(parts[0], "=")
			if ideCookies[strings.TrimSpace(name)] {
				t.Fatalf("IDE cookie kept: %q", l)
			}
			for _, a := range parts[1:] {
				k, _, _ := strings.Cut(a, "=")
				if strings.EqualFold(strings.TrimSpace(k), "domain") {
					t.Fatalf("Domain kept: %q", l)
				}
			}
		}
	})
}
