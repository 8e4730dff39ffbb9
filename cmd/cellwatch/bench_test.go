package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"

	"github.com/cellwatch/cellwatch/fallback"
)

// capturedCall is one request exactly as the Go SDK sent it.
type capturedCall struct {
	path   string
	header http.Header
	body   []byte
}

// recorder is an aws.HTTPClient that keeps what the SDK sends and answers
// like cellwatch does to PutMetricData.
type recorder struct{ calls []capturedCall }

func (r *recorder) Do(req *http.Request) (*http.Response, error) {
	body, _ := io.ReadAll(req.Body)
	r.calls = append(r.calls, capturedCall{req.URL.Path, req.Header.Clone(), body})
	h := http.Header{"Smithy-Protocol": {"rpc-v2-cbor"}, "Content-Type": {"application/cbor"}}
	return &http.Response{StatusCode: 200, Header: h, Body: io.NopCloser(bytes.NewReader(nil)), Request: req}, nil
}

// client is a Go SDK client whose every call rec captures.
func (r *recorder) client() *cloudwatch.Client {
	return cloudwatch.New(cloudwatch.Options{Region: "us-east-1", BaseEndpoint: aws.String("http://capture"), HTTPClient: r,
		Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", "")})
}

// sdkPayloads has the Go SDK encode (CBOR, gzip) PutMetricData calls of 20
// datums each covering `series` distinct series, so a load generator can
// replay the SDK's exact bytes without paying the SDK's cost per request.
func sdkPayloads(b *testing.B, series int, ts time.Time) []capturedCall {
	rec := &recorder{}
	cw := rec.client()
	for first := 0; first < series; first += 20 {
		data := make([]types.MetricDatum, 20)
		for i := range data {
			s := first + i
			data[i] = types.MetricDatum{MetricName: aws.String("Latency"), Unit: types.StandardUnitMilliseconds, Timestamp: aws.Time(ts),
				Dimensions: dims("Service", fmt.Sprintf("svc-%d", s%50), "Host", fmt.Sprintf("host-%05d", s)), Value: aws.Float64(float64(s%997) / 10)}
		}
		if _, err := cw.PutMetricData(context.Background(), &cloudwatch.PutMetricDataInput{Namespace: aws.String("Bench"), MetricData: data}); err != nil {
			b.Fatal(err)
		}
	}
	return rec.calls
}

// BenchmarkPutMetricDataEndToEnd replays the Go SDK's PutMetricData bytes
// (CBOR, gzip, 20 datums, 10,000 series) from concurrent HTTP clients against
// a node on loopback with fsync before every acknowledgement.
func BenchmarkPutMetricDataEndToEnd(b *testing.B) {
	for _, sync := range []string{"0", "100ms"} {
		b.Run("wal.sync-interval="+sync, func(b *testing.B) {
			tn := startBenchNode(b, testConfig(b, b.TempDir(), "-wal.sync-interval", sync))
			calls := sdkPayloads(b, 10000, time.Now().Truncate(time.Minute))
			elapsed := replayCalls(b, calls, func(int) string { return tn.url() })
			b.ReportMetric(float64(b.N*20)/elapsed.Seconds(), "datums/s")
		})
	}
}

// replayCalls sends b.N of the captured calls, in turn, from 16 goroutines
// per core, call i to base(i), and returns how long that took.
func replayCalls(b *testing.B, calls []capturedCall, base func(i int) string) time.Duration {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	var next atomic.Int64
	b.SetParallelism(16)
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := int(next.Add(1))
			c := calls[i%len(calls)]
			req, _ := http.NewRequest("POST", base(i)+c.path, bytes.NewReader(c.body))
			req.Header = c.header.Clone()
			if !sendBench(b, client, req, http.StatusOK) {
				return
			}
		}
	})
	return time.Since(start)
}

