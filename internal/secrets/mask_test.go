package secrets

import (
	"bytes"
	"math/rand/v2"
	"strings"
	"testing"
)

// chunked masks text written in the given chunk sizes (cycled).
func chunked(m *Matcher, text []byte, sizes []int) []byte {
	var out bytes.Buffer
	s := m.Stream(&out)
	for i, k := 0, 0; i < len(text); k++ {
		n := 1
		if len(sizes) > 0 {
			n = max(1, sizes[k%len(sizes)])
		}
		n = min(n, len(text)-i)
		s.Write(text[i : i+n])
		i += n
	}
	s.Flush()
	return out.Bytes()
}

func TestMaskEveryEncodingSplitAtEveryBoundary(t *testing.T) {
	const value = `s3cr3t+/value?&"x<y>`
	m := NewMatcher([]Value{{"API_KEY", value}, {"OTHER", "another-secret-value"}})
	for _, form := range Encodings(value) {
		text := []byte("before " + form + " after\n")
		want := "before [secret API_KEY] after\n"
		for cut := 1; cut < len(text); cut++ {
			var out bytes.Buffer
			s := m.Stream(&out)
			s.Write(text[:cut])
			s.Write(text[cut:])
			s.Flush()
			if out.String() != want {
				t.Fatalf("form %q split at %d: got %q, want %q", form, cut, out.String(), want)
			}
		}
	}
}

func TestMaskBase64InsideLongerBase64(t *testing.T) {
	// a value embedded at each alignment inside a longer base64 text
	const value = "hunter2-is-my-password"
	m := NewMatcher([]Value{{"PW", value}})
	for _, prefix := range []string{"", "a", "ab", "abc"} {
		for _, enc := range []string{"std", "url"} {
			text := b64(enc, prefix+value+"!trailer")
			got := m.String(text)
			if got == text || !strings.Contains(got, "[secret PW]") {
				t.Errorf("%s base64 with prefix %q not masked: %q", enc, prefix, got)
			}
		}
	}
}

func TestMaskShortValuesAndPassThrough(t *testing.T) {
	m := NewMatcher([]Value{{"SHORT", "abc12"}})
	if !m.Empty() || m.String("abc12") != "abc12" {
		t.Fatal("values under MinMaskBytes must not be masked")
	}
	m = NewMatcher([]Value{{"K", "abcdef"}})
	var out bytes.Buffer
	s := m.Stream(&out)
	s.Write([]byte("listening on :3000\n"))
	if out.String() != "listening on :3000\n" {
		t.Fatalf("output with no value prefix at its end must pass at once, got %q", out.String())
	}
	s.Write([]byte("x abc"))
	if out.String() != "listening on :3000\nx " {
		t.Fatalf("a possible value start is held back, the rest passes: %q", out.String())
	}
	s.Write([]byte("xyz"))
	s.Flush()
	if out.String() != "listening on :3000\nx abcxyz" {
		t.Fatalf("held bytes come out when they cannot be a value: %q", out.String())
	}
}

func TestMaskOverlappingValues(t *testing.T) {
	m := NewMatcher([]Value{{"A", "abcdefgh"}, {"B", "defghijk"}, {"C", "xxabcdefghyy"}})
	for _, text := range []string{"abcdefghijk", "xxabcdefghyy", "zzdefghijkzz", "abcdefgabcdefgh"} {
		got := m.String(text)
		for _, v := range []string{"abcdefgh", "defghijk", "xxabcdefghyy"} {
			if strings.Contains(got, v) {
				t.Errorf("%q → %q still holds %q", text, got, v)
			}
		}
	}
}

func FuzzMask(f *testing.F) {
	f.Add([]byte("token=sk-live-1234567890 and c2stbGl2ZS0xMjM0NTY3ODkw"), "sk-live-1234567890", uint64(1))
	f.Add([]byte("%22quoted%22 \"x\\\"y\" 736b2d6c697665"), `x"y-secret`, uint64(7))
	f.Add([]byte(""), "abcdefgh", uint64(3))
	f.Fuzz(func(t *testing.T, text []byte, value string, seed uint64) {
		if len(value) < MinMaskBytes || len(value) > 256 {
			return
		}
		m := NewMatcher([]Value{{"V", value}, {"W", "fixed-second-value"}})
		// plant the value and an encoding of it somewhere in the text
		r := rand.New(rand.NewPCG(seed, seed^0x9e37))
		forms := Encodings(value)
		at := 0
		if len(text) > 0 {
			at = r.IntN(len(text) + 1)
		}
		planted := append(append(append([]byte{}, text[:at]...), forms[r.IntN(len(forms))]...), text[at:]...)
		planted = append(planted, value...)
		whole := m.Bytes(planted)
		sizes := make([]int, 1+r.IntN(5))
		for i := range sizes {
			sizes[i] = 1 + r.IntN(17)
		}
		if got := chunked(m, planted, sizes); !bytes.Equal(got, whole) {
			t.Fatalf("chunks %v gave %q, one chunk %q", sizes, got, whole)
		}
		if bytes.Contains(whole, []byte(value)) && !bytes.Contains([]byte("[secret V][secret W]"), []byte(value)) {
			t.Fatalf("value %q survived in %q", value, whole)
		}
	})
}
