package ingest

import (
	"bufio"
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cellwatch/cellwatch/internal/awsapi"
)

func defaultLimits(t *testing.T, args ...string) LimitsConfig {
	t.Helper()
	var c LimitsConfig
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	c.RegisterFlags(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestLimitsConfigValidate(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string // "" = valid
	}{
		{nil, ""},
		{[]string{"-limits.max-elements", "0"}, "max-elements must be positive"},
		{[]string{"-limits.max-depth", "4"}, "below 8"},
		{[]string{"-limits.max-inflight-bytes", "1000"}, "below -limits.max-body-bytes"},
		{[]string{"-limits.tenant-datum-burst", "999"}, "full PutMetricData"},
		{[]string{"-limits.tenant-new-series-burst", "10"}, "new series would never pass"},
		{[]string{"-limits.tenant-request-rate", "-1"}, "must not be negative"},
		{[]string{"-limits.tenant-datum-rate", "0", "-limits.tenant-datum-burst", "0"}, ""},
		{[]string{"-limits.read-timeout", "0s"}, "read-timeout must be positive"},
	} {
		cfg := defaultLimits(t, c.args...)
		err := cfg.Validate()
		if (c.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), c.want)) {
			t.Errorf("%v: got %v, want %q", c.args, err, c.want)
		}
	}
}

func TestTenantBuckets(t *testing.T) {
	tl := NewTenantLimits(defaultLimits(t, "-limits.tenant-request-rate", "1", "-limits.tenant-request-burst", "2",
		"-limits.tenant-datum-rate", "1", "-limits.tenant-datum-burst", "1000", "-limits.tenant-new-series-rate", "0"))
	for i, want := range []string{"", "", "Throttling"} {
		got := ""
		if err := tl.AllowRequest("a"); err != nil {
			got = err.Code
			if err.Status != 400 || err.Message != "Rate exceeded" || err.Limit != "tenant_requests" {
				t.Errorf("throttle answer %+v", err)
			}
		}
		if got != want {
			t.Errorf("request %d of tenant a: %q, want %q", i+1, got, want)
		}
	}
	if err := tl.AllowRequest("b"); err != nil {
		t.Errorf("tenant b throttled by a's requests: %v", err)
	}
	if tl.AllowDatums("a", 1000) != nil || tl.AllowDatums("a", 1000) == nil {
		t.Error("datum bucket: want the first 1000 in, the next 1000 out")
	}
	if tl.AllowNewSeries("a", 1_000_000) != nil || tl.limitsNewSeries() {
		t.Error("a zero rate limits nothing")
	}
	var nilLimits *TenantLimits
	if nilLimits.AllowRequest("a") != nil || nilLimits.AllowDatums("a", 5) != nil {
		t.Error("nil TenantLimits limits")
	}
}

func TestInflightNeverWaits(t *testing.T) {
	f := &inflight{maxRequests: 2, maxBytes: 100, bodyBytes: 60}
	r := httptest.NewRequest("POST", "/", strings.NewReader(strings.Repeat("x", 50)))
	c1, e1 := f.admit(r)
	_, e2 := f.admit(r) // 100 bytes: at the cap, not over
	_, e3 := f.admit(r)
	if e1 != nil || e2 != nil || e3 == nil || e3.Limit != "inflight_requests" || e3.Status != 503 {
		t.Fatalf("admit: %v %v %v", e1, e2, e3)
	}
	f.release(c1)
	r.ContentLength = -1 // charged the body limit
	if _, e := f.admit(r); e == nil || e.Limit != "inflight_bytes" {
		t.Fatalf("want the byte cap, got %v", e)
	}
	if f.requests.Load() != 1 || f.bytes.Load() != 50 {
		t.Fatalf("charges left: %d requests, %d bytes", f.requests.Load(), f.bytes.Load())
	}
}

// TestSlowBodyGetsRequestTimeout holds a body back past the read limit:
// the server answers RequestTimeout rather than waiting.
func TestSlowBodyGetsRequestTimeout(t *testing.T) {
	srv := NewServer(awsapi.DefaultLimits, prometheus.NewRegistry(), nil)
	cfg := defaultLimits(t, "-limits.read-timeout", "300ms")
	srv.Guard(cfg, nil)
	ts := httptest.NewServer(srv)
	defer ts.Close()
	conn, err := net.Dial("tcp", ts.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-amz-json-1.0\r\n"+
		"X-Amz-Target: GraniteServiceVersion20100801.ListMetrics\r\nContent-Length: 100\r\n\r\n{")
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer: %v", err)
	}
	if code := resp.Header.Get("X-Amzn-Query-Error"); !strings.HasPrefix(code, "RequestTimeout;") {
		t.Fatalf("got %d %q", resp.StatusCode, code)
	}
}