// sendBench sends req and reports whether it was answered want.
func sendBench(b *testing.B, client *http.Client, req *http.Request, want int) bool {
	resp, err := client.Do(req)
	if err != nil {
		b.Error(err)
		return false
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != want {
		b.Errorf("status %d", resp.StatusCode)
		return false
	}
	return true
}

// BenchmarkGetMetricData3h asks, through the SDK, for 100 series over the
// last 3 hours at 60 s periods (100 queries, 18,000 datapoints).
func BenchmarkGetMetricData3h(b *testing.B) {
	tn := startBenchNode(b, testConfig(b, b.TempDir()))
	benchGetMetricData(b, tn.sdk(), putSeries3h(b, []*cloudwatch.Client{tn.sdk()}))
}

// putSeries3h writes 100 series of one datum a minute over the last 3
// hours, series s through writers[s%len(writers)], and returns the
// GetMetricData input that reads them all.
func putSeries3h(b *testing.B, writers []*cloudwatch.Client) *cloudwatch.GetMetricDataInput {
	end := time.Now().Truncate(time.Minute)
	start := end.Add(-3 * time.Hour)
	var queries []types.MetricDataQuery
	for s := range 100 {
		var data []types.MetricDatum
		for m := range 180 {
			data = append(data, types.MetricDatum{MetricName: aws.String("Latency"), Dimensions: dims("Host", fmt.Sprintf("h%03d", s)),
				Value: aws.Float64(float64(m%37) + 0.5), Timestamp: aws.Time(start.Add(time.Duration(m) * time.Minute))})
		}
		if _, err := writers[s%len(writers)].PutMetricData(context.Background(), &cloudwatch.PutMetricDataInput{Namespace: aws.String("Bench"), MetricData: data}); err != nil {
			b.Fatal(err)
		}
		queries = append(queries, types.MetricDataQuery{Id: aws.String(fmt.Sprintf("q%d", s)), MetricStat: &types.MetricStat{
			Metric: &types.Metric{Namespace: aws.String("Bench"), MetricName: aws.String("Latency"), Dimensions: dims("Host", fmt.Sprintf("h%03d", s))},
			Period: aws.Int32(60), Stat: aws.String("Average")}})
	}
	return &cloudwatch.GetMetricDataInput{StartTime: aws.Time(start), EndTime: aws.Time(end), MetricDataQueries: queries}
}

// benchGetMetricData times in through cw, checking every answer is whole.
func benchGetMetricData(b *testing.B, cw *cloudwatch.Client, in *cloudwatch.GetMetricDataInput) {
	b.ResetTimer()
	for b.Loop() {
		out, err := cw.GetMetricData(context.Background(), in)
		if err != nil {
			b.Fatal(err)
		}
		if n := len(out.MetricDataResults); n != 100 || len(out.MetricDataResults[0].Values) != 180 {
			b.Fatalf("got %d results with %d values; want 100 with 180", n, len(out.MetricDataResults[0].Values))
		}
	}
}

// BenchmarkBacklogDrain measures the stream path's catch-up: a backlog of
// PutMetricData calls written while the stream was down (20 datums, 10,000
// series) is shipped into the embedded stream and applied to the long-term
// store; datums/s is over the time from the stream's return to the
// long-term store holding everything.
func BenchmarkBacklogDrain(b *testing.B) {
	for _, rate := range []string{"67108864", "1099511627776"} {
		b.Run("catch-up-bytes-per-second="+rate, func(b *testing.B) { benchBacklogDrain(b, rate) })
	}
}

func benchBacklogDrain(b *testing.B, rate string) {
	tn := startBenchNode(b, testConfig(b, b.TempDir(), "-shipper.catch-up-bytes-per-second", rate))
	calls := sdkPayloads(b, 10000, time.Now().Truncate(time.Minute))
	client := &http.Client{}
	var datums int
	var elapsed time.Duration
	for range b.N {
		if err := tn.faulty.Set(fallback.Fault{Mode: fallback.FaultDown}); err != nil {
			b.Fatal(err)
		}
		for round := range 20 {
			for _, c := range calls {
				req, _ := http.NewRequest("POST", tn.url()+c.path, bytes.NewReader(c.body))
				req.Header = c.header.Clone()
				resp, err := client.Do(req)
				if err != nil || resp.StatusCode != 200 {
					b.Fatalf("round %d: %v %v", round, err, resp)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				datums += 20
			}
		}
		if err := tn.faulty.Set(fallback.Fault{}); err != nil {
			b.Fatal(err)
		}
		for mode, _, _ := tn.shipper.Health(); mode == fallback.ModeDegraded; mode, _, _ = tn.shipper.Health() {
			time.Sleep(time.Millisecond) // the shipper's next probe finds the stream back
		}
		start := time.Now()
		for !tn.caughtUp(b) {
			time.Sleep(5 * time.Millisecond)
		}
		elapsed += time.Since(start)
	}
	b.ReportMetric(float64(datums)/elapsed.Seconds(), "datums/s")
}

// caughtUp reports whether the shipper has shipped everything and the
// consumer applied every partition to its end.
func (tn *testNode) caughtUp(t testing.TB) bool {
	if tn.shipper.Backlog() > 0 {
		return false
	}
	for p := range tn.stream.Partitions() {
		_, end, err := tn.stream.Bounds(context.Background(), p)
		if err != nil {
			t.Fatal(err)
		}
		if tn.longTerm.NextOffset(p) < end {
			return false
		}
	}
	return true
}
