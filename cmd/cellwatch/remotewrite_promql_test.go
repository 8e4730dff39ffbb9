package main

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/prompb"

	remoteapi "github.com/prometheus/client_golang/exp/api/remote"
)

// TestRemoteWriteReadsBackThroughPromQL: remote-written samples answer
// PromQL with their own values at their own times (stat="last"), as
// Prometheus does at whole-second evaluation times; two samples in one
// second answer the later one.
func TestRemoteWriteReadsBackThroughPromQL(t *testing.T) {
	tn := startNode(t, testConfig(t, t.TempDir()))
	ctx := context.Background()
	base := time.Now().Truncate(time.Second).Add(-time.Minute)
	ms := func(d time.Duration) int64 { return base.Add(d).UnixMilli() }
	req := &prompb.WriteRequest{Timeseries: []prompb.TimeSeries{
		v1Series("http_requests_total", "api", prompb.Sample{Value: 10, Timestamp: ms(0)}, prompb.Sample{Value: 25.5, Timestamp: ms(time.Second)}),
		v1Series("temperature", "api", prompb.Sample{Value: 7, Timestamp: ms(2*time.Second + 100*time.Millisecond)}, prompb.Sample{Value: 3, Timestamp: ms(2*time.Second + 900*time.Millisecond)}),
	}}
	if _, err := rwClient(t, tn).Write(ctx, remoteapi.WriteV1MessageType, req); err != nil {
		t.Fatal(err)
	}
	prom := tn.promClient(t, nil)
	for expr, want := range map[string]float64{
		`http_requests_total{job="api",stat="last"}`:   25.5,
		`temperature{job="api",stat="last"}`:           3,
		`max_over_time(temperature{stat="last"}[10s])`: 3,
	} {
		v, _, _, err := prom.Query(ctx, expr, base.Add(3*time.Second))
		if err != nil {
			t.Fatalf("%s: %v", expr, err)
		}
		vec, ok := v.(model.Vector)
		if !ok || len(vec) != 1 || float64(vec[0].Value) != want {
			t.Errorf("%s at +3s: got %v; want one sample of %v", expr, v, want)
		}
	}
	// At +1s the counter's second sample (taken at exactly +1s) is the latest.
	v, _, _, err := prom.Query(ctx, `http_requests_total{stat="last"}`, base.Add(time.Second))
	if vec, ok := v.(model.Vector); err != nil || !ok || len(vec) != 1 || float64(vec[0].Value) != 25.5 {
		t.Errorf("at +1s: got %v, %v; want 25.5", v, err)
	}
}
