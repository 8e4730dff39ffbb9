package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/bits"

	"github.com/cellwatch/cellwatch/internal/decode"
)

// Sealed buckets are kept as byte chunks: a sequence of buckets ascending by
// (Start, Width), each encoded against the previous bucket of the chunk
// (codecState), so a chunk decodes only from its beginning. Layout of one
// bucket:
//
//	header   byte   width code (bits 0-1: 0 = 60 s, 1 = 1 s, 2 = explicit,
//	                3 = an extension byte follows), hSingle, hCount1,
//	                hNoPct, hSketch, hReuse, hNext
//	[ext]    byte   with width code 3 only, when the bucket has a last
//	                value: bits 0-1 the width code, bits 2-3 the last form
//	[start]  uvarint Start minus the previous bucket's Start; omitted when
//	         hNext: Start is the previous bucket's Start+Width
//	[width]  uvarint when the width code is 2
//	fields   single (all values equal, Sum == Count*Min): [Count] Value
//	         otherwise:                                  [Count] Sum Min Max
//	         Count is omitted when it is 1 (hCount1).
//	[last]   with an ext byte: varint LastTS minus the previous last
//	         bucket's LastTS; for last form 3 a field follows (tag and
//	         payload against the previous last value; forms 1 and 2 mean
//	         Last is Max or Min). A bucket without a last value (LastTS 0,
//	         every CloudWatch datum) costs nothing.
//	[sketch] when hSketch
//
// A field is a tag byte (omitted when hReuse: every field reuses the tag of
// its slot in the previous bucket) and a payload:
//
//	tagSame         the previous value of the slot; no payload
//	tagDec+k        v = m / 10^k, k in 0..15: uvarint zigzag(m - base), base
//	                being the previous value's mantissa at scale k (or 0)
//	tagXOR|l<<3|t   the float bits XOR the previous value's, with l leading
//	                and t trailing zero bytes left out
//
// Decimal mantissas make values such as 123.4 (latencies with one decimal)
// take one or two bytes; the XOR form covers everything else exactly. Every
// encoding is bit-exact.
//
// Sketch: flags byte (1: zero count present, 2: counts are integers), uvarint
// number of bins, [zero count], first key as varint then key deltas minus one
// as uvarint, then the counts (uvarint when integral, else 8 bytes).

const (
	hWidthMask = 0x03
	hSingle    = 0x04
	hCount1    = 0x08
	hNoPct     = 0x10
	hSketch    = 0x20
	hReuse     = 0x40
	hNext      = 0x80

	widthCode60       = 0
	widthCode1        = 1
	widthCodeExplicit = 2
	widthCodeExt      = 3

	tagSame = 0x00
	tagDec  = 0x01 // .. 0x10
	maxDecK = 15
	tagXOR  = 0x40 // .. 0x7f

	skZero     = 1
	skIntegral = 2
)

const (
	slotCount = iota
	slotSum
	slotMin
	slotMax
	slotLast
)

// Encodings of the last value.
const (
	lastNone = iota
	lastIsMax
	lastIsMin
	lastField
)

var errBadChunk = errors.New("corrupt chunk")

var pow10 = func() (p [maxDecK + 1]float64) {
	p[0] = 1
	for i := 1; i <= maxDecK; i++ {
		p[i] = p[i-1] * 10
	}
	return p
}()

// codecState is what a bucket is encoded against: the previous bucket of
// the chunk.
type codecState struct {
	start, width int64
	vals         [4]float64
	tags         [4]uint8
	lastTS       int64
	last         float64
}

func newCodecState(first int64) codecState {
	return codecState{start: first, tags: [4]uint8{tagDec, tagDec, tagDec, tagDec}}
}

// lastForm says how a's last value is encoded.
func lastForm(a *Aggregate) byte {
	switch {
	case a.LastTS == 0:
		return lastNone
	case math.Float64bits(a.Last) == math.Float64bits(a.Max):
		return lastIsMax
	case math.Float64bits(a.Last) == math.Float64bits(a.Min):
		return lastIsMin
	}
	return lastField
}

