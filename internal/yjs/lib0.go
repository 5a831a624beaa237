package yjs

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"unicode/utf16"
	"unicode/utf8"
)

// MaxSafeInteger is the largest integer lib0 accepts in a varUint (2^53-1).
const MaxSafeInteger = 1<<53 - 1

// Decoding errors.
var (
	ErrUnexpectedEOF = errors.New("yjs: unexpected end of data")
	ErrIntOverflow   = errors.New("yjs: integer out of range")
	ErrInvalidUTF8   = errors.New("yjs: invalid UTF-8 in string")
)

// Encoder appends lib0-encoded values to a byte slice.
type Encoder struct {
	buf []byte
	// lazy writes items the way yjs re-encodes decoded structs (in
	// mergeUpdates): the 0x20 flag only where the key is on the wire.
	lazy bool
}

// NewEncoder returns an empty encoder.
func NewEncoder() *Encoder { return &Encoder{} }

// Bytes returns the encoded bytes.
func (e *Encoder) Bytes() []byte { return e.buf }

// Len returns the number of encoded bytes.
func (e *Encoder) Len() int { return len(e.buf) }

// WriteUint8 appends one byte.
func (e *Encoder) WriteUint8(b byte) { e.buf = append(e.buf, b) }

// WriteRaw appends bytes as they are.
func (e *Encoder) WriteRaw(b []byte) { e.buf = append(e.buf, b...) }

// WriteVarUint appends an unsigned lib0 varint.
func (e *Encoder) WriteVarUint(v uint64) {
	for v >= 0x80 {
		e.buf = append(e.buf, byte(v)|0x80)
		v >>= 7
	}
	e.buf = append(e.buf, byte(v))
}

// WriteVarInt appends a signed lib0 varint (sign-magnitude, sign in bit 6
// of the first byte).
func (e *Encoder) WriteVarInt(v int64) {
	neg := v < 0
	var m uint64
	if neg {
		m = uint64(-v)
	} else {
		m = uint64(v)
	}
	e.writeVarIntMag(m, neg)
}

func (e *Encoder) writeVarIntMag(m uint64, neg bool) {
	b := byte(m & 0x3f)
	if neg {
		b |= 0x40
	}
	m >>= 6
	if m > 0 {
		b |= 0x80
	}
	e.buf = append(e.buf, b)
	for m > 0 {
		b = byte(m & 0x7f)
		m >>= 7
		if m > 0 {
			b |= 0x80
		}
		e.buf = append(e.buf, b)
	}
}

// WriteVarString appends a varUint byte length followed by UTF-8 bytes.
func (e *Encoder) WriteVarString(s string) {
	e.WriteVarUint(uint64(len(s)))
	e.buf = append(e.buf, s...)
}

// WriteVarUTF16 writes UTF-16 code units as a varString; lone surrogates
// become U+FFFD like the JavaScript TextEncoder does.
func (e *Encoder) WriteVarUTF16(s []uint16) {
	n := utf16UTF8Len(s)
	e.WriteVarUint(uint64(n))
	e.buf = appendUTF16AsUTF8(e.buf, s)
}

// WriteVarBytes appends a varUint length followed by the bytes.
func (e *Encoder) WriteVarBytes(b []byte) {
	e.WriteVarUint(uint64(len(b)))
	e.buf = append(e.buf, b...)
}

// WriteFloat32 appends a big-endian IEEE-754 float32.
func (e *Encoder) WriteFloat32(f float32) {
	e.buf = binary.BigEndian.AppendUint32(e.buf, math.Float32bits(f))
}

// WriteFloat64 appends a big-endian IEEE-754 float64.
func (e *Encoder) WriteFloat64(f float64) {
	e.buf = binary.BigEndian.AppendUint64(e.buf, math.Float64bits(f))
}

// WriteBigInt64 appends a big-endian two's complement int64.
func (e *Encoder) WriteBigInt64(v int64) {
	e.buf = binary.BigEndian.AppendUint64(e.buf, uint64(v))
}

// Decoder reads lib0-encoded values; every read is bounds-checked.
type Decoder struct {
	buf []byte
	pos int
}

// NewDecoder returns a decoder over b.
func NewDecoder(b []byte) *Decoder { return &Decoder{buf: b} }

// Remaining reports the number of unread bytes.
func (d *Decoder) Remaining() int { return len(d.buf) - d.pos }

// Pos returns the read offset.
func (d *Decoder) Pos() int { return d.pos }

// ReadUint8 reads one byte.
func (d *Decoder) ReadUint8() (byte, error) {
	if d.pos >= len(d.buf) {
		return 0, ErrUnexpectedEOF
	}
	b := d.buf[d.pos]
	d.pos++
	return b, nil
}

// ReadVarUint reads an unsigned varint, rejecting values above 2^53-1.
func (d *Decoder) ReadVarUint() (uint64, error) {
	var v uint64
	var shift uint
	for d.pos < len(d.buf) {
		b := d.buf[d.pos]
		d.pos++
		if shift >= 56 {
			return 0, ErrIntOverflow
		}
		v |= uint64(b&0x7f) << shift
		if v > MaxSafeInteger {
			return 0, ErrIntOverflow
		}
		if b < 0x80 {
			return v, nil
		}
		shift += 7
	}
	return 0, ErrUnexpectedEOF
}

