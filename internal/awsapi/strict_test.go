package awsapi

import (
	"bytes"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"encoding/json"

	"github.com/aws/smithy-go/encoding/cbor"
)

// TestStrictDecoding sends each class of bad input through ReadRequest's
// decoders and checks the answer's code.
func TestStrictDecoding(t *testing.T) {
	small := Limits{MaxBodyBytes: 1 << 20, MaxDecompressedBytes: 1 << 20, MaxElements: 100, MaxDepth: 4}
	deep := strings.Repeat("[", 10) + strings.Repeat("]", 10)
	many := "[" + strings.Repeat("0,", 200) + "0]"
	cborMany := append([]byte{0xa1, 0x61, 'a', 0x9f}, append(bytes.Repeat([]byte{0x00}, 200), 0xff)...)
	cases := []struct {
		name  string
		proto Protocol
		body  string
		code  string // "" = decodes
	}{
		{"json ok", JSON, `{"a":[1,2],"b":{"c":"d"},"n":null}`, ""},
		{"json trailing bytes", JSON, `{"a":1} x`, "SerializationException"},
		{"json second document", JSON, `{"a":1}{"a":2}`, "SerializationException"},
		{"json duplicate key", JSON, `{"a":1,"a":2}`, "SerializationException"},
		{"json duplicate key after null", JSON, `{"a":null,"a":2}`, "SerializationException"},
		{"json invalid utf8", JSON, "{\"a\":\"\xff\"}", "SerializationException"},
		{"json not an object", JSON, `[1]`, "SerializationException"},
		{"json too deep", JSON, `{"a":` + deep + `}`, "SerializationException"},
		{"json too many elements", JSON, `{"a":` + many + `}`, "RequestEntityTooLarge"},
		{"json bad number", JSON, `{"a":01}`, "SerializationException"},
		{"cbor ok", CBOR, string(cbor.Encode(cbor.Map{"a": cbor.Uint(1)})), ""},
		{"cbor duplicate key", CBOR, "\xa2\x61a\x01\x61a\x02", "SerializationException"},
		{"cbor too many elements", CBOR, string(cborMany), "RequestEntityTooLarge"},
		{"cbor too deep", CBOR, "\xa1\x61a" + strings.Repeat("\x81", 10) + "\x00", "SerializationException"},
		{"cbor trailing bytes", CBOR, "\xa0\x00", "SerializationException"},
		{"query ok", Query, "Action=ListMetrics&Dimensions.member.1.Name=a&Dimensions.member.2.Name=b", ""},
		{"query index with leading zero", Query, "Action=X&A.member.01=a", "InvalidQueryParameter"},
		{"query index zero", Query, "Action=X&A.member.0=a", "InvalidQueryParameter"},
		{"query duplicate parameter", Query, "Action=X&A=1&A=2", "InvalidQueryParameter"},
		{"query value and structure", Query, "Action=X&A=1&A.B=2", "InvalidQueryParameter"},
		{"query structure and value", Query, "Action=X&A.B=2&A=1", "InvalidQueryParameter"},
		{"query bad escape", Query, "Action=X&A=%zz", "MalformedQueryString"},
		{"query empty part", Query, "Action=X&A..B=1", "InvalidQueryParameter"},
		{"query too many parameters", Query, "Action=X" + manyParams(200), "RequestEntityTooLarge"},
		{"query two actions", Query, "Action=X&Action=Y", "InvalidQueryParameter"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for range 5 { // the same answer every time
				_, err := decodeBody([]byte(c.body), c.proto, small)
				got := ""
				if err != nil {
					got = decodeError(err, c.proto, small).Code
				}
				if got != c.code {
					t.Fatalf("code %q (%v), want %q", got, err, c.code)
				}
			}
		})
	}
}

func manyParams(n int) string {
	var b strings.Builder
	for i := range n {
		b.WriteString("&P" + strings.Repeat("x", i%3) + string(rune('a'+i%26)) + string(rune('a'+i/26)) + "=1")
	}
	return b.String()
}

// decodeBody is ReadRequest's decoding step.
func decodeBody(body []byte, p Protocol, lim Limits) (Input, error) {
	switch p {
	case CBOR:
		return decodeCBORLimited(body, lim)
	case JSON:
		return decodeJSONLimited(body, lim)
	}
	in, _, err := parseQuery(string(body), lim)
	return in, err
}

