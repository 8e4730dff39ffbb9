package store

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/cellwatch/cellwatch/internal/record"
)

// benchValue is a realistic value for series i: three in four are latencies
// with one decimal, the rest request counts.
func benchValue(rng *rand.Rand, i int) float64 {
	if i%4 == 3 {
		return math.Round(200 + rng.NormFloat64()*30)
	}
	return latency(rng)
}

// minuteBatch returns the stream messages of one minute: one datum per
// series, 100 datums per message (one WAL record split by partition).
func minuteBatch(rng *rand.Rand, ids []record.Datum, minute time.Time, seq *int64) []Message {
	const perMsg = 100
	var msgs []Message
	for i := 0; i < len(ids); i += perMsg {
		m := record.Metrics{Tenant: "tenant-1", Namespace: "MyApp/Frontend"}
		for j := i; j < min(i+perMsg, len(ids)); j++ {
			d := ids[j]
			d.Timestamp = minute.Add(time.Duration(j%50) * time.Second).UnixMilli()
			d.Value = benchValue(rng, j)
			m.Datums = append(m.Datums, d)
		}
		msgs = append(msgs, metricsMsg(*seq, "node-1", uint64(*seq), &m))
		*seq++
	}
	return msgs
}

// BenchmarkLongTermApply applies batches of 2,000 datums (one per series,
// one minute each, 20 messages) through ApplyBatch, each committed with
// fsync.
func BenchmarkLongTermApply(b *testing.B) {
	const nSeries = 2000
	ids := benchSeries(nSeries)
	rng := rand.New(rand.NewPCG(1, 2))
	clock := newClock(t0)
	lt := openTestLongTerm(b, b.TempDir(), clock, nil)
	defer func() { _ = stopLongTerm(lt) }()
	var seq int64
	minute := t0
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		clock.set(minute.Add(90 * time.Second))
		msgs := minuteBatch(rng, ids, minute, &seq)
		minute = minute.Add(time.Minute)
		b.StartTimer()
		if err := lt.ApplyBatch(0, msgs); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*nSeries)/b.Elapsed().Seconds(), "datums/s")
}

// BenchmarkLongTermBytesPerAggregate writes 2,000 series × 1 day of
// one-minute datums, compacts, and reports the disk size of each tier
// divided by its number of aggregates. Target for the 60 s tier: ≤ 8 B.
func BenchmarkLongTermBytesPerAggregate(b *testing.B) {
	const nSeries, nMinutes = 2000, 1440
	ids := benchSeries(nSeries)
	for b.Loop() {
		rng := rand.New(rand.NewPCG(5, 6))
		clock := newClock(t0)
		lt := openTestLongTerm(b, b.TempDir(), clock, nil)
		var seq int64
		for i := range nMinutes {
			minute := t0.Add(time.Duration(i) * time.Minute)
			clock.set(minute.Add(90 * time.Second))
			if err := lt.ApplyBatch(0, minuteBatch(rng, ids, minute, &seq)); err != nil {
				b.Fatal(err)
			}
		}
		if err := lt.db.Flush(); err != nil {
			b.Fatal(err)
		}
		if err := lt.db.Compact(context.Background(), []byte{0}, []byte{0xff}, false); err != nil {
			b.Fatal(err)
		}
		for ti, name := range []string{"", "B/agg-60s", "B/agg-300s", "B/agg-3600s"} {
			if ti == tier1s {
				continue
			}
			lo, hi := tierBounds(ti, math.MaxInt64)
			size, err := lt.db.EstimateDiskUsage(lo, hi)
			if err != nil {
				b.Fatal(err)
			}
			aggs := 0
			end := clock.now().Unix()
			lt.Series("tenant-1", func(ref SeriesRef, _ *SeriesKey, _ int64) bool {
				lt.readTier(uint32(ref), ti, t0.Unix(), end, end, func(*Aggregate) { aggs++ })
				return true
			})
			b.ReportMetric(float64(size)/float64(aggs), name)
		}
		all, err := lt.db.EstimateDiskUsage([]byte{0}, []byte{0xff})
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(all)/float64(nSeries*nMinutes), "all-B/datum")
		if err := stopLongTerm(lt); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLongTermQuery15d reads one series over 15 days at 300 s (from the
// 300 s tier) and 100 series over one day at 60 s, after compaction.
func BenchmarkLongTermQuery15d(b *testing.B) {
	const nSeries = 100
	ids := benchSeries(nSeries + 1)
	now := t0.Add(15 * 24 * time.Hour)
	clock := newClock(now)
	lt := openTestLongTerm(b, b.TempDir(), clock, nil)
	defer func() { _ = stopLongTerm(lt) }()
	rng := rand.New(rand.NewPCG(7, 8))
	var seq int64
	// Series 0: 15 days of one datum a minute, a day per message.
	long := ids[0]
	for day := range 15 {
		m := record.Metrics{Tenant: "tenant-1", Namespace: "MyApp/Frontend"}
		for i := range 1440 {
			d := long
			d.Timestamp = t0.Add(time.Duration(day*1440+i)*time.Minute + 10*time.Second).UnixMilli()
			d.Value = latency(rng)
			m.Datums = append(m.Datums, d)
		}
		if err := lt.ApplyBatch(0, []Message{metricsMsg(seq, "node-1", uint64(seq), &m)}); err != nil {
			b.Fatal(err)
		}
		seq++
	}
	// Series 1..100: the last day, a minute per batch.
	dayStart := now.Add(-24 * time.Hour)
	for i := range 1440 {
		if err := lt.ApplyBatch(0, minuteBatch(rng, ids[1:], dayStart.Add(time.Duration(i)*time.Minute), &seq)); err != nil {
			b.Fatal(err)
		}
	}
	if err := lt.db.Flush(); err != nil {
		b.Fatal(err)
	}
	if err := lt.db.Compact(context.Background(), []byte{0}, []byte{0xff}, false); err != nil {
		b.Fatal(err)
	}
	refs := make([]SeriesRef, len(ids))
	for i, id := range ids {
		refs[i] = lt.Lookup("tenant-1", "MyApp/Frontend", id.MetricName, id.Dimensions)[0]
	}

	b.Run("1 series 15d at 300s", func(b *testing.B) {
		start := t0.Unix()
		n := 0
		for b.Loop() {
			lt.RangePeriod(refs[0], start, now.Unix(), 300, func(a *Aggregate) { n++ })
		}
		if want := b.N * 15 * 288; n != want {
			b.Fatalf("read %d buckets; want %d", n, want)
		}
	})
	b.Run("100 series 1d at 60s", func(b *testing.B) {
		n := 0
		for b.Loop() {
			for _, ref := range refs[1:] {
				lt.RangePeriod(ref, dayStart.Unix(), now.Unix(), 60, func(a *Aggregate) { n++ })
			}
		}
		if want := b.N * nSeries * 1440; n != want {
			b.Fatalf("read %d buckets; want %d", n, want)
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*nSeries), "ns/series")
	})
}
