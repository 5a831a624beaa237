package protocol

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"testing"

	"ecode/internal/yjs"
)

func vectors(t testing.TB) map[string][]byte {
	raw, err := os.ReadFile("../testdata/vectors-yjs-13.6.33.json")
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]string
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for k, v := range m {
		out[k], _ = hex.DecodeString(v)
	}
	return out
}

func TestSyncVectors(t *testing.T) {
	v := vectors(t)
	sv := yjs.EncodeStateVector(yjs.StateVector{3: 1, 2: 1, 1: 6})
	if got := EncodeSyncStep1(sv); !bytes.Equal(got, v["4-ws-sync-step1-from-doc-a"]) {
		t.Errorf("step1 %x", got)
	}
	if got := EncodeSyncStep1(yjs.NewDoc().StateVector()); !bytes.Equal(got, v["4b-ws-sync-step1-empty-doc"]) {
		t.Errorf("step1 empty %x", got)
	}
	if got := EncodeSyncStep2([]byte{0, 0}); !bytes.Equal(got, v["4d-ws-sync-step2-nothing-new"]) {
		t.Errorf("step2 %x", got)
	}
	m, err := Decode(v["4-ws-sync-step1-from-doc-a"])
	if err != nil || m.Type != MessageSync || m.SyncType != SyncStep1 || m.StateVector[1] != 6 || len(m.StateVector) != 3 {
		t.Fatalf("decode step1: %+v %v", m, err)
	}
	m, err = Decode(v["4e-ws-update-message"])
	if err != nil || m.SyncType != SyncUpdate || !bytes.Equal(EncodeUpdate(m.Payload), v["4e-ws-update-message"]) {
		t.Fatalf("update: %+v %v", m, err)
	}
	d := yjs.NewDoc()
	if err := d.ApplyUpdate(m.Payload); err != nil || d.Text("t") != "A" {
		t.Fatalf("apply %v %q", err, d.Text("t"))
	}
	// server answering an empty peer's SyncStep1
	for _, name := range []string{"4c-ws-sync-step2-doc-e1-to-empty", "4f-ws-sync-step2-peer-up-to-date-but-deletes-exist"} {
		m, err := Decode(v[name])
		if err != nil || m.SyncType != SyncStep2 || !bytes.Equal(EncodeSyncStep2(m.Payload), v[name]) {
			t.Fatalf("%s: %+v %v", name, m, err)
		}
	}
	// a doc holding 4c's content answers an empty SyncStep1 with 4c
	m, _ = Decode(v["4c-ws-sync-step2-doc-e1-to-empty"])
	d = yjs.NewDoc()
	if err := d.ApplyUpdate(m.Payload); err != nil {
		t.Fatal(err)
	}
	up, err := d.EncodeStateAsUpdate([]byte{0})
	if err != nil || !bytes.Equal(EncodeSyncStep2(up), v["4c-ws-sync-step2-doc-e1-to-empty"]) {
		t.Fatalf("step2 reply %x %v", EncodeSyncStep2(up), err)
	}
}

func TestAwarenessVectors(t *testing.T) {
	v := vectors(t)
	m, err := Decode(v["5b-ws-awareness-message"])
	if err != nil || m.Type != MessageAwareness || len(m.Awareness) != 1 {
		t.Fatalf("%+v %v", m, err)
	}
	a := m.Awareness[0]
	if a.ClientID != 1234567 || a.Clock != 1 || a.State != `{"user":{"name":"ann","color":"#f00"}}` {
		t.Fatalf("%+v", a)
	}
	if got := EncodeAwareness(EncodeAwarenessUpdate(m.Awareness)); !bytes.Equal(got, v["5b-ws-awareness-message"]) {
		t.Fatalf("%x", got)
	}
	rm, err := DecodeAwarenessUpdate(v["5c-awareness-removal-payload"])
	if err != nil || len(rm) != 1 || !rm[0].Removed() || rm[0].Clock != 2 {
		t.Fatalf("%+v %v", rm, err)
	}
	q, err := Decode(v["5d-ws-query-awareness"])
	if err != nil || q.Type != MessageQueryAwareness || !bytes.Equal(EncodeQueryAwareness(), v["5d-ws-query-awareness"]) {
		t.Fatalf("%+v %v", q, err)
	}
}

