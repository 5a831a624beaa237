package yjs

import "encoding/json"

// Content reference numbers (low 5 bits of a struct's info byte).
const (
	refGC      = 0
	refDeleted = 1
	refJSON    = 2
	refBinary  = 3
	refString  = 4
	refEmbed   = 5
	refFormat  = 6
	refType    = 7
	refAny     = 8
	refDoc     = 9
	refSkip    = 10
)

// Type references of ContentType.
const (
	TypeArray       = 0
	TypeMap         = 1
	TypeText        = 2
	TypeXMLElement  = 3
	TypeXMLFragment = 4
	TypeXMLHook     = 5
	TypeXMLText     = 6
)

// Content is the payload of an Item. Every kind keeps what is needed to
// re-encode it byte for byte.
type Content interface {
	// Ref is the content reference number written in the info byte.
	Ref() byte
	// Len is the number of clock units the content occupies.
	Len() int
	// Countable reports whether the content adds to its parent's length.
	Countable() bool
	write(e *Encoder, offset int)
	// splice keeps [0,offset) in the receiver and returns [offset,Len).
	// Only called for splittable kinds.
	splice(offset int) Content
	mergeWith(right Content) bool
	copy() Content
}

// ContentDeleted stands for deleted content of the given length.
type ContentDeleted struct{ N int }

// ContentJSON is legacy array content: raw JSON texts ("undefined" allowed).
type ContentJSON struct{ Items []string }

// ContentBinary is a Uint8Array value.
type ContentBinary struct{ Data []byte }

// ContentString is text stored as UTF-16 code units.
type ContentString struct{ S []uint16 }

// ContentEmbed is a rich-text embed (raw JSON).
type ContentEmbed struct{ JSON string }

// ContentFormat is a rich-text formatting mark (key and raw JSON value).
type ContentFormat struct{ Key, Value string }

// ContentType holds a nested shared type.
type ContentType struct {
	TypeRef uint64
	Name    string // node name (XmlElement) or hook name (XmlHook)
	branch  *sharedType
}

// ContentAny holds Any values, each kept as its raw encoding.
type ContentAny struct{ Raw [][]byte }

// ContentDoc is a subdocument reference (guid and raw Any options).
type ContentDoc struct {
	GUID string
	Opts []byte
}

func (c *ContentDeleted) Ref() byte       { return refDeleted }
func (c *ContentDeleted) Len() int        { return c.N }
func (c *ContentDeleted) Countable() bool { return false }
func (c *ContentDeleted) write(e *Encoder, off int) {
	e.WriteVarUint(uint64(c.N - off))
}
func (c *ContentDeleted) splice(off int) Content {
	r := &ContentDeleted{c.N - off}
	c.N = off
	return r
}
func (c *ContentDeleted) mergeWith(r Content) bool {
	c.N += r.(*ContentDeleted).N
	return true
}
func (c *ContentDeleted) copy() Content { x := *c; return &x }

func (c *ContentJSON) Ref() byte       { return refJSON }
func (c *ContentJSON) Len() int        { return len(c.Items) }
func (c *ContentJSON) Countable() bool { return true }
func (c *ContentJSON) write(e *Encoder, off int) {
	e.WriteVarUint(uint64(len(c.Items) - off))
	for _, s := range c.Items[off:] {
		e.WriteVarString(s)
	}
}
func (c *ContentJSON) splice(off int) Content {
	r := &ContentJSON{append([]string(nil), c.Items[off:]...)}
	c.Items = c.Items[:off:off]
	return r
}
func (c *ContentJSON) mergeWith(r Content) bool {
	c.Items = append(c.Items, r.(*ContentJSON).Items...)
	return true
}
func (c *ContentJSON) copy() Content { return &ContentJSON{append([]string(nil), c.Items...)} }

func (c *ContentBinary) Ref() byte                 { return refBinary }
func (c *ContentBinary) Len() int                  { return 1 }
func (c *ContentBinary) Countable() bool           { return true }
func (c *ContentBinary) write(e *Encoder, off int) { e.WriteVarBytes(c.Data) }
func (c *ContentBinary) splice(int) Content        { panic("yjs: binary content cannot be split") }
func (c *ContentBinary) mergeWith(Content) bool    { return false }
func (c *ContentBinary) copy() Content             { x := *c; return &x }

