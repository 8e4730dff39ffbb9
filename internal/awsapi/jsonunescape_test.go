package awsapi

import (
	"encoding/json"
	"testing"
	"unicode/utf8"
)

func TestJSONStringEscapes(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{`plain`, "plain", true},
		{`a\"b\\c\/d`, `a"b\c/d`, true},
		{`\b\f\n\r\t`, "\b\f\n\r\t", true},
		{`\u00e9\u20AC`, "é€", true},
		{`\ud83d\ude00 ok`, "😀 ok", true},
		{`\ud83d alone`, "\ufffd alone", true},
		{`\ude00\ud83d`, "\ufffd\ufffd", true},
		{`\ud83d\u0041`, "\ufffdA", true},
		{`{\"status\":503}`, `{"status":503}`, true},
		{`\x`, "", false},
		{`\u12`, "", false},
		{`\u12g4`, "", false},
		{`end\`, "", false},
		{"tab\tthen\x01", "", false},
		{`caf\u00e9 \"ok\" and more plain text`, `café "ok" and more plain text`, true},
	} {
		d := jsonDecoder{b: []byte(`"` + tc.in + `"`)}
		got, err := d.str()
		if (err == nil) != tc.ok || got != tc.want || (tc.ok && d.pos != len(d.b)) {
			t.Errorf("str(%q) = %q, %v (at %d); want %q, ok %v", tc.in, got, err, d.pos, tc.want, tc.ok)
		}
	}
}

// FuzzJSONString holds the string decoder to encoding/json's answer for every
// string the decoder's scanner would hand it.
func FuzzJSONString(f *testing.F) {
	for _, s := range []string{`a\"b`, `\ud83d\ude00`, `\ud83d`, `\u00`, `\n\t`, `x\\`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		if !utf8.ValidString(in) {
			return // the decoder refuses it; encoding/json replaces it
		}
		var want string
		err := json.Unmarshal([]byte(`"`+in+`"`), &want)
		d := jsonDecoder{b: []byte(`"` + in + `"`), bud: newBudget(DefaultLimits)}
		got, gerr := d.str()
		if gerr == nil && d.pos != len(d.b) {
			return // an inner quote ended the string early
		}
		if (err == nil) != (gerr == nil) || got != want {
			t.Fatalf("str(%q) = %q, %v; encoding/json says %q, %v", in, got, gerr, want, err)
		}
	})
}
