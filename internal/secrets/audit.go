package secrets

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"

	"ecode/internal/store"
)

// Audit actions.
const (
	ActionCreate  = "create"
	ActionUpdate  = "update"
	ActionDelete  = "delete"
	ActionReveal  = "reveal"
	ActionLink    = "link"
	ActionUnlink  = "unlink"
	ActionInject  = "inject" // detail: run | exec | terminal | agent, and the names
	ActionRestore = "restore"
)

// rowHash is SHA-256 over the previous row's hash and the row's canonical
// content: a changed, removed or reordered row breaks every hash after it.
func rowHash(a store.SecretAudit) string {
	h := sha256.New()
	h.Write([]byte(a.PrevHash))
	h.Write(canonical(strconv.FormatInt(a.Seq, 10), strconv.FormatInt(a.At.UnixMicro(), 10), a.Owner.Scope, a.Owner.ID,
		a.Action, a.Name, a.ActorID, a.Actor, a.Via, a.Client, a.Detail))
	return hex.EncodeToString(h.Sum(nil))
}

// ChainError says where the audit chain breaks.
type ChainError struct {
	Seq    int64
	Reason string
}

func (e *ChainError) Error() string { return fmt.Sprintf("audit row %d: %s", e.Seq, e.Reason) }

// VerifyChain checks a whole log, oldest first: sequence numbers without
// gaps from 1, each row's prev_hash equal to the row before's hash, each
// hash equal to the recomputed one. It returns nil or a *ChainError naming
// the first bad row. (A deleted last row looks like a log that ended one
// row earlier: compare with the count and head the server logs.)
func VerifyChain(rows []store.SecretAudit) error {
	prev := ""
	for i, a := range rows {
		want := int64(i + 1)
		switch {
		case a.Seq != want:
			return &ChainError{want, fmt.Sprintf("missing (the next row is %d): a row was deleted", a.Seq)}
		case a.PrevHash != prev:
			return &ChainError{a.Seq, "its link to the previous row does not match: the previous row was changed or removed"}
		case rowHash(a) != a.Hash:
			return &ChainError{a.Seq, "its content does not match its hash: the row was edited"}
		}
		prev = a.Hash
	}
	return nil
}
