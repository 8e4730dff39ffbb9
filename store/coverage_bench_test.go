package store

import (
	"math"
	"testing"
	"time"

	"github.com/cellwatch/cellwatch/internal/record"
)

// BenchmarkLocalCoverage: one Coverage call over the 3 h window of a node
// restarted every ten minutes (18 intervals), as every read makes.
func BenchmarkLocalCoverage(b *testing.B) {
	clock := newClock(t0)
	l := newTestLocal(b, clock, nil)
	for i := range 3 * 3600 {
		if i%600 == 599 {
			clock.advance(10 * time.Second)
		}
		l.ApplyLiveness(record.Liveness{UnixMs: clock.now().UnixMilli()})
		clock.advance(time.Second)
	}
	from, to := clock.now().Unix()-3*3600, clock.now().Unix()
	b.ResetTimer()
	for b.Loop() {
		if len(l.Coverage(from, to)) == 0 {
			b.Fatal("no coverage")
		}
	}
}

// BenchmarkLocalApplyLiveness: the cost of one mark in the local store.
func BenchmarkLocalApplyLiveness(b *testing.B) {
	clock := newClock(t0)
	l := newTestLocal(b, clock, nil)
	ms := t0.UnixMilli()
	for b.Loop() {
		ms += 1000
		l.ApplyLiveness(record.Liveness{UnixMs: ms})
	}
}

// BenchmarkLongTermCoverage: one Coverage call on a store fed by 8
// partitions from two origins (a node that lost its WAL once), with ten
// recorded gaps.
func BenchmarkLongTermCoverage(b *testing.B) {
	clock := newClock(t0.Add(time.Hour))
	lt, err := startLongTerm(LongTermConfig{Dir: b.TempDir(), Now: clock.now, Partitions: 8}, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = stopLongTerm(lt) }()
	parts := []int{0, 1, 2, 3, 4, 5, 6, 7}
	f := &feed{lt: lt, next: map[int]int64{}, wal: map[string]uint64{}}
	apply := func(msgs []record.Shipped) {
		for _, p := range parts {
			batch := make([]Message, len(msgs))
			for i, s := range msgs {
				batch[i] = Message{Offset: f.next[p], Shipped: s}
				f.next[p]++
			}
			if err := lt.ApplyBatch(p, batch); err != nil {
				b.Fatal(err)
			}
		}
	}
	apply(f.marks("a", t0, t0.Add(20*time.Minute), true))
	for i := range 10 {
		at := t0.Add(time.Duration(i) * time.Minute)
		apply([]record.Shipped{f.gap("a", at.UnixMilli(), at.Add(5*time.Second).UnixMilli())})
	}
	apply(f.marks("b", t0.Add(30*time.Minute), t0.Add(50*time.Minute), false))
	b.ResetTimer()
	for b.Loop() {
		if len(lt.Coverage(math.MinInt64, math.MaxInt64)) == 0 {
			b.Fatal("no coverage")
		}
	}
}
