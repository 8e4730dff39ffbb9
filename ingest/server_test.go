package ingest

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/smithy-go/encoding/cbor"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/cellwatch/cellwatch/internal/awsapi"
)

// An operation a real SDK can send but the server does not serve gets what
// AWS's framework answers in each protocol: UnknownOperationException (JSON,
// CBOR; no X-Amzn-Query-Error, so the SDKs show that name) or InvalidAction
// (Query), all 400.
func TestUnknownOperationInEveryProtocol(t *testing.T) {
	s := NewServer(awsapi.DefaultLimits, prometheus.NewRegistry(), nil)
	s.Register("PutMetricData", func(context.Context, *awsapi.Request, http.Header) (awsapi.Object, error) { return nil, nil })
	const coral = "com.amazon.coral.service#UnknownOperationException"
	for _, tc := range []struct {
		name    string
		req     func() *http.Request
		ctype   string
		want    string // in the body
		notWant string
	}{
		{"cbor query mode", func() *http.Request {
			r := httptest.NewRequest("POST", "/service/GraniteServiceVersion20100801/operation/PutAnomalyDetector", strings.NewReader("\xbf\xff"))
			r.Header.Set("Content-Type", "application/cbor")
			r.Header.Set("Smithy-Protocol", "rpc-v2-cbor")
			r.Header.Set("X-Amzn-Query-Mode", "true")
			return r
		}, "application/cbor", coral, "message"},
		{"cbor", func() *http.Request {
			r := httptest.NewRequest("POST", "/service/GraniteServiceVersion20100801/operation/GetMetricWidgetImage", nil)
			r.Header.Set("Smithy-Protocol", "rpc-v2-cbor")
			return r
		}, "application/cbor", coral, "message"},
		{"json", func() *http.Request {
			r := httptest.NewRequest("POST", "/", strings.NewReader(`{"AnomalyDetector":{}}`))
			r.Header.Set("Content-Type", "application/x-amz-json-1.0")
			r.Header.Set("X-Amz-Target", "GraniteServiceVersion20100801.PutAnomalyDetector")
			r.Header.Set("X-Amzn-Query-Mode", "true")
			return r
		}, "application/x-amz-json-1.0", `{"__type":"` + coral + `"}`, "message"},
		{"json, another service's target", func() *http.Request {
			r := httptest.NewRequest("POST", "/", strings.NewReader(`{}`))
			r.Header.Set("Content-Type", "application/x-amz-json-1.1")
			r.Header.Set("X-Amz-Target", "DynamoDB_20120810.GetItem")
			return r
		}, "application/x-amz-json-1.0", `{"__type":"` + coral + `"}`, "message"},
		{"logs json 1.1", func() *http.Request {
			r := httptest.NewRequest("POST", "/", strings.NewReader(`{}`))
			r.Header.Set("Content-Type", "application/x-amz-json-1.1")
			r.Header.Set("X-Amz-Target", "Logs_20140328.CreateDelivery")
			return r
		}, "application/x-amz-json-1.1", `{"__type":"UnknownOperationException"}`, "message"},
		{"query", func() *http.Request {
			r := httptest.NewRequest("POST", "/", strings.NewReader("Action=PutAnomalyDetector&Version=2010-08-01"))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
			return r
		}, "text/xml", "<Error><Type>Sender</Type><Code>InvalidAction</Code><Message>Could not find operation PutAnomalyDetector for version 2010-08-01</Message></Error>", "UnknownOperationException"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			s.ServeHTTP(w, tc.req())
			body := w.Body.String()
			if tc.ctype == "application/cbor" {
				v, err := cbor.Decode(w.Body.Bytes())
				m, ok := v.(cbor.Map)
				if err != nil || !ok || len(m) != 1 || m["__type"] != cbor.String(coral) {
					t.Fatalf("cbor body %x: %v %v", w.Body.Bytes(), v, err)
				}
				if w.Header().Get("Smithy-Protocol") != "rpc-v2-cbor" {
					t.Errorf("no Smithy-Protocol header: %v", w.Header())
				}
			} else if !strings.Contains(body, tc.want) || strings.Contains(body, tc.notWant) {
				t.Errorf("body %s; want %s", body, tc.want)
			}
			if w.Code != http.StatusBadRequest || w.Header().Get("Content-Type") != tc.ctype {
				t.Errorf("status %d, content type %q; want 400, %s", w.Code, w.Header().Get("Content-Type"), tc.ctype)
			}
			if q := w.Header().Get("X-Amzn-Query-Error"); q != "" {
				t.Errorf("X-Amzn-Query-Error %q; want none", q)
			}
		})
	}
}
