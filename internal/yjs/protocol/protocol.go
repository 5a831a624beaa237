// Package protocol encodes and decodes y-protocols messages as spoken by
// y-websocket: sync (step 1, step 2, update), awareness, auth and
// query-awareness. Every WebSocket frame carries exactly one message.
// Decoding never panics; malformed input yields an error.
package protocol

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"ecode/internal/yjs"
)

// Outer message types.
const (
	MessageSync           = 0
	MessageAwareness      = 1
	MessageAuth           = 2
	MessageQueryAwareness = 3
)

// Sync message sub-types.
const (
	SyncStep1  = 0
	SyncStep2  = 1
	SyncUpdate = 2
)

// AuthPermissionDenied is the only auth sub-type y-protocols defines.
const AuthPermissionDenied = 0

// ErrUnknownMessage reports an outer message type this package does not
// know; the reference server ignores such messages.
var ErrUnknownMessage = errors.New("protocol: unknown message type")

// Message is a decoded y-protocols message.
type Message struct {
	Type     uint64 // MessageSync, MessageAwareness, ...
	SyncType uint64 // for MessageSync: SyncStep1, SyncStep2 or SyncUpdate
	// Payload is the state vector (SyncStep1), the update (SyncStep2,
	// SyncUpdate) or the awareness update (MessageAwareness). It aliases
	// the input.
	Payload []byte
	// StateVector is the decoded Payload of a SyncStep1.
	StateVector yjs.StateVector
	// Awareness is the decoded Payload of a MessageAwareness.
	Awareness []AwarenessEntry
	// AuthType and AuthReason are set for MessageAuth.
	AuthType   uint64
	AuthReason string
}

// Decode decodes one message. Trailing bytes are ignored (as y-websocket
// does). Updates inside sync messages are only framed here; decode them
// with yjs.DecodeUpdate or apply them with Doc.ApplyUpdate.
func Decode(b []byte) (*Message, error) {
	d := yjs.NewDecoder(b)
	t, err := d.ReadVarUint()
	if err != nil {
		return nil, err
	}
	m := &Message{Type: t}
	switch t {
	case MessageSync:
		if m.SyncType, err = d.ReadVarUint(); err != nil {
			return nil, err
		}
		if m.SyncType > SyncUpdate {
			return nil, fmt.Errorf("protocol: unknown sync message type %d", m.SyncType)
		}
		if m.Payload, err = d.ReadVarBytes(); err != nil {
			return nil, err
		}
		if m.SyncType == SyncStep1 {
			if m.StateVector, err = yjs.DecodeStateVector(m.Payload); err != nil {
				return nil, err
			}
		}
	case MessageAwareness:
		if m.Payload, err = d.ReadVarBytes(); err != nil {
			return nil, err
		}
		if m.Awareness, err = DecodeAwarenessUpdate(m.Payload); err != nil {
			return nil, err
		}
	case MessageAuth:
		if m.AuthType, err = d.ReadVarUint(); err != nil {
			return nil, err
		}
		if m.AuthReason, err = d.ReadVarString(); err != nil {
			return nil, err
		}
	case MessageQueryAwareness:
	default:
		return m, fmt.Errorf("%w %d", ErrUnknownMessage, t)
	}
	return m, nil
}

func frame(outer, sub uint64, payload []byte) []byte {
	e := yjs.NewEncoder()
	e.WriteVarUint(outer)
	e.WriteVarUint(sub)
	e.WriteVarBytes(payload)
	return e.Bytes()
}

// EncodeSyncStep1 frames an encoded state vector as SyncStep1.
func EncodeSyncStep1(stateVector []byte) []byte { return frame(MessageSync, SyncStep1, stateVector) }

// EncodeSyncStep2 frames an update as SyncStep2 (the reply to SyncStep1).
func EncodeSyncStep2(update []byte) []byte { return frame(MessageSync, SyncStep2, update) }

// EncodeUpdate frames an update as a sync Update message.
func EncodeUpdate(update []byte) []byte { return frame(MessageSync, SyncUpdate, update) }

// UpdateOf returns the update a sync Update message (as EncodeUpdate
// makes it) carries, without decoding anything else; ok is false for any
// other message.
func UpdateOf(msg []byte) (update []byte, ok bool) {
	if len(msg) < 3 || msg[0] != MessageSync || msg[1] != SyncUpdate {
		return nil, false
	}
	u, err := yjs.NewDecoder(msg[2:]).ReadVarBytes()
	return u, err == nil
}

// EncodeAwareness frames an encoded awareness update.
func EncodeAwareness(awarenessUpdate []byte) []byte {
	e := yjs.NewEncoder()
	e.WriteVarUint(MessageAwareness)
	e.WriteVarBytes(awarenessUpdate)
	return e.Bytes()
}

// EncodeQueryAwareness returns the query-awareness message.
func EncodeQueryAwareness() []byte { return []byte{MessageQueryAwareness} }

// EncodePermissionDenied returns an auth message denying permission.
func EncodePermissionDenied(reason string) []byte {
	e := yjs.NewEncoder()
	e.WriteVarUint(MessageAuth)
	e.WriteVarUint(AuthPermissionDenied)
	e.WriteVarString(reason)
	return e.Bytes()
}

// AwarenessEntry is one client's awareness state. State is the JSON text
// of the state; "null" means the client is gone.
type AwarenessEntry struct {
	ClientID uint64
	Clock    uint64
	State    string
}

// Removed reports whether the entry announces that the client left.
func (e AwarenessEntry) Removed() bool { return strings.TrimSpace(e.State) == "null" }

// DecodeAwarenessUpdate decodes an awareness update payload. States must
// be valid JSON (y-protocols parses them).
func DecodeAwarenessUpdate(b []byte) ([]AwarenessEntry, error) {
	d := yjs.NewDecoder(b)
	n, err := d.ReadVarUint()
	if err != nil {
		return nil, err
	}
	out := make([]AwarenessEntry, 0, min(n, uint64(d.Remaining()/3)))
	for i := uint64(0); i < n; i++ {
		var a AwarenessEntry
		if a.ClientID, err = d.ReadVarUint(); err != nil {
			return nil, err
		}
		if a.Clock, err = d.ReadVarUint(); err != nil {
			return nil, err
		}
		if a.State, err = d.ReadVarString(); err != nil {
			return nil, err
		}
		if !json.Valid([]byte(a.State)) {
			return nil, fmt.Errorf("protocol: awareness state of client %d is not JSON", a.ClientID)
		}
		out = append(out, a)
	}
	return out, nil
}

// EncodeAwarenessUpdate encodes awareness entries.
func EncodeAwarenessUpdate(entries []AwarenessEntry) []byte {
	e := yjs.NewEncoder()
	e.WriteVarUint(uint64(len(entries)))
	for _, a := range entries {
		e.WriteVarUint(a.ClientID)
		e.WriteVarUint(a.Clock)
		e.WriteVarString(a.State)
	}
	return e.Bytes()
}
