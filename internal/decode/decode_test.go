package decode

import (
	"encoding/binary"
	"errors"
	"math"
	"testing"
)

var errBad = errors.New("bad input")

func TestReadsWhatWasWritten(t *testing.T) {
	var b []byte
	b = append(b, 7)
	b = binary.AppendUvarint(b, 300)
	b = binary.AppendVarint(b, -5)
	b = binary.AppendUvarint(b, 2)
	b = append(b, "hi"...)
	b = binary.LittleEndian.AppendUint64(b, math.Float64bits(1.5))
	b = append(b, 9, 9)
	r := New(b, errBad)
	if got := r.Byte(); got != 7 {
		t.Errorf("Byte %d", got)
	}
	if got := r.Uvarint(); got != 300 {
		t.Errorf("Uvarint %d", got)
	}
	if got := r.Varint(); got != -5 {
		t.Errorf("Varint %d", got)
	}
	if got := r.Str(); got != "hi" {
		t.Errorf("Str %q", got)
	}
	if got := r.Float64(); got != 1.5 {
		t.Errorf("Float64 %v", got)
	}
	if r.Len() != 2 || len(r.Rest()) != 2 || r.Err() != nil {
		t.Errorf("Len %d Rest %v Err %v", r.Len(), r.Rest(), r.Err())
	}
}

func TestFailuresRecordTheGivenErrorAndStick(t *testing.T) {
	endless := []byte{0x80} // a varint with no last byte
	over64 := []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}
	for name, tc := range map[string]struct {
		in   []byte
		read func(*Reader)
	}{
		"byte of nothing":      {nil, func(r *Reader) { r.Byte() }},
		"truncated uvarint":    {endless, func(r *Reader) { r.Uvarint() }},
		"uvarint over 64 bits": {over64, func(r *Reader) { r.Uvarint() }},
		"truncated varint":     {endless, func(r *Reader) { r.Varint() }},
		"short float":          {[]byte{1, 2, 3}, func(r *Reader) { r.Float64() }},
		"count past the end":   {[]byte{5, 'a'}, func(r *Reader) { r.Count() }},
		"string past the end":  {[]byte{5, 'a'}, func(r *Reader) { r.Str() }},
		"explicit Fail":        {[]byte{1}, func(r *Reader) { r.Fail() }},
	} {
		t.Run(name, func(t *testing.T) {
			r := New(tc.in, errBad)
			tc.read(&r)
			if !errors.Is(r.Err(), errBad) || r.Len() != 0 {
				t.Fatalf("Err %v, Len %d; want errBad and nothing left", r.Err(), r.Len())
			}
			if r.Byte() != 0 || r.Uvarint() != 0 || r.Str() != "" || !errors.Is(r.Err(), errBad) {
				t.Error("reads after a failure return zero and keep the error")
			}
		})
	}
}
