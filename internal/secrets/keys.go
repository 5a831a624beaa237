package secrets

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"ecode/internal/secretbox"
)

// KeySource says where the master key comes from: the first of Env (the
// key itself, base64), Command (a shell command printing it, base64 or 32
// raw bytes) and File (created on first use) that is set.
type KeySource struct {
	File    string
	Env     string
	Command string
}

// ErrUnknownKey means a data key was wrapped under a master key this
// server does not have.
var ErrUnknownKey = errors.New("secrets: the data key was wrapped under a master key this server does not have")

// ErrDecrypt is returned for a ciphertext that does not open: changed,
// moved to another row or project, or wrapped under another master key.
var ErrDecrypt = errors.New("secrets: the value does not decrypt (changed, moved, or another master key)")

// Keyring holds the master keys (the current one wraps, all unwrap) by id.
// When asked for an id it does not know, it reads its source again, so a
// running server follows `ecode keys rotate`.
type Keyring struct {
	src KeySource

	mu      sync.RWMutex
	current string
	keys    map[string][]byte
}

// KeyID names a master key without revealing it: 16 hex digits of a hash.
func KeyID(key []byte) string {
	h := sha256.Sum256(append([]byte("ecode master key id\x00"), key...))
	return hex.EncodeToString(h[:8])
}

// OpenKeyring loads the master key(s) from src.
func OpenKeyring(src KeySource) (*Keyring, error) {
	k := &Keyring{src: src}
	if err := k.load(); err != nil {
		return nil, err
	}
	return k, nil
}

// NewKeyring is a keyring over fixed keys (the first wraps); for tests and tools.
func NewKeyring(keys ...[]byte) *Keyring {
	k := &Keyring{keys: map[string][]byte{}}
	for i, key := range keys {
		id := KeyID(key)
		k.keys[id] = key
		if i == 0 {
			k.current = id
		}
	}
	return k
}

// rotation file names beside the key file.
func newPath(file string) string { return file + ".new" }
func oldPath(file string) string { return file + ".old" }

func (k *Keyring) load() error {
	cur, others, err := k.src.read()
	if err != nil {
		return err
	}
	keys := map[string][]byte{KeyID(cur): cur}
	for _, o := range others {
		keys[KeyID(o)] = o
	}
	k.mu.Lock()
	k.current, k.keys = KeyID(cur), keys
	k.mu.Unlock()
	return nil
}

// read returns the current key and, for a key file, the keys of a rotation
// in progress (.new, .old) if present.
func (s KeySource) read() (cur []byte, others [][]byte, err error) {
	switch {
	case s.Env != "":
		cur, err = decodeKey([]byte(s.Env))
		if err != nil {
			return nil, nil, fmt.Errorf("master key from the environment: %w", err)
		}
		return cur, nil, nil
	case s.Command != "":
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		out, err := exec.CommandContext(ctx, "/bin/sh", "-c", s.Command).Output()
		if err != nil {
			return nil, nil, fmt.Errorf("master key command: %w", err)
		}
		cur, err = decodeKey(out)
		if err != nil {
			return nil, nil, fmt.Errorf("master key command: %w", err)
		}
		return cur, nil, nil
	case s.File != "":
		cur, err = secretbox.LoadOrCreateKey(s.File)
		if err != nil {
			return nil, nil, err
		}
		for _, p := range []string{newPath(s.File), oldPath(s.File)} {
			if b, err := os.ReadFile(p); err == nil && len(b) == secretbox.KeySize {
				others = append(others, b)
			}
		}
		return cur, others, nil
	}
	return nil, nil, errors.New("secrets: no master key source configured")
}

// Keys returns the source's master keys, current first, then those of a
// rotation in progress (for backups, which may include them sealed).
func (s KeySource) Keys() ([][]byte, error) {
	cur, others, err := s.read()
	if err != nil {
		return nil, err
	}
	return append([][]byte{cur}, others...), nil
}

