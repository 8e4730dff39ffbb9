package query

import (
	"fmt"
	"testing"
	"time"

	"github.com/cellwatch/cellwatch/internal/awsapi"
	"github.com/cellwatch/cellwatch/internal/record"
)

// BenchmarkSearch: SEARCH over 100,000 series of one namespace (Latency by
// Service svc0000-svc0999 and Host host00-host99, one datum each) in the
// local store, each query matching 100 series that are then read (Average,
// 60 s, over 10 minutes). Target: at most 50 ms per query. A namespace of
// 100 series next to it is searched through the namespace index.
func BenchmarkSearch(b *testing.B) {
	now := time.Unix(1_767_225_600, 0)
	s, l := localService(b, now)
	for svc := range 1000 {
		m := &record.Metrics{Tenant: awsapi.DefaultTenant, Namespace: "Fleet"}
		for host := range 100 {
			m.Datums = append(m.Datums, record.Datum{MetricName: "Latency", Value: float64(host),
				Timestamp:  now.Add(-5 * time.Minute).UnixMilli(),
				Dimensions: []record.Dimension{{Name: "Host", Value: fmt.Sprintf("host%02d", host)}, {Name: "Service", Value: fmt.Sprintf("svc%04d", svc)}}})
		}
		l.Apply(m)
	}
	small := &record.Metrics{Tenant: awsapi.DefaultTenant, Namespace: "Small"}
	for host := range 100 {
		small.Datums = append(small.Datums, record.Datum{MetricName: "Latency", Value: 1, Timestamp: now.Add(-5 * time.Minute).UnixMilli(),
			Dimensions: []record.Dimension{{Name: "Host", Value: fmt.Sprintf("host%02d", host)}}})
	}
	l.Apply(small)
	if n := l.NumSeries(); n != 100_100 {
		b.Fatalf("got %d series; want 100100", n)
	}
	start, end := now.Add(-10*time.Minute), now
	for name, expr := range map[string]string{
		"schema+exact": `SEARCH('{Fleet,Host,Service} Service="svc0042"', 'Average', 60)`,
		"partial":      `SEARCH('Fleet Latency svc0042', 'Average', 60)`,
		"sum":          `SUM(SEARCH('{Fleet,Host,Service} MetricName="Latency" Service=svc0042', 'Average', 60))`,
		// The 100 series of another namespace: the index skips Fleet's.
		"other-namespace": `SEARCH('{Small,Host} Latency', 'Average', 60)`,
	} {
		b.Run(name, func(b *testing.B) {
			q := dataQuery{id: "e1", returnData: true}
			if err := parseExpression(expr, "Expression", &q); err != nil {
				b.Fatal(err)
			}
			labelQueries([]dataQuery{q})
			view, err := s.view("", nil, start.Unix(), end.Unix())
			if err != nil {
				b.Fatal(err)
			}
			want := 100
			if name == "sum" {
				want = 1
			}
			for b.Loop() {
				var used answered
				results, err := s.runQueries(view, awsapi.DefaultTenant, []dataQuery{q}, start, end, scanAscending, &used)
				if err != nil || len(results) != want {
					b.Fatalf("got %d results, %v; want %d", len(results), err, want)
				}
			}
		})
	}
}
