package store

import (
	"math"
	"slices"
	"testing"
	"time"

	"github.com/cellwatch/cellwatch/internal/record"
)

// feed builds the stream messages a shipper would send and applies them.
type feed struct {
	t    testing.TB
	lt   *LongTerm
	next map[int]int64     // stream offset, per partition
	wal  map[string]uint64 // next WAL offset, per origin
}

func newFeed(t *testing.T, lt *LongTerm) *feed {
	return &feed{t: t, lt: lt, next: map[int]int64{}, wal: map[string]uint64{}}
}

// marks returns origin's liveness marks every second in [from, to).
func (f *feed) marks(origin string, from, to time.Time, genesis bool) []record.Shipped {
	var out []record.Shipped
	for ts := from; ts.Before(to); ts = ts.Add(time.Second) {
		f.wal[origin] += 16
		out = append(out, record.Shipped{Origin: origin, Offset: f.wal[origin], Kind: record.KindLiveness,
			Body: record.AppendLiveness(nil, record.Liveness{UnixMs: ts.UnixMilli(), Started: genesis, Genesis: genesis})})
		genesis = false
	}
	return out
}

// gap returns origin's gap marker for WAL records dropped after the last
// offset handed out, as the shipper sends it (Offset = To).
func (f *feed) gap(origin string, firstMs, lastMs int64) record.Shipped {
	from := f.wal[origin] + 16
	f.wal[origin] += 1000
	g := record.Gap{From: from, To: f.wal[origin], FirstMs: firstMs, LastMs: lastMs}
	return record.Shipped{Origin: origin, Offset: g.To, Kind: record.KindGap, Body: record.AppendGap(nil, g)}
}

// apply applies msgs to each of parts, as one batch per partition.
func (f *feed) apply(parts []int, msgs []record.Shipped) {
	f.t.Helper()
	for _, p := range parts {
		batch := make([]Message, len(msgs))
		for i, s := range msgs {
			batch[i] = Message{Offset: f.next[p], Shipped: s}
			f.next[p]++
		}
		if err := f.lt.ApplyBatch(p, batch); err != nil {
			f.t.Fatal(err)
		}
	}
}

