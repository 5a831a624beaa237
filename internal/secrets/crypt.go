// Package secrets keeps project and account secrets: values encrypted
// under a data key per owner (envelope encryption: data keys wrapped by
// the master key, values AES-256-GCM bound to their identity), versions,
// account secrets linked into projects, injection into sandboxed
// processes as environment variables, masking of every value (and its
// common encodings) in output, and an append-only, hash-chained audit log.
package secrets

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"strconv"

	"ecode/internal/store"
)

// formatV1 is the first byte of every stored ciphertext.
const formatV1 byte = 1

// Identity names one stored version of a secret; it is the associated data
// of its ciphertext, so a ciphertext moved to another row, name, version,
// project or account does not decrypt.
type Identity struct {
	Owner   store.SecretOwner
	Name    string
	Version int64
}

// ad is a canonical, length-prefixed encoding of the identity.
func (id Identity) ad() []byte {
	return canonical("ecs1", id.Owner.Scope, id.Owner.ID, id.Name, strconv.FormatInt(id.Version, 10))
}

// dekAD binds a wrapped data key to its owner.
func dekAD(o store.SecretOwner) []byte { return canonical("ecdek1", o.Scope, o.ID) }

// canonical length-prefixes each field (no separator can be forged).
func canonical(fields ...string) []byte {
	var b []byte
	for _, f := range fields {
		b = binary.BigEndian.AppendUint32(b, uint32(len(f)))
		b = append(b, f...)
	}
	return b
}

func valueAEAD(dek []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(dek)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCMWithRandomNonce(block)
}

// seal encrypts a value of id under dek: formatV1 ‖ nonce ‖ ciphertext ‖ tag.
func seal(dek []byte, id Identity, value []byte) ([]byte, error) {
	aead, err := valueAEAD(dek)
	if err != nil {
		return nil, err
	}
	return aead.Seal([]byte{formatV1}, nil, value, id.ad()), nil
}

// open decrypts a value sealed for id; any change fails with ErrDecrypt.
func open(dek []byte, id Identity, ct []byte) ([]byte, error) {
	aead, err := valueAEAD(dek)
	if err != nil {
		return nil, err
	}
	if len(ct) < 1 || ct[0] != formatV1 {
		return nil, ErrDecrypt
	}
	v, err := aead.Open(nil, nil, ct[1:], id.ad())
	if err != nil {
		return nil, ErrDecrypt
	}
	return v, nil
}