// ReadVarInt reads a signed varint (sign-magnitude).
func (d *Decoder) ReadVarInt() (int64, error) {
	v, _, err := d.readVarIntNeg()
	return v, err
}

// readVarIntNeg also reports the sign bit so that -0 can be told apart.
func (d *Decoder) readVarIntNeg() (int64, bool, error) {
	b, err := d.ReadUint8()
	if err != nil {
		return 0, false, err
	}
	m := uint64(b & 0x3f)
	neg := b&0x40 != 0
	shift := uint(6)
	for b&0x80 != 0 {
		if b, err = d.ReadUint8(); err != nil {
			return 0, false, err
		}
		if shift >= 56 {
			return 0, false, ErrIntOverflow
		}
		m |= uint64(b&0x7f) << shift
		if m > MaxSafeInteger {
			return 0, false, ErrIntOverflow
		}
		shift += 7
	}
	if neg {
		return -int64(m), true, nil
	}
	return int64(m), false, nil
}

// ReadBytes reads exactly n raw bytes (aliasing the input).
func (d *Decoder) ReadBytes(n uint64) ([]byte, error) {
	if n > uint64(len(d.buf)-d.pos) {
		return nil, ErrUnexpectedEOF
	}
	b := d.buf[d.pos : d.pos+int(n)]
	d.pos += int(n)
	return b, nil
}

// ReadVarBytes reads a varUint length and that many bytes (aliasing the input).
func (d *Decoder) ReadVarBytes() ([]byte, error) {
	n, err := d.ReadVarUint()
	if err != nil {
		return nil, err
	}
	return d.ReadBytes(n)
}

// ReadVarString reads a varString and rejects invalid UTF-8 (like the fatal
// TextDecoder used by lib0).
func (d *Decoder) ReadVarString() (string, error) {
	b, err := d.ReadVarBytes()
	if err != nil {
		return "", err
	}
	if !utf8.Valid(b) {
		return "", ErrInvalidUTF8
	}
	return string(b), nil
}

// ReadFloat32 reads a big-endian float32.
func (d *Decoder) ReadFloat32() (float32, error) {
	b, err := d.ReadBytes(4)
	if err != nil {
		return 0, err
	}
	return math.Float32frombits(binary.BigEndian.Uint32(b)), nil
}

// ReadFloat64 reads a big-endian float64.
func (d *Decoder) ReadFloat64() (float64, error) {
	b, err := d.ReadBytes(8)
	if err != nil {
		return 0, err
	}
	return math.Float64frombits(binary.BigEndian.Uint64(b)), nil
}

// ReadBigInt64 reads a big-endian int64.
func (d *Decoder) ReadBigInt64() (int64, error) {
	b, err := d.ReadBytes(8)
	if err != nil {
		return 0, err
	}
	return int64(binary.BigEndian.Uint64(b)), nil
}

// toUTF16 converts a valid UTF-8 string to UTF-16 code units.
func toUTF16(s string) []uint16 {
	out := make([]uint16, 0, len(s))
	for _, r := range s {
		if r >= 0x10000 {
			r1, r2 := utf16.EncodeRune(r)
			out = append(out, uint16(r1), uint16(r2))
		} else {
			out = append(out, uint16(r))
		}
	}
	return out
}

// UTF16Len returns the length of s in UTF-16 code units (JavaScript
// string.length). Invalid UTF-8 bytes count as one unit each (U+FFFD).
func UTF16Len(s string) int {
	n := 0
	for _, r := range s {
		if r >= 0x10000 {
			n += 2
		} else {
			n++
		}
	}
	return n
}

func isHighSurrogate(c uint16) bool { return c >= 0xd800 && c <= 0xdbff }
func isLowSurrogate(c uint16) bool  { return c >= 0xdc00 && c <= 0xdfff }

// utf16UTF8Len is the UTF-8 byte length of s, lone surrogates as U+FFFD.
func utf16UTF8Len(s []uint16) int {
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c < 0x80:
			n++
		case c < 0x800:
			n += 2
		case isHighSurrogate(c) && i+1 < len(s) && isLowSurrogate(s[i+1]):
			n += 4
			i++
		default:
			n += 3
		}
	}
	return n
}

func appendUTF16AsUTF8(dst []byte, s []uint16) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		var r rune
		switch {
		case c < 0x80:
			dst = append(dst, byte(c))
			continue
		case isHighSurrogate(c) && i+1 < len(s) && isLowSurrogate(s[i+1]):
			r = utf16.DecodeRune(rune(c), rune(s[i+1]))
			i++
		case isHighSurrogate(c) || isLowSurrogate(c):
			r = utf8.RuneError
		default:
			r = rune(c)
		}
		dst = utf8.AppendRune(dst, r)
	}
	return dst
}

// fromUTF16 converts UTF-16 code units to a Go string (lone surrogates
// become U+FFFD).
func fromUTF16(s []uint16) string {
	return string(appendUTF16AsUTF8(make([]byte, 0, len(s)), s))
}

func errorf(format string, args ...any) error {
	return fmt.Errorf("yjs: "+format, args...)
}
