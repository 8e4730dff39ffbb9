package fallback

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/cellwatch/cellwatch/internal/seglog"
)

// benchParallelism is goroutines per GOMAXPROCS: concurrent requests are what
// group commit feeds on.
const benchParallelism = 32

func BenchmarkWALAppendParallel(b *testing.B) {
	benchmarkAppend(b, WALConfig{})
}

func BenchmarkWALAppendParallelSyncInterval(b *testing.B) {
	benchmarkAppend(b, WALConfig{SyncInterval: 10 * time.Millisecond})
}

func benchmarkAppend(b *testing.B, cfg WALConfig) {
	cfg.Dir = b.TempDir()
	w := openTestWAL(b, cfg)
	rec := bytes.Repeat([]byte("r"), 200)
	b.SetBytes(int64(len(rec)))
	b.SetParallelism(benchParallelism)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		for pb.Next() {
			if _, err := w.Append(ctx, rec); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
	if fsyncs := testutil.ToFloat64(w.logCfg.Metrics.Fsyncs); fsyncs > 0 {
		b.ReportMetric(float64(b.N)/fsyncs, "records/fsync")
	}
}

func BenchmarkWALReplay(b *testing.B) {
	w := openTestWAL(b, WALConfig{Dir: b.TempDir(), SyncInterval: time.Hour})
	rec := bytes.Repeat([]byte("r"), 200)
	const n = 100_000
	for range n {
		if _, err := w.Append(context.Background(), rec); err != nil {
			b.Fatal(err)
		}
	}
	if err := w.Sync(); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(n * int64(len(rec)+seglog.FrameHeaderSize))
	b.ResetTimer()
	for b.Loop() {
		count := 0
		if err := w.Replay(context.Background(), 0, func(uint64, []byte) error { count++; return nil }); err != nil {
			b.Fatal(err)
		}
		if count != n {
			b.Fatalf("replayed %d records; want %d", count, n)
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "records/s")
}
