package api

import (
	"strings"
	"testing"
)

// FuzzAcceptEncoding: any header parses, and a coding the header does not
// mention (nor "*") is never accepted.
func FuzzAcceptEncoding(f *testing.F) {
	for _, s := range []string{"", "gzip", "br;q=0, gzip;q=0.5", "*", "*;q=0, br", "gzip;q=abc", ";;,,", "BR ; Q = 1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, header string) {
		got := acceptedEncodings(header)
		lower := strings.ToLower(header)
		for _, enc := range encodings {
			if got[enc.name] && !strings.Contains(lower, enc.name) && !strings.Contains(lower, "*") {
				t.Fatalf("%q accepted %s", header, enc.name)
			}
		}
	})
}