// appendLast encodes a's last value (form != lastNone) against st and
// advances st.
func appendLast(b []byte, st *codecState, a *Aggregate, form byte) []byte {
	b = binary.AppendVarint(b, a.LastTS-st.lastTS)
	if form == lastField {
		t := bestTag(a.Last, st.last)
		b = append(b, t)
		b = appendField(b, t, a.Last, st.last)
	}
	st.lastTS, st.last = a.LastTS, a.Last
	return b
}

// decMantissa returns m such that m / 10^k is exactly v (bit for bit).
func decMantissa(v float64, k int) (int64, bool) {
	m := math.Round(v * pow10[k])
	if !(math.Abs(m) < 1<<53) {
		return 0, false
	}
	mi := int64(m)
	if math.Float64bits(float64(mi)/pow10[k]) != math.Float64bits(v) {
		return 0, false
	}
	return mi, true
}

func decBase(prev float64, k int) int64 {
	m, _ := decMantissa(prev, k)
	return m
}

func zigzag(x int64) uint64   { return uint64(x<<1) ^ uint64(x>>63) }
func unzigzag(u uint64) int64 { return int64(u>>1) ^ -int64(u&1) }

func uvarintLen(u uint64) int { return (bits.Len64(u|1) + 6) / 7 }

// xorTag returns the XOR tag that carries x with the fewest bytes.
func xorTag(x uint64) uint8 {
	if x == 0 {
		return tagXOR | 7<<3 // one zero byte; only used when forced
	}
	lead := bits.LeadingZeros64(x) / 8
	trail := bits.TrailingZeros64(x) / 8
	return tagXOR | uint8(lead)<<3 | uint8(trail)
}

// fits reports whether v can be encoded with tag against prev.
func fits(tag uint8, v, prev float64) bool {
	switch {
	case tag == tagSame:
		return math.Float64bits(v) == math.Float64bits(prev)
	case tag >= tagDec && tag <= tagDec+maxDecK:
		_, ok := decMantissa(v, int(tag-tagDec))
		return ok
	case tag&0xc0 == tagXOR:
		x := math.Float64bits(v) ^ math.Float64bits(prev)
		lead, trail := int(tag>>3&7), int(tag&7)
		return x == 0 || (bits.LeadingZeros64(x)/8 >= lead && bits.TrailingZeros64(x)/8 >= trail)
	}
	return false
}

// bestTag picks the cheapest tag for v against prev.
func bestTag(v, prev float64) uint8 {
	if math.Float64bits(v) == math.Float64bits(prev) {
		return tagSame
	}
	xt := xorTag(math.Float64bits(v) ^ math.Float64bits(prev))
	xcost := 8 - int(xt>>3&7) - int(xt&7)
	for k := 0; k <= maxDecK; k++ {
		if m, ok := decMantissa(v, k); ok {
			if uvarintLen(zigzag(m-decBase(prev, k))) <= xcost {
				return tagDec + uint8(k)
			}
			break
		}
	}
	return xt
}

func appendField(b []byte, tag uint8, v, prev float64) []byte {
	switch {
	case tag == tagSame:
		return b
	case tag >= tagDec && tag <= tagDec+maxDecK:
		k := int(tag - tagDec)
		m, _ := decMantissa(v, k)
		return binary.AppendUvarint(b, zigzag(m-decBase(prev, k)))
	default:
		x := math.Float64bits(v) ^ math.Float64bits(prev)
		lead, trail := int(tag>>3&7), int(tag&7)
		for i := lead; i < 8-trail; i++ {
			b = append(b, byte(x>>(56-8*i)))
		}
		return b
	}
}

// chunkReader decodes buckets one by one.
type chunkReader struct {
	decode.Reader
	st codecState
	// noLast: the buckets carry no last value (long-term blocks of
	// version 1, written before Last existed).
	noLast bool
}

