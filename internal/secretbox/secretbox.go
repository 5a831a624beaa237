// Package secretbox encrypts small secrets (API keys) for storage with
// AES-256-GCM under the server's master key. A sealed value is
// version byte (1) ‖ 12-byte random nonce ‖ ciphertext+tag; the associated
// data binds a value to its purpose, so a value moved to another slot does
// not open.
package secretbox

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
)

// KeySize is the master key's length in bytes (AES-256).
const KeySize = 32

const version byte = 1

// ErrOpen is returned for a value that does not decrypt: tampered, truncated,
// of an unknown version, or sealed under another key.
var ErrOpen = errors.New("secretbox: the value does not open with this key")

// Box seals and opens values under one master key (or, made by NewRing,
// seals under the current one and opens with any it knows).
type Box struct {
	mu     sync.RWMutex
	aeads  []cipher.AEAD // [0] seals
	reload func() ([][]byte, error)
}

// New returns a Box for a 32-byte key.
func New(key []byte) (*Box, error) {
	aeads, err := newAEADs([][]byte{key})
	if err != nil {
		return nil, err
	}
	return &Box{aeads: aeads}, nil
}

// NewRing returns a Box over the keys keys returns, the first sealing. A
// value that opens with none of them makes the Box call keys again (the key
// files may have been rotated meanwhile) and retry once.
func NewRing(keys func() ([][]byte, error)) (*Box, error) {
	ks, err := keys()
	if err != nil {
		return nil, err
	}
	aeads, err := newAEADs(ks)
	if err != nil {
		return nil, err
	}
	return &Box{aeads: aeads, reload: keys}, nil
}

func newAEADs(keys [][]byte) ([]cipher.AEAD, error) {
	if len(keys) == 0 {
		return nil, errors.New("secretbox: no key")
	}
	var out []cipher.AEAD
	for _, key := range keys {
		if len(key) != KeySize {
			return nil, fmt.Errorf("secretbox: the key has %d bytes, want %d", len(key), KeySize)
		}
		block, err := aes.NewCipher(key)
		if err != nil {
			return nil, err
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, err
		}
		out = append(out, aead)
	}
	return out, nil
}

func (b *Box) sealer() cipher.AEAD {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return b.aeads[0]
}

// Seal encrypts plaintext; ad (may be nil) must be given again to Open.
func (b *Box) Seal(plaintext, ad []byte) []byte {
	aead := b.sealer()
	out := make([]byte, 1+aead.NonceSize(), 1+aead.NonceSize()+len(plaintext)+aead.Overhead())
	out[0] = version
	rand.Read(out[1:]) // never fails (crypto/rand)
	return aead.Seal(out, out[1:], plaintext, ad)
}

// Open decrypts a value made by Seal with the same associated data.
func (b *Box) Open(sealed, ad []byte) ([]byte, error) {
	pt, err := b.open(sealed, ad)
	if err != nil && b.reload != nil {
		if ks, rerr := b.reload(); rerr == nil {
			if aeads, rerr := newAEADs(ks); rerr == nil {
				b.mu.Lock()
				b.aeads = aeads
				b.mu.Unlock()
				return b.open(sealed, ad)
			}
		}
	}
	return pt, err
}

func (b *Box) open(sealed, ad []byte) ([]byte, error) {
	b.mu.RLock()
	aeads := b.aeads
	b.mu.RUnlock()
	for _, aead := range aeads {
		n := aead.NonceSize()
		if len(sealed) < 1+n+aead.Overhead() || sealed[0] != version {
			return nil, ErrOpen
		}
		if pt, err := aead.Open(nil, sealed[1:1+n], sealed[1+n:], ad); err == nil {
			return pt, nil
		}
	}
	return nil, ErrOpen
}

// SealString seals a string and encodes the result as base64 text.
func (b *Box) SealString(plaintext, ad string) string {
	return base64.StdEncoding.EncodeToString(b.Seal([]byte(plaintext), []byte(ad)))
}

// OpenString opens a value made by SealString.
func (b *Box) OpenString(sealed, ad string) (string, error) {
	raw, err := base64.StdEncoding.DecodeString(sealed)
	if err != nil {
		return "", ErrOpen
	}
	pt, err := b.Open(raw, []byte(ad))
	return string(pt), err
}

// LoadOrCreateKey reads the master key at path, or creates it (32 random
// bytes, mode 0600) when the file does not exist. The key is written to a
// temporary file and linked into place, so a concurrent starter never reads
// a partial key and both end up with the same one.
func LoadOrCreateKey(path string) ([]byte, error) {
	key, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		if err := create(path); err != nil {
			return nil, err
		}
		key, err = os.ReadFile(path)
	}
	if err != nil {
		return nil, fmt.Errorf("read master key: %w", err)
	}
	if len(key) != KeySize {
		return nil, fmt.Errorf("master key %s has %d bytes, want %d", path, len(key), KeySize)
	}
	return key, nil
}

func create(path string) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".master.key-*")
	if err != nil {
		return fmt.Errorf("create master key: %w", err)
	}
	defer os.Remove(f.Name())
	key := make([]byte, KeySize)
	rand.Read(key)
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return fmt.Errorf("create master key: %w", err)
	}
	if _, err := f.Write(key); err != nil {
		f.Close()
		return fmt.Errorf("write master key: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("write master key: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write master key: %w", err)
	}
	if err := os.Link(f.Name(), path); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("install master key: %w", err)
	}
	return nil
}

// OpenFile loads (or creates) the master key at path and returns its Box.
func OpenFile(path string) (*Box, error) {
	key, err := LoadOrCreateKey(path)
	if err != nil {
		return nil, err
	}
	return New(key)
}
