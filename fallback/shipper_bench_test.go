package fallback

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/grafana/dskit/services"

	"github.com/cellwatch/cellwatch/internal/record"
)

// BenchmarkShipperDrain measures how fast a backlog of PutMetricData-shaped
// WAL records (20 datums over 10,000 series) is read, split by series and
// handed to an 8-partition stream that answers at once.
func BenchmarkShipperDrain(b *testing.B) {
	dir := b.TempDir()
	w, err := startWAL(WALConfig{Dir: filepath.Join(dir, "wal"), SyncInterval: time.Second}, nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = stopWAL(w) }()
	const records = 5000
	for i := range records {
		m := &record.Metrics{Tenant: "t", Namespace: "Bench"}
		for j := range 20 {
			s := (i*20 + j) % 10000
			m.Datums = append(m.Datums, record.Datum{MetricName: "Latency", Unit: "Milliseconds", Timestamp: 1767323040000, Value: float64(s%997) / 10,
				Dimensions: []record.Dimension{{Name: "Host", Value: fmt.Sprintf("host-%05d", s)}, {Name: "Service", Value: fmt.Sprintf("svc-%d", s%50)}}})
		}
		if _, err := w.Append(context.Background(), record.AppendMetrics(nil, m)); err != nil {
			b.Fatal(err)
		}
	}
	if err := w.Sync(); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	start := time.Now()
	for i := range b.N {
		st := newMemStream(8)
		s, err := NewShipper(ShipperConfig{StateFile: filepath.Join(dir, fmt.Sprintf("s%d.json", i))}, w, st, nil, nil)
		if err != nil {
			b.Fatal(err)
		}
		if err := services.StartAndAwaitRunning(context.Background(), s); err != nil {
			b.Fatal(err)
		}
		for s.Backlog() > 0 {
			time.Sleep(time.Millisecond)
		}
		_ = services.StopAndAwaitTerminated(context.Background(), s)
	}
	b.ReportMetric(float64(b.N*records*20)/time.Since(start).Seconds(), "datums/s")
}
