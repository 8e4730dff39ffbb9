package awsapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Input is a decoded request: a tree of map[string]any, []any and leaves.
// Leaves are string, float64, bool or time.Time (CBOR and JSON), or string
// (Query, where every leaf is text). The accessors convert leaves to the type
// the operation asks for, so an operation reads all protocols alike.
type Input map[string]any

// decodeJSON decodes an AWS JSON 1.0/1.1 body.
func decodeJSON(body []byte) (Input, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return Input{}, nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("decode json: %w", err)
	}
	return m, nil
}

// decodeQuery turns Query form values (MetricData.member.1.Dimensions.member.2.Name=x)
// into the same tree the other protocols give. Keys are taken in sorted
// order and a structure wins over a leaf of the same name (A=1&A.B=2 reads
// A as {B: 2}), so the tree does not depend on map order.
func decodeQuery(form url.Values) Input {
	root := map[string]any{}
	keys := make([]string, 0, len(form))
	for key, vals := range form {
		if key != "Action" && key != "Version" && len(vals) > 0 {
			keys = append(keys, key)
		}
	}
	slices.Sort(keys)
	for _, key := range keys {
		parts := strings.Split(key, ".")
		node := root
		for i, p := range parts {
			next, isMap := node[p].(map[string]any)
			if i == len(parts)-1 {
				if !isMap {
					node[p] = form[key][0]
				}
				break
			}
			if !isMap {
				next = map[string]any{}
				node[p] = next
			}
			node = next
		}
	}
	for k, e := range root { // the root stays a structure: member.1=x at the top is no list
		root[k] = listify(e)
	}
	return root
}

// listify turns {"member": {"1": a, "2": b}} into [a, b], depth first.
func listify(v any) any {
	m, ok := v.(map[string]any)
	if !ok {
		return v
	}
	for k, e := range m {
		m[k] = listify(e)
	}
	if len(m) == 1 {
		if members, ok := m["member"].(map[string]any); ok {
			idx := make([]int, 0, len(members))
			for k := range members {
				n, err := strconv.Atoi(k)
				if err != nil || n < 1 || strconv.Itoa(n) != k { // member.01 is no index
					return m
				}
				idx = append(idx, n)
			}
			slices.Sort(idx)
			l := make([]any, len(idx))
			for i, n := range idx {
				l[i] = members[strconv.Itoa(n)]
			}
			return l
		}
	}
	return m
}

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
	case string:
		b, err := strconv.ParseBool(x)
		if err != nil {
			return false, true, MalformedRequest("%s: %q is not a boolean", name, x)
		}
		return b, true, nil
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
		s, _ := e.(string)
		out = append(out, s)
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

func toFloat(v any) (float64, error) {
	switch x := v.(type) {
	case float64:
		return x, nil
	case json.Number:
		return strconv.ParseFloat(string(x), 64)
	case string:
		// JSON carries NaN and Infinity as strings; Query carries every number as text.
		return strconv.ParseFloat(x, 64)
	}
	return 0, fmt.Errorf("%T is not a number", v)
}

func toTime(v any) (time.Time, error) {
	switch x := v.(type) {
	case time.Time:
		return x, nil
	case float64:
		return secondsToTime(x), nil
	case json.Number:
		f, err := strconv.ParseFloat(string(x), 64)
		return secondsToTime(f), err
	case string:
		if f, err := strconv.ParseFloat(x, 64); err == nil {
			return secondsToTime(f), nil
		}
		for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02"} {
			if t, err := time.Parse(layout, x); err == nil {
				return t.UTC(), nil
			}
		}
		return time.Time{}, fmt.Errorf("%q is not a timestamp", x)
	}
	return time.Time{}, fmt.Errorf("%T is not a timestamp", v)
}

func secondsToTime(f float64) time.Time {
	return time.UnixMilli(int64(math.Round(f * 1000))).UTC()
}
