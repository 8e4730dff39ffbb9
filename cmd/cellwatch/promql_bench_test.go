package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
)

// BenchmarkPromQLRateRange: query_range of rate() over 100 series × 1,000
// steps (10 s steps over 10,000 s of 60 s buckets), through client_golang
// against a live node: the engine, the store adapter and the JSON encoding.
func BenchmarkPromQLRateRange(b *testing.B) {
	tn := startBenchNode(b, testConfig(b, b.TempDir()))
	const series, steps, step = 100, 1000, 10 * time.Second
	end := time.Now().UTC().Truncate(time.Minute)
	start := end.Add(-steps * step)
	minutes := int(end.Sub(start)/time.Minute) + 6
	cw := tn.sdk()
	var batch []types.MetricDatum
	flush := func() {
		if _, err := cw.PutMetricData(context.Background(), &cloudwatch.PutMetricDataInput{Namespace: aws.String("Bench"), MetricData: batch}); err != nil {
			b.Fatal(err)
		}
		batch = batch[:0]
	}
	for s := range series {
		for m := range minutes {
			batch = append(batch, types.MetricDatum{MetricName: aws.String("Hits"), Value: aws.Float64(float64(m * (s + 1))),
				Timestamp: aws.Time(end.Add(-time.Duration(m) * time.Minute)), Dimensions: dims("Host", fmt.Sprintf("h%03d", s))})
			if len(batch) == 1000 {
				flush()
			}
		}
	}
	if len(batch) > 0 {
		flush()
	}
	prom := tn.promClient(b, nil)
	q := `rate(Hits{namespace="Bench",stat="sum"}[5m])`
	r := v1.Range{Start: start, End: end, Step: step}
	waitFor(b, 30*time.Second, "the bench series", func() bool {
		v, _, _, err := prom.QueryRange(context.Background(), q, r)
		return err == nil && len(v.(model.Matrix)) == series
	})
	b.Run("client_golang", func(b *testing.B) {
		for b.Loop() {
			v, _, _, err := prom.QueryRange(context.Background(), q, r)
			if err != nil {
				b.Fatal(err)
			}
			if m := v.(model.Matrix); len(m) != series || len(m[0].Values) < steps-40 {
				b.Fatalf("%d series, %d points", len(m), len(m[0].Values))
			}
		}
	})
	// The node alone: the response is read, not decoded.
	b.Run("server", func(b *testing.B) {
		u := tn.url() + "/api/v1/query_range?" + url.Values{"query": {q}, "start": {fmt.Sprint(start.Unix())}, "end": {fmt.Sprint(end.Unix())}, "step": {"10"}}.Encode()
		for b.Loop() {
			resp, err := http.Get(u)
			if err != nil {
				b.Fatal(err)
			}
			n, _ := io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || n < series*steps*10 {
				b.Fatalf("%d, %d bytes", resp.StatusCode, n)
			}
		}
	})
}
