package ingest

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/cellwatch/cellwatch/internal/awsapi"
)

func queryRequest(action string, headers map[string]string) *http.Request {
	r := httptest.NewRequest("POST", "/", strings.NewReader("Action="+action+"&Version=2010-08-01"))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	for k, v := range headers {
		r.Header.Set(k, v)
	}
	return r
}

// TestHandlerPanicAnswersAnError: a panicking handler answers a server
// error in the caller's protocol, is counted, and the server serves the next
// request.
func TestHandlerPanicAnswersAnError(t *testing.T) {
	reg := prometheus.NewRegistry()
	s := NewServer(awsapi.DefaultLimits, reg, nil)
	s.Register("ListMetrics", func(context.Context, *awsapi.Request, http.Header) (awsapi.Object, error) { panic("boom") })
	s.Register("GetMetricData", func(context.Context, *awsapi.Request, http.Header) (awsapi.Object, error) { return awsapi.Obj(), nil })
	w := httptest.NewRecorder()
	s.ServeHTTP(w, queryRequest("ListMetrics", nil))
	if w.Code != 500 || !strings.Contains(w.Body.String(), "<Code>InternalServiceError</Code>") {
		t.Errorf("panic: got %d %s; want 500 InternalServiceError", w.Code, w.Body)
	}
	if got := testutil.ToFloat64(s.panics); got != 1 {
		t.Errorf("cellwatch_api_panics_total = %v; want 1", got)
	}
	w = httptest.NewRecorder()
	s.ServeHTTP(w, queryRequest("GetMetricData", nil))
	if w.Code != 200 {
		t.Errorf("the request after the panic: got %d %s; want 200", w.Code, w.Body)
	}
}

// TestCrossSiteRefusedWhenAnonymous: a node that takes unsigned requests
// refuses what a web page in a browser can send (a form POST carries Origin,
// any request Sec-Fetch-Site), and serves the SDKs, which send neither.
func TestCrossSiteRefusedWhenAnonymous(t *testing.T) {
	s := NewServer(awsapi.DefaultLimits, prometheus.NewRegistry(), nil)
	served := 0
	s.Register("PutMetricData", func(context.Context, *awsapi.Request, http.Header) (awsapi.Object, error) {
		served++
		return awsapi.Obj(), nil
	})
	for name, tc := range map[string]struct {
		headers map[string]string
		code    int
	}{
		"an SDK":               {nil, 200},
		"a cross-site form":    {map[string]string{"Origin": "http://evil.example"}, 403},
		"a cross-site fetch":   {map[string]string{"Sec-Fetch-Site": "cross-site"}, 403},
		"a same-site page":     {map[string]string{"Sec-Fetch-Site": "same-site"}, 403},
		"typed in the address": {map[string]string{"Sec-Fetch-Site": "none"}, 200},
	} {
		w := httptest.NewRecorder()
		s.ServeHTTP(w, queryRequest("PutMetricData", tc.headers))
		if w.Code != tc.code || (tc.code == 403 && !strings.Contains(w.Body.String(), "<Code>AccessDenied</Code>")) {
			t.Errorf("%s: got %d %s; want %d", name, w.Code, w.Body, tc.code)
		}
	}
	if served != 2 {
		t.Errorf("the handler ran %d times; want 2 (the refused requests never reach it)", served)
	}
}
