package store

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cellwatch/cellwatch/internal/record"
)

// benchSeries returns n realistic series identities: a few metric names,
// an instance id and a service per series.
func benchSeries(n int) []record.Datum {
	names := []string{"Latency", "RequestLatency", "DBQueryTime", "UpstreamLatency"}
	ds := make([]record.Datum, n)
	for i := range ds {
		ds[i] = record.Datum{
			MetricName: names[i%len(names)],
			Dimensions: []record.Dimension{
				{Name: "InstanceId", Value: fmt.Sprintf("i-%017x", 0x0abc0000+i/len(names))},
				{Name: "Service", Value: fmt.Sprintf("svc-%d", i%17)},
			},
			Unit: "Milliseconds",
		}
	}
	return ds
}

// latency is a realistic latency value with one decimal.
func latency(rng *rand.Rand) float64 {
	return math.Round(math.Exp(rng.NormFloat64()*0.4+4.7)*10) / 10
}

func heapAlloc() uint64 {
	var ms runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// BenchmarkLocalMemoryPerSeries loads 10,000 series × 180 one-minute
// buckets (one datum each) as time passes and reports the memory per series:
// heap (runtime.MemStats, after GC) and accounted (Bytes). Target: ≤ 2048.
func BenchmarkLocalMemoryPerSeries(b *testing.B) {
	const nSeries, nMinutes, perRecord = 10_000, 180, 20
	ids := benchSeries(nSeries)
	for b.Loop() {
		b.StopTimer()
		rng := rand.New(rand.NewPCG(1, 2))
		clock := newClock(t0)
		before := heapAlloc()
		l, err := NewLocal(LocalConfig{Now: clock.now}, nil, nil, nil)
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		m := record.Metrics{Tenant: "tenant-1", Namespace: "MyApp/Frontend"}
		for minute := range nMinutes {
			ts := t0.Add(time.Duration(minute) * time.Minute)
			clock.set(ts.Add(30 * time.Second))
			for i := 0; i < nSeries; i += perRecord {
				m.Datums = m.Datums[:0]
				for j := i; j < i+perRecord; j++ {
					d := ids[j]
					d.Timestamp = ts.Add(time.Duration(j%50) * time.Second).UnixMilli()
					d.Value = latency(rng)
					m.Datums = append(m.Datums, d)
				}
				l.Apply(&m)
			}
		}
		b.StopTimer()
		m.Datums = nil
		after := heapAlloc()
		b.ReportMetric(float64(int64(after)-int64(before))/nSeries, "heap-B/series")
		b.ReportMetric(float64(l.Bytes())/nSeries, "acct-B/series")
		runtime.KeepAlive(l)
		b.StartTimer()
	}
	b.ReportMetric(float64(nSeries*nMinutes)*float64(b.N)/b.Elapsed().Seconds(), "datums/s")
}

// BenchmarkLocalApply applies 20-datum records over 10k series from
// parallel goroutines (the ingest path; several datums per series and
// minute, so buckets merge and sketches grow).
func BenchmarkLocalApply(b *testing.B) {
	const nSeries, perRecord = 10_000, 20
	ids := benchSeries(nSeries)
	clock := newClock(t0.Add(30 * time.Second))
	l, err := NewLocal(LocalConfig{Now: clock.now}, nil, nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	var seq atomic.Uint64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		g := seq.Add(1)
		rng := rand.New(rand.NewPCG(g, 1))
		m := record.Metrics{Tenant: "tenant-1", Namespace: "MyApp/Frontend", Datums: make([]record.Datum, perRecord)}
		for pb.Next() {
			base := rng.IntN(nSeries / perRecord)
			for j := range m.Datums {
				d := ids[base*perRecord+j]
				d.Timestamp = t0.Add(time.Duration(rng.IntN(60)) * time.Second).UnixMilli()
				d.Value = latency(rng)
				m.Datums[j] = d
			}
			l.Apply(&m)
		}
	})
	b.ReportMetric(float64(b.N*perRecord)/b.Elapsed().Seconds(), "datums/s")
}

// BenchmarkRange reads 100 series × 180 one-minute buckets (3 h).
func BenchmarkRange(b *testing.B) {
	const nSeries, nMinutes = 100, 180
	ids := benchSeries(nSeries)
	rng := rand.New(rand.NewPCG(3, 4))
	clock := newClock(t0)
	l, err := NewLocal(LocalConfig{Now: clock.now}, nil, nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	m := record.Metrics{Tenant: "tenant-1", Namespace: "MyApp/Frontend"}
	for minute := range nMinutes {
		ts := t0.Add(time.Duration(minute) * time.Minute)
		clock.set(ts.Add(30 * time.Second))
		m.Datums = m.Datums[:0]
		for _, id := range ids {
			for range 3 { // three hosts' datums per minute: real distributions
				d := id
				d.Timestamp = ts.UnixMilli()
				d.Value = latency(rng)
				m.Datums = append(m.Datums, d)
			}
		}
		l.Apply(&m)
	}
	refs := make([]SeriesRef, nSeries)
	for i, id := range ids {
		refs[i] = l.Lookup(m.Tenant, m.Namespace, id.MetricName, id.Dimensions)[0]
	}
	start, end := t0.Unix(), t0.Add(nMinutes*time.Minute).Unix()
	var n int
	var p99 float64
	b.ReportAllocs()
	for b.Loop() {
		for _, ref := range refs {
			l.Range(ref, start, end, func(a *Aggregate) {
				n++
				v, _ := a.Percentile(99)
				p99 += v
			})
		}
	}
	if n != b.N*nSeries*nMinutes {
		b.Fatalf("got %d buckets; want %d", n, b.N*nSeries*nMinutes)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*nSeries), "ns/series")
}
