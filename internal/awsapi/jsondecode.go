package awsapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf8"
)

// decodeJSON decodes an AWS JSON 1.0/1.1 body with DefaultLimits.
func decodeJSON(body []byte) (Input, error) { return decodeJSONLimited(body, DefaultLimits) }

// decodeJSONLimited decodes an AWS JSON body strictly, counting what it
// builds against lim: the body is one object and nothing after it but
// white space, a key appears once per object, strings are valid UTF-8.
// Numbers stay json.Number (the accessors convert them); null members are
// dropped, as CBOR's are, so both protocols tell "absent" alike.
func decodeJSONLimited(body []byte, lim Limits) (Input, error) {
	d := jsonDecoder{b: body, bud: newBudget(lim)}
	d.ws()
	if d.pos == len(d.b) {
		return Input{}, nil
	}
	if d.b[d.pos] != '{' {
		return nil, errors.New("decode json: the body is not a JSON object")
	}
	v, err := d.value(0)
	if err != nil {
		return nil, fmt.Errorf("decode json: %w", err)
	}
	d.ws()
	if d.pos != len(d.b) {
		return nil, fmt.Errorf("decode json: data after the JSON document at offset %d", d.pos)
	}
	return v.(map[string]any), nil
}

type jsonDecoder struct {
	b   []byte
	pos int
	bud *budget
	// scratch is reused for decoding escaped strings.
	scratch []byte
}

var errJSONEnd = errors.New("unexpected end of JSON input")

func (d *jsonDecoder) ws() {
	for d.pos < len(d.b) {
		switch d.b[d.pos] {
		case ' ', '\t', '\n', '\r':
			d.pos++
		default:
			return
		}
	}
}

func (d *jsonDecoder) syntax() error {
	if d.pos >= len(d.b) {
		return errJSONEnd
	}
	return fmt.Errorf("invalid character at offset %d", d.pos)
}

func (d *jsonDecoder) value(depth int) (any, error) {
	if err := d.bud.take(depth); err != nil {
		return nil, err
	}
	d.ws()
	if d.pos >= len(d.b) {
		return nil, errJSONEnd
	}
	c := d.b[d.pos]
	if c == '{' || c == '[' {
		if err := d.bud.take(depth); err != nil { // a container counts twice: it costs more
			return nil, err
		}
	}
	switch {
	case c == '{':
		return d.object(depth)
	case c == '[':
		return d.array(depth)
	case c == '"':
		return d.str()
	case c == 't':
		return true, d.literal("true")
	case c == 'f':
		return false, d.literal("false")
	case c == 'n':
		return nil, d.literal("null")
	case c == '-' || (c >= '0' && c <= '9'):
		return d.number()
	}
	return nil, d.syntax()
}

func (d *jsonDecoder) literal(word string) error {
	if len(d.b)-d.pos < len(word) || string(d.b[d.pos:d.pos+len(word)]) != word {
		return d.syntax()
	}
	d.pos += len(word)
	return nil
}

// expect skips white space and one byte c.
func (d *jsonDecoder) expect(c byte) error {
	d.ws()
	if d.pos >= len(d.b) || d.b[d.pos] != c {
		return d.syntax()
	}
	d.pos++
	return nil
}

// more skips white space and reports whether a list goes on (a comma) or
// ends (the closing byte).
func (d *jsonDecoder) more(end byte) (bool, error) {
	d.ws()
	if d.pos < len(d.b) {
		switch d.b[d.pos] {
		case ',':
			d.pos++
			return true, nil
		case end:
			d.pos++
			return false, nil
		}
	}
	return false, d.syntax()
}

