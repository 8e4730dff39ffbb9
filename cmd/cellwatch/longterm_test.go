package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/cellwatch/cellwatch/query"
)

// from forces the store a read comes from.
func from(source string) func(*cloudwatch.Options) {
	return func(o *cloudwatch.Options) {
		o.APIOptions = append(o.APIOptions, smithyhttp.SetHeaderValue(query.HeaderReadSource, source))
	}
}

// buckets reads every 60 s bucket of the metrics over [start, end) from one
// store, as "metric@minute -> count/sum/min/max".
func buckets(t *testing.T, cw *cloudwatch.Client, source, ns string, metrics []string, start, end time.Time) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, m := range metrics {
		dp, err := cw.GetMetricStatistics(context.Background(), &cloudwatch.GetMetricStatisticsInput{Namespace: aws.String(ns), MetricName: aws.String(m),
			StartTime: aws.Time(start), EndTime: aws.Time(end), Period: aws.Int32(60), Statistics: allStats()}, from(source))
		if err != nil {
			t.Fatalf("GetMetricStatistics from %s: %v", source, err)
		}
		for _, d := range dp.Datapoints {
			// Sums to 12 significant digits: float addition depends on the order
			// datums merge in, which differs between the stores.
			out[fmt.Sprintf("%s@%s", m, d.Timestamp.Format("15:04"))] = fmt.Sprintf("%v/%.12g/%v/%v", *d.SampleCount, *d.Sum, *d.Minimum, *d.Maximum)
		}
	}
	return out
}

