package awsapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"
)

// Input is a decoded request: a tree of map[string]any, []any and leaves.
// Leaves are string, float64, bool or time.Time (CBOR and JSON), or string
// (Query, where every leaf is text). The accessors convert leaves to the type
// the operation asks for, so an operation reads all protocols alike.
type Input map[string]any

// Has reports whether the member is present.
func (in Input) Has(name string) bool {
	_, ok := in[name]
	return ok
}

// String returns a string member ("" when absent).
func (in Input) String(name string) string {
	switch v := in[name].(type) {
	case string:
		return v
	case queryText:
		return string(v)
	case json.Number:
		return v.String()
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	return ""
}

// Float returns a numeric member; ok is false when it is absent.
func (in Input) Float(name string) (v float64, ok bool, err error) {
	raw, present := in[name]
	if !present {
		return 0, false, nil
	}
	v, err = toFloat(raw)
	if err != nil {
		return 0, true, MalformedRequest("%s: %v", name, err)
	}
	return v, true, nil
}

// Int returns an integer member; ok is false when it is absent.
func (in Input) Int(name string) (v int64, ok bool, err error) {
	f, ok, err := in.Float(name)
	if err != nil || !ok {
		return 0, ok, err
	}
	if f != math.Trunc(f) || math.Abs(f) > 1<<53 {
		return 0, true, MalformedRequest("%s: %v is not an integer", name, f)
	}
	return int64(f), true, nil
}

// Bool returns a boolean member; ok is false when it is absent.
func (in Input) Bool(name string) (v bool, ok bool, err error) {
	switch x := in[name].(type) {
	case nil:
		return false, false, nil
	case bool:
		return x, true, nil
	case queryText:
		switch x {
		case "true":
			return true, true, nil
		case "false":
			return false, true, nil
		}
		return false, true, InvalidParameterValue("The value %s for parameter %s is not a boolean.", Prefix(string(x)), name)
	}
	return false, true, MalformedRequest("%s: not a boolean", name)
}

// Time returns a timestamp member; ok is false when it is absent.
func (in Input) Time(name string) (t time.Time, ok bool, err error) {
	raw, present := in[name]
	if !present {
		return time.Time{}, false, nil
	}
	t, err = toTime(raw)
	if err != nil {
		return time.Time{}, true, MalformedRequest("%s: %v", name, err)
	}
	return t, true, nil
}

// List returns a list member (nil when absent or of another type).
func (in Input) List(name string) []any {
	l, _ := in[name].([]any)
	return l
}

// Struct returns a structure member (nil when absent).
func (in Input) Struct(name string) Input {
	m, _ := in[name].(map[string]any)
	return m
}

// Strings returns a list of strings.
func (in Input) Strings(name string) []string {
	l := in.List(name)
	out := make([]string, 0, len(l))
	for _, e := range l {
		s, ok := e.(string)
		if q, isText := e.(queryText); isText {
			s, ok = string(q), true
		}
		if ok {
			out = append(out, s)
		}
	}
	return out
}

// Structs returns a list of structures; a non-structure element is an empty one.
func (in Input) Structs(name string) []Input {
	l := in.List(name)
	out := make([]Input, len(l))
	for i, e := range l {
		m, _ := e.(map[string]any)
		if m == nil {
			m = map[string]any{}
		}
		out[i] = m
	}
	return out
}

// Floats returns a list of numbers.
func (in Input) Floats(name string) ([]float64, error) {
	l := in.List(name)
	out := make([]float64, len(l))
	for i, e := range l {
		f, err := toFloat(e)
		if err != nil {
			return nil, MalformedRequest("%s.member.%d: %v", name, i+1, err)
		}
		out[i] = f
	}
	return out, nil
}

// toFloat reads a number: a CBOR or JSON number, a Query value, or one of
// the strings JSON carries NaN and the infinities as; a CBOR or JSON string
// is never read as a number. A number out of float64's range is refused
// without Go's parser text.
func toFloat(v any) (float64, error) {
	switch x := v.(type) {
	case float64:
		return x, nil
	case json.Number:
		return parseNumber(string(x))
	case queryText:
		return parseNumber(string(x))
	case string:
		switch x {
		case "NaN", "Infinity", "-Infinity":
			return parseNumber(x)
		}
		return 0, fmt.Errorf("the string %q is not a number", Prefix(x))
	}
	return 0, fmt.Errorf("a %s is not a number", kindOf(v))
}

func parseNumber(s string) (float64, error) {
	f, err := strconv.ParseFloat(s, 64)
	switch {
	case errors.Is(err, strconv.ErrRange):
		return 0, fmt.Errorf("the number %s is out of range", Prefix(s))
	case err != nil:
		return 0, fmt.Errorf("%q is not a number", Prefix(s))
	}
	return f, nil
}

// kindOf names a decoded value's kind for a message.
func kindOf(v any) string {
	switch v.(type) {
	case map[string]any:
		return "structure"
	case []any:
		return "list"
	case []byte:
		return "byte string"
	case bool:
		return "boolean"
	case time.Time:
		return "timestamp"
	}
	return "value"
}

func toTime(v any) (time.Time, error) {
	switch x := v.(type) {
	case time.Time:
		return x, nil
	case float64:
		return secondsToTime(x), nil
	case json.Number:
		f, err := parseNumber(string(x))
		return secondsToTime(f), err
	case queryText:
		return textTime(string(x))
	case string:
		return textTime(x)
	}
	return time.Time{}, fmt.Errorf("a %s is not a timestamp", kindOf(v))
}

// textTime reads a timestamp given as text: ISO 8601, or epoch seconds.
func textTime(x string) (time.Time, error) {
	if f, err := strconv.ParseFloat(x, 64); err == nil {
		return secondsToTime(f), nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, x); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a timestamp", Prefix(x))
}

func secondsToTime(f float64) time.Time {
	return time.UnixMilli(int64(math.Round(f * 1000))).UTC()
}
