package backup

import (
	"archive/tar"
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// writeTestArchive writes an archive of a few entries and returns its bytes.
func writeTestArchive(t testing.TB) []byte {
	t.Helper()
	var buf bytes.Buffer
	a := newArchiveWriter(&buf, t.TempDir())
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	add := func(h *tar.Header, body string) {
		h.ModTime = now
		if h.Typeflag == tar.TypeReg || h.Typeflag == 0 {
			if err := a.addReader(h, strings.NewReader(body)); err != nil {
				t.Fatal(err)
			}
			return
		}
		if err := a.add(h, nil); err != nil {
			t.Fatal(err)
		}
	}
	add(&tar.Header{Name: "db/ecode.db", Mode: 0o600}, "the database")
	add(&tar.Header{Name: "projects/p1/files", Typeflag: tar.TypeDir, Mode: 0o755}, "")
	add(&tar.Header{Name: "projects/p1/files/main.py", Mode: 0o644}, strings.Repeat("print('hello')\n", 500))
	add(&tar.Header{Name: "projects/p1/files/link", Typeflag: tar.TypeSymlink, Linkname: "main.py"}, "")
	if err := a.finish(&Manifest{Format: FormatVersion, Created: now, Engine: "sqlite"}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func writeTemp(t testing.TB, b []byte) string {
	p := filepath.Join(t.TempDir(), "a.tar.gz")
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestVerifyAcceptsWhatWasWritten(t *testing.T) {
	m, err := Verify(writeTemp(t, writeTestArchive(t)))
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Entries) != 4 || m.Entries[2].Name != "projects/p1/files/main.py" || m.Entries[2].Size != 7500 || m.Entries[2].SHA256 == "" {
		t.Fatalf("entries %+v", m.Entries)
	}
}

// Every flipped byte and every truncation is refused with ErrCorrupt
// (except bytes 4 to 9 of the gzip header, the time, flags and OS, which
// carry no content and which readers ignore).
func TestVerifyRefusesCorruptArchives(t *testing.T) {
	good := writeTestArchive(t)
	for i := 0; i < len(good); i += max(1, len(good)/97) {
		if i >= 4 && i <= 9 {
			continue
		}
		b := bytes.Clone(good)
		b[i] ^= 0x40
		if _, err := Verify(writeTemp(t, b)); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("byte %d of %d flipped: %v", i, len(good), err)
		}
	}
	for _, n := range []int{0, 10, len(good) / 3, len(good) / 2, len(good) - 30, len(good) - 1} {
		_, err := Verify(writeTemp(t, good[:n]))
		if !errors.Is(err, ErrCorrupt) {
			t.Fatalf("truncated to %d of %d: %v", n, len(good), err)
		}
	}
}

// An archive whose content changed with a matching manifest (someone
// rewrote both) is still refused: the manifest's own checksum is last.
func TestVerifyRefusesEntryChangedBehindTheManifest(t *testing.T) {
	var buf bytes.Buffer
	a := newArchiveWriter(&buf, t.TempDir())
	if err := a.addReader(&tar.Header{Name: "db/ecode.db"}, strings.NewReader("x")); err != nil {
		t.Fatal(err)
	}
	a.entries[0].SHA256 = sum([]byte("y")) // the manifest lies
	if err := a.finish(&Manifest{Format: FormatVersion}); err != nil {
		t.Fatal(err)
	}
	_, err := Verify(writeTemp(t, buf.Bytes()))
	if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "db/ecode.db") {
		t.Fatalf("got %v", err)
	}
}

func TestSealedKeysNeedThePassphrase(t *testing.T) {
	keys := [][]byte{bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32)}
	if _, err := sealKeys(keys, []byte("short")); err == nil {
		t.Fatal("a short passphrase was accepted")
	}
	sealed, err := sealKeys(keys, []byte("correct horse battery"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, keys[0]) {
		t.Fatal("the key is in the clear")
	}
	if _, err := openKeys(sealed, []byte("wrong horse battery")); !errors.Is(err, ErrPassphrase) {
		t.Fatalf("wrong passphrase: %v", err)
	}
	got, err := openKeys(sealed, []byte("correct horse battery"))
	if err != nil || len(got) != 2 || !bytes.Equal(got[1], keys[1]) {
		t.Fatalf("opened %v, %v", got, err)
	}
}

func TestPruneKeepsTheNewest(t *testing.T) {
	dir := t.TempDir()
	base := time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)
	for i := range 5 {
		os.WriteFile(filepath.Join(dir, FileName(base.Add(time.Duration(i)*time.Hour))), []byte("x"), 0o600)
	}
	os.WriteFile(filepath.Join(dir, "unrelated.txt"), nil, 0o600)
	removed, err := Prune(dir, 2)
	if err != nil || len(removed) != 3 {
		t.Fatalf("removed %v, %v", removed, err)
	}
	left, _ := List(dir)
	if len(left) != 2 || !left[0].Created.Equal(base.Add(4*time.Hour)) || !left[1].Created.Equal(base.Add(3*time.Hour)) {
		t.Fatalf("left %+v", left)
	}
}

// FuzzVerify: any bytes are refused or accepted without panicking, and an
// accepted archive's entries are exactly its manifest's.
func FuzzVerify(f *testing.F) {
	good := writeTestArchive(f)
	f.Add(good)
	f.Add(good[:len(good)/2])
	f.Add([]byte{0x1f, 0x8b})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Verify(writeTemp(t, b))
		if err == nil && m == nil {
			t.Fatal("no manifest and no error")
		}
	})
}

// FuzzOpenKeys: any sealed blob is refused or opened without panicking.
func FuzzOpenKeys(f *testing.F) {
	sealed, _ := sealKeys([][]byte{make([]byte, 32)}, []byte("correct horse battery"))
	f.Add(sealed)
	f.Add([]byte(`{"kdf":"argon2id","time":1,"memory_kib":8,"threads":1,"nonce":"AAAAAAAAAAAAAAAA"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		keys, err := openKeys(b, []byte("correct horse battery"))
		if err == nil && len(keys) == 0 {
			t.Fatal("opened to no keys")
		}
	})
}
