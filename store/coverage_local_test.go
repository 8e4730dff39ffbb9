package store

import (
	"context"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cellwatch/cellwatch/internal/record"
)

// marks returns WAL records of liveness marks every second in [from, to);
// the first one says started.
func marks(from, to time.Time, started, genesis bool) [][]byte {
	var recs [][]byte
	for t := from; t.Before(to); t = t.Add(time.Second) {
		recs = append(recs, record.AppendLiveness(nil, record.Liveness{UnixMs: t.UnixMilli(), Started: started, Genesis: genesis}))
		started, genesis = false, false
	}
	return recs
}

func sec(t time.Time) int64 { return t.Unix() }

func iv(from, to int64) Interval { return Interval{From: from, To: to} }

func TestLocalCoverage(t *testing.T) {
	start := t0.Add(250 * time.Millisecond) // marks are not second-aligned
	for name, tc := range map[string]struct {
		wal  [][]byte
		now  time.Time
		from time.Time
		to   time.Time
		want []Interval
	}{
		"marks every second cover the time between them": {
			wal: marks(start, start.Add(120*time.Second), true, false), now: start.Add(200 * time.Second),
			from: t0.Add(-time.Minute), to: t0.Add(3 * time.Minute),
			want: []Interval{iv(sec(t0)+1, sec(t0)+119)}, // inward to whole seconds; the node is not live at now
		},
		"a live node covers up to now and beyond": {
			wal: marks(start, start.Add(120*time.Second), true, false), now: start.Add(121 * time.Second),
			from: t0, to: t0.Add(10 * time.Minute),
			want: []Interval{iv(sec(t0)+1, sec(t0)+600)},
		},
		"a five-minute silence is a hole": {
			wal: append(marks(start, start.Add(60*time.Second), true, false), marks(start.Add(6*time.Minute), start.Add(8*time.Minute), true, false)...),
			now: start.Add(8 * time.Minute), from: t0, to: t0.Add(8 * time.Minute),
			want: []Interval{iv(sec(t0)+1, sec(t0)+59), iv(sec(t0)+361, sec(t0)+480)},
		},
		"a restart within three seconds is no hole": {
			wal: append(marks(start, start.Add(60*time.Second), true, false), marks(start.Add(62*time.Second), start.Add(120*time.Second), true, false)...),
			now: start.Add(120 * time.Second), from: t0, to: t0.Add(2 * time.Minute),
			want: []Interval{iv(sec(t0)+1, sec(t0)+120)},
		},
		"a wiped WAL: nothing before the new start": {
			wal: marks(start.Add(time.Hour), start.Add(time.Hour+time.Minute), true, false), now: start.Add(time.Hour + time.Minute),
			from: t0, to: t0.Add(time.Hour + time.Minute),
			want: []Interval{iv(sec(t0)+3601, sec(t0)+3660)},
		},
		"a new data directory: nothing is unknown before its first mark": {
			wal: marks(start.Add(time.Hour), start.Add(time.Hour+time.Minute), true, true), now: start.Add(time.Hour + time.Minute),
			from: t0, to: t0.Add(time.Hour + time.Minute),
			want: []Interval{iv(sec(t0), sec(t0)+3660)},
		},
		"nothing older than the window": {
			wal: marks(start, start.Add(time.Minute), true, true), now: start.Add(4 * time.Hour),
			from: t0, to: t0.Add(4 * time.Hour),
			want: nil,
		},
		"no marks at all": {now: t0, from: t0.Add(-time.Hour), to: t0, want: nil},
	} {
		t.Run(name, func(t *testing.T) {
			clock := newClock(tc.now)
			l := newTestLocal(t, clock, nil)
			if err := l.Rebuild(context.Background(), &fakeWAL{recs: tc.wal}); err != nil {
				t.Fatal(err)
			}
			if got := l.Coverage(sec(tc.from), sec(tc.to)); !slices.Equal(got, tc.want) {
				t.Errorf("got %v; want %v", got, tc.want)
			}
		})
	}
}

// TestLocalCoverageLive applies marks as the Liveness service does, with a
// clock that moves: the set follows, stays bounded, and the gauges show it.
func TestLocalCoverageLive(t *testing.T) {
	clock := newClock(t0)
	reg := prometheus.NewRegistry()
	l := newTestLocal(t, clock, reg)
	mark := func(started bool) {
		l.ApplyLiveness(record.Liveness{UnixMs: clock.now().UnixMilli(), Started: started})
	}
	mark(true)
	for range 3 * 3600 {
		clock.advance(time.Second)
		mark(false)
		if clock.now().Unix()%600 == 0 { // a restart every ten minutes, down for ten seconds
			clock.advance(10 * time.Second)
			mark(true)
		}
	}
	got := l.Coverage(math.MinInt64, math.MaxInt64)
	if got[0].From != clock.now().Unix()-3*3600 || got[len(got)-1].To != math.MaxInt64 {
		t.Fatalf("got %v; want the window's start to the open future", got)
	}
	for i := 1; i < len(got); i++ {
		if hole := got[i].From - got[i-1].To; hole != 10 {
			t.Fatalf("hole %d of %d s; want the 10 s restarts: %v", i, hole, got)
		}
	}
	l.Trim()
	if n := len(l.cov.set); n > len(got) {
		t.Errorf("%d intervals kept after trim; want at most the window's %d", n, len(got))
	}
	if v, want := gaugeValue(t, reg, "cellwatch_coverage_local_uncovered_seconds"), float64(10*(len(got)-1)); v != want {
		t.Errorf("uncovered seconds %v; want %v", v, want)
	}
	// Silence: the node is not live any more; its last interval stops at the newest mark.
	clock.advance(10 * time.Second)
	if got := l.Coverage(math.MinInt64, math.MaxInt64); got[len(got)-1].To == math.MaxInt64 {
		t.Errorf("after ten silent seconds the coverage still runs to the future: %v", got[len(got)-1])
	}
}

func gaugeValue(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf.GetMetric()[0].GetGauge().GetValue()
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}
