package secretbox_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"ecode/internal/secretbox"
)

func newBox(t *testing.T, fill byte) *secretbox.Box {
	t.Helper()
	b, err := secretbox.New(bytes.Repeat([]byte{fill}, secretbox.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSealOpen(t *testing.T) {
	b := newBox(t, 1)
	secret := []byte("sk-ant-api03-abcdef")
	s1, s2 := b.Seal(secret, []byte("agent.api_key")), b.Seal(secret, []byte("agent.api_key"))
	if bytes.Equal(s1, s2) {
		t.Fatal("two seals of one value are equal: the nonce is not fresh")
	}
	if bytes.Contains(s1, secret) || s1[0] != 1 {
		t.Fatalf("sealed value %x", s1)
	}
	got, err := b.Open(s1, []byte("agent.api_key"))
	if err != nil || !bytes.Equal(got, secret) {
		t.Fatalf("open: %q, %v", got, err)
	}
	str := b.SealString("k", "ad")
	if v, err := b.OpenString(str, "ad"); err != nil || v != "k" {
		t.Fatalf("OpenString: %q, %v", v, err)
	}
}

func TestOpenRefuses(t *testing.T) {
	b := newBox(t, 1)
	ad := []byte("agent.api_key")
	sealed := b.Seal([]byte("secret value"), ad)
	for i := range sealed {
		bad := bytes.Clone(sealed)
		bad[i] ^= 0x40
		if _, err := b.Open(bad, ad); !errors.Is(err, secretbox.ErrOpen) {
			t.Fatalf("byte %d tampered: %v", i, err)
		}
	}
	if _, err := b.Open(sealed[:len(sealed)-1], ad); !errors.Is(err, secretbox.ErrOpen) {
		t.Errorf("truncated: %v", err)
	}
	if _, err := b.Open(nil, ad); !errors.Is(err, secretbox.ErrOpen) {
		t.Errorf("empty: %v", err)
	}
	if _, err := newBox(t, 2).Open(sealed, ad); !errors.Is(err, secretbox.ErrOpen) {
		t.Errorf("wrong key: %v", err)
	}
	if _, err := b.Open(sealed, []byte("other")); !errors.Is(err, secretbox.ErrOpen) {
		t.Errorf("wrong associated data: %v", err)
	}
	if _, err := b.OpenString("not base64!", "ad"); !errors.Is(err, secretbox.ErrOpen) {
		t.Errorf("not base64: %v", err)
	}
	if _, err := secretbox.New(make([]byte, 16)); err == nil {
		t.Error("a 16-byte key was accepted")
	}
}

func TestMasterKeyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "master.key")
	var wg sync.WaitGroup
	keys := make([][]byte, 4)
	for i := range keys {
		wg.Go(func() {
			k, err := secretbox.LoadOrCreateKey(path)
			if err != nil {
				t.Error(err)
			}
			keys[i] = k
		})
	}
	wg.Wait()
	for _, k := range keys[1:] {
		if !bytes.Equal(k, keys[0]) || len(k) != secretbox.KeySize {
			t.Fatalf("concurrent starters disagree: %x vs %x", k, keys[0])
		}
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v, %v", fi.Mode(), err)
	}
	b1, err := secretbox.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b2, err := secretbox.OpenFile(path) // a restart reads the same key
	if err != nil {
		t.Fatal(err)
	}
	if v, err := b2.OpenString(b1.SealString("x", "a"), "a"); err != nil || v != "x" {
		t.Fatalf("after restart: %q, %v", v, err)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("leftover files: %v", entries)
	}
	os.WriteFile(path, []byte("short"), 0o600)
	if _, err := secretbox.LoadOrCreateKey(path); err == nil {
		t.Error("a short key file was accepted")
	}
}
