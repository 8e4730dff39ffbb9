package query

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/cellwatch/cellwatch/internal/awsapi"
	"github.com/cellwatch/cellwatch/internal/record"
	"github.com/cellwatch/cellwatch/store"
)

// BenchmarkInsightsTop10 answers a Metrics Insights top 10 through
// GetMetricData from a real local store holding 10,000 series of one metric
// (one host each) with one datum a minute for the last 3 hours: every series
// is read, 10,000 groups are ranked, 10 results of 180 periods returned.
func BenchmarkInsightsTop10(b *testing.B) {
	const nSeries, nMinutes = 10_000, 180
	now := time.Unix(1_800_000_000, 0).Truncate(time.Minute)
	clock := func() time.Time { return now }
	l, err := store.NewLocal(store.LocalConfig{Now: clock}, nil, nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	l.ApplyLiveness(record.Liveness{UnixMs: now.Add(-3*time.Hour - time.Minute).UnixMilli(), Started: true, Genesis: true})
	start := now.Add(-nMinutes * time.Minute)
	hosts := make([]string, nSeries)
	for i := range hosts {
		hosts[i] = fmt.Sprintf("h%05d", i)
	}
	for m := range nMinutes {
		rec := &record.Metrics{Tenant: awsapi.DefaultTenant, Namespace: "Bench", Datums: make([]record.Datum, nSeries)}
		for i := range nSeries {
			rec.Datums[i] = record.Datum{MetricName: "Latency", Dimensions: []record.Dimension{{Name: "host", Value: hosts[i]}}, Unit: "Milliseconds",
				Timestamp: start.Add(time.Duration(m) * time.Minute).UnixMilli(), Value: float64(i)*0.01 + float64(m%5)}
		}
		l.Apply(rec)
	}
	for t := start.Add(-time.Minute); !t.After(now); t = t.Add(time.Second) {
		l.ApplyLiveness(record.Liveness{UnixMs: t.UnixMilli()}) // the node was up all along
	}
	s := New(Config{Local: l, Now: clock}, nil)
	req := &awsapi.Request{Header: http.Header{}, Input: awsapi.Input{
		"StartTime": float64(start.Unix()), "EndTime": float64(now.Unix()),
		"MetricDataQueries": []any{map[string]any{"Id": "q1", "Period": 60.0,
			"Expression": "SELECT AVG(Latency) FROM Bench GROUP BY host ORDER BY AVG() DESC LIMIT 10"}},
	}}
	b.ResetTimer()
	for b.Loop() {
		out, err := s.GetMetricData(context.Background(), req, http.Header{})
		if err != nil {
			b.Fatal(err)
		}
		results := out[0].Value.(awsapi.List)
		first := results[0].(awsapi.Object)
		if len(results) != 10 || first[1].Value != "h09999" || len(first[3].Value.(awsapi.List)) != nMinutes || first[4].Value != statusComplete {
			b.Fatalf("got %d results, first %v with %d values", len(results), first, len(first[3].Value.(awsapi.List)))
		}
	}
}
