package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/golang/snappy"
	remoteapi "github.com/prometheus/client_golang/exp/api/remote"
	"github.com/prometheus/prometheus/prompb"
	writev2 "github.com/prometheus/prometheus/prompb/io/prometheus/write/v2"

	"github.com/cellwatch/cellwatch/internal/awsapi"
	"github.com/cellwatch/cellwatch/internal/record"
	"github.com/cellwatch/cellwatch/query"
	"github.com/cellwatch/cellwatch/store"
)

// rwClient is the client Prometheus' own queue manager builds on.
func rwClient(t testing.TB, tn *testNode) *remoteapi.API {
	t.Helper()
	api, err := remoteapi.NewAPI(tn.url(), remoteapi.WithAPIPath("/api/v1/write"), remoteapi.WithAPIBackoff(remoteapi.BackoffConfig{Min: time.Millisecond, Max: 10 * time.Millisecond, MaxRetries: 1}))
	if err != nil {
		t.Fatal(err)
	}
	return api
}

func v1Series(name, job string, samples ...prompb.Sample) prompb.TimeSeries {
	return prompb.TimeSeries{
		Labels:  []prompb.Label{{Name: "__name__", Value: name}, {Name: "instance", Value: "h1:9100"}, {Name: "job", Value: job}},
		Samples: samples,
	}
}

// lastOf reads the 1 s buckets of a remote-written series from the local
// and the long-term store, as "second -> count/sum/last@ts".
func lastOf(tn *testNode, name, job string, from, to time.Time) (local, longTerm map[int64]string) {
	dims := []record.Dimension{{Name: "instance", Value: "h1:9100"}, {Name: "job", Value: job}}
	local, longTerm = map[int64]string{}, map[int64]string{}
	show := func(m map[int64]string) func(a *store.Aggregate) {
		return func(a *store.Aggregate) {
			m[a.Start] = fmt.Sprintf("%v/%v/%v@%d", a.Count, a.Sum, a.Last, a.LastTS)
		}
	}
	for _, ref := range tn.local.Lookup(awsapi.DefaultTenant, "Prometheus", name, dims) {
		tn.local.Range(ref, from.Unix(), to.Unix(), show(local))
	}
	for _, ref := range tn.longTerm.Lookup(awsapi.DefaultTenant, "Prometheus", name, dims) {
		tn.longTerm.RangePeriod(ref, from.Unix(), to.Unix(), 1, show(longTerm))
	}
	return local, longTerm
}

