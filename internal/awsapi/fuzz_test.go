package awsapi

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/smithy-go/encoding/cbor"
)

// Fuzz targets of the request decoders (docs/security.md, "Fuzzing the
// request decoders"). Each asserts no panic and, for what decodes, that
// the decoded Input written back in its protocol reads back the same; the
// ReadRequest targets assert that every failure is an *Error with a code
// and a 4xx status. Seeds: f.Add of the captured requests in testdata and
// the corpora in testdata/fuzz/<target> (crashers found are kept there).

// toSmithy writes an Input tree back as CBOR values, times as tag 1 over
// epoch seconds, as the SDK sends them.
func toSmithy(v any) cbor.Value {
	switch x := v.(type) {
	case map[string]any:
		m := cbor.Map{}
		for k, e := range x {
			m[k] = toSmithy(e)
		}
		return m
	case Input:
		return toSmithy(map[string]any(x))
	case []any:
		l := make(cbor.List, len(x))
		for i, e := range x {
			l[i] = toSmithy(e)
		}
		return l
	case string:
		return cbor.String(x)
	case []byte:
		return cbor.Slice(x)
	case float64:
		return cbor.Float64(x)
	case bool:
		return cbor.Bool(x)
	case time.Time:
		return &cbor.Tag{ID: 1, Value: cbor.Float64(float64(x.UnixMilli()) / 1000)}
	}
	return &cbor.Nil{}
}

// sameTree is reflect.DeepEqual with floats compared by their bits (NaN
// equals itself).
func sameTree(a, b any) bool {
	switch x := a.(type) {
	case float64:
		y, ok := b.(float64)
		return ok && math.Float64bits(x) == math.Float64bits(y)
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, e := range x {
			if f, ok := y[k]; !ok || !sameTree(e, f) {
				return false
			}
		}
		return true
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !sameTree(x[i], y[i]) {
				return false
			}
		}
		return true
	case time.Time:
		y, ok := b.(time.Time)
		return ok && x.Equal(y)
	}
	return reflect.DeepEqual(a, b)
}

// FuzzCBORRoundTrip: what decodeCBOR reads, written back as CBOR, reads
// back the same.
func FuzzCBORRoundTrip(f *testing.F) {
	f.Add(fixtureBytes(f, "putmetricdata-go-sdk.cbor"))
	f.Fuzz(func(t *testing.T, b []byte) {
		in, err := decodeCBOR(b)
		if err != nil {
			return
		}
		again, err := decodeCBOR(cbor.Encode(toSmithy(in)))
		if err != nil {
			t.Fatalf("re-read of %#v: %v", in, err)
		}
		if !sameTree(map[string]any(in), map[string]any(again)) {
			t.Fatalf("read %#v; re-read %#v", in, again)
		}
	})
}