func newChunkReader(data []byte, first int64) chunkReader {
	return chunkReader{Reader: decode.New(data, errBadChunk), st: newCodecState(first)}
}

func (r *chunkReader) field(tag uint8, prev float64) float64 {
	switch {
	case tag == tagSame:
		return prev
	case tag >= tagDec && tag <= tagDec+maxDecK:
		k := int(tag - tagDec)
		m := unzigzag(r.Uvarint()) + decBase(prev, k)
		return float64(m) / pow10[k]
	case tag&0xc0 == tagXOR:
		lead, trail := int(tag>>3&7), int(tag&7)
		if lead+trail > 7 {
			r.Fail()
			return 0
		}
		var x uint64
		for i := lead; i < 8-trail; i++ {
			x |= uint64(r.Byte()) << (56 - 8*i)
		}
		return math.Float64frombits(math.Float64bits(prev) ^ x)
	}
	r.Fail()
	return 0
}

// next decodes the next bucket into a (reusing its sketch storage). It
// returns false at the end of the chunk or on corruption (r.Err()).
func (r *chunkReader) next(a *Aggregate) bool {
	if r.Len() == 0 || r.Err() != nil {
		return false
	}
	st := &r.st
	h := r.Byte()
	if h&hSketch != 0 && h&(hNoPct|hSingle) != 0 {
		r.Fail() // never written
		return false
	}
	code, form := h&hWidthMask, byte(lastNone)
	if code == widthCodeExt {
		ext := r.Byte()
		code, form = ext&hWidthMask, ext>>2
		if r.noLast || code == widthCodeExt || form == lastNone || form > lastField {
			r.Fail() // never written
			return false
		}
	}
	start := st.start + st.width
	if h&hNext == 0 {
		start = st.start + int64(r.Uvarint())
	}
	var width int64
	switch code {
	case widthCode60:
		width = 60
	case widthCode1:
		width = 1
	case widthCodeExplicit:
		width = int64(r.Uvarint())
	default:
		r.Fail()
		return false
	}
	tag := func(slot int) uint8 {
		if h&hReuse != 0 {
			return st.tags[slot]
		}
		t := r.Byte()
		st.tags[slot] = t
		return t
	}
	count := 1.0
	if h&hCount1 == 0 {
		count = r.field(tag(slotCount), st.vals[slotCount])
	}
	var sum, mn, mx float64
	if h&hSingle != 0 {
		t := tag(slotMin)
		mn = r.field(t, st.vals[slotMin])
		st.tags[slotMax] = t
		mx, sum = mn, count*mn
	} else {
		sum = r.field(tag(slotSum), st.vals[slotSum])
		mn = r.field(tag(slotMin), st.vals[slotMin])
		mx = r.field(tag(slotMax), st.vals[slotMax])
	}
	last, lastTS := r.last(form, mn, mx)
	sk := a.sk
	*a = Aggregate{Start: start, Width: width, Count: count, Sum: sum, Min: mn, Max: mx,
		Last: last, LastTS: lastTS, noPct: h&hNoPct != 0}
	if sk != nil {
		sk.reset()
		a.sk = sk
	}
	if h&hSketch != 0 {
		if a.sk == nil {
			a.sk = new(sketch)
		}
		r.sketch(a.sk)
		if a.sk.empty() {
			r.Fail() // never written
		}
	}
	if r.Err() != nil {
		return false
	}
	st.start, st.width = start, width
	st.vals = [4]float64{count, sum, mn, mx}
	return true
}

