package yjs

import (
	"bytes"
	"math"
	"testing"
)

func TestLib0Golden(t *testing.T) {
	v := loadVectors(t)
	e := NewEncoder()
	for _, n := range []uint64{0, 127, 128, 300, 1<<32 - 1} {
		e.WriteVarUint(n)
	}
	if !bytes.Equal(e.Bytes(), v["11-varUint-0-127-128-300-2^32-1"]) {
		t.Errorf("varUint %x", e.Bytes())
	}
	e = NewEncoder()
	for _, n := range []int64{0, 63, 64, -1, -64, -65} {
		e.WriteVarInt(n)
	}
	if !bytes.Equal(e.Bytes(), v["11b-varInt-0-63-64-m1-m64-m65"]) {
		t.Errorf("varInt %x", e.Bytes())
	}
	e = NewEncoder()
	e.WriteVarString("é😀")
	if !bytes.Equal(e.Bytes(), v["11c-varString-e-acute-emoji"]) {
		t.Errorf("varString %x", e.Bytes())
	}
	e = NewEncoder()
	for _, a := range []any{Undefined{}, nil, 5, -5, 1.5, 0.1, BigInt(1 << 40), false, true, "x",
		map[string]any{"a": 1}, []any{1}, []byte{9}, float64(1 << 31), 1<<31 - 1} {
		e.WriteAny(a)
	}
	if !bytes.Equal(e.Bytes(), v["11d-writeAny-sequence"]) {
		t.Errorf("any\n got %x\nwant %x", e.Bytes(), v["11d-writeAny-sequence"])
	}
	d := NewDecoder(v["11d-writeAny-sequence"])
	want := []any{Undefined{}, nil, int64(5), int64(-5), 1.5, 0.1, BigInt(1 << 40), false, true, "x"}
	for _, w := range want {
		got, err := d.ReadAny()
		if err != nil || got != w {
			t.Fatalf("ReadAny %v (%T) want %v: %v", got, got, w, err)
		}
	}
}

func TestLib0Decode(t *testing.T) {
	d := NewDecoder([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0f})
	if v, err := d.ReadVarUint(); err != nil || v != MaxSafeInteger {
		t.Fatalf("2^53-1: %d %v", v, err)
	}
	for _, b := range [][]byte{
		{0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x10}, // 2^53
		{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01},
	} {
		if _, err := NewDecoder(b).ReadVarUint(); err != ErrIntOverflow {
			t.Errorf("%x: %v", b, err)
		}
	}
	if _, err := NewDecoder([]byte{0x80}).ReadVarUint(); err != ErrUnexpectedEOF {
		t.Errorf("truncated: %v", err)
	}
	if _, err := NewDecoder([]byte{2, 0xc3, 0x28}).ReadVarString(); err != ErrInvalidUTF8 {
		t.Errorf("utf8: %v", err)
	}
	if _, err := NewDecoder([]byte{5, 'a'}).ReadVarString(); err != ErrUnexpectedEOF {
		t.Errorf("short string: %v", err)
	}
	if v, err := NewDecoder([]byte{0x7d, 0x40}).ReadAny(); err != nil || !math.Signbit(v.(float64)) {
		t.Errorf("-0: %v %v", v, err)
	}
	if _, err := NewDecoder([]byte{0x10}).ReadAny(); err == nil {
		t.Error("unknown any tag accepted")
	}
	deep := bytes.Repeat([]byte{0x75, 0x01}, MaxAnyDepth+2)
	if _, err := NewDecoder(append(deep, 0x7e)).ReadAny(); err == nil {
		t.Error("deep nesting accepted")
	}
	// lone surrogates are written as U+FFFD, like TextEncoder
	e := NewEncoder()
	e.WriteVarUTF16([]uint16{'a', 0xd83d, 'b', 0xde00})
	if !bytes.Equal(e.Bytes(), []byte{8, 'a', 0xef, 0xbf, 0xbd, 'b', 0xef, 0xbf, 0xbd}) {
		t.Errorf("lone surrogates %x", e.Bytes())
	}
	if UTF16Len("a😀é") != 4 {
		t.Error("UTF16Len")
	}
}
