package awsapi

import (
	"encoding/hex"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/smithy-go/encoding/cbor"
)

// fromSmithy converts smithy-go's CBOR value tree (the SDK's own decoder,
// used here as the oracle) into the form decodeCBOR returns.
func fromSmithy(v cbor.Value) any {
	switch x := v.(type) {
	case cbor.Map:
		m := map[string]any{}
		for k, e := range x {
			switch e.(type) {
			case *cbor.Nil, *cbor.Undefined:
				continue
			}
			m[k] = fromSmithy(e)
		}
		return m
	case cbor.List:
		l := make([]any, len(x))
		for i, e := range x {
			l[i] = fromSmithy(e)
		}
		return l
	case cbor.String:
		return string(x)
	case cbor.Slice:
		return []byte(x) // a byte string is never read as text (strict decoding)
	case cbor.Uint:
		return float64(x)
	case cbor.NegInt:
		return -float64(x) // smithy keeps the true magnitude: -100 is NegInt(100)
	case cbor.Float32:
		return float64(x)
	case cbor.Float64:
		return float64(x)
	case cbor.Bool:
		return bool(x)
	case *cbor.Tag:
		if x.ID == 1 {
			if f, ok := fromSmithy(x.Value).(float64); ok {
				return secondsToTime(f)
			}
		}
		return fromSmithy(x.Value)
	}
	return nil
}

func TestDecodeCBORCases(t *testing.T) {
	for name, tc := range map[string]struct {
		hex  string
		want map[string]any
	}{
		"definite map, negative int, float16":  {"a2616139012b6162f93e00", map[string]any{"a": -300.0, "b": 1.5}},
		"indefinite text string chunks":        {"a16173 7f62686963206869 ff", map[string]any{"s": "hi hi"}},
		"tag 1 integer seconds":                {"a16174c11a69573e45", map[string]any{"t": secondsToTime(1767325253)}},
		"null member dropped, bools":           {"a3616ef66174f56166f4", map[string]any{"t": true, "f": false}},
		"indefinite array of float32 and list": {"bf616c9ffa3fc000000102ffff", map[string]any{"l": []any{1.5, 1.0, 2.0}}},
	} {
		t.Run(name, func(t *testing.T) {
			b, err := hex.DecodeString(strings.ReplaceAll(tc.hex, " ", ""))
			if err != nil {
				t.Fatal(err)
			}
			got, err := decodeCBOR(b)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(map[string]any(got), tc.want) {
				t.Errorf("got %#v; want %#v", got, tc.want)
			}
		})
	}
	for name, h := range map[string]string{
		"truncated":         "a2616139",
		"not a map":         "9f01ff",
		"deep nesting":      strings.Repeat("81", 100) + "01",
		"huge length claim": "a1616c9b00000000ffffffff",
		"stray break":       "a16161ff",
		"non-string key":    "a10101",
	} {
		t.Run("rejects "+name, func(t *testing.T) {
			b, _ := hex.DecodeString(h)
			if _, err := decodeCBOR(b); err == nil {
				t.Errorf("decoded %s; want an error", h)
			}
		})
	}
	if f := float16(0x7c00); !math.IsInf(f, 1) {
		t.Errorf("float16 infinity: got %v", f)
	}
}

// FuzzDecodeCBOR checks decodeCBOR against the AWS SDK's own CBOR decoder:
// whatever the SDK's decoder reads as a map, ours reads the same, and ours
// never panics.
func FuzzDecodeCBOR(f *testing.F) {
	f.Add(fixtureBytes(f, "putmetricdata-go-sdk.cbor"))
	f.Add([]byte{0xbf, 0x61, 0x61, 0x9f, 0xf9, 0x3c, 0x00, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := decodeCBOR(b)
		ref, rerr := cbor.Decode(b)
		if rerr != nil {
			return
		}
		want, isMap := fromSmithy(ref).(map[string]any)
		if !isMap {
			return
		}
		if err != nil {
			if strings.Contains(err.Error(), "trailing") || strings.Contains(err.Error(), "tag 1") || strings.Contains(err.Error(), "map key") {
				return // stricter than the SDK's decoder on purpose
			}
			if errors.Is(err, errCBORShort) {
				return // the SDK's decoder wraps a length past the end of data into an empty container
			}
			t.Fatalf("ours failed (%v) where the SDK decoder read %#v", err, want)
		}
		if !reflect.DeepEqual(map[string]any(got), want) && !hasNaN(want) {
			t.Fatalf("got %#v; want %#v", got, want)
		}
	})
}

func hasNaN(v any) bool {
	switch x := v.(type) {
	case float64:
		return math.IsNaN(x)
	case map[string]any:
		for _, e := range x {
			if hasNaN(e) {
				return true
			}
		}
	case []any:
		for _, e := range x {
			if hasNaN(e) {
				return true
			}
		}
	}
	return false
}

func fixtureBytes(f *testing.F, name string) []byte {
	b, err := readFixture(name)
	if err != nil {
		f.Fatal(err)
	}
	return b
}