func (c *ContentString) Ref() byte       { return refString }
func (c *ContentString) Len() int        { return len(c.S) }
func (c *ContentString) Countable() bool { return true }
func (c *ContentString) write(e *Encoder, off int) {
	e.WriteVarUTF16(c.S[off:])
}

// splice splits like yjs: a surrogate pair cut in half becomes two U+FFFD.
func (c *ContentString) splice(off int) Content {
	r := &ContentString{append(make([]uint16, 0, len(c.S)-off), c.S[off:]...)}
	c.S = c.S[:off:off]
	if off > 0 && isHighSurrogate(c.S[off-1]) {
		c.S[off-1] = 0xfffd
		if len(r.S) > 0 {
			r.S[0] = 0xfffd
		}
	}
	return r
}
func (c *ContentString) mergeWith(r Content) bool {
	c.S = append(c.S, r.(*ContentString).S...)
	return true
}
func (c *ContentString) copy() Content { return &ContentString{append([]uint16(nil), c.S...)} }

func (c *ContentEmbed) Ref() byte                 { return refEmbed }
func (c *ContentEmbed) Len() int                  { return 1 }
func (c *ContentEmbed) Countable() bool           { return true }
func (c *ContentEmbed) write(e *Encoder, off int) { e.WriteVarString(c.JSON) }
func (c *ContentEmbed) splice(int) Content        { panic("yjs: embed content cannot be split") }
func (c *ContentEmbed) mergeWith(Content) bool    { return false }
func (c *ContentEmbed) copy() Content             { x := *c; return &x }

func (c *ContentFormat) Ref() byte       { return refFormat }
func (c *ContentFormat) Len() int        { return 1 }
func (c *ContentFormat) Countable() bool { return false }
func (c *ContentFormat) write(e *Encoder, off int) {
	e.WriteVarString(c.Key)
	e.WriteVarString(c.Value)
}
func (c *ContentFormat) splice(int) Content     { panic("yjs: format content cannot be split") }
func (c *ContentFormat) mergeWith(Content) bool { return false }
func (c *ContentFormat) copy() Content          { x := *c; return &x }

func (c *ContentType) Ref() byte       { return refType }
func (c *ContentType) Len() int        { return 1 }
func (c *ContentType) Countable() bool { return true }
func (c *ContentType) write(e *Encoder, off int) {
	e.WriteVarUint(c.TypeRef)
	if c.TypeRef == TypeXMLElement || c.TypeRef == TypeXMLHook {
		e.WriteVarString(c.Name)
	}
}
func (c *ContentType) splice(int) Content     { panic("yjs: type content cannot be split") }
func (c *ContentType) mergeWith(Content) bool { return false }
func (c *ContentType) copy() Content          { return &ContentType{TypeRef: c.TypeRef, Name: c.Name} }

func (c *ContentAny) Ref() byte       { return refAny }
func (c *ContentAny) Len() int        { return len(c.Raw) }
func (c *ContentAny) Countable() bool { return true }
func (c *ContentAny) write(e *Encoder, off int) {
	e.WriteVarUint(uint64(len(c.Raw) - off))
	for _, r := range c.Raw[off:] {
		e.WriteRaw(r)
	}
}
func (c *ContentAny) splice(off int) Content {
	r := &ContentAny{append([][]byte(nil), c.Raw[off:]...)}
	c.Raw = c.Raw[:off:off]
	return r
}
func (c *ContentAny) mergeWith(r Content) bool {
	c.Raw = append(c.Raw, r.(*ContentAny).Raw...)
	return true
}
func (c *ContentAny) copy() Content { return &ContentAny{append([][]byte(nil), c.Raw...)} }

