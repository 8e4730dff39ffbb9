package awsapi

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/smithy-go/encoding/cbor"
)

func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := readFixture(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func readFixture(name string) ([]byte, error) { return os.ReadFile("testdata/" + name) }

func gzipped(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, _ = zw.Write(b)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// protocolRequests builds the same PutMetricData as each SDK sends it.
func protocolRequests(t *testing.T) map[string]*http.Request {
	cborReq := httptest.NewRequest("POST", "/service/GraniteServiceVersion20100801/operation/PutMetricData",
		bytes.NewReader(gzipped(t, fixture(t, "putmetricdata-go-sdk.cbor"))))
	cborReq.Header.Set("Content-Type", "application/cbor")
	cborReq.Header.Set("Smithy-Protocol", "rpc-v2-cbor")
	cborReq.Header.Set("X-Amzn-Query-Mode", "true")
	cborReq.Header.Set("Content-Encoding", "gzip")

	jsonReq := httptest.NewRequest("POST", "/", bytes.NewReader(fixture(t, "putmetricdata-boto3.json")))
	jsonReq.Header.Set("Content-Type", "application/x-amz-json-1.0")
	jsonReq.Header.Set("X-Amz-Target", "GraniteServiceVersion20100801.PutMetricData")

	queryReq := httptest.NewRequest("POST", "/", bytes.NewReader(fixture(t, "putmetricdata-query.txt")))
	queryReq.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	return map[string]*http.Request{"cbor": cborReq, "json": jsonReq, "query": queryReq}
}

func TestReadRequestDecodesEveryProtocolAlike(t *testing.T) {
	want := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for name, r := range protocolRequests(t) {
		t.Run(name, func(t *testing.T) {
			req, aerr := ReadRequest(r, DefaultLimits, nil)
			if aerr != nil {
				t.Fatalf("ReadRequest: %v", aerr)
			}
			if req.Operation != "PutMetricData" || req.Protocol.String() != name {
				t.Fatalf("got op %q protocol %v; want PutMetricData %s", req.Operation, req.Protocol, name)
			}
			if got := req.Input.String("Namespace"); got != "MyApp" {
				t.Errorf("Namespace: got %q; want MyApp", got)
			}
			data := req.Input.Structs("MetricData")
			if len(data) != 1 {
				t.Fatalf("MetricData: got %d members; want 1", len(data))
			}
			d := data[0]
			if v, _, err := d.Float("Value"); err != nil || v != 12.5 {
				t.Errorf("Value: got %v, %v; want 12.5", v, err)
			}
			if ts, _, err := d.Time("Timestamp"); err != nil || !ts.Equal(want) {
				t.Errorf("Timestamp: got %v, %v; want %v", ts, err, want)
			}
			dims := d.Structs("Dimensions")
			if len(dims) != 1 || dims[0].String("Name") != "Host" || dims[0].String("Value") != "a" {
				t.Errorf("Dimensions: got %v; want [{Host a}]", dims)
			}
			if d.String("Unit") != "Milliseconds" || d.String("MetricName") != "Latency" {
				t.Errorf("got Unit %q MetricName %q", d.String("Unit"), d.String("MetricName"))
			}
		})
	}
}

func TestReadRequestBounds(t *testing.T) {
	big := bytes.Repeat([]byte("a"), 2000)
	for name, tc := range map[string]struct {
		body     []byte
		gzip     bool
		wantCode string
	}{
		"body over the limit":       {big, false, "RequestEntityTooLarge"},
		"gzip expanding past limit": {big, true, "RequestEntityTooLarge"},
		"gzip header on plain body": {[]byte("{}"), false, "SerializationException"},
		"not json":                  {[]byte("{nope"), false, "SerializationException"},
	} {
		t.Run(name, func(t *testing.T) {
			body := tc.body
			if tc.gzip {
				body = gzipped(t, body)
			}
			r := httptest.NewRequest("POST", "/", bytes.NewReader(body))
			r.Header.Set("X-Amz-Target", "GraniteServiceVersion20100801.PutMetricData")
			if tc.gzip || name == "gzip header on plain body" {
				r.Header.Set("Content-Encoding", "gzip")
			}
			_, aerr := ReadRequest(r, Limits{MaxBodyBytes: 1000, MaxDecompressedBytes: 1500}, nil)
			if aerr == nil || aerr.Code != tc.wantCode {
				t.Fatalf("got %v; want code %s", aerr, tc.wantCode)
			}
		})
	}
}

func sampleOutput() Object {
	ts := time.Date(2026, 1, 2, 3, 4, 0, 0, time.UTC)
	return Object{
		{"Label", "Latency"},
		{"Datapoints", List{Object{{"Timestamp", ts}, {"Sum", 45.0}, {"Unit", "None"}, {"ExtendedStatistics", Map{{"p99", 9.0}}}}}},
		{"Empty", List{}},
	}
}

func TestWriteResponseShapes(t *testing.T) {
	for name, tc := range map[string]struct {
		protocol Protocol
		check    func(t *testing.T, rec *httptest.ResponseRecorder)
	}{
		"cbor": {CBOR, func(t *testing.T, rec *httptest.ResponseRecorder) {
			if rec.Header().Get("Smithy-Protocol") != "rpc-v2-cbor" {
				t.Errorf("missing Smithy-Protocol header")
			}
			v, err := cbor.Decode(rec.Body.Bytes())
			if err != nil {
				t.Fatal(err)
			}
			dp := v.(cbor.Map)["Datapoints"].(cbor.List)[0].(cbor.Map)
			tag := dp["Timestamp"].(*cbor.Tag)
			if tag.ID != 1 || tag.Value.(cbor.Float64) != 1767323040 {
				t.Errorf("Timestamp: got tag %d %v; want tag 1 1767323040", tag.ID, tag.Value)
			}
			if dp["ExtendedStatistics"].(cbor.Map)["p99"].(cbor.Float64) != 9 {
				t.Errorf("ExtendedStatistics: got %v", dp["ExtendedStatistics"])
			}
		}},
		"json": {JSON, func(t *testing.T, rec *httptest.ResponseRecorder) {
			want := `{"Label":"Latency","Datapoints":[{"Timestamp":1767323040.0,"Sum":45.0,"Unit":"None","ExtendedStatistics":{"p99":9.0}}],"Empty":[]}`
			if got := rec.Body.String(); got != want {
				t.Errorf("got %s; want %s", got, want)
			}
			if !json.Valid(rec.Body.Bytes()) {
				t.Error("invalid JSON")
			}
		}},
		"query": {Query, func(t *testing.T, rec *httptest.ResponseRecorder) {
			body := rec.Body.String()
			for _, want := range []string{
				`<GetMetricStatisticsResponse xmlns="http://monitoring.amazonaws.com/doc/2010-08-01/"><GetMetricStatisticsResult>`,
				`<Datapoints><member><Timestamp>2026-01-02T03:04:00.000Z</Timestamp><Sum>45.0</Sum>`,
				`<ExtendedStatistics><entry><key>p99</key><value>9.0</value></entry></ExtendedStatistics>`,
				`<Empty/>`,
				`<ResponseMetadata><RequestId>rid</RequestId></ResponseMetadata></GetMetricStatisticsResponse>`,
			} {
				if !strings.Contains(body, want) {
					t.Errorf("body lacks %s:\n%s", want, body)
				}
			}
		}},
	} {
		t.Run(name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			WriteResponse(rec, &Request{Protocol: tc.protocol, Operation: "GetMetricStatistics", ID: "rid"}, sampleOutput())
			if rec.Code != 200 || rec.Header().Get("X-Amzn-Requestid") != "rid" {
				t.Fatalf("got status %d request id %q", rec.Code, rec.Header().Get("X-Amzn-Requestid"))
			}
			tc.check(t, rec)
		})
	}
}

func TestWriteErrorShapes(t *testing.T) {
	for name, tc := range map[string]struct {
		req        Request
		err        error
		wantStatus int
		wantInBody string
	}{
		"cbor query mode keeps the query status": {Request{Protocol: CBOR, QueryMode: true}, &Error{Code: "ResourceNotFound", Shape: cwShape + "ResourceNotFound", Status: 404}, 404, "ResourceNotFound"},
		"cbor without query mode answers 400":    {Request{Protocol: CBOR}, &Error{Code: "ResourceNotFound", Shape: cwShape + "ResourceNotFound", Status: 404}, 400, "ResourceNotFound"},
		"json invalid parameter":                 {Request{Protocol: JSON, QueryMode: true}, InvalidParameterValue("bad"), 400, `{"__type":"com.amazonaws.cloudwatch#InvalidParameterValueException","message":"bad"}`},
		"query xml":                              {Request{Protocol: Query, QueryMode: true}, InvalidParameterCombination("both"), 400, `<Error><Type>Sender</Type><Code>InvalidParameterCombination</Code><Message>both</Message></Error>`},
		"internal error is a receiver fault":     {Request{Protocol: Query, QueryMode: true}, bytes.ErrTooLarge, 500, `<Type>Receiver</Type><Code>InternalServiceError</Code>`},
	} {
		t.Run(name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			WriteError(rec, &tc.req, tc.err)
			if rec.Code != tc.wantStatus {
				t.Errorf("status: got %d; want %d", rec.Code, tc.wantStatus)
			}
			body := rec.Body.String()
			if tc.req.Protocol == CBOR {
				v, err := cbor.Decode(rec.Body.Bytes())
				if err != nil {
					t.Fatal(err)
				}
				body = string(v.(cbor.Map)["__type"].(cbor.String))
				if rec.Header().Get("Smithy-Protocol") != "rpc-v2-cbor" {
					t.Error("missing Smithy-Protocol header on an error")
				}
			}
			if !strings.Contains(body, tc.wantInBody) {
				t.Errorf("body %q lacks %q", body, tc.wantInBody)
			}
			if tc.req.Protocol != Query && !strings.HasSuffix(rec.Header().Get("X-Amzn-Query-Error"), ";Sender") && tc.wantStatus < 500 {
				t.Errorf("x-amzn-query-error: got %q", rec.Header().Get("X-Amzn-Query-Error"))
			}
		})
	}
}

func TestCoralPath(t *testing.T) {
	if got := CoralPath("MetricData.member.1.Unit"); got != "metricData.1.member.unit" {
		t.Errorf("got %s", got)
	}
}

func TestAccountOf(t *testing.T) {
	for tenant, want := range map[string]string{
		DefaultTenant: AccountID, "123456789012": "123456789012", "12345678901": AccountID,
		"12345678901x": AccountID, "": AccountID,
	} {
		if got := AccountOf(tenant); got != want {
			t.Errorf("AccountOf(%q) = %q, want %q", tenant, got, want)
		}
	}
}