func TestQueryLargestPutMetricData(t *testing.T) {
	var b strings.Builder
	b.WriteString("Action=PutMetricData&Version=2010-08-01&Namespace=N")
	for i := 1; i <= 1000; i++ {
		p := "&MetricData.member." + strconv.Itoa(i)
		b.WriteString(p + ".MetricName=M" + p + ".Value=1")
		for j := 1; j <= 30; j++ {
			d := p + ".Dimensions.member." + strconv.Itoa(j)
			b.WriteString(d + ".Name=D" + strconv.Itoa(j) + d + ".Value=v")
		}
	}
	in, action, err := parseQuery(b.String(), DefaultLimits)
	if err != nil || action != "PutMetricData" {
		t.Fatalf("parse: %v %q", err, action)
	}
	data := in.Structs("MetricData")
	if len(data) != 1000 || len(data[999].Structs("Dimensions")) != 30 || data[999].Structs("Dimensions")[29].String("Name") != "D30" {
		t.Fatalf("got %d datums", len(data))
	}
}

func TestNumbersAndTypesAreStrict(t *testing.T) {
	cases := []struct {
		name string
		v    any
		ok   bool
		msg  string
	}{
		{"cbor or json string", "1.5", false, "not a number"},
		{"json NaN string", "NaN", true, ""},
		{"byte string", []byte("1"), false, "byte string"},
		{"query text", queryText("1.5"), true, ""},
		{"out of range", queryText("1e999"), false, "out of range"},
		{"json out of range", jsonNum("-1e400"), false, "out of range"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := toFloat(c.v)
			if (err == nil) != c.ok || (err != nil && !strings.Contains(err.Error(), c.msg)) {
				t.Fatalf("err %v", err)
			}
			if err != nil && strings.Contains(err.Error(), "strconv") {
				t.Fatalf("Go's parser text in %v", err)
			}
		})
	}
}

func TestPrefixAndCheckName(t *testing.T) {
	long := strings.Repeat("é", 400)
	if p := Prefix(long); len(p) > maxEcho+3 || !strings.HasSuffix(p, "...") || !strings.HasPrefix(long, strings.TrimSuffix(p, "...")) {
		t.Fatalf("Prefix cut %d bytes: %q", len(p), p)
	}
	e := ConstraintError(strings.Repeat("v", 900_000), "x", "have length between 1 and 1024")
	if len(e.Message) > 500 {
		t.Fatalf("message of %d bytes", len(e.Message))
	}
	for _, bad := range []string{"a\xffb", "a\x00b", "a\nb", "a\u0085b"} {
		if err := CheckName(bad, "MetricName"); err == nil || err.Code != "InvalidParameterValue" {
			t.Errorf("CheckName(%q) = %v", bad, err)
		}
	}
	if err := CheckName("Größe/π", "MetricName"); err != nil {
		t.Errorf("CheckName refused UTF-8: %v", err)
	}
}

func jsonNum(s string) json.Number { return json.Number(s) }

// TestDefaultLimitEntryPoints checks the decoders' DefaultLimits entry
// points agree with the bounded ones ReadRequest calls.
func TestDefaultLimitEntryPoints(t *testing.T) {
	in, err := decodeJSON([]byte(`{"A":{"B":[1,"x"]}}`))
	if err != nil || len(in.Struct("A").List("B")) != 2 {
		t.Fatalf("decodeJSON: %v %v", in, err)
	}
	raw := "Action=X&L.member.2=b&L.member.1=a&S.K=v"
	form, _ := url.ParseQuery(raw)
	want, _, err := parseQuery(raw, DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	got := decodeQuery(form)
	if !reflect.DeepEqual(got, want) || got.Strings("L")[0] != "a" || got.Struct("S").String("K") != "v" {
		t.Fatalf("decodeQuery %v, parseQuery %v", got, want)
	}
	form.Add("S.K", "w") // given twice: no request
	if got := decodeQuery(form); len(got) != 0 {
		t.Fatalf("decodeQuery of a duplicate: %v", got)
	}
}
