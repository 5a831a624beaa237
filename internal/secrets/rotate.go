package secrets

import (
	"context"
	"errors"
	"fmt"
	"os"

	"ecode/internal/secretbox"
	"ecode/internal/store"
)

// Reseal re-encrypts other values sealed under the master key (provider
// API keys) inside the rotation's transaction: open with from, seal with to.
type Reseal func(ctx context.Context, tx *store.Store, from, to *secretbox.Box) error

// Rotate replaces the master key in file with a new one while servers keep
// running: the current key is kept as file.old and the new one written to
// file.new (servers read both when they meet a key id they do not know);
// every data key is rewrapped under the new key in one transaction; then
// the new key is renamed over file, and file.old and file.new removed.
// An interrupted rotation is resumed by running it again. It returns the
// number of data keys rewrapped.
func Rotate(ctx context.Context, st *store.Store, file string, reseal Reseal) (int, error) {
	cur, err := readKeyFile(file)
	if err != nil {
		return 0, err
	}
	if cur == nil {
		return 0, fmt.Errorf("no master key at %s", file)
	}
	old, err := readKeyFile(oldPath(file))
	if err != nil {
		return 0, err
	}
	next, err := readKeyFile(newPath(file))
	if err != nil {
		return 0, err
	}
	if next == nil || equalKeys(next, cur) { // a fresh rotation
		if err := writeKeyFile(oldPath(file), cur); err != nil {
			return 0, fmt.Errorf("keep the old master key: %w", err)
		}
		next = newKey()
		if err := writeKeyFile(newPath(file), next); err != nil {
			return 0, fmt.Errorf("write the new master key: %w", err)
		}
	}
	known := [][]byte{next, cur}
	if old != nil {
		known = append(known, old)
	}
	ring := NewKeyring(known...)
	n := 0
	// Rewrap until no data key is left under another key: a server may
	// have made one under the old key while this ran.
	for pass := 0; ; pass++ {
		rewrapped, err := rewrapAll(ctx, st, ring, pass == 0, reseal, known)
		if err != nil {
			return n, err
		}
		n += rewrapped
		if rewrapped == 0 || pass >= 5 {
			break
		}
		if pass == 0 {
			if err := writeKeyFile(file, next); err != nil {
				return n, fmt.Errorf("install the new master key: %w", err)
			}
		}
	}
	if err := writeKeyFile(file, next); err != nil {
		return n, fmt.Errorf("install the new master key: %w", err)
	}
	for _, p := range []string{newPath(file), oldPath(file)} {
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			return n, err
		}
	}
	return n, syncDir(dirOf(file))
}

// rewrapAll rewraps, in one transaction, every data key not under ring's
// current key; with resealOthers it also reseals the other sealed values.
func rewrapAll(ctx context.Context, st *store.Store, ring *Keyring, resealOthers bool, reseal Reseal, known [][]byte) (int, error) {
	n := 0
	err := st.InTx(ctx, func(tx *store.Store) error {
		keys, err := tx.SecretDataKeys(ctx)
		if err != nil {
			return err
		}
		for _, k := range keys {
			if k.KekID == ring.CurrentID() {
				continue
			}
			dek, err := ring.unwrap(k.Wrapped, k.KekID, dekAD(k.Owner))
			if err != nil {
				return fmt.Errorf("data key of %s %s: %w", k.Owner.Scope, k.Owner.ID, err)
			}
			k.Wrapped, k.KekID = ring.wrap(dek, dekAD(k.Owner))
			if err := tx.UpdateSecretDataKey(ctx, k); err != nil {
				return err
			}
			n++
		}
		if !resealOthers || reseal == nil {
			return nil
		}
		from, err := secretbox.NewRing(func() ([][]byte, error) { return known[1:], nil })
		if err != nil {
			return err
		}
		to, err := secretbox.New(known[0])
		if err != nil {
			return err
		}
		return reseal(ctx, tx, from, to)
	})
	return n, err
}
