package awsapi

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"math"
	"strconv"
	"time"

	"github.com/aws/smithy-go/encoding/cbor"
)

// Object is an output structure: members in the order they are written.
// Member values are string, float64, int, int64, bool, time.Time, Object,
// Map, List or []string. A member left out is omitted on the wire.
type Object []Field

// Field is one member of an Object or one entry of a Map.
type Field struct {
	Name  string
	Value any
}

// Map is a string-keyed map (map<string, T> shapes such as ExtendedStatistics).
type Map []Field

// List is a list member; it is written even when empty, as AWS does.
type List []any

// Add appends a member and returns the object.
func (o Object) Add(name string, v any) Object { return append(o, Field{name, v}) }

func toCBOR(v any) cbor.Value {
	switch x := v.(type) {
	case Object:
		m := make(cbor.Map, len(x))
		for _, f := range x {
			m[f.Name] = toCBOR(f.Value)
		}
		return m
	case Map:
		m := make(cbor.Map, len(x))
		for _, f := range x {
			m[f.Name] = toCBOR(f.Value)
		}
		return m
	case List:
		l := make(cbor.List, len(x))
		for i, e := range x {
			l[i] = toCBOR(e)
		}
		return l
	case []string:
		l := make(cbor.List, len(x))
		for i, e := range x {
			l[i] = cbor.String(e)
		}
		return l
	case string:
		return cbor.String(x)
	case float64:
		return cbor.Float64(x)
	case int:
		return intCBOR(int64(x))
	case int64:
		return intCBOR(x)
	case bool:
		return cbor.Bool(x)
	case time.Time:
		return &cbor.Tag{ID: 1, Value: cbor.Float64(float64(x.UnixMilli()) / 1000)}
	}
	return &cbor.Nil{}
}

func intCBOR(i int64) cbor.Value {
	if i < 0 {
		return cbor.NegInt(uint64(-i - 1))
	}
	return cbor.Uint(uint64(i))
}

// appendJSON writes v as AWS JSON: timestamps as epoch seconds, doubles with
// a fractional part as AWS prints them (45.0).
func appendJSON(b []byte, v any) []byte {
	switch x := v.(type) {
	case Object:
		return appendJSONFields(b, x)
	case Map:
		return appendJSONFields(b, x)
	case List:
		b = append(b, '[')
		for i, e := range x {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSON(b, e)
		}
		return append(b, ']')
	case []string:
		l := make(List, len(x))
		for i, s := range x {
			l[i] = s
		}
		return appendJSON(b, l)
	case string:
		s, _ := json.Marshal(x)
		return append(b, s...)
	case float64:
		return appendJSONFloat(b, x)
	case int:
		return strconv.AppendInt(b, int64(x), 10)
	case int64:
		return strconv.AppendInt(b, x, 10)
	case bool:
		return strconv.AppendBool(b, x)
	case time.Time:
		return appendJSONFloat(b, float64(x.UnixMilli())/1000)
	}
	return append(b, "null"...)
}

func appendJSONFields(b []byte, fields []Field) []byte {
	b = append(b, '{')
	for i, f := range fields {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSON(b, f.Name)
		b = append(b, ':')
		b = appendJSON(b, f.Value)
	}
	return append(b, '}')
}

func appendJSONFloat(b []byte, f float64) []byte {
	switch {
	case math.IsNaN(f):
		return append(b, `"NaN"`...)
	case math.IsInf(f, 1):
		return append(b, `"Infinity"`...)
	case math.IsInf(f, -1):
		return append(b, `"-Infinity"`...)
	}
	n, format := len(b), byte('f')
	if a := math.Abs(f); a != 0 && (a < 1e-6 || a >= 1e21) {
		format = 'g'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if !bytes.ContainsAny(b[n:], ".eE") {
		b = append(b, ".0"...)
	}
	return b
}

// writeXML writes v in the Query protocol's XML form under element name.
func writeXML(buf *bytes.Buffer, name string, v any) {
	switch x := v.(type) {
	case Object:
		open(buf, name)
		for _, f := range x {
			writeXML(buf, f.Name, f.Value)
		}
		closeTag(buf, name)
	case Map:
		open(buf, name)
		for _, f := range x {
			buf.WriteString("<entry><key>")
			_ = xml.EscapeText(buf, []byte(f.Name)) // a bytes.Buffer does not fail
			buf.WriteString("</key>")
			writeXML(buf, "value", f.Value)
			buf.WriteString("</entry>")
		}
		closeTag(buf, name)
	case List:
		if len(x) == 0 {
			buf.WriteString("<" + name + "/>")
			return
		}
		open(buf, name)
		for _, e := range x {
			writeXML(buf, "member", e)
		}
		closeTag(buf, name)
	case []string:
		l := make(List, len(x))
		for i, s := range x {
			l[i] = s
		}
		writeXML(buf, name, l)
	default:
		open(buf, name)
		_ = xml.EscapeText(buf, []byte(xmlScalar(v))) // a bytes.Buffer does not fail
		closeTag(buf, name)
	}
}

func xmlScalar(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case float64:
		return string(appendJSONFloat(nil, x))
	case int:
		return strconv.Itoa(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case bool:
		return strconv.FormatBool(x)
	case time.Time:
		return x.UTC().Format("2006-01-02T15:04:05.000Z")
	}
	return ""
}

func open(buf *bytes.Buffer, name string)     { buf.WriteString("<" + name + ">") }
func closeTag(buf *bytes.Buffer, name string) { buf.WriteString("</" + name + ">") }

// Obj builds an Object from name, value pairs: Obj("Id", id, "Label", label).
func Obj(pairs ...any) Object {
	o := make(Object, 0, len(pairs)/2)
	for i := 0; i+1 < len(pairs); i += 2 {
		o = append(o, Field{Name: pairs[i].(string), Value: pairs[i+1]})
	}
	return o
}
