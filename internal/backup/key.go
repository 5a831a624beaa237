package backup

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"

	"golang.org/x/crypto/argon2"
)

// keyName is the archive entry of the sealed master keys.
const keyName = "key/master-keys.sealed"

// ErrPassphrase means the passphrase does not open the archive's master key.
var ErrPassphrase = errors.New("the passphrase does not open the archive's master key")

// sealedKeys is the master key(s) (current first, then those of a
// rotation in progress) encrypted with AES-256-GCM under a key derived
// from the operator's passphrase with argon2id.
type sealedKeys struct {
	KDF       string `json:"kdf"`
	Time      uint32 `json:"time"`
	MemoryKiB uint32 `json:"memory_kib"`
	Threads   uint8  `json:"threads"`
	Salt      []byte `json:"salt"`
	Nonce     []byte `json:"nonce"`
	Sealed    []byte `json:"sealed"`
}

var keyAD = []byte("ecode backup master keys v1")

// MinPassphrase is the shortest passphrase accepted for sealing the key.
const MinPassphrase = 12

func (s *sealedKeys) aead(pass []byte) (cipher.AEAD, error) {
	k := argon2.IDKey(pass, s.Salt, s.Time, s.MemoryKiB, s.Threads, 32)
	block, err := aes.NewCipher(k)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

func sealKeys(keys [][]byte, pass []byte) ([]byte, error) {
	if len(pass) < MinPassphrase {
		return nil, fmt.Errorf("backup: the passphrase must have at least %d characters", MinPassphrase)
	}
	s := sealedKeys{KDF: "argon2id", Time: 3, MemoryKiB: 64 << 10, Threads: 2, Salt: make([]byte, 16), Nonce: make([]byte, 12)}
	rand.Read(s.Salt)
	rand.Read(s.Nonce)
	gcm, err := s.aead(pass)
	if err != nil {
		return nil, err
	}
	var plain []byte
	for _, k := range keys {
		plain = append(plain, k...)
	}
	s.Sealed = gcm.Seal(nil, s.Nonce, plain, keyAD)
	return json.Marshal(s)
}

func openKeys(b, pass []byte) ([][]byte, error) {
	var s sealedKeys
	if err := json.Unmarshal(b, &s); err != nil || s.KDF != "argon2id" || len(s.Nonce) != 12 {
		return nil, corrupt("the sealed master key is not readable")
	}
	if s.MemoryKiB > 1<<18 || s.Time > 10 || s.Threads == 0 {
		return nil, corrupt("the sealed master key asks for unreasonable argon2id parameters")
	}
	gcm, err := s.aead(pass)
	if err != nil {
		return nil, err
	}
	plain, err := gcm.Open(nil, s.Nonce, s.Sealed, keyAD)
	if err != nil {
		return nil, ErrPassphrase
	}
	if len(plain) == 0 || len(plain)%32 != 0 {
		return nil, corrupt("the sealed master key has %d bytes", len(plain))
	}
	var keys [][]byte
	for i := 0; i < len(plain); i += 32 {
		keys = append(keys, plain[i:i+32])
	}
	return keys, nil
}