func TestAwarenessRules(t *testing.T) {
	aw := NewAwareness()
	if got := aw.Apply([]AwarenessEntry{{1, 0, "{}"}}); len(got) != 0 {
		t.Fatal("clock 0 must be ignored for unknown clients")
	}
	if got := aw.Apply([]AwarenessEntry{{1, 1, `{"a":1}`}}); len(got) != 1 {
		t.Fatal("newer clock must be accepted")
	}
	if got := aw.Apply([]AwarenessEntry{{1, 1, `{"a":1}`}}); len(got) != 0 {
		t.Fatal("echo must be a no-op")
	}
	if got := aw.Apply([]AwarenessEntry{{1, 1, "null"}}); len(got) != 1 || len(aw.States()) != 0 {
		t.Fatal("equal-clock removal of a present client must be accepted")
	}
	if got := aw.Apply([]AwarenessEntry{{1, 1, "null"}}); len(got) != 0 {
		t.Fatal("repeated removal must be a no-op")
	}
	aw.Apply([]AwarenessEntry{{2, 5, `{}`}})
	rm := aw.Remove([]uint64{2, 3})
	if len(rm) != 1 || rm[0] != (AwarenessEntry{2, 5, "null"}) {
		t.Fatalf("%+v", rm)
	}
}

func TestAuth(t *testing.T) {
	m, err := Decode(EncodePermissionDenied("no"))
	if err != nil || m.Type != MessageAuth || m.AuthType != AuthPermissionDenied || m.AuthReason != "no" {
		t.Fatalf("%+v %v", m, err)
	}
}

func TestHostileMessages(t *testing.T) {
	bad := [][]byte{
		{}, {0}, {0, 0}, {0, 0, 5, 1}, {0, 3, 0}, {1, 2, 1}, {1, 4, 1, 1, 1, 9},
		{1, 5, 1, 1, 1, 1, '{'}, {2, 0, 3, 'a'}, {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f},
		{0, 0, 3, 1, 1}, {1, 6, 1, 1, 1, 2, 0xc3, 0x28},
	}
	for _, b := range bad {
		if _, err := Decode(b); err == nil {
			t.Errorf("%x: expected error", b)
		}
	}
	if _, err := Decode([]byte{9}); !errors.Is(err, ErrUnknownMessage) {
		t.Errorf("unknown type: %v", err)
	}
}

func FuzzProtocolMessage(f *testing.F) {
	for _, b := range vectors(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Decode(b)
		// UpdateOf takes what Decode takes as an update (bar non-minimal
		// varints, which no encoder writes)
		if u, ok := UpdateOf(b); ok && (err != nil || m.SyncType != SyncUpdate || !bytes.Equal(u, m.Payload)) {
			t.Fatalf("UpdateOf %x = %x, %v; Decode: %+v, %v", b, u, ok, m, err)
		}
		if err != nil {
			return
		}
		var re []byte
		switch m.Type {
		case MessageSync:
			re = frame(MessageSync, m.SyncType, m.Payload)
		case MessageAwareness:
			re = EncodeAwareness(EncodeAwarenessUpdate(m.Awareness))
		default:
			return
		}
		m2, err := Decode(re)
		if err != nil || m2.Type != m.Type || m2.SyncType != m.SyncType || len(m2.Awareness) != len(m.Awareness) {
			t.Fatalf("re-decode: %v", err)
		}
		if m.Type == MessageSync && m.SyncType != SyncStep1 {
			d := yjs.NewDoc()
			_ = d.ApplyUpdate(m.Payload)
		}
	})
}

func TestHandleSync(t *testing.T) {
	v := vectors(t)
	server := yjs.NewDoc()
	// a client sends its update: the server integrates and reports it
	m, _ := Decode(v["4e-ws-update-message"])
	reply, integrated, err := HandleSync(server, m)
	if err != nil || reply != nil || !bytes.Equal(EncodeUpdate(integrated), v["4e-ws-update-message"]) {
		t.Fatalf("update: %x %x %v", reply, integrated, err)
	}
	// the same update again changes nothing
	if _, integrated, err = HandleSync(server, m); err != nil || integrated != nil {
		t.Fatalf("duplicate: %x %v", integrated, err)
	}
	// a new client's empty SyncStep1 gets everything
	m, _ = Decode(v["4b-ws-sync-step1-empty-doc"])
	reply, _, err = HandleSync(server, m)
	if err != nil {
		t.Fatal(err)
	}
	r, err := Decode(reply)
	if err != nil || r.SyncType != SyncStep2 {
		t.Fatalf("%v", err)
	}
	client := yjs.NewDoc()
	if err := client.ApplyUpdate(r.Payload); err != nil || client.Text("t") != "A" {
		t.Fatalf("client: %q %v", client.Text("t"), err)
	}
	if _, _, err := HandleSync(server, &Message{Type: MessageAwareness}); err == nil {
		t.Fatal("awareness accepted as sync")
	}
}
