package ingest

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/golang/snappy"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/model/value"
	"github.com/prometheus/prometheus/prompb"
	writev2 "github.com/prometheus/prometheus/prompb/io/prometheus/write/v2"

	"github.com/cellwatch/cellwatch/internal/awsapi"
	"github.com/cellwatch/cellwatch/internal/record"
	"github.com/cellwatch/cellwatch/internal/sigv4"
)

// rwCase is one series in both protocol versions.
type rwCase struct {
	name    string
	labels  []string // name, value, ...
	samples []prompb.Sample
	hists   int
	want    []record.Datum // MetricName, Dimensions, Timestamp, Value
	dropped map[string]int
	err     string
}

func (c *rwCase) v1() *prompb.WriteRequest {
	ts := prompb.TimeSeries{Samples: c.samples, Histograms: make([]prompb.Histogram, c.hists)}
	for i := 0; i < len(c.labels); i += 2 {
		ts.Labels = append(ts.Labels, prompb.Label{Name: c.labels[i], Value: c.labels[i+1]})
	}
	return &prompb.WriteRequest{Timeseries: []prompb.TimeSeries{ts}}
}

func (c *rwCase) v2() *writev2.Request {
	req := &writev2.Request{Symbols: []string{""}}
	ts := writev2.TimeSeries{Histograms: make([]writev2.Histogram, c.hists)}
	for _, s := range c.labels {
		ts.LabelsRefs = append(ts.LabelsRefs, uint32(len(req.Symbols)))
		req.Symbols = append(req.Symbols, s)
	}
	for _, s := range c.samples {
		ts.Samples = append(ts.Samples, writev2.Sample{Value: s.Value, Timestamp: s.Timestamp})
	}
	req.Timeseries = []writev2.TimeSeries{ts}
	return req
}

