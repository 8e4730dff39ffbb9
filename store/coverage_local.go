package store

import (
	"fmt"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/cellwatch/cellwatch/internal/intervals"
	"github.com/cellwatch/cellwatch/internal/record"
)

// DefaultMaxSilence is the longest time between two liveness marks that
// still counts as covered: marks come every second, so a longer silence
// means the node was down (a crash, a restart, a stopped process).
const DefaultMaxSilence = 3 * time.Second

// Interval is a half-open interval [From, To) of Unix seconds; Coverage
// returns the covered ones. math.MinInt64 and math.MaxInt64 stand for the
// unbounded past and future.
type Interval = intervals.Interval

// localCoverage is what the local store knows of its liveness marks: the
// covered intervals (Unix ms) and the newest mark.
type localCoverage struct {
	mu     sync.Mutex
	set    intervals.Set
	newest int64 // ms of the newest mark; valid when have
	have   bool
}

// ApplyLiveness records a liveness mark of this node, live (the Liveness
// service, once the mark is in the WAL) or from Rebuild. Two marks at most
// MaxSilence apart cover the time between them; a Genesis mark covers
// everything before it (the node's data directory was new). Marks must come
// in WAL order; a mark older than the newest (the clock went back) covers
// nothing, so the time is uncovered until the clock passes the newest mark
// again.
func (l *Local) ApplyLiveness(m record.Liveness) {
	c := &l.cov
	silence := l.cfg.MaxSilence.Milliseconds()
	c.mu.Lock()
	defer c.mu.Unlock()
	if m.Genesis {
		c.set = c.set.Add(Interval{From: math.MinInt64, To: m.UnixMs})
	}
	if c.have && m.UnixMs < c.newest {
		return // the clock went back: nothing is covered until it passes the newest mark again
	}
	if c.have && m.UnixMs-c.newest <= silence {
		c.set = c.set.Add(Interval{From: c.newest, To: m.UnixMs})
	}
	c.newest, c.have = m.UnixMs, true
	if len(c.set) > 1 && c.set[0].To < l.cutoffMs() { // keep the set bounded by the window
		c.trimLocked(l.cutoffMs())
	}
}

func (l *Local) cutoffMs() int64 { return l.cutoff(l.cfg.Now().Unix()) * 1000 }

func (c *localCoverage) trimLocked(cutoffMs int64) {
	i := 0
	for i < len(c.set) && c.set[i].To <= cutoffMs {
		i++
	}
	if i > 0 {
		c.set = append(intervals.Set(nil), c.set[i:]...)
	}
}

// Coverage returns the sub-intervals of [from, to) (Unix seconds) that the
// local store can vouch for: it holds every datum this node accepted in
// them. They are the intervals its liveness marks cover (see ApplyLiveness),
// within the window (from now-Window on), rounded inward to whole seconds;
// while the node is live (its newest mark is at most MaxSilence old),
// everything from that mark on, the future included, is covered too: the
// current period is not unknown just because the next mark has not come
// yet. Before the first retained mark nothing is covered: a lost or wiped
// WAL is uncovered.
func (l *Local) Coverage(from, to int64) []Interval {
	return l.coverageAt(l.cfg.Now(), from, to)
}

func (l *Local) coverageAt(now time.Time, from, to int64) []Interval {
	return l.coverageMs(now, intervals.Mul(from, 1000), intervals.Mul(to, 1000)).Scale(1000)
}

// coverageMs is Coverage in milliseconds, unrounded.
func (l *Local) coverageMs(now time.Time, fromMs, toMs int64) intervals.Set {
	c := &l.cov
	c.mu.Lock()
	set := slices.Clone(c.set) // Add extends in place
	if c.have && now.UnixMilli()-c.newest <= l.cfg.MaxSilence.Milliseconds() {
		set = set.Add(Interval{From: c.newest, To: math.MaxInt64})
	}
	c.mu.Unlock()
	return set.Clip(max(fromMs, l.cutoff(now.Unix())*1000), toMs)
}

func (l *Local) registerCoverageMetrics(f promauto.Factory) {
	f.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "cellwatch_coverage_local_uncovered_seconds",
		Help: "Seconds of the local store's window that it cannot vouch for (the node was down, or its WAL was lost); reads report them unknown unless the long-term store covers them.",
	}, func() float64 {
		now := l.cfg.Now()
		from, to := now.Unix()-l.window, now.Unix()
		return float64((to - from) - intervals.Set(l.coverageAt(now, from, to)).Len())
	})
	f.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "cellwatch_coverage_local_newest_mark_timestamp_seconds",
		Help: "Wall-clock time of the newest liveness mark the local store applied (0: none).",
	}, func() float64 {
		l.cov.mu.Lock()
		defer l.cov.mu.Unlock()
		if !l.cov.have {
			return 0
		}
		return float64(l.cov.newest) / 1000
	})
}

// coverageSummary describes the coverage of the window, for logs.
func (l *Local) coverageSummary() string {
	now := l.cfg.Now()
	from, to := now.Unix()-l.window, now.Unix()
	cov := intervals.Set(l.coverageAt(now, from, to))
	holes := cov.Complement(from, to)
	if len(holes) == 0 {
		return "the whole window"
	}
	return fmt.Sprintf("%d of %d s of the window (%d uncovered intervals, the last ending %s)",
		cov.Len(), to-from, len(holes), time.Unix(holes[len(holes)-1].To, 0).UTC().Format(time.RFC3339))
}
