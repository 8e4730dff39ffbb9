package awsapi

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// decodeCBOR decodes a Smithy RPC v2 CBOR body straight into the Input tree:
// maps (definite or indefinite length) become map[string]any, arrays []any,
// numbers float64, text strings string, byte strings []byte (which no
// accessor takes for a string or a number), tag 1 time.Time, null is
// dropped from maps; a key given twice in one map is refused. It allocates
// only what the tree keeps, which matters on the PutMetricData path (a
// general-purpose CBOR value tree would double it), and counts it against
// DefaultLimits.
func decodeCBOR(body []byte) (Input, error) { return decodeCBORLimited(body, DefaultLimits) }

// decodeCBORLimited is decodeCBOR counting against lim.
func decodeCBORLimited(body []byte, lim Limits) (Input, error) {
	if len(body) == 0 {
		return Input{}, nil
	}
	d := cborDecoder{b: body, bud: newBudget(lim)}
	v, err := d.value(0)
	if err != nil {
		return nil, fmt.Errorf("decode cbor: %w", err)
	}
	if d.pos != len(d.b) {
		return nil, fmt.Errorf("decode cbor: %d trailing bytes", len(d.b)-d.pos)
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("decode cbor: body is %T, not a map", v)
	}
	return m, nil
}

var (
	errCBORShort = errors.New("unexpected end of data")
	errCBORBreak = errors.New("break outside an indefinite-length item")
	cborNull     = &sentinel{"null"}  // marks null and undefined while decoding
	cborBreakVal = &sentinel{"break"} // the 0xff break code
)

// sentinel values are told apart by address; they are not zero-sized, as
// pointers to distinct zero-sized values may compare equal.
type sentinel struct{ name string }

type cborDecoder struct {
	b   []byte
	pos int
	bud *budget
}

func (d *cborDecoder) need(n uint64) error {
	if uint64(len(d.b)-d.pos) < n {
		return errCBORShort
	}
	return nil
}

// head reads an item's initial byte and argument. For indefinite lengths
// (minor 31) it returns indefinite=true.
func (d *cborDecoder) head() (major, minor byte, arg uint64, indefinite bool, err error) {
	if err = d.need(1); err != nil {
		return
	}
	ib := d.b[d.pos]
	d.pos++
	major, minor = ib>>5, ib&0x1f
	switch {
	case minor < 24:
		arg = uint64(minor)
	case minor <= 27:
		n := uint64(1) << (minor - 24)
		if err = d.need(n); err != nil {
			return
		}
		p := d.b[d.pos : d.pos+int(n)]
		switch n {
		case 1:
			arg = uint64(p[0])
		case 2:
			arg = uint64(binary.BigEndian.Uint16(p))
		case 4:
			arg = uint64(binary.BigEndian.Uint32(p))
		default:
			arg = binary.BigEndian.Uint64(p)
		}
		d.pos += int(n)
	case minor == 31:
		indefinite = true
	default:
		err = fmt.Errorf("reserved additional information %d", minor)
	}
	return
}

func (d *cborDecoder) value(depth int) (any, error) {
	if err := d.bud.take(depth); err != nil {
		return nil, err
	}
	major, minor, arg, indef, err := d.head()
	if err != nil {
		return nil, err
	}
	if indef && (major == 0 || major == 1 || major == 6) {
		return nil, fmt.Errorf("indefinite length on major type %d", major)
	}
	switch major {
	case 0:
		return float64(arg), nil
	case 1:
		return -1 - float64(arg), nil
	case 2:
		s, err := d.str(major, arg, indef)
		return []byte(s), err
	case 3:
		return d.str(major, arg, indef)
	case 4, 5:
		if err := d.bud.take(depth); err != nil { // a container counts twice: it costs more
			return nil, err
		}
		if major == 4 {
			return d.array(arg, indef, depth)
		}
		return d.dict(arg, indef, depth)
	case 6:
		v, err := d.value(depth + 1)
		if err != nil || arg != 1 {
			return v, err
		}
		secs, ok := v.(float64)
		if !ok {
			return nil, fmt.Errorf("tag 1 wraps %T, not a number", v)
		}
		return secondsToTime(secs), nil
	}
	return d.simple(minor, arg, indef)
}

