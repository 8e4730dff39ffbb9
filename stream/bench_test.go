package stream

import (
	"bytes"
	"context"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

const (
	benchBatch      = 100
	benchRecordSize = 300
)

func benchRecords() [][]byte {
	recs := make([][]byte, benchBatch)
	for i := range recs {
		recs[i] = bytes.Repeat([]byte{byte('a' + i%26)}, benchRecordSize)
	}
	return recs
}

// BenchmarkEmbeddedAppend appends batches of 100 × 300-byte records to 8
// partitions from many goroutines, fsync before return (group commit).
func BenchmarkEmbeddedAppend(b *testing.B) {
	e := openTest(b, EmbeddedConfig{Dir: b.TempDir(), Partitions: 8})
	recs := benchRecords()
	var next atomic.Int64
	b.SetBytes(benchBatch * benchRecordSize)
	b.SetParallelism(16) // goroutines per GOMAXPROCS: concurrent producers feed group commit
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		for pb.Next() {
			p := int(next.Add(1) % 8)
			if _, err := e.Append(ctx, p, recs); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N*benchBatch)/b.Elapsed().Seconds(), "records/s")
	var fsyncs float64
	for p := range 8 {
		fsyncs += testutil.ToFloat64(e.m.fsyncs.WithLabelValues(strconv.Itoa(p)))
	}
	if fsyncs > 0 {
		b.ReportMetric(float64(b.N)/fsyncs, "batches/fsync")
	}
}

// BenchmarkEmbeddedFetch reads a partition of 100 000 records (batches of
// 100 × 300 bytes) from start to end, 1 MiB and 4 KiB at a time (each Fetch
// positions itself through the offset index, walking at most 64 KiB).
func BenchmarkEmbeddedFetch(b *testing.B) {
	e := openTest(b, EmbeddedConfig{Dir: b.TempDir(), Partitions: 1, SyncInterval: 1 << 62})
	recs := benchRecords()
	ctx := context.Background()
	const batches = 1000
	for range batches {
		if _, err := e.Append(ctx, 0, recs); err != nil {
			b.Fatal(err)
		}
	}
	if err := e.parts[0].log.Sync(); err != nil {
		b.Fatal(err)
	}
	const total = batches * benchBatch
	for _, bc := range []struct {
		name     string
		maxBytes int
	}{{"max=1MiB", 1 << 20}, {"max=4KiB", 4 << 10}} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(total * benchRecordSize)
			b.ReportAllocs()
			fetches := 0
			for b.Loop() {
				n := 0
				for off := int64(0); off < total; fetches++ {
					msgs, err := e.Fetch(ctx, 0, off, bc.maxBytes)
					if err != nil {
						b.Fatal(err)
					}
					n += len(msgs)
					off = msgs[len(msgs)-1].Offset + 1
				}
				if n != total {
					b.Fatalf("fetched %d records; want %d", n, total)
				}
			}
			b.ReportMetric(float64(total*b.N)/b.Elapsed().Seconds(), "records/s")
			b.ReportMetric(b.Elapsed().Seconds()*1e6/float64(fetches), "µs/fetch")
		})
	}
}
