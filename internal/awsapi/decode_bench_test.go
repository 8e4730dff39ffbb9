package awsapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/aws/smithy-go/encoding/cbor"
)

// benchDatums is a PutMetricData of n datums with dims dimensions each.
func benchDatums(n, dims int) (cborBody, jsonBody []byte, queryBody string) {
	cd, jd := cbor.List{}, []any{}
	form := url.Values{"Action": {"PutMetricData"}, "Version": {"2010-08-01"}, "Namespace": {"Bench"}}
	for i := range n {
		cdims, jdims := cbor.List{}, []any{}
		p := fmt.Sprintf("MetricData.member.%d.", i+1)
		for j := range dims {
			name, value := fmt.Sprintf("Dim%d", j), fmt.Sprintf("value-%d-%d", i, j)
			cdims = append(cdims, cbor.Map{"Name": cbor.String(name), "Value": cbor.String(value)})
			jdims = append(jdims, map[string]any{"Name": name, "Value": value})
			form.Set(fmt.Sprintf("%sDimensions.member.%d.Name", p, j+1), name)
			form.Set(fmt.Sprintf("%sDimensions.member.%d.Value", p, j+1), value)
		}
		cd = append(cd, cbor.Map{"MetricName": cbor.String("Latency"), "Value": cbor.Float64(float64(i)), "Unit": cbor.String("Milliseconds"), "Dimensions": cdims})
		jd = append(jd, map[string]any{"MetricName": "Latency", "Value": float64(i), "Unit": "Milliseconds", "Dimensions": jdims})
		form.Set(p+"MetricName", "Latency")
		form.Set(p+"Value", fmt.Sprint(i))
		form.Set(p+"Unit", "Milliseconds")
	}
	jsonBody, _ = json.Marshal(map[string]any{"Namespace": "Bench", "MetricData": jd})
	return cbor.Encode(cbor.Map{"Namespace": cbor.String("Bench"), "MetricData": cd}), jsonBody, form.Encode()
}

// BenchmarkReadRequest is the decode cost of one PutMetricData of 100
// datums with 5 dimensions in each protocol, through ReadRequest as the
// server calls it (docs/performance.md, "Bounded, strict decoding").
func BenchmarkReadRequest(b *testing.B) {
	cb, jb, qb := benchDatums(100, 5)
	for _, c := range []struct {
		name, path, ct, target string
		body                   []byte
	}{
		{"cbor", cborPrefix + "PutMetricData", "application/cbor", "", cb},
		{"json", "/", "application/x-amz-json-1.0", targetPrefix + "PutMetricData", jb},
		{"query", "/", "application/x-www-form-urlencoded", "", []byte(qb)},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(c.body)))
			for b.Loop() {
				r := httptest.NewRequest("POST", c.path, bytes.NewReader(c.body))
				r.Header.Set("Content-Type", c.ct)
				if c.target != "" {
					r.Header.Set("X-Amz-Target", c.target)
				}
				req, aerr := ReadRequest(r, DefaultLimits, nil)
				if aerr != nil || len(req.Input.Structs("MetricData")) != 100 || !strings.HasPrefix(req.Operation, "PutMetricData") {
					b.Fatalf("decode: %v", aerr)
				}
			}
		})
	}
}

// BenchmarkDecodePutLogEvents is the decode cost of one PutLogEvents body
// of 1,000 ~200-byte JSON messages (each quote escaped, as SDKs send JSON
// log lines), reported per byte of body.
func BenchmarkDecodePutLogEvents(b *testing.B) {
	evs := make([]map[string]any, 1000)
	for i := range evs {
		evs[i] = map[string]any{"timestamp": 1764669600000 + i, "message": fmt.Sprintf(
			`{"ts":"2026-12-02T10:00:%02d.%03dZ","level":"info","method":"GET","path":"/api/v1/items/%d","status":%d,"ms":%d,"ua":"Mozilla/5.0 (X11; Linux x86_64)"}`,
			i%60, i%1000, i, 200+i%7*50, i%250)}
	}
	body, _ := json.Marshal(map[string]any{"logGroupName": "g", "logStreamName": "s", "logEvents": evs})
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		in, err := decodeJSONLimited(body, DefaultLimits)
		if err != nil || len(in["logEvents"].([]any)) != 1000 {
			b.Fatal(err)
		}
	}
}