// last decodes a bucket's last value of the given form (see appendLast).
func (r *chunkReader) last(form byte, mn, mx float64) (float64, int64) {
	if form == lastNone || r.Err() != nil {
		return 0, 0
	}
	st := &r.st
	ts := st.lastTS + r.Varint()
	var v float64
	switch form {
	case lastIsMax:
		v = mx
	case lastIsMin:
		v = mn
	case lastField:
		v = r.field(r.Byte(), st.last)
	default:
		r.Fail()
		return 0, 0
	}
	if ts == 0 {
		r.Fail() // never written: LastTS 0 is none
		return 0, 0
	}
	st.lastTS, st.last = ts, v
	return v, ts
}

func (r *chunkReader) sketch(s *sketch) {
	flags := r.Byte()
	n := r.Uvarint()
	if n > uint64(r.Len()) || n > maxBins {
		r.Fail()
		return
	}
	count := func() float64 {
		if flags&skIntegral != 0 {
			return float64(r.Uvarint())
		}
		return r.Float64()
	}
	if flags&skZero != 0 {
		s.zero = count()
	}
	s.keys = s.keys[:0]
	s.counts = s.counts[:0]
	var k int64
	for i := range n {
		if i == 0 {
			k = r.Varint()
		} else {
			k += int64(r.Uvarint()) + 1
		}
		if k < math.MinInt32 || k > math.MaxInt32 {
			r.Fail()
			return
		}
		s.keys = append(s.keys, int32(k))
	}
	for range n {
		c := count()
		if !(c > 0) || math.IsInf(c, 0) {
			r.Fail() // never written
			return
		}
		s.counts = append(s.counts, c)
	}
	if math.IsNaN(s.zero) || s.zero < 0 {
		r.Fail()
	}
}

func integralCount(c float64) bool {
	return c >= 0 && c < 1<<53 && c == math.Trunc(c)
}

func appendSketch(b []byte, s *sketch) []byte {
	var flags byte = skIntegral
	if s.zero != 0 {
		flags |= skZero
		if !integralCount(s.zero) {
			flags &^= skIntegral
		}
	}
	for _, c := range s.counts {
		if !integralCount(c) {
			flags &^= skIntegral
			break
		}
	}
	b = append(b, flags)
	b = binary.AppendUvarint(b, uint64(len(s.keys)))
	count := func(b []byte, c float64) []byte {
		if flags&skIntegral != 0 {
			return binary.AppendUvarint(b, uint64(c))
		}
		return binary.LittleEndian.AppendUint64(b, math.Float64bits(c))
	}
	if flags&skZero != 0 {
		b = count(b, s.zero)
	}
	for i, k := range s.keys {
		if i == 0 {
			b = binary.AppendVarint(b, int64(k))
		} else {
			b = binary.AppendUvarint(b, uint64(k-s.keys[i-1]-1))
		}
	}
	for _, c := range s.counts {
		b = count(b, c)
	}
	return b
}