// Values decodes the Any values.
func (c *ContentAny) Values() ([]any, error) {
	out := make([]any, 0, len(c.Raw))
	for _, r := range c.Raw {
		v, err := NewDecoder(r).ReadAny()
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

func (c *ContentDoc) Ref() byte       { return refDoc }
func (c *ContentDoc) Len() int        { return 1 }
func (c *ContentDoc) Countable() bool { return true }
func (c *ContentDoc) write(e *Encoder, off int) {
	e.WriteVarString(c.GUID)
	e.WriteRaw(c.Opts)
}
func (c *ContentDoc) splice(int) Content     { panic("yjs: doc content cannot be split") }
func (c *ContentDoc) mergeWith(Content) bool { return false }
func (c *ContentDoc) copy() Content          { x := *c; return &x }

// splittable reports whether content of this kind can be split/merged.
func splittable(c Content) bool {
	switch c.(type) {
	case *ContentDeleted, *ContentJSON, *ContentString, *ContentAny:
		return true
	}
	return false
}

// readContent decodes the content of an item with the given ref. Byte
// slices in the result are copied, so the input may be reused.
func readContent(d *Decoder, ref byte) (Content, error) {
	switch ref {
	case refDeleted:
		n, err := d.ReadVarUint()
		if err != nil {
			return nil, err
		}
		return &ContentDeleted{int(n)}, nil
	case refJSON:
		return readContentJSON(d)
	case refBinary:
		b, err := d.ReadVarBytes()
		if err != nil {
			return nil, err
		}
		return &ContentBinary{append([]byte(nil), b...)}, nil
	case refString:
		s, err := d.ReadVarString()
		if err != nil {
			return nil, err
		}
		return &ContentString{toUTF16(s)}, nil
	case refEmbed:
		s, err := readJSONString(d)
		return &ContentEmbed{s}, err
	case refFormat:
		k, err := d.ReadVarString()
		if err != nil {
			return nil, err
		}
		v, err := readJSONString(d)
		return &ContentFormat{k, v}, err
	case refType:
		return readContentType(d)
	case refAny:
		return readContentAny(d)
	case refDoc:
		guid, err := d.ReadVarString()
		if err != nil {
			return nil, err
		}
		opts, err := d.skipAny(0)
		if err != nil {
			return nil, err
		}
		return &ContentDoc{guid, append([]byte(nil), opts...)}, nil
	}
	return nil, errorf("unknown content ref %d", ref)
}

func readContentJSON(d *Decoder) (Content, error) {
	n, err := d.ReadVarUint()
	if err != nil {
		return nil, err
	}
	items := make([]string, 0, min(n, uint64(d.Remaining())))
	for i := uint64(0); i < n; i++ {
		s, err := d.ReadVarString()
		if err != nil {
			return nil, err
		}
		if s != "undefined" && !json.Valid([]byte(s)) {
			return nil, errorf("invalid JSON in JSON content")
		}
		items = append(items, s)
	}
	return &ContentJSON{items}, nil
}

func readContentAny(d *Decoder) (Content, error) {
	n, err := d.ReadVarUint()
	if err != nil {
		return nil, err
	}
	raw := make([][]byte, 0, min(n, uint64(d.Remaining())))
	for i := uint64(0); i < n; i++ {
		r, err := d.skipAny(0)
		if err != nil {
			return nil, err
		}
		raw = append(raw, append([]byte(nil), r...))
	}
	return &ContentAny{raw}, nil
}

func readJSONString(d *Decoder) (string, error) {
	s, err := d.ReadVarString()
	if err != nil {
		return "", err
	}
	if !json.Valid([]byte(s)) {
		return "", errorf("invalid JSON in content")
	}
	return s, nil
}

func readContentType(d *Decoder) (Content, error) {
	ref, err := d.ReadVarUint()
	if err != nil {
		return nil, err
	}
	c := &ContentType{TypeRef: ref}
	switch ref {
	case TypeArray, TypeMap, TypeText, TypeXMLFragment, TypeXMLText:
	case TypeXMLElement, TypeXMLHook:
		if c.Name, err = d.ReadVarString(); err != nil {
			return nil, err
		}
	default:
		return nil, errorf("unknown type ref %d", ref)
	}
	return c, nil
}
