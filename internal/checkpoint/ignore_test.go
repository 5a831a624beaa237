package checkpoint

import "testing"

func TestIgnoreTempFiles(t *testing.T) {
	ig := NewIgnore(nil)
	for rel, want := range map[string]bool{
		".ecode-tmp-0011223344556677":     true,
		"src/.ecode-tmp-8899aabbccddeeff": true,
		"src/x.ecode-tmp-1":               false,
		"node_modules":                    true,
		"web/node_modules":                true,
		".yarn/cache":                     true,
		"src/main.go":                     false,
	} {
		if got := ig.Match(rel); got != want {
			t.Errorf("Match(%q) = %v, want %v", rel, got, want)
		}
	}
}