// appendBucket encodes a against st, appends it to b and advances st.
// Buckets must be appended ascending by (Start, Width).
func appendBucket(b []byte, st *codecState, a *Aggregate) []byte {
	var h byte
	switch a.Width {
	case 60:
		h = widthCode60
	case 1:
		h = widthCode1
	default:
		h = widthCodeExplicit
	}
	hasSketch := !a.noPct && !a.sk.empty()
	single := !hasSketch && a.Min == a.Max &&
		math.Float64bits(a.Sum) == math.Float64bits(a.Count*a.Min) &&
		math.Float64bits(a.Min) == math.Float64bits(a.Max)
	count1 := math.Float64bits(a.Count) == math.Float64bits(1)
	if single {
		h |= hSingle
	}
	if count1 {
		h |= hCount1
	}
	if a.noPct {
		h |= hNoPct
	}
	if hasSketch {
		h |= hSketch
	}

	// The fields to write, by slot.
	var slots [4]int
	var vals [4]float64
	n := 0
	if !count1 {
		slots[n], vals[n] = slotCount, a.Count
		n++
	}
	if single {
		slots[n], vals[n] = slotMin, a.Min
		n++
	} else {
		slots[n], vals[n] = slotSum, a.Sum
		slots[n+1], vals[n+1] = slotMin, a.Min
		slots[n+2], vals[n+2] = slotMax, a.Max
		n += 3
	}
	reuse := true
	for i := range n {
		if !fits(st.tags[slots[i]], vals[i], st.vals[slots[i]]) {
			reuse = false
			break
		}
	}
	if reuse {
		h |= hReuse
	}

	if a.Start == st.start+st.width {
		h |= hNext
	}
	code, form := h&hWidthMask, lastForm(a)
	if form != lastNone {
		b = append(b, h&^hWidthMask|widthCodeExt, code|form<<2)
	} else {
		b = append(b, h)
	}
	if h&hNext == 0 {
		b = binary.AppendUvarint(b, uint64(a.Start-st.start))
	}
	if code == widthCodeExplicit {
		b = binary.AppendUvarint(b, uint64(a.Width))
	}
	for i := range n {
		s := slots[i]
		t := st.tags[s]
		if !reuse {
			t = bestTag(vals[i], st.vals[s])
			b = append(b, t)
			st.tags[s] = t
		}
		b = appendField(b, t, vals[i], st.vals[s])
		if single && s == slotMin {
			st.tags[slotMax] = t
		}
	}
	if form != lastNone {
		b = appendLast(b, st, a, form)
	}
	if hasSketch {
		b = appendSketch(b, a.sk)
	}
	st.start, st.width = a.Start, a.Width
	st.vals = [4]float64{a.Count, a.Sum, a.Min, a.Max}
	return b
}

// encodeChunk encodes aggs (ascending by (Start, Width)) into a new chunk of
// exactly the needed size, and returns the state after its last bucket.
func encodeChunk(aggs []Aggregate) ([]byte, codecState) {
	st := newCodecState(aggs[0].Start)
	var buf [512]byte
	b := buf[:0]
	for i := range aggs {
		b = appendBucket(b, &st, &aggs[i])
	}
	return append([]byte(nil), b...), st
}

// decodeChunk decodes every bucket of a chunk.
func decodeChunk(data []byte, first int64) ([]Aggregate, error) {
	var out []Aggregate
	r := newChunkReader(data, first)
	for {
		out = append(out, Aggregate{})
		if !r.next(&out[len(out)-1]) {
			out = out[:len(out)-1]
			break
		}
	}
	if r.Err() != nil {
		return nil, fmt.Errorf("decode chunk at %d: %w", first, r.Err())
	}
	return out, nil
}

// binaryVersion 2 carries the last value; 1 (before it) is still read.
const binaryVersion = 2

// AppendBinary appends a standalone, exact encoding of a to b
// (encoding.BinaryAppender). It is the bucket encoding of the chunks with a
// version byte and the Start in front.
func (a *Aggregate) AppendBinary(b []byte) ([]byte, error) {
	b = append(b, binaryVersion)
	b = binary.AppendVarint(b, a.Start)
	st := newCodecState(a.Start)
	return appendBucket(b, &st, a), nil
}

// MarshalBinary returns AppendBinary(nil).
func (a *Aggregate) MarshalBinary() ([]byte, error) { return a.AppendBinary(nil) }

// UnmarshalBinary decodes what AppendBinary wrote into a.
func (a *Aggregate) UnmarshalBinary(b []byte) error {
	if len(b) == 0 || (b[0] != binaryVersion && b[0] != 1) {
		return fmt.Errorf("unmarshal aggregate: unknown version: %w", errBadChunk)
	}
	start, n := binary.Varint(b[1:])
	if n <= 0 {
		return fmt.Errorf("unmarshal aggregate: start: %w", errBadChunk)
	}
	r := newChunkReader(b[1+n:], start)
	r.noLast = b[0] == 1
	if !r.next(a) || r.Len() != 0 {
		r.Fail() // a no-op when next already failed
		return fmt.Errorf("unmarshal aggregate: %w", r.Err())
	}
	return nil
}