// FuzzDecodeJSON: decodeJSON never panics, and what it reads, marshalled
// back, reads back the same.
func FuzzDecodeJSON(f *testing.F) {
	f.Add(fixtureBytes(f, "putmetricdata-boto3.json"))
	f.Add([]byte(`{"a":[1,2.5e3,"x",true,null,{"b":{}}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		in, err := decodeJSON(b)
		if err != nil {
			return
		}
		out, err := json.Marshal(in)
		if err != nil {
			t.Fatalf("marshal %#v: %v", in, err)
		}
		again, err := decodeJSON(out)
		if err != nil {
			t.Fatalf("re-read %s: %v", out, err)
		}
		if len(in) != 0 && !reflect.DeepEqual(in, again) {
			t.Fatalf("read %#v; re-read %#v", in, again)
		}
	})
}

// toForm writes the Input tree v under name back as Query form values,
// lists as .member.N from 1.
func toForm(form url.Values, name string, v any) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			toForm(form, name+"."+k, e)
		}
	case []any:
		for i, e := range x {
			toForm(form, name+".member."+strconv.Itoa(i+1), e)
		}
	case string:
		form.Set(name, x)
	case queryText:
		form.Set(name, string(x))
	}
}

// FuzzDecodeQuery: decodeQuery of any parsed form never panics, is
// deterministic, and what it reads, written back as a form, reads back
// the same.
func FuzzDecodeQuery(f *testing.F) {
	f.Add(string(fixtureBytes(f, "putmetricdata-query.txt")))
	f.Add("Action=X&A=1&A.B=2&L.member.1=a&L.member.01=b&L.member.3=c")
	f.Fuzz(func(t *testing.T, s string) {
		form, err := url.ParseQuery(s)
		if err != nil {
			return
		}
		in := decodeQuery(form)
		for range 3 {
			if again := decodeQuery(form); !reflect.DeepEqual(in, again) {
				t.Fatalf("decoded %v twice: %#v, then %#v", form, in, again)
			}
		}
		back := url.Values{}
		for k, v := range in {
			toForm(back, k, v)
		}
		if again := decodeQuery(back); !reflect.DeepEqual(in, again) {
			t.Fatalf("read %#v; written back as %v, re-read %#v", in, back, again)
		}
	})
}

// fuzzRequest builds a request of protocol p with body (gzipped when gz)
// and checks ReadRequest: no panic, a failure is an *Error with a code and
// a 4xx status, a success has an Input and the operation.
func fuzzRequest(t *testing.T, p Protocol, op string, body []byte, gz bool) {
	var r *http.Request
	send := body
	if gz {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		_, _ = zw.Write(body)
		_ = zw.Close()
		send = buf.Bytes()
	}
	switch p {
	case CBOR:
		r = httptest.NewRequest(http.MethodPost, cborPrefix+url.PathEscape(op), bytes.NewReader(send))
		r.Header.Set("Smithy-Protocol", "rpc-v2-cbor")
		r.Header.Set("Content-Type", "application/cbor")
	case JSON:
		r = httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(send))
		r.Header.Set("X-Amz-Target", targetPrefix+op)
		r.Header.Set("Content-Type", "application/x-amz-json-1.0")
	default:
		r = httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(send))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if gz {
		r.Header.Set("Content-Encoding", "gzip")
	}
	req, aerr := ReadRequest(r, Limits{MaxBodyBytes: 64 << 10, MaxDecompressedBytes: 256 << 10}, nil)
	if req == nil {
		t.Fatal("no request")
	}
	if aerr != nil {
		var e *Error
		if !errors.As(error(aerr), &e) || e.Code == "" || e.Status < 400 || e.Status > 499 {
			t.Fatalf("error %#v; want an *Error with a code and a 4xx status", aerr)
		}
		return
	}
	if req.Protocol != p || p == Query && req.Operation == "" {
		t.Fatalf("decoded %+v", req)
	}
}

func addReadSeeds(f *testing.F, fixture string) {
	b := fixtureBytes(f, fixture)
	f.Add("PutMetricData", b, false)
	f.Add("PutMetricData", b, true)
	f.Add("GetMetricData", []byte{}, false)
}

// FuzzReadRequestCBOR: the whole ReadRequest path of Smithy RPC v2 CBOR.
func FuzzReadRequestCBOR(f *testing.F) {
	addReadSeeds(f, "putmetricdata-go-sdk.cbor")
	f.Fuzz(func(t *testing.T, op string, body []byte, gz bool) { fuzzRequest(t, CBOR, op, body, gz) })
}

// FuzzReadRequestJSON: the whole ReadRequest path of AWS JSON 1.0.
func FuzzReadRequestJSON(f *testing.F) {
	addReadSeeds(f, "putmetricdata-boto3.json")
	f.Fuzz(func(t *testing.T, op string, body []byte, gz bool) {
		if strings.ContainsAny(op, "\r\n\x00") || !utf8Header(op) {
			return // not a header value an HTTP client can send
		}
		fuzzRequest(t, JSON, op, body, gz)
	})
}

// FuzzReadRequestQuery: the whole ReadRequest path of the Query protocol.
func FuzzReadRequestQuery(f *testing.F) {
	addReadSeeds(f, "putmetricdata-query.txt")
	f.Fuzz(func(t *testing.T, _ string, body []byte, gz bool) { fuzzRequest(t, Query, "", body, gz) })
}

func utf8Header(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] == 0x7f {
			return false
		}
	}
	return true
}