// TestRemoteWriteReadBackThroughCloudWatch: samples written by remote write
// 1.0 and 2.0 read back exactly through GetMetricData and ListMetrics; two
// samples in one second keep the later value.
func TestRemoteWriteReadBackThroughCloudWatch(t *testing.T) {
	tn := startNode(t, testConfig(t, t.TempDir()))
	api := rwClient(t, tn)
	ctx := context.Background()
	base := time.Now().Truncate(time.Second).Add(-time.Minute)
	ms := func(d time.Duration) int64 { return base.Add(d).UnixMilli() }

	// 1.0: a counter, and two samples in the same second (the later wins).
	v1 := &prompb.WriteRequest{Timeseries: []prompb.TimeSeries{
		v1Series("http_requests_total", "api", prompb.Sample{Value: 10, Timestamp: ms(0)}, prompb.Sample{Value: 25.5, Timestamp: ms(time.Second)}),
		v1Series("temperature", "api", prompb.Sample{Value: 7, Timestamp: ms(2*time.Second + 100*time.Millisecond)}, prompb.Sample{Value: 3, Timestamp: ms(2*time.Second + 900*time.Millisecond)}),
	}}
	if _, err := api.Write(ctx, remoteapi.WriteV1MessageType, v1); err != nil {
		t.Fatalf("remote write 1.0: %v", err)
	}
	// 2.0: labels through the symbols table; the answer says what was written.
	v2 := &writev2.Request{
		Symbols: []string{"", "__name__", "queue_depth", "instance", "h1:9100", "job", "worker"},
		Timeseries: []writev2.TimeSeries{{
			LabelsRefs: []uint32{1, 2, 3, 4, 5, 6},
			Samples:    []writev2.Sample{{Value: 4, Timestamp: ms(0)}, {Value: 9, Timestamp: ms(3 * time.Second)}},
		}},
	}
	st, err := api.Write(ctx, remoteapi.WriteV2MessageType, v2)
	if err != nil {
		t.Fatalf("remote write 2.0: %v", err)
	}
	if st.Samples != 2 {
		t.Errorf("remote write 2.0 answered %d samples written; want 2", st.Samples)
	}

	cw := tn.sdk()
	out, err := cw.GetMetricData(ctx, &cloudwatch.GetMetricDataInput{
		StartTime: aws.Time(base.Add(-time.Second)), EndTime: aws.Time(base.Add(10 * time.Second)),
		ScanBy: types.ScanByTimestampAscending,
		MetricDataQueries: []types.MetricDataQuery{
			{Id: aws.String("req"), MetricStat: &types.MetricStat{Period: aws.Int32(1), Stat: aws.String("Maximum"), Metric: &types.Metric{
				Namespace: aws.String("Prometheus"), MetricName: aws.String("http_requests_total"), Dimensions: dims("instance", "h1:9100", "job", "api")}}},
			{Id: aws.String("q"), MetricStat: &types.MetricStat{Period: aws.Int32(1), Stat: aws.String("Sum"), Metric: &types.Metric{
				Namespace: aws.String("Prometheus"), MetricName: aws.String("queue_depth"), Dimensions: dims("instance", "h1:9100", "job", "worker")}}},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]float64{"req": {10, 25.5}, "q": {4, 9}}
	for _, r := range out.MetricDataResults {
		if fmt.Sprint(r.Values) != fmt.Sprint(want[*r.Id]) {
			t.Errorf("GetMetricData %s: got %v at %v; want %v", *r.Id, r.Values, r.Timestamps, want[*r.Id])
		}
	}
	lm, err := cw.ListMetrics(ctx, &cloudwatch.ListMetricsInput{Namespace: aws.String("Prometheus")})
	if err != nil {
		t.Fatal(err)
	}
	if len(lm.Metrics) != 3 {
		t.Errorf("ListMetrics: got %d metrics; want 3: %+v", len(lm.Metrics), lm.Metrics)
	}
	// The second with two samples keeps the later one as its last value,
	// locally and, once shipped, in the long-term store.
	sec := base.Add(2 * time.Second).Unix()
	wantLast := fmt.Sprintf("2/10/3@%d", ms(2*time.Second+900*time.Millisecond))
	waitFor(t, 60*time.Second, "the long-term store to hold the same last value", func() bool {
		local, longTerm := lastOf(tn, "temperature", "api", base, base.Add(10*time.Second))
		return local[sec] == wantLast && longTerm[sec] == wantLast
	})
}

func TestRemoteWriteErrors(t *testing.T) {
	tn := startNode(t, testConfig(t, t.TempDir()))
	now := time.Now().UnixMilli()
	post := func(ctype string, body []byte) (int, string) {
		req, _ := http.NewRequest("POST", tn.url()+"/api/v1/write", bytes.NewReader(body))
		req.Header.Set("Content-Type", ctype)
		req.Header.Set("Content-Encoding", "snappy")
		return do(t, req)
	}
	enc := func(m interface{ Marshal() ([]byte, error) }) []byte {
		b, err := m.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		return snappy.Encode(nil, b)
	}
	tooMany := prompb.TimeSeries{Labels: []prompb.Label{{Name: "__name__", Value: "m"}}, Samples: []prompb.Sample{{Value: 1, Timestamp: now}}}
	for i := range 31 {
		tooMany.Labels = append(tooMany.Labels, prompb.Label{Name: fmt.Sprintf("l%02d", i), Value: "v"})
	}
	cases := map[string]struct {
		ctype string
		body  []byte
		code  int
		text  string
	}{
		"unknown content type": {"application/json", []byte("{}"), 415, "expected application/x-protobuf"},
		"unknown proto":        {"application/x-protobuf;proto=foo.Bar", []byte{}, 415, "foo.Bar"},
		"not snappy":           {"application/x-protobuf", []byte("not snappy at all"), 400, "corrupt input"},
		"not protobuf":         {"application/x-protobuf", snappy.Encode(nil, []byte{0xff, 0xff, 0xff}), 400, "decode remote write 1.0"},
		"no metric name": {"application/x-protobuf", enc(&prompb.WriteRequest{Timeseries: []prompb.TimeSeries{{
			Labels: []prompb.Label{{Name: "job", Value: "x"}}, Samples: []prompb.Sample{{Value: 1, Timestamp: now}}}}}), 400, "invalid metric name"},
		"31 labels": {"application/x-protobuf", enc(&prompb.WriteRequest{Timeseries: []prompb.TimeSeries{tooMany}}), 400, "number of labels exceeds the limit (actual: 31, limit: 30"},
		"future":    {"application/x-protobuf", enc(&prompb.WriteRequest{Timeseries: []prompb.TimeSeries{v1Series("m", "j", prompb.Sample{Value: 1, Timestamp: now + time.Hour.Milliseconds()})}}), 400, "out of bounds"},
		"v2 bad symbol ref": {"application/x-protobuf;proto=io.prometheus.write.v2.Request", enc(&writev2.Request{Symbols: []string{""},
			Timeseries: []writev2.TimeSeries{{LabelsRefs: []uint32{1, 9}, Samples: []writev2.Sample{{Value: 1, Timestamp: now}}}}}), 400, "parsing labels"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			code, body := post(c.ctype, c.body)
			if code != c.code || !bytes.Contains([]byte(body), []byte(c.text)) {
				t.Errorf("got %d %q; want %d containing %q", code, body, c.code, c.text)
			}
		})
	}
}

// TestRemoteWriteDuringAStreamOutage: with the stream down remote writes are
// still acknowledged; after it clears the long-term store agrees with the
// local store, each sample counted once.
func TestRemoteWriteDuringAStreamOutage(t *testing.T) {
	tn := startNode(t, testConfig(t, t.TempDir()))
	if code, body := tn.admin(t, "POST", "/admin/stream/fault?mode=down", nil); code != 200 {
		t.Fatalf("inject fault: %d %s", code, body)
	}
	api := rwClient(t, tn)
	base := time.Now().Truncate(time.Minute).Add(-3 * time.Minute)
	for i := range 60 {
		ts := base.Add(time.Duration(i) * 2 * time.Second).UnixMilli()
		req := &prompb.WriteRequest{Timeseries: []prompb.TimeSeries{
			v1Series("up", "outage", prompb.Sample{Value: 1, Timestamp: ts}),
			v1Series("bytes_total", "outage", prompb.Sample{Value: float64(i * 100), Timestamp: ts}),
		}}
		if _, err := api.Write(context.Background(), remoteapi.WriteV1MessageType, req); err != nil {
			t.Fatalf("remote write %d during the outage: %v", i, err)
		}
	}
	if code, body := tn.admin(t, "DELETE", "/admin/stream/fault", nil); code != 200 {
		t.Fatalf("clear fault: %d %s", code, body)
	}
	// Every 1 s bucket (count, sum, last value) the same in both stores:
	// each sample once, none lost in the outage.
	var local, longTerm map[int64]string
	waitFor(t, 90*time.Second, "the long-term store to agree with the local store", func() bool {
		local, longTerm = lastOf(tn, "bytes_total", "outage", base, base.Add(2*time.Minute))
		return len(local) == 60 && fmt.Sprint(local) == fmt.Sprint(longTerm)
	})
	for i := range 60 {
		ts := base.Add(time.Duration(i) * 2 * time.Second)
		if want := fmt.Sprintf("1/%d/%d@%d", i*100, i*100, ts.UnixMilli()); local[ts.Unix()] != want {
			t.Errorf("second %d: got %q; want %q", i*2, local[ts.Unix()], want)
		}
	}
	// And through the CloudWatch API from each store, by the minute.
	for _, source := range []string{query.SourceLocal, query.SourceLongTerm} {
		dp, err := tn.sdk().GetMetricStatistics(context.Background(), &cloudwatch.GetMetricStatisticsInput{
			Namespace: aws.String("Prometheus"), MetricName: aws.String("up"), Dimensions: dims("instance", "h1:9100", "job", "outage"),
			StartTime: aws.Time(base), EndTime: aws.Time(base.Add(2 * time.Minute)), Period: aws.Int32(60),
			Statistics: []types.Statistic{types.StatisticSampleCount, types.StatisticSum}}, from(source))
		if err != nil {
			t.Fatal(err)
		}
		if len(dp.Datapoints) != 2 || *dp.Datapoints[0].SampleCount != 30 || *dp.Datapoints[1].SampleCount != 30 {
			t.Errorf("%s: got %d datapoints %+v; want two minutes of 30 samples", source, len(dp.Datapoints), dp.Datapoints)
		}
	}
}

// TestRemoteWriteFromPrometheus runs a real Prometheus (Debian's package,
// when installed) that scrapes itself and remote-writes into the node.
func TestRemoteWriteFromPrometheus(t *testing.T) {
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		t.Skip("no prometheus binary on PATH (apt-get install prometheus)")
	}
	tn := startNode(t, testConfig(t, t.TempDir()))
	dir := t.TempDir()
	port := freePort(t)
	cfg := fmt.Sprintf(`global: {scrape_interval: 1s}
scrape_configs:
  - job_name: self
    static_configs: [{targets: ["127.0.0.1:%d"]}]
remote_write:
  - url: %s/api/v1/write
    queue_config: {batch_send_deadline: 1s}
`, port, tn.url())
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "--config.file", filepath.Join(dir, "prometheus.yml"), "--storage.tsdb.path", filepath.Join(dir, "data"),
		"--web.listen-address", fmt.Sprintf("127.0.0.1:%d", port))
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); _ = cmd.Wait() })
	cw := tn.sdk()
	waitFor(t, 90*time.Second, "Prometheus' own up series in ListMetrics and GetMetricData", func() bool {
		out, err := cw.GetMetricData(context.Background(), &cloudwatch.GetMetricDataInput{
			StartTime: aws.Time(time.Now().Add(-5 * time.Minute)), EndTime: aws.Time(time.Now().Add(time.Minute)),
			MetricDataQueries: []types.MetricDataQuery{{Id: aws.String("up"), MetricStat: &types.MetricStat{Period: aws.Int32(60), Stat: aws.String("Minimum"), Metric: &types.Metric{
				Namespace: aws.String("Prometheus"), MetricName: aws.String("up"), Dimensions: dims("instance", fmt.Sprintf("127.0.0.1:%d", port), "job", "self")}}}},
		})
		if err != nil || len(out.MetricDataResults) != 1 || len(out.MetricDataResults[0].Values) == 0 {
			return false
		}
		for _, v := range out.MetricDataResults[0].Values {
			if v != 1 {
				t.Fatalf("up = %v; want 1", v)
			}
		}
		lm, err := cw.ListMetrics(context.Background(), &cloudwatch.ListMetricsInput{Namespace: aws.String("Prometheus"), MetricName: aws.String("prometheus_build_info")})
		return err == nil && len(lm.Metrics) == 1
	})
	if t.Failed() {
		t.Log(logs.String())
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// BenchmarkRemoteWriteEndToEnd posts snappy remote write 1.0 requests of
// 2,000 samples (Prometheus' max_samples_per_send) over 10,000 series
// (`node_metric{instance, job, cpu}`) from 16 concurrent clients (Prometheus'
// shards) against a node on loopback, with fsync before every answer and,
// for comparison, with fsync every 100 ms.
func BenchmarkRemoteWriteEndToEnd(b *testing.B) {
	for _, sync := range []string{"0", "100ms"} {
		b.Run("wal.sync-interval="+sync, func(b *testing.B) { benchRemoteWrite(b, sync) })
	}
}

func benchRemoteWrite(b *testing.B, sync string) {
	const perReq, series = 2000, 10000
	tn := startBenchNode(b, testConfig(b, b.TempDir(), "-wal.sync-interval", sync))
	// 250 requests: 50 rounds of every series, a second apart, ending near
	// now, so samples land in open buckets as a live sender's do.
	base := time.Now().Add(-30 * time.Second).UnixMilli()
	var bodies [][]byte
	for r := range 250 {
		req := &prompb.WriteRequest{}
		for i := range perReq {
			s := (r*perReq + i) % series
			req.Timeseries = append(req.Timeseries, prompb.TimeSeries{
				Labels: []prompb.Label{{Name: "__name__", Value: "node_metric"}, {Name: "cpu", Value: fmt.Sprint(s % 8)},
					{Name: "instance", Value: fmt.Sprintf("host-%05d:9100", s/8)}, {Name: "job", Value: "node"}},
				Samples: []prompb.Sample{{Value: float64(s%997) / 10, Timestamp: base + int64(r*perReq+i)/series*1000}},
			})
		}
		raw, err := req.Marshal()
		if err != nil {
			b.Fatal(err)
		}
		bodies = append(bodies, snappy.Encode(nil, raw))
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	var next atomic.Int64
	b.SetParallelism(8) // 16 clients on 2 cores
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req, _ := http.NewRequest("POST", tn.url()+"/api/v1/write", bytes.NewReader(bodies[int(next.Add(1))%len(bodies)]))
			req.Header.Set("Content-Type", "application/x-protobuf")
			req.Header.Set("Content-Encoding", "snappy")
			req.Header.Set("X-Prometheus-Remote-Write-Version", "0.1.0")
			if !sendBench(b, client, req, http.StatusNoContent) {
				return
			}
		}
	})
	b.ReportMetric(float64(b.N*perReq)/time.Since(start).Seconds(), "samples/s")
}

