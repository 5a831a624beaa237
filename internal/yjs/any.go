package yjs

import (
	"math"
	"sort"
)

// MaxAnyDepth caps the nesting of arrays/objects in Any values.
const MaxAnyDepth = 64

// Undefined is the Go value of JavaScript undefined in Any values.
type Undefined struct{}

// BigInt is the Go value of a JavaScript bigint in Any values.
type BigInt int64

// Any tags (lib0 writeAny).
const (
	anyUndefined = 127
	anyNull      = 126
	anyInt       = 125
	anyFloat32   = 124
	anyFloat64   = 123
	anyBigInt    = 122
	anyFalse     = 121
	anyTrue      = 120
	anyString    = 119
	anyObject    = 118
	anyArray     = 117
	anyBytes     = 116
)

// ReadAny decodes one lib0 Any value. Values map to Go as: undefined →
// Undefined{}, null → nil, integers → int64, floats → float64, bigint →
// BigInt, booleans, strings, objects → map[string]any, arrays → []any,
// Uint8Array → []byte (copied).
func (d *Decoder) ReadAny() (any, error) { return d.readAny(0) }

func (d *Decoder) readAny(depth int) (any, error) {
	if depth > MaxAnyDepth {
		return nil, errorf("any value nested too deeply")
	}
	tag, err := d.ReadUint8()
	if err != nil {
		return nil, err
	}
	switch tag {
	case anyUndefined:
		return Undefined{}, nil
	case anyNull:
		return nil, nil
	case anyInt:
		v, neg, err := d.readVarIntNeg()
		if neg && v == 0 {
			return math.Copysign(0, -1), err
		}
		return v, err
	case anyFloat32:
		f, err := d.ReadFloat32()
		return float64(f), err
	case anyFloat64:
		return d.ReadFloat64()
	case anyBigInt:
		v, err := d.ReadBigInt64()
		return BigInt(v), err
	case anyFalse:
		return false, nil
	case anyTrue:
		return true, nil
	case anyString:
		return d.ReadVarString()
	case anyObject:
		return d.readAnyObject(depth)
	case anyArray:
		return d.readAnyArray(depth)
	case anyBytes:
		b, err := d.ReadVarBytes()
		return append([]byte(nil), b...), err
	}
	return nil, errorf("unknown any tag %d", tag)
}

func (d *Decoder) readAnyObject(depth int) (any, error) {
	n, err := d.ReadVarUint()
	if err != nil {
		return nil, err
	}
	m := make(map[string]any)
	for i := uint64(0); i < n; i++ {
		k, err := d.ReadVarString()
		if err != nil {
			return nil, err
		}
		v, err := d.readAny(depth + 1)
		if err != nil {
			return nil, err
		}
		m[k] = v
	}
	return m, nil
}

func (d *Decoder) readAnyArray(depth int) (any, error) {
	n, err := d.ReadVarUint()
	if err != nil {
		return nil, err
	}
	a := make([]any, 0, min(n, uint64(d.Remaining())))
	for i := uint64(0); i < n; i++ {
		v, err := d.readAny(depth + 1)
		if err != nil {
			return nil, err
		}
		a = append(a, v)
	}
	return a, nil
}

// skipAny validates one Any value without building it and returns its raw
// bytes (aliasing the input).
func (d *Decoder) skipAny(depth int) ([]byte, error) {
	start := d.pos
	if err := d.skipAnyInner(depth); err != nil {
		return nil, err
	}
	return d.buf[start:d.pos], nil
}

func (d *Decoder) skipAnyInner(depth int) error {
	if depth > MaxAnyDepth {
		return errorf("any value nested too deeply")
	}
	tag, err := d.ReadUint8()
	if err != nil {
		return err
	}
	switch tag {
	case anyUndefined, anyNull, anyFalse, anyTrue:
		return nil
	case anyInt:
		_, err = d.ReadVarInt()
	case anyFloat32:
		_, err = d.ReadBytes(4)
	case anyFloat64, anyBigInt:
		_, err = d.ReadBytes(8)
	case anyString:
		_, err = d.ReadVarString()
	case anyBytes:
		_, err = d.ReadVarBytes()
	case anyObject, anyArray:
		n, err := d.ReadVarUint()
		if err != nil {
			return err
		}
		for i := uint64(0); i < n; i++ {
			if tag == anyObject {
				if _, err := d.ReadVarString(); err != nil {
					return err
				}
			}
			if err := d.skipAnyInner(depth + 1); err != nil {
				return err
			}
		}
	default:
		return errorf("unknown any tag %d", tag)
	}
	return err
}

// WriteAny encodes v like lib0 writeAny. Numbers are normalised like
// JavaScript: integers with |n| <= 2^31-1 as varInt, values exactly
// representable as float32 as float32, the rest as float64. Map keys are
// written in sorted order. Unsupported Go types encode as undefined.
func (e *Encoder) WriteAny(v any) {
	switch x := v.(type) {
	case nil:
		e.WriteUint8(anyNull)
	case Undefined:
		e.WriteUint8(anyUndefined)
	case bool:
		if x {
			e.WriteUint8(anyTrue)
		} else {
			e.WriteUint8(anyFalse)
		}
	case int:
		e.writeNumber(float64(x))
	case int64:
		e.writeNumber(float64(x))
	case float32:
		e.writeNumber(float64(x))
	case float64:
		e.writeNumber(x)
	case BigInt:
		e.WriteUint8(anyBigInt)
		e.WriteBigInt64(int64(x))
	case string:
		e.WriteUint8(anyString)
		e.WriteVarString(x)
	case []byte:
		e.WriteUint8(anyBytes)
		e.WriteVarBytes(x)
	case []any:
		e.WriteUint8(anyArray)
		e.WriteVarUint(uint64(len(x)))
		for _, el := range x {
			e.WriteAny(el)
		}
	case map[string]any:
		e.WriteUint8(anyObject)
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		e.WriteVarUint(uint64(len(keys)))
		for _, k := range keys {
			e.WriteVarString(k)
			e.WriteAny(x[k])
		}
	default:
		e.WriteUint8(anyUndefined)
	}
}

func (e *Encoder) writeNumber(f float64) {
	switch {
	case f == math.Trunc(f) && math.Abs(f) <= math.MaxInt32:
		e.WriteUint8(anyInt)
		if f == 0 && math.Signbit(f) {
			e.writeVarIntMag(0, true)
		} else {
			e.WriteVarInt(int64(f))
		}
	case float64(float32(f)) == f:
		e.WriteUint8(anyFloat32)
		e.WriteFloat32(float32(f))
	default:
		e.WriteUint8(anyFloat64)
		e.WriteFloat64(f)
	}
}
