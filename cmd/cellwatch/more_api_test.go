package main

import (
	"context"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
)

// exactPercentile is the nearest-rank percentile of sorted values.
func exactPercentile(sorted []float64, p float64) float64 {
	if p == 0 {
		return sorted[0]
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	return sorted[max(0, rank-1)]
}

func TestPercentilesThroughSDKWithinBound(t *testing.T) {
	tn := startNode(t, testConfig(t, t.TempDir()))
	cw, ctx := tn.sdk(), context.Background()
	ts := minute(3)
	rng := rand.New(rand.NewPCG(1, 2))
	var all []float64
	for range 20 { // 20 requests x 150 raw values, lognormal latencies
		values := make([]float64, 150)
		for i := range values {
			values[i] = math.Round(math.Exp(3+rng.NormFloat64())*100) / 100
			all = append(all, values[i])
		}
		if _, err := cw.PutMetricData(ctx, &cloudwatch.PutMetricDataInput{Namespace: aws.String("Pct"), MetricData: []types.MetricDatum{
			{MetricName: aws.String("lat"), Values: values, Timestamp: aws.Time(ts)}}}); err != nil {
			t.Fatal(err)
		}
	}
	slices.Sort(all)
	stats := []string{"p0.0", "p10", "p50", "p90", "p99", "p99.9", "p100"}
	dp := getStats(t, cw, &cloudwatch.GetMetricStatisticsInput{Namespace: aws.String("Pct"), MetricName: aws.String("lat"),
		StartTime: aws.Time(ts), EndTime: aws.Time(ts.Add(time.Minute)), Period: aws.Int32(60), ExtendedStatistics: stats})
	if len(dp) != 1 {
		t.Fatalf("got %d datapoints; want 1", len(dp))
	}
	for _, name := range stats {
		p, _ := strconv.ParseFloat(name[1:], 64)
		got, ok := dp[0].ExtendedStatistics[name]
		want := exactPercentile(all, p)
		// The sketch guarantees 1% relative error on the value at the rank
		// (package store); allow one rank of slack for the rank convention.
		lo, hi := exactPercentile(all, math.Max(0, p-0.05))*0.99, exactPercentile(all, math.Min(100, p+0.05))*1.01
		if !ok || got < lo || got > hi {
			t.Errorf("%s: got %v (present %v); exact %v, want within [%v, %v]", name, got, ok, want, lo, hi)
		}
	}
	if dp[0].ExtendedStatistics["p0.0"] != all[0] || dp[0].ExtendedStatistics["p100"] != all[len(all)-1] {
		t.Errorf("p0 and p100 must be the exact min and max: got %v %v; want %v %v", dp[0].ExtendedStatistics["p0.0"], dp[0].ExtendedStatistics["p100"], all[0], all[len(all)-1])
	}

	// From statistic sets alone there is no percentile (unless they reduce to raw values).
	if _, err := cw.PutMetricData(ctx, &cloudwatch.PutMetricDataInput{Namespace: aws.String("Pct"), MetricData: []types.MetricDatum{
		{MetricName: aws.String("agg"), StatisticValues: &types.StatisticSet{SampleCount: aws.Float64(10), Sum: aws.Float64(55), Minimum: aws.Float64(1), Maximum: aws.Float64(10)}, Timestamp: aws.Time(ts)}}}); err != nil {
		t.Fatal(err)
	}
	out, err := cw.GetMetricData(ctx, &cloudwatch.GetMetricDataInput{StartTime: aws.Time(ts), EndTime: aws.Time(ts.Add(time.Minute)), MetricDataQueries: []types.MetricDataQuery{
		{Id: aws.String("p"), MetricStat: &types.MetricStat{Metric: &types.Metric{Namespace: aws.String("Pct"), MetricName: aws.String("agg")}, Period: aws.Int32(60), Stat: aws.String("p50")}},
		{Id: aws.String("s"), MetricStat: &types.MetricStat{Metric: &types.Metric{Namespace: aws.String("Pct"), MetricName: aws.String("agg")}, Period: aws.Int32(60), Stat: aws.String("Sum")}},
		{Id: aws.String("none"), MetricStat: &types.MetricStat{Metric: &types.Metric{Namespace: aws.String("Pct"), MetricName: aws.String("nothing")}, Period: aws.Int32(60), Stat: aws.String("Sum")}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	r := out.MetricDataResults
	if len(r) != 3 || len(r[0].Values) != 0 || len(r[1].Values) != 1 || r[1].Values[0] != 55 || len(r[2].Values) != 0 || r[2].StatusCode != types.StatusCodeComplete {
		t.Errorf("got %+v; want no p50 from a statistic set, Sum 55, and an empty Complete result for an unknown metric", r)
	}
}

func TestHighResolutionPeriods(t *testing.T) {
	tn := startNode(t, testConfig(t, t.TempDir()))
	cw, ctx := tn.sdk(), context.Background()
	ts := minute(2)
	var data []types.MetricDatum
	for s := range 60 {
		data = append(data, types.MetricDatum{MetricName: aws.String("hr"), Value: aws.Float64(1), StorageResolution: aws.Int32(1), Timestamp: aws.Time(ts.Add(time.Duration(s) * time.Second))})
	}
	if _, err := cw.PutMetricData(ctx, &cloudwatch.PutMetricDataInput{Namespace: aws.String("HR"), MetricData: data}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ period, want int32 }{{1, 60}, {5, 12}, {10, 6}, {30, 2}, {60, 1}} {
		dp := getStats(t, cw, &cloudwatch.GetMetricStatisticsInput{Namespace: aws.String("HR"), MetricName: aws.String("hr"),
			StartTime: aws.Time(ts), EndTime: aws.Time(ts.Add(time.Minute)), Period: aws.Int32(tc.period), Statistics: []types.Statistic{types.StatisticSampleCount}})
		if int32(len(dp)) != tc.want {
			t.Errorf("period %d: got %d datapoints; want %d", tc.period, len(dp), tc.want)
		}
		for _, d := range dp {
			if *d.SampleCount != float64(tc.period) {
				t.Errorf("period %d: datapoint at %v has SampleCount %v; want %d", tc.period, d.Timestamp, *d.SampleCount, tc.period)
				break
			}
		}
	}
	_, err := cw.GetMetricStatistics(ctx, &cloudwatch.GetMetricStatisticsInput{Namespace: aws.String("HR"), MetricName: aws.String("hr"),
		StartTime: aws.Time(ts), EndTime: aws.Time(ts.Add(time.Minute)), Period: aws.Int32(7), Statistics: []types.Statistic{types.StatisticSum}})
	if ae := apiErrorOf(t, err); ae.ErrorCode() != "InvalidParameterValue" {
		t.Errorf("period 7: got %v; want InvalidParameterValue", err)
	}
}

func TestFullStoreAnswers503AndKeepsServingReads(t *testing.T) {
	tn := startNode(t, testConfig(t, t.TempDir(), "-store.max-bytes", "20000"))
	cw, ctx := tn.sdk(), context.Background()
	ts := minute(1)
	var full error
	accepted := 0
	for i := range 200 {
		data := make([]types.MetricDatum, 20)
		for j := range data {
			data[j] = types.MetricDatum{MetricName: aws.String("m"), Dimensions: dims("i", string(rune('a'+i%26))+string(rune('a'+j))+string(rune('a'+i/26))), Value: aws.Float64(1), Timestamp: aws.Time(ts)}
		}
		_, err := cw.PutMetricData(ctx, &cloudwatch.PutMetricDataInput{Namespace: aws.String("Full"), MetricData: data}, func(o *cloudwatch.Options) { o.RetryMaxAttempts = 1 })
		if err != nil {
			full = err
			break
		}
		accepted++
	}
	if full == nil {
		t.Fatal("a 20,000-byte store took 4,000 series; want ServiceUnavailable")
	}
	if ae := apiErrorOf(t, full); ae.ErrorCode() != "ServiceUnavailable" || !strings.Contains(ae.ErrorMessage(), "local store is full") {
		t.Errorf("got %s: %s; want ServiceUnavailable saying the local store is full", ae.ErrorCode(), ae.ErrorMessage())
	}
	out, err := cw.ListMetrics(ctx, &cloudwatch.ListMetricsInput{Namespace: aws.String("Full")})
	if err != nil || len(out.Metrics) != min(500, accepted*20) {
		t.Errorf("reads while full: got %v metrics, err %v; want %d", len(out.Metrics), err, min(500, accepted*20))
	}
}

func TestConfigFileAndFlagPrecedence(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "cellwatch.yaml")
	yaml := "listen: 127.0.0.1:9999\ndata: " + dir + "/from-file\nwal:\n  sync_interval: 250ms\nstore:\n  max_bytes: 12345\n  window: 2h\n"
	if err := os.WriteFile(file, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := loadConfig("test", []string{"-config", file, "-listen", "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Listen != "127.0.0.1:0" || cfg.Data != dir+"/from-file" || cfg.WAL.SyncInterval != 250*time.Millisecond ||
		cfg.Store.MaxBytes != 12345 || cfg.Store.Window != 2*time.Hour || cfg.AdminListen != "127.0.0.1:4591" {
		t.Errorf("got %+v; want listen from the flag, the rest from the file, admin-listen default", cfg)
	}
	if _, err := loadConfig("test", []string{"-store.window", "1s"}); err == nil {
		t.Error("a one-second window was accepted; want a validation error")
	}
}