// waitEqual polls until the long-term store answers what the local store does.
func waitEqual(t *testing.T, cw *cloudwatch.Client, ns string, metrics []string, start, end time.Time) map[string]string {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		local := buckets(t, cw, query.SourceLocal, ns, metrics, start, end)
		longterm := buckets(t, cw, query.SourceLongTerm, ns, metrics, start, end)
		diff := 0
		for k, v := range local {
			if longterm[k] != v {
				diff++
			}
		}
		if diff == 0 && len(local) == len(longterm) {
			return local
		}
		if time.Now().After(deadline) {
			for k, v := range local {
				if longterm[k] != v {
					t.Errorf("bucket %s: local %s, long-term %q", k, v, longterm[k])
				}
			}
			for k, v := range longterm {
				if _, ok := local[k]; !ok {
					t.Errorf("bucket %s: only long-term has it: %s", k, v)
				}
			}
			t.Fatalf("the long-term store did not agree with the local store within 90 s (%d of %d buckets differ)", diff, len(local))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func writeMinutes(t *testing.T, cw *cloudwatch.Client, ns string, first, last int, rng *rand.Rand) {
	t.Helper()
	for ago := first; ago >= last; ago-- {
		ts := minute(ago).Add(time.Duration(rng.IntN(60)) * time.Second)
		data := []types.MetricDatum{
			{MetricName: aws.String("value"), Value: aws.Float64(float64(rng.IntN(1000)) / 10), Timestamp: aws.Time(ts)},
			{MetricName: aws.String("values"), Values: []float64{1, float64(ago), 2.5}, Counts: []float64{2, 1, 3}, Timestamp: aws.Time(ts)},
			{MetricName: aws.String("stats"), StatisticValues: &types.StatisticSet{SampleCount: aws.Float64(4), Sum: aws.Float64(float64(ago) * 4), Minimum: aws.Float64(0), Maximum: aws.Float64(float64(ago) * 2)}, Timestamp: aws.Time(ts)},
		}
		if _, err := cw.PutMetricData(context.Background(), &cloudwatch.PutMetricDataInput{Namespace: aws.String(ns), MetricData: data}); err != nil {
			t.Fatal(err)
		}
	}
}

func TestLocalAndLongTermAgreeAcrossARestart(t *testing.T) {
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(3, 4))
	tn := startNode(t, testConfig(t, dir))
	writeMinutes(t, tn.sdk(), "Agree", 50, 26, rng)
	writeMinutes(t, tn.sdk(), "Agree", 40, 30, rng) // a second round into the same minutes
	tn.stop()

	tn = startNode(t, testConfig(t, dir))
	writeMinutes(t, tn.sdk(), "Agree", 25, 1, rng)
	metrics := []string{"value", "values", "stats"}
	got := waitEqual(t, tn.sdk(), "Agree", metrics, minute(60), minute(0))
	if len(got) != 3*50 {
		t.Errorf("got %d buckets in both stores; want 150", len(got))
	}

	// Every read says which stores answered.
	status, hdr, _ := tn.postJSONHeaders(t, "GetMetricStatistics", fmt.Sprintf(`{"Namespace":"Agree","MetricName":"value","StartTime":%d,"EndTime":%d,"Period":60,"Statistics":["Sum"]}`,
		minute(60).Unix(), minute(0).Unix()), nil)
	if status != 200 || hdr.Get(query.HeaderSources) != query.SourceLocal {
		t.Errorf("recent window: status %d, %s %q; want local", status, query.HeaderSources, hdr.Get(query.HeaderSources))
	}
	_, hdr, _ = tn.postJSONHeaders(t, "GetMetricStatistics", fmt.Sprintf(`{"Namespace":"Agree","MetricName":"value","StartTime":%d,"EndTime":%d,"Period":3600,"Statistics":["Sum"]}`,
		time.Now().Add(-5*time.Hour).Unix(), time.Now().Unix()), nil)
	if got := hdr.Get(query.HeaderSources); got != "longterm,local" {
		t.Errorf("window reaching past 3 h: %s %q; want longterm,local", query.HeaderSources, got)
	}
	status, _, body := tn.postJSONHeaders(t, "ListMetrics", `{}`, map[string]string{query.HeaderReadSource: "elsewhere"})
	if status != 400 || !strings.Contains(body, "InvalidParameterValue") {
		t.Errorf("bad %s: got %d %s; want 400 InvalidParameterValue", query.HeaderReadSource, status, body)
	}
}

func TestRollUpTiersOverTwentyDays(t *testing.T) {
	tn := startNode(t, testConfig(t, t.TempDir()))
	cw := tn.sdk()
	hour := time.Now().UTC().Truncate(time.Hour)
	var data []types.MetricDatum
	want := map[int64]float64{}
	for h := 4; h < 13*24; h++ { // one datum an hour, from 4 h to 13 days old
		ts := hour.Add(-time.Duration(h) * time.Hour).Add(17 * time.Minute)
		data = append(data, types.MetricDatum{MetricName: aws.String("old"), Value: aws.Float64(float64(h)), Timestamp: aws.Time(ts)})
		want[hour.Add(-time.Duration(h)*time.Hour).Unix()] = float64(h)
	}
	for i := 0; i < len(data); i += 500 {
		if _, err := cw.PutMetricData(context.Background(), &cloudwatch.PutMetricDataInput{Namespace: aws.String("Tiers"), MetricData: data[i:min(i+500, len(data))]}); err != nil {
			t.Fatal(err)
		}
	}
	in := &cloudwatch.GetMetricStatisticsInput{Namespace: aws.String("Tiers"), MetricName: aws.String("old"),
		StartTime: aws.Time(hour.Add(-20 * 24 * time.Hour)), EndTime: aws.Time(hour), Period: aws.Int32(3600), Statistics: allStats()}
	deadline := time.Now().Add(60 * time.Second)
	var dp []types.Datapoint
	for len(dp) < len(want) && time.Now().Before(deadline) {
		dp = getStats(t, cw, in)
		time.Sleep(20 * time.Millisecond)
	}
	if len(dp) != len(want) {
		t.Fatalf("20 days at 3600 s: got %d datapoints; want %d", len(dp), len(want))
	}
	for _, d := range dp {
		if v, ok := want[d.Timestamp.Unix()]; !ok || *d.Sum != v || *d.SampleCount != 1 {
			t.Fatalf("datapoint at %v: Sum %v SampleCount %v; want %v and 1", d.Timestamp, *d.Sum, *d.SampleCount, v)
		}
	}
	// A day ten days back at 300 s: the 5-minute tier, one datum per hour.
	day := hour.Add(-10 * 24 * time.Hour)
	dp = getStats(t, cw, &cloudwatch.GetMetricStatisticsInput{Namespace: aws.String("Tiers"), MetricName: aws.String("old"),
		StartTime: aws.Time(day), EndTime: aws.Time(day.Add(24 * time.Hour)), Period: aws.Int32(300), Statistics: allStats()})
	if len(dp) != 24 {
		t.Errorf("one day ten days back at 300 s: got %d datapoints; want 24", len(dp))
	}
	for _, d := range dp {
		if d.Timestamp.Minute() != 15 {
			t.Errorf("datapoint at %v; want it in the 5-minute bucket at :15", d.Timestamp)
			break
		}
	}
}

// TestKill9WhileTheConsumerApplies kills a real process during a write load
// (the consumer is applying all the time), restarts it, and checks the
// long-term store against the local store rebuilt from the WAL: no bucket
// counted twice, none missing.
func TestKill9WhileTheConsumerApplies(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs a real process")
	}
	dir := t.TempDir()
	cmd, addr := startProcess(t, dir)
	cw := clientFor(addr)
	metrics := make([]string, 20)
	for i := range metrics {
		metrics[i] = fmt.Sprintf("m%02d", i)
	}
	var acked atomic.Int64
	ctx, stopLoad := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 9))
			for ctx.Err() == nil {
				data := make([]types.MetricDatum, 20)
				for i := range data {
					data[i] = types.MetricDatum{MetricName: aws.String(metrics[i]), Value: aws.Float64(float64(rng.IntN(100))),
						Timestamp: aws.Time(minute(rng.IntN(30)).Add(time.Duration(rng.IntN(60)) * time.Second))}
				}
				if _, err := cw.PutMetricData(ctx, &cloudwatch.PutMetricDataInput{Namespace: aws.String("Kill9LT"), MetricData: data},
					func(o *cloudwatch.Options) { o.RetryMaxAttempts = 1 }); err == nil {
					acked.Add(1)
				}
			}
		})
	}
	for acked.Load() < 1500 {
		time.Sleep(5 * time.Millisecond)
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	_ = cmd.Wait()
	stopLoad()
	wg.Wait()

	_, addr = startProcess(t, dir)
	got := waitEqual(t, clientFor(addr), "Kill9LT", metrics, minute(31), minute(-1))
	var n float64
	for _, v := range got {
		var c, s, lo, hi float64
		if _, err := fmt.Sscanf(v, "%v/%v/%v/%v", &c, &s, &lo, &hi); err != nil {
			t.Fatalf("parse bucket %q: %v", v, err)
		}
		n += c
	}
	if n < float64(acked.Load()*20) {
		t.Errorf("both stores hold %v datums; want at least the %d acknowledged", n, acked.Load()*20)
	}
	t.Logf("acknowledged %d datums before kill -9; both stores agree on %d buckets holding %v datums", acked.Load()*20, len(got), n)
}