// basicAuth is a RoundTripper that adds HTTP basic auth, as Prometheus'
// basic_auth setting does.
type basicAuth struct{ user, pass string }

func (a basicAuth) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.SetBasicAuth(a.user, a.pass)
	return http.DefaultTransport.RoundTrip(r)
}

// TestRemoteWriteBasicAuthTenants: with -auth.credentials a remote write
// needs basic auth with a key and its secret, and its samples belong to the
// key's account: that tenant's SigV4-signed reads see them, another's do not.
func TestRemoteWriteBasicAuthTenants(t *testing.T) {
	tn := authNode(t)
	ctx := context.Background()
	req := &prompb.WriteRequest{Timeseries: []prompb.TimeSeries{v1Series("tenant_metric", "auth", prompb.Sample{Value: 42, Timestamp: time.Now().UnixMilli()})}}
	write := func(user, pass string) error {
		api, err := remoteapi.NewAPI(tn.url(), remoteapi.WithAPIPath("/api/v1/write"),
			remoteapi.WithAPIHTTPClient(&http.Client{Transport: basicAuth{user, pass}}),
			remoteapi.WithAPIBackoff(remoteapi.BackoffConfig{Min: time.Millisecond, Max: time.Millisecond, MaxRetries: 1}))
		if err != nil {
			t.Fatal(err)
		}
		_, err = api.Write(ctx, remoteapi.WriteV1MessageType, req)
		return err
	}
	if err := write("AKIDTENANTA", "wrong"); err == nil {
		t.Fatal("a wrong secret was accepted")
	}
	if err := write("AKIDTENANTA", "secret-of-a"); err != nil {
		t.Fatalf("tenant A's key: %v", err)
	}
	count := func(key, secret string) int {
		out, err := clientAs(tn, key, secret).ListMetrics(ctx, &cloudwatch.ListMetricsInput{Namespace: aws.String("Prometheus")})
		if err != nil {
			t.Fatal(err)
		}
		return len(out.Metrics)
	}
	if a, b := count("AKIDTENANTA", "secret-of-a"), count("AKIDTENANTB", "secret-of-b"); a != 1 || b != 0 {
		t.Errorf("ListMetrics: tenant A sees %d, tenant B %d; want 1 and 0", a, b)
	}
}