func TestRemoteWriteMapping(t *testing.T) {
	now := testNow.UnixMilli()
	long := strings.Repeat("x", 256)
	many := []string{"__name__", "m"}
	for i := range 31 {
		many = append(many, fmt.Sprintf("l%02d", i), "v")
	}
	dim := func(kv ...string) []record.Dimension {
		var out []record.Dimension
		for i := 0; i < len(kv); i += 2 {
			out = append(out, record.Dimension{Name: kv[i], Value: kv[i+1]})
		}
		return out
	}
	cases := []rwCase{
		{name: "labels become dimensions", labels: []string{"__name__", "up", "instance", "a:1", "job", "node"},
			samples: []prompb.Sample{{Value: 1, Timestamp: now}, {Value: 0, Timestamp: now + 1500}},
			want: []record.Datum{{MetricName: "up", Dimensions: dim("instance", "a:1", "job", "node"), Timestamp: now, Value: 1},
				{MetricName: "up", Dimensions: dim("instance", "a:1", "job", "node"), Timestamp: now + 1500, Value: 0}}},
		{name: "an empty label value is no label", labels: []string{"__name__", "m", "a", "", "b", "2"},
			samples: []prompb.Sample{{Value: 3, Timestamp: now}},
			want:    []record.Datum{{MetricName: "m", Dimensions: dim("b", "2"), Timestamp: now, Value: 3}}},
		{name: "no dimensions", labels: []string{"__name__", "m"}, samples: []prompb.Sample{{Value: -2.5, Timestamp: now}},
			want: []record.Datum{{MetricName: "m", Timestamp: now, Value: -2.5}}},
		{name: "stale marker, NaN and infinity dropped", labels: []string{"__name__", "m"},
			samples: []prompb.Sample{{Value: math.Float64frombits(value.StaleNaN), Timestamp: now}, {Value: math.NaN(), Timestamp: now}, {Value: math.Inf(1), Timestamp: now}, {Value: 5, Timestamp: now}},
			want:    []record.Datum{{MetricName: "m", Timestamp: now, Value: 5}},
			dropped: map[string]int{dropStale: 1, dropNaN: 1, dropRange: 1}},
		{name: "native histograms dropped", labels: []string{"__name__", "h"}, hists: 2, dropped: map[string]int{dropHistogram: 2}},
		{name: "no metric name", labels: []string{"job", "x"}, samples: []prompb.Sample{{Value: 1, Timestamp: now}}, err: "invalid metric name or labels"},
		{name: "invalid UTF-8", labels: []string{"__name__", "m", "a", "\xff"}, samples: []prompb.Sample{{Value: 1, Timestamp: now}}, err: "invalid metric name or labels"},
		{name: "duplicate label", labels: []string{"__name__", "m", "a", "1", "a", "2"}, samples: []prompb.Sample{{Value: 1, Timestamp: now}}, err: "duplicated label a"},
		{name: "31 dimensions", labels: many, samples: []prompb.Sample{{Value: 1, Timestamp: now}}, err: "number of labels exceeds the limit (actual: 31, limit: 30"},
		{name: "long metric name", labels: []string{"__name__", long}, err: "metric name length exceeds the limit of 255"},
		{name: "long label name", labels: []string{"__name__", "m", long, "v"}, err: "label name length exceeds the limit of 255"},
		{name: "long label value", labels: []string{"__name__", "m", "a", strings.Repeat("v", 1025)}, err: "label value length exceeds the limit of 1024"},
		{name: "too far in the future", labels: []string{"__name__", "m"}, samples: []prompb.Sample{{Value: 1, Timestamp: now + 11*60*1000}}, err: "out of bounds"},
		{name: "older than two weeks", labels: []string{"__name__", "m"}, samples: []prompb.Sample{{Value: 1, Timestamp: now - 15*24*3600*1000}}, err: "too old sample"},
	}
	for _, c := range cases {
		for _, version := range []string{"1.0", "2.0"} {
			t.Run(c.name+"/"+version, func(t *testing.T) {
				var conv *converted
				var err error
				if version == "1.0" {
					conv, err = convertV1(c.v1(), "Prometheus", testNow)
				} else {
					conv, err = convertV2(c.v2(), "Prometheus", testNow)
				}
				if c.err != "" {
					if err == nil || !strings.Contains(err.Error(), c.err) {
						t.Fatalf("got error %v; want one containing %q", err, c.err)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				if conv.rec.Namespace != "Prometheus" {
					t.Errorf("namespace %q", conv.rec.Namespace)
				}
				for i := range c.want {
					c.want[i].Unit, c.want[i].HighRes, c.want[i].Sample = "None", true, true
				}
				if fmt.Sprint(conv.rec.Datums) != fmt.Sprint(c.want) {
					t.Errorf("got datums %+v; want %+v", conv.rec.Datums, c.want)
				}
				if fmt.Sprint(conv.dropped) != fmt.Sprint(orEmpty(c.dropped)) {
					t.Errorf("got dropped %v; want %v", conv.dropped, c.dropped)
				}
			})
		}
	}
}

func orEmpty(m map[string]int) map[string]int {
	if m == nil {
		return map[string]int{}
	}
	return m
}

type fakeWAL struct {
	recs [][]byte
	err  error
}

func (w *fakeWAL) Append(_ context.Context, rec []byte) (uint64, error) {
	if w.err != nil {
		return 0, w.err
	}
	w.recs = append(w.recs, bytes.Clone(rec))
	return uint64(len(w.recs)), nil
}

type fakeLocal struct {
	admit   error
	applied []*record.Metrics
}

func (l *fakeLocal) Admit() error            { return l.admit }
func (l *fakeLocal) Apply(m *record.Metrics) { l.applied = append(l.applied, m) }

// TestRemoteWriteHandler: the HTTP answers of the receiver, its WAL record
// and tenant, basic auth and the node's own failures (5xx, so the sender
// retries).
func TestRemoteWriteHandler(t *testing.T) {
	body := func(c *rwCase) []byte {
		b, _ := c.v1().Marshal()
		return snappy.Encode(nil, b)
	}
	ok := &rwCase{labels: []string{"__name__", "m"}, samples: []prompb.Sample{{Value: 1, Timestamp: testNow.UnixMilli()}}}
	keys := map[string]sigv4.Credential{"AKID": {AccessKeyID: "AKID", SecretAccessKey: "secret", AccountID: "111122223333"}}
	cases := map[string]struct {
		keys         map[string]sigv4.Credential
		user, pass   string
		walErr       error
		admit        error
		maxBody      int
		code         int
		tenant       string
		wantRecorded bool
	}{
		"anonymous":      {code: 204, tenant: awsapi.DefaultTenant, wantRecorded: true},
		"basic auth":     {keys: keys, user: "AKID", pass: "secret", code: 204, tenant: "111122223333", wantRecorded: true},
		"wrong secret":   {keys: keys, user: "AKID", pass: "nope", code: 401},
		"no auth":        {keys: keys, code: 401},
		"WAL fails":      {walErr: fmt.Errorf("disk gone"), code: 500},
		"store full":     {admit: fmt.Errorf("local store full"), code: 503},
		"body too large": {maxBody: 10, code: 413},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			wal, local := &fakeWAL{err: c.walErr}, &fakeLocal{admit: c.admit}
			cfg := RemoteWriteConfig{Namespace: "Prometheus", MaxBodyBytes: 1 << 20}
			if c.maxBody > 0 {
				cfg.MaxBodyBytes = c.maxBody
			}
			rw := newRemoteWrite(wal, local, cfg, c.keys, prometheus.NewRegistry(), nil)
			rw.now = func() time.Time { return testNow }
			h := rw.handler()
			req := httptest.NewRequest("POST", "/api/v1/write", bytes.NewReader(body(ok)))
			req.Header.Set("Content-Type", "application/x-protobuf")
			req.Header.Set("Content-Encoding", "snappy")
			if c.user != "" {
				req.SetBasicAuth(c.user, c.pass)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != c.code {
				t.Fatalf("got %d %q; want %d", rec.Code, rec.Body.String(), c.code)
			}
			if !c.wantRecorded {
				if len(local.applied) != 0 {
					t.Fatalf("applied %d records; want none", len(local.applied))
				}
				return
			}
			if len(wal.recs) != 1 || len(local.applied) != 1 {
				t.Fatalf("got %d WAL records, %d applied; want 1 and 1", len(wal.recs), len(local.applied))
			}
			var m record.Metrics
			if err := record.DecodeMetrics(wal.recs[0], &m); err != nil {
				t.Fatal(err)
			}
			if m.Tenant != c.tenant || m.Namespace != "Prometheus" || len(m.Datums) != 1 || m.Datums[0].Value != 1 {
				t.Errorf("WAL record %+v; want tenant %s, one datum of 1", m, c.tenant)
			}
		})
	}
}
