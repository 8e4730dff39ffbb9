package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	logtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
)

// testBench is a harness on a built node, with no peers, writing into
// temp dirs of t.
func testBench(t *testing.T, shape loadShape) *bench {
	t.Helper()
	cache := os.Getenv("CELLWATCH_BENCH_CACHE") // reuse a built node across runs when set
	if cache == "" {
		cache = t.TempDir()
	}
	if err := os.MkdirAll(filepath.Join(cache, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	b := &bench{env: env{cache: cache, repo: "../..", tmp: t.TempDir(), skipped: map[string]error{}, logf: t.Logf,
		extra: []string{"-limits.tenant-request-rate=0", "-limits.tenant-datum-rate=0"}},
		shape: shape, concurrency: 4, duration: time.Second, client: &http.Client{Timeout: time.Minute}}
	return b
}

// TestPutScenarioReadBack runs each PutMetricData protocol for a second
// against a built node and checks the table row and that every datum the
// node acknowledged is read back (GetMetricStatistics SampleCount summed
// over the series equals the datums acknowledged).
func TestPutScenarioReadBack(t *testing.T) {
	ctx := context.Background()
	b := testBench(t, loadShape{series: 60, datums: 20, resolution: 60})
	for _, p := range []string{"cbor", "json", "query"} {
		t.Run(p, func(t *testing.T) {
			ts := time.Now().Truncate(time.Second)
			calls, err := b.putCalls(ctx, p, ts)
			if err != nil {
				t.Fatal(err)
			}
			s, err := b.startCellwatch(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer s.stop()
			r := b.measure(ctx, "put-"+p, b.target(), s, calls, b.duration)
			if r.res.datums == 0 || r.res.errors != 0 || r.res.throughput() <= 0 {
				t.Fatalf("run: %d datums, %d errors (%s)", r.res.datums, r.res.errors, r.res.firstError)
			}
			if got := sampleCount(t, s.url, b.shape, ts); got != r.res.datums {
				t.Errorf("SampleCount over the series = %d; the node acknowledged %d datums", got, r.res.datums)
			}
			b.rows = []row{r}
			var out bytes.Buffer
			b.report(&out, time.Second)
			line := tableRow(out.String(), "| put-"+p+" |")
			if line == "" || !strings.Contains(line, "| cellwatch |") || strings.Contains(line, "| 0.00 datums/s |") {
				t.Errorf("no put-%s row with throughput in the table:\n%s", p, out.String())
			}
		})
	}
}

// tableRow is the first line of table starting with prefix.
func tableRow(table, prefix string) string {
	for line := range strings.SplitSeq(table, "\n") {
		if strings.HasPrefix(line, prefix) {
			return line
		}
	}
	return ""
}

// sampleCount sums GetMetricStatistics SampleCount over every series of
// shape around ts, through the Go SDK.
func sampleCount(t *testing.T, url string, shape loadShape, ts time.Time) int64 {
	t.Helper()
	cw := cloudwatch.New(cloudwatch.Options{Region: "us-east-1", BaseEndpoint: aws.String(url),
		Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", "")})
	var total float64
	for s := range shape.series {
		svc, host, _ := shape.datum(s)
		out, err := cw.GetMetricStatistics(context.Background(), &cloudwatch.GetMetricStatisticsInput{
			Namespace: aws.String("Bench"), MetricName: aws.String("Latency"),
			Dimensions: []types.Dimension{{Name: aws.String("Service"), Value: aws.String(svc)}, {Name: aws.String("Host"), Value: aws.String(host)}},
			StartTime:  aws.Time(ts.Add(-time.Hour)), EndTime: aws.Time(ts.Add(time.Hour)), Period: aws.Int32(3600),
			Statistics: []types.Statistic{types.StatisticSampleCount}})
		if err != nil {
			t.Fatalf("GetMetricStatistics %s: %v", host, err)
		}
		for _, dp := range out.Datapoints {
			total += aws.ToFloat64(dp.SampleCount)
		}
	}
	return int64(total)
}

// TestPickScenarios: names are checked, all is every scenario.
func TestPickScenarios(t *testing.T) {
	for _, c := range []struct {
		in      string
		want    int
		wantErr bool
	}{{"all", len(scenarios), false}, {"put-json,outage", 2, false}, {"put-jsn", 0, true}} {
		got, err := pickScenarios(c.in)
		if (err != nil) != c.wantErr || len(got) != c.want {
			t.Errorf("pickScenarios(%q) = %v, %v", c.in, got, err)
		}
	}
}

// TestHistQuantile: percentiles land within the histogram's resolution.
func TestHistQuantile(t *testing.T) {
	var h hist
	for i := 1; i <= 1000; i++ {
		h.record(time.Duration(i) * time.Millisecond)
	}
	for _, c := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 500 * time.Millisecond}, {0.99, 990 * time.Millisecond}} {
		got := h.quantile(c.q)
		if got < c.want || float64(got) > float64(c.want)*1.07 {
			t.Errorf("quantile(%v) = %v; want %v within 7%%", c.q, got, c.want)
		}
	}
}

// TestPutLogsScenario runs the put-logs load for a second and checks its
// row and that every event the node acknowledged is there: a Logs
// Insights count(*) through the Go SDK equals 1,000 per acknowledged call.
func TestPutLogsScenario(t *testing.T) {
	ctx := context.Background()
	b := testBench(t, loadShape{series: 60, datums: 20, resolution: 60})
	s, err := b.startCellwatch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer s.stop()
	r, err := b.putLogsOn(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	if r.res.requests == 0 || r.res.errors != 0 || r.res.throughput() <= 0 || r.unit != "msg B/s" {
		t.Fatalf("run: %d requests, %d errors (%s), unit %q", r.res.requests, r.res.errors, r.res.firstError, r.unit)
	}
	cl := cloudwatchlogs.New(cloudwatchlogs.Options{Region: "us-east-1", BaseEndpoint: aws.String(s.url),
		Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", "")})
	now := time.Now()
	q, err := cl.StartQuery(ctx, &cloudwatchlogs.StartQueryInput{LogGroupName: aws.String("bench"), QueryString: aws.String("stats count(*) as n"),
		StartTime: aws.Int64(now.Add(-2 * time.Hour).Unix()), EndTime: aws.Int64(now.Add(time.Hour).Unix())})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Minute)
	for {
		out, err := cl.GetQueryResults(ctx, &cloudwatchlogs.GetQueryResultsInput{QueryId: q.QueryId})
		if err != nil {
			t.Fatal(err)
		}
		if out.Status == logtypes.QueryStatusComplete {
			want := fmt.Sprint(r.res.requests * logEventsPerCall)
			if len(out.Results) != 1 || aws.ToString(out.Results[0][0].Value) != want {
				t.Fatalf("count(*) = %+v; the node acknowledged %s events", out.Results, want)
			}
			break
		}
		if out.Status != logtypes.QueryStatusRunning && out.Status != logtypes.QueryStatusScheduled || time.Now().After(deadline) {
			t.Fatalf("query status %s", out.Status)
		}
		time.Sleep(50 * time.Millisecond)
	}
	b.rows = []row{r}
	var out bytes.Buffer
	b.report(&out, time.Second)
	if line := tableRow(out.String(), "| put-logs |"); line == "" || !strings.Contains(line, "msg B/s") {
		t.Errorf("no put-logs row in the table:\n%s", out.String())
	}
}
