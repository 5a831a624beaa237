package protocol

import (
	"fmt"

	"ecode/internal/yjs"
)

// HandleSync applies a decoded sync message to doc the way y-protocols
// readSyncMessage does. For SyncStep1 it returns the SyncStep2 reply (for
// the sender only). For SyncStep2 and Update it integrates the update and
// returns what was actually integrated (nil if nothing changed), to be
// broadcast as EncodeUpdate(integrated) and persisted.
func HandleSync(doc *yjs.Doc, m *Message) (reply, integrated []byte, err error) {
	if m.Type != MessageSync {
		return nil, nil, fmt.Errorf("protocol: not a sync message (type %d)", m.Type)
	}
	switch m.SyncType {
	case SyncStep1:
		up, err := doc.EncodeStateAsUpdate(m.Payload)
		if err != nil {
			return nil, nil, err
		}
		return EncodeSyncStep2(up), nil, nil
	case SyncStep2, SyncUpdate:
		integrated, err = doc.ApplyUpdateEmit(m.Payload)
		return nil, integrated, err
	}
	return nil, nil, fmt.Errorf("protocol: unknown sync message type %d", m.SyncType)
}