func (d *cborDecoder) str(major byte, n uint64, indef bool) (string, error) {
	if !indef {
		if err := d.need(n); err != nil {
			return "", err
		}
		s := string(d.b[d.pos : d.pos+int(n)])
		d.pos += int(n)
		return s, nil
	}
	var buf []byte
	for {
		if err := d.need(1); err != nil {
			return "", err
		}
		if d.b[d.pos] == 0xff {
			d.pos++
			return string(buf), nil
		}
		m, _, cn, ci, err := d.head()
		if err != nil {
			return "", err
		}
		if m != major || ci {
			return "", errors.New("bad chunk in indefinite-length string")
		}
		if err := d.need(cn); err != nil {
			return "", err
		}
		buf = append(buf, d.b[d.pos:d.pos+int(cn)]...)
		d.pos += int(cn)
	}
}

func (d *cborDecoder) array(n uint64, indef bool, depth int) ([]any, error) {
	if !indef && n > uint64(len(d.b)-d.pos) { // every element takes at least one byte
		return nil, errCBORShort
	}
	l := make([]any, 0, min(n, 1024))
	for i := uint64(0); indef || i < n; i++ {
		v, err := d.value(depth + 1)
		if err != nil {
			return nil, err
		}
		if v == cborBreakVal {
			if !indef {
				return nil, errCBORBreak
			}
			break
		}
		if v == cborNull {
			v = nil
		}
		l = append(l, v)
	}
	return l, nil
}

func (d *cborDecoder) dict(n uint64, indef bool, depth int) (map[string]any, error) {
	if !indef && n > uint64(len(d.b)-d.pos)/2 {
		return nil, errCBORShort
	}
	m := make(map[string]any, min(n, 64))
	var nullKeys map[string]bool // keys given null, dropped but still seen
	for i := uint64(0); indef || i < n; i++ {
		k, err := d.value(depth + 1)
		if err != nil {
			return nil, err
		}
		if k == cborBreakVal {
			if !indef {
				return nil, errCBORBreak
			}
			break
		}
		key, ok := k.(string)
		if !ok {
			return nil, fmt.Errorf("map key is %T, not a string", k)
		}
		v, err := d.value(depth + 1)
		if err != nil {
			return nil, err
		}
		if v == cborBreakVal {
			return nil, errCBORBreak
		}
		if _, dup := m[key]; dup || nullKeys[key] {
			return nil, fmt.Errorf("map key %q appears twice", Prefix(key))
		}
		if v == cborNull {
			if nullKeys == nil {
				nullKeys = map[string]bool{}
			}
			nullKeys[key] = true
		} else {
			m[key] = v
		}
	}
	return m, nil
}

func (d *cborDecoder) simple(minor byte, arg uint64, indef bool) (any, error) {
	switch {
	case indef:
		return cborBreakVal, nil
	case minor == 20:
		return false, nil
	case minor == 21:
		return true, nil
	case minor == 22, minor == 23:
		return cborNull, nil
	case minor == 25:
		return float16(uint16(arg)), nil
	case minor == 26:
		return float64(math.Float32frombits(uint32(arg))), nil
	case minor == 27:
		return math.Float64frombits(arg), nil
	}
	return nil, fmt.Errorf("unsupported simple value %d", minor)
}

// float16 widens an IEEE 754 half-precision number.
func float16(h uint16) float64 {
	sign := 1.0
	if h&0x8000 != 0 {
		sign = -1
	}
	exp, frac := int(h>>10)&0x1f, float64(h&0x3ff)
	switch exp {
	case 0:
		return sign * math.Ldexp(frac, -24)
	case 0x1f:
		if frac == 0 {
			return sign * math.Inf(1)
		}
		return math.NaN()
	}
	return sign * math.Ldexp(1+frac/1024, exp-15)
}
