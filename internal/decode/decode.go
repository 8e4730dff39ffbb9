package decode

import (
	"encoding/binary"
	"math"
)

// Reader reads from a byte slice; New makes one. It is a value type, meant
// to be embedded or kept on the stack.
type Reader struct {
	b   []byte
	bad error // recorded at the first failure
	err error
}

// New returns a Reader of b that records bad at its first failure.
func New(b []byte, bad error) Reader { return Reader{b: b, bad: bad} }

// Err returns nil, or the error given to New once a read failed.
func (r *Reader) Err() error { return r.err }

// Fail marks the input bad (as a failed read does): Err returns the error
// given to New and every later read returns zero.
func (r *Reader) Fail() {
	if r.err == nil {
		r.err = r.bad
	}
	r.b = nil
}

// Len returns the number of unread bytes.
func (r *Reader) Len() int { return len(r.b) }

// Rest returns the unread bytes, without consuming them.
func (r *Reader) Rest() []byte { return r.b }

// Byte reads one byte.
func (r *Reader) Byte() byte {
	if len(r.b) == 0 {
		r.Fail()
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

// Uvarint reads an unsigned varint (encoding/binary).
func (r *Reader) Uvarint() uint64 { return readVarint(r, binary.Uvarint) }

// Varint reads a zigzag-signed varint (encoding/binary).
func (r *Reader) Varint() int64 { return readVarint(r, binary.Varint) }

// readVarint reads with decode, binary.Uvarint or binary.Varint.
func readVarint[T uint64 | int64](r *Reader, decode func([]byte) (T, int)) T {
	v, n := decode(r.b)
	if n <= 0 {
		r.Fail()
		return 0
	}
	r.b = r.b[n:]
	return v
}

// Count reads a length (an unsigned varint) and bounds it by the bytes left,
// so a corrupt length cannot make its user allocate without limit.
func (r *Reader) Count() int {
	v := r.Uvarint()
	if v > uint64(len(r.b)) {
		r.Fail()
		return 0
	}
	return int(v)
}

// Str reads a string written as its length (an unsigned varint) and its bytes.
func (r *Reader) Str() string {
	n := r.Count()
	if r.err != nil {
		return ""
	}
	s := string(r.b[:n])
	r.b = r.b[n:]
	return s
}

// Float64 reads a little-endian IEEE 754 float64.
func (r *Reader) Float64() float64 {
	if len(r.b) < 8 {
		r.Fail()
		return 0
	}
	v := math.Float64frombits(binary.LittleEndian.Uint64(r.b))
	r.b = r.b[8:]
	return v
}