func (d *jsonDecoder) object(depth int) (map[string]any, error) {
	d.pos++ // {
	m := map[string]any{}
	d.ws()
	if d.pos < len(d.b) && d.b[d.pos] == '}' {
		d.pos++
		return m, nil
	}
	nulls := false
	for {
		d.ws()
		if d.pos >= len(d.b) || d.b[d.pos] != '"' {
			return nil, d.syntax()
		}
		at := d.pos
		key, err := d.str()
		if err != nil {
			return nil, err
		}
		if err := d.expect(':'); err != nil {
			return nil, err
		}
		v, err := d.value(depth + 1)
		if err != nil {
			return nil, err
		}
		if _, dup := m[key]; dup {
			return nil, fmt.Errorf("key %q appears twice in one object (offset %d)", Prefix(key), at)
		}
		m[key] = v
		nulls = nulls || v == nil
		if more, err := d.more('}'); err != nil || !more {
			if nulls {
				for k, v := range m {
					if v == nil {
						delete(m, k)
					}
				}
			}
			return m, err
		}
	}
}

func (d *jsonDecoder) array(depth int) ([]any, error) {
	d.pos++ // [
	var l []any
	d.ws()
	if d.pos < len(d.b) && d.b[d.pos] == ']' {
		d.pos++
		return []any{}, nil
	}
	for {
		v, err := d.value(depth + 1)
		if err != nil {
			return nil, err
		}
		l = append(l, v)
		if more, err := d.more(']'); err != nil || !more {
			return l, err
		}
	}
}

// str reads a string at d.pos (on its opening quote).
func (d *jsonDecoder) str() (string, error) {
	start, b := d.pos, d.b
	p := skipPlain(b, start+1)
	if p < len(b) && b[p] == '"' {
		d.pos = p + 1
		raw := b[start+1 : p]
		if !utf8.Valid(raw) {
			return "", fmt.Errorf("string at offset %d is not valid UTF-8", start)
		}
		return string(raw), nil
	}
	// Escapes: decode as we scan. What an escape yields is whole valid
	// UTF-8, so out is valid exactly when every plain run was.
	out := append(d.scratch[:0], b[start+1:p]...)
	for p < len(b) {
		switch c := b[p]; {
		case c == '"':
			d.pos = p + 1
			if !utf8.Valid(out) {
				return "", fmt.Errorf("string at offset %d is not valid UTF-8", start)
			}
			d.scratch = out
			return string(out), nil
		case c == '\\':
			var ok bool
			if out, p, ok = appendEscape(out, b, p); !ok {
				d.pos = p
				return "", fmt.Errorf("bad escape in the string at offset %d", start)
			}
		case c < 0x20:
			return "", fmt.Errorf("control character in the string at offset %d", start)
		}
		q := p
		p = skipPlain(b, p)
		out = append(out, b[q:p]...)
	}
	return "", errJSONEnd
}

// skipPlain returns the position of the first byte from p on that ends a
// run of plain string bytes (a quote, a backslash or a control character),
// or len(b).
func skipPlain(b []byte, p int) int {
	for p < len(b) && !jsonStringStop[b[p]] {
		p++
	}
	return p
}

// jsonStringStop marks the bytes that end a run of plain string bytes.
var jsonStringStop = func() (t [256]bool) {
	for c := range 0x20 {
		t[c] = true
	}
	t['"'], t['\\'] = true, true
	return t
}()

// number reads a number as JSON's grammar has it.
func (d *jsonDecoder) number() (json.Number, error) {
	start := d.pos
	if d.b[d.pos] == '-' {
		d.pos++
	}
	digits := func() int {
		n := 0
		for d.pos < len(d.b) && d.b[d.pos] >= '0' && d.b[d.pos] <= '9' {
			d.pos++
			n++
		}
		return n
	}
	if d.pos < len(d.b) && d.b[d.pos] == '0' {
		d.pos++
	} else if digits() == 0 {
		return "", d.syntax()
	}
	if d.pos < len(d.b) && d.b[d.pos] == '.' {
		d.pos++
		if digits() == 0 {
			return "", d.syntax()
		}
	}
	if d.pos < len(d.b) && (d.b[d.pos] == 'e' || d.b[d.pos] == 'E') {
		d.pos++
		if d.pos < len(d.b) && (d.b[d.pos] == '+' || d.b[d.pos] == '-') {
			d.pos++
		}
		if digits() == 0 {
			return "", d.syntax()
		}
	}
	return json.Number(d.b[start:d.pos]), nil
}