func openCoverageLongTerm(t *testing.T, dir string, clock *testClock, partitions int) *LongTerm {
	t.Helper()
	lt, err := startLongTerm(LongTermConfig{Dir: dir, Now: clock.now, Partitions: partitions}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return lt
}

func TestLongTermCoverage(t *testing.T) {
	at := func(s int) time.Time { return t0.Add(time.Duration(s)*time.Second + 300*time.Millisecond) }
	s := func(n int64) int64 { return t0.Unix() + n }
	all := []int{0, 1}
	for name, tc := range map[string]struct {
		feed func(f *feed)
		want []Interval
	}{
		"the watermark is the minimum over partitions": {func(f *feed) {
			m := f.marks("a", at(0), at(120), false)
			f.apply([]int{0}, m)
			f.apply([]int{1}, m[:61])
		}, []Interval{iv(s(1), s(60))}},
		"a partition without marks covers nothing": {func(f *feed) {
			f.apply([]int{0}, f.marks("a", at(0), at(120), false))
		}, nil},
		"genesis reaches back": {func(f *feed) {
			f.apply(all, f.marks("a", at(0), at(60), true))
		}, []Interval{iv(math.MinInt64, s(59))}},
		"a silence is a hole": {func(f *feed) {
			f.apply(all, f.marks("a", at(0), at(60), false))
			f.apply(all, f.marks("a", at(70), at(120), false))
		}, []Interval{iv(s(1), s(59)), iv(s(71), s(119))}},
		"a shipped gap marker makes its span uncovered": {func(f *feed) {
			f.apply(all, f.marks("a", at(0), at(60), false))
			f.apply(all, []record.Shipped{f.gap("a", at(20).UnixMilli(), at(40).UnixMilli())})
			f.apply(all, f.marks("a", at(60), at(120), false))
		}, []Interval{iv(s(1), s(20)), iv(s(41), s(119))}},
		"a gap marker of unknown span starts at the newest mark": {func(f *feed) {
			f.apply(all, f.marks("a", at(0), at(60), false))
			f.apply(all, []record.Shipped{f.gap("a", -1, at(90).UnixMilli())})
			f.apply(all, f.marks("a", at(61), at(120), false))
		}, []Interval{iv(s(1), s(59)), iv(s(91), s(119))}},
		"a corrupt liveness message is a gap": {func(f *feed) {
			m := f.marks("a", at(0), at(60), false)
			m[30].Body = m[30].Body[:2]
			f.apply(all, m)
		}, []Interval{iv(s(1), s(29))}}, // the corrupt record lies after the newest mark, until now (at 100 s)
		"a new WAL restarted within seconds joins": {func(f *feed) {
			f.apply(all, f.marks("a", at(0), at(60), true))
			f.apply(all, f.marks("b", at(61), at(90), false))
		}, []Interval{iv(math.MinInt64, s(89))}},
		"a new WAL after a long silence": {func(f *feed) {
			f.apply(all, f.marks("a", at(0), at(60), true))
			f.apply(all, f.marks("b", at(70), at(90), false))
		}, []Interval{iv(math.MinInt64, s(59)), iv(s(71), s(89))}},
		"an origin applied in one partition only holds the others back": {func(f *feed) {
			f.apply(all, f.marks("a", at(0), at(90), true))
			b := f.marks("b", at(30), at(90), false)
			f.apply([]int{0}, b)
			f.apply([]int{1}, b[:30])
		}, []Interval{iv(math.MinInt64, s(59))}},
		"duplicates move nothing backwards": {func(f *feed) {
			m := f.marks("a", at(0), at(120), false)
			g := f.gap("a", at(130).UnixMilli(), at(135).UnixMilli())
			f.apply(all, m)
			f.apply(all, []record.Shipped{g})
			f.apply(all, m[:60])                  // a replay of old marks
			f.apply(all, []record.Shipped{m[10]}) // and of one
			f.lt.cfg.Now = func() time.Time { return at(500) }
			f.apply(all, []record.Shipped{g}) // the marker again, much later
		}, []Interval{iv(s(1), s(119))}},
	} {
		t.Run(name, func(t *testing.T) {
			clock := newClock(at(100))
			dir := t.TempDir()
			lt := openCoverageLongTerm(t, dir, clock, 2)
			closeOnCleanup(t, &lt)
			tc.feed(newFeed(t, lt))
			got := lt.Coverage(math.MinInt64, math.MaxInt64)
			if !slices.Equal(got, tc.want) {
				t.Errorf("got %v; want %v", got, tc.want)
			}
			// The same after a restart: runs, marks and gaps are stored.
			if err := stopLongTerm(lt); err != nil {
				t.Fatal(err)
			}
			lt = openCoverageLongTerm(t, dir, clock, 2)
			if got := lt.Coverage(math.MinInt64, math.MaxInt64); !slices.Equal(got, tc.want) {
				t.Errorf("after reopening: got %v; want %v", got, tc.want)
			}
			if got, want := lt.Coverage(s(10), s(50)), intervalsClip(tc.want, s(10), s(50)); !slices.Equal(got, want) {
				t.Errorf("Coverage(10 s, 50 s) = %v; want %v", got, want)
			}
		})
	}
}

func intervalsClip(set []Interval, from, to int64) []Interval {
	var out []Interval
	for _, x := range set {
		if lo, hi := max(x.From, from), min(x.To, to); lo < hi {
			out = append(out, iv(lo, hi))
		}
	}
	return out
}

// TestLongTermCoverageFollowsApplies: the watermark moves with each batch,
// and the gauge shows it.
func TestLongTermCoverageFollowsApplies(t *testing.T) {
	clock := newClock(t0)
	lt := openCoverageLongTerm(t, t.TempDir(), clock, 1)
	closeOnCleanup(t, &lt)
	f := newFeed(t, lt)
	for i := range 10 {
		f.apply([]int{0}, f.marks("a", t0.Add(time.Duration(i)*time.Second), t0.Add(time.Duration(i+1)*time.Second), i == 0))
		got := lt.Coverage(math.MinInt64, math.MaxInt64)
		if len(got) != 1 || got[0].To != t0.Unix()+int64(i) {
			t.Fatalf("after mark %d: %v; want coverage to %d", i, got, t0.Unix()+int64(i))
		}
	}
}

// TestLongTermCoverageOf: judged over some partitions, only their marks and
// gaps count — a node owning partition 0 vouches for it even while the
// partition it no longer owns stopped at an older mark.
func TestLongTermCoverageOf(t *testing.T) {
	at := func(s int) time.Time { return t0.Add(time.Duration(s)*time.Second + 300*time.Millisecond) }
	s := func(n int64) int64 { return t0.Unix() + n }
	clock := newClock(at(200))
	lt := openCoverageLongTerm(t, t.TempDir(), clock, 2)
	closeOnCleanup(t, &lt)
	f := newFeed(t, lt)
	m := f.marks("a", at(0), at(120), false)
	f.apply([]int{0}, m)
	f.apply([]int{1}, m[:31])
	f.apply([]int{1}, []record.Shipped{f.gap("a", at(100).UnixMilli(), at(110).UnixMilli())})
	for _, tc := range []struct {
		parts []int
		want  []Interval
	}{
		{nil, []Interval{iv(s(1), s(30))}},
		{[]int{0, 1}, []Interval{iv(s(1), s(30))}},
		{[]int{0}, []Interval{iv(s(1), s(119))}}, // partition 1's gap is not partition 0's
		{[]int{1}, []Interval{iv(s(1), s(30))}},
		{[]int{}, nil},
	} {
		if got := lt.CoverageOf(tc.parts, math.MinInt64, math.MaxInt64); !slices.Equal(got, tc.want) {
			t.Errorf("CoverageOf(%v) = %v; want %v", tc.parts, got, tc.want)
		}
	}
}