// decodeKey accepts 32 raw bytes or their base64 (std or URL, padded or not).
func decodeKey(b []byte) ([]byte, error) {
	if len(b) == secretbox.KeySize {
		return b, nil
	}
	t := strings.TrimSpace(string(b))
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if k, err := enc.DecodeString(t); err == nil && len(k) == secretbox.KeySize {
			return k, nil
		}
	}
	return nil, fmt.Errorf("want %d bytes (or their base64)", secretbox.KeySize)
}

// Box is a secretbox over the keyring's keys (the current one seals), for
// the server's other sealed values (provider API keys); it follows rotation.
func (k *Keyring) Box() (*secretbox.Box, error) {
	return secretbox.NewRing(func() ([][]byte, error) {
		if k.src != (KeySource{}) {
			if err := k.load(); err != nil {
				return nil, err
			}
		}
		k.mu.RLock()
		defer k.mu.RUnlock()
		out := [][]byte{k.keys[k.current]}
		for id, key := range k.keys {
			if id != k.current {
				out = append(out, key)
			}
		}
		return out, nil
	})
}

// CurrentID is the id of the master key that wraps new data keys.
func (k *Keyring) CurrentID() string {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.current
}

func (k *Keyring) key(id string) ([]byte, bool) {
	k.mu.RLock()
	defer k.mu.RUnlock()
	key, ok := k.keys[id]
	return key, ok
}

// wrapAEAD derives the data-key wrapping key from a master key (HKDF, its
// own purpose label, so the master key serves nothing else directly).
func wrapAEAD(master []byte) cipher.AEAD {
	sub, err := hkdf.Key(sha256.New, master, nil, "ecode/dek-wrap/v1", 32)
	if err != nil {
		panic(err) // only for impossible lengths
	}
	block, _ := aes.NewCipher(sub)
	aead, _ := cipher.NewGCMWithRandomNonce(block)
	return aead
}

// wrap seals a data key under the current master key; ad names its owner.
func (k *Keyring) wrap(dek []byte, ad []byte) (wrapped []byte, kekID string) {
	if k.src.File != "" && k.src.Env == "" && k.src.Command == "" {
		// a rotation may have installed a new key: wrap under it (rare: a new owner's first secret)
		_ = k.load() // on error the keys already loaded serve
	}
	k.mu.RLock()
	id, key := k.current, k.keys[k.current]
	k.mu.RUnlock()
	return wrapAEAD(key).Seal(nil, nil, dek, ad), id
}

// unwrap opens a data key wrapped under master key kekID, reading the key
// source again once when the id is unknown (a rotation happened).
func (k *Keyring) unwrap(wrapped []byte, kekID string, ad []byte) ([]byte, error) {
	key, ok := k.key(kekID)
	if !ok && k.src != (KeySource{}) {
		if err := k.load(); err != nil {
			return nil, err
		}
		key, ok = k.key(kekID)
	}
	if !ok {
		return nil, fmt.Errorf("%w (key id %s)", ErrUnknownKey, kekID)
	}
	dek, err := wrapAEAD(key).Open(nil, nil, wrapped, ad)
	if err != nil {
		return nil, ErrDecrypt
	}
	return dek, nil
}

// writeKeyFile writes key to path atomically (temporary file, sync, rename).
func writeKeyFile(path string, key []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".master.key-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(key); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return err
	}
	return syncDir(filepath.Dir(path))
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

func newKey() []byte {
	b := make([]byte, secretbox.KeySize)
	rand.Read(b)
	return b
}

// readKeyFile reads an existing key file (no creation).
func readKeyFile(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if len(b) != secretbox.KeySize {
		return nil, fmt.Errorf("%s has %d bytes, want %d", path, len(b), secretbox.KeySize)
	}
	return b, nil
}

func equalKeys(a, b []byte) bool { return bytes.Equal(a, b) }

func dirOf(path string) string { return filepath.Dir(path) }
