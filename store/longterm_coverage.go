package store

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"sync"

	"github.com/cockroachdb/pebble/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/cellwatch/cellwatch/internal/intervals"
	"github.com/cellwatch/cellwatch/internal/record"
)

// prefixRun keys the liveness runs: l | partition (4) | len-prefixed origin |
// run start (8, order-preserving; math.MinInt64 for a genesis run) -> run
// end (8, order-preserving), Unix ms. A run is the span of an origin's
// liveness marks applied from one partition, each at most MaxSilence after
// the one before.
const prefixRun = 'l'

// markRun is one run of liveness marks, [start, end) in Unix ms.
type markRun struct{ start, end int64 }

type runKey struct {
	p      int
	origin string
}

// liveRuns is the in-memory copy of every stored run, updated after each
// commit; Coverage reads only it and the gaps.
type liveRuns struct {
	mu sync.RWMutex
	m  map[runKey][]markRun // ascending by start
}

func encodeRunKey(p int, origin string, start int64) []byte {
	k := binary.BigEndian.AppendUint32([]byte{prefixRun}, uint32(p))
	k = appendString(k, origin)
	return appendOrdered(k, start)
}

func (lt *LongTerm) loadRuns() error {
	lt.runs.m = make(map[runKey][]markRun)
	var bad error
	err := lt.scan([]byte{prefixRun}, func(k, v []byte) bool {
		if len(k) < 1+4+1+8 || len(v) != 8 {
			bad = fmt.Errorf("run key %x: %w", k, errBadBlock)
			return false
		}
		n, w := binary.Uvarint(k[5:])
		rest := k[5+w:]
		if w <= 0 || uint64(len(rest)) != n+8 {
			bad = fmt.Errorf("run key %x: %w", k, errBadBlock)
			return false
		}
		rk := runKey{p: int(binary.BigEndian.Uint32(k[1:])), origin: string(rest[:n])}
		lt.runs.m[rk] = append(lt.runs.m[rk], markRun{start: readOrdered(rest[n:]), end: readOrdered(v)})
		return true
	})
	if err == nil {
		err = bad
	}
	if err != nil {
		return fmt.Errorf("load liveness runs: %w", err)
	}
	return nil
}

// currentRun returns the run of origin in partition p that holds its newest
// mark (as the batch being built sees it); ok is false when it has none.
// The caller holds the partition lock.
func (lt *LongTerm) currentRun(p int, ps *partitionState, origin string) (markRun, bool) {
	if r, ok := ps.runUpdates[origin]; ok {
		return r, true
	}
	lt.runs.mu.RLock()
	defer lt.runs.mu.RUnlock()
	var cur markRun
	found := false
	for _, r := range lt.runs.m[runKey{p, origin}] {
		if !found || r.end > cur.end {
			cur, found = r, true
		}
	}
	return cur, found
}

// applyLiveness extends origin's current run in partition p with mark m, or
// starts a new one after a silence longer than MaxSilence (a genesis mark
// starts one reaching back without bound), writing the run into batch.
func (lt *LongTerm) applyLiveness(batch *pebble.Batch, p int, ps *partitionState, origin string, m record.Liveness) error {
	cur, ok := lt.currentRun(p, ps, origin)
	switch {
	case m.Genesis:
		cur = markRun{start: math.MinInt64, end: m.UnixMs}
	case ok && m.UnixMs < cur.end:
		return nil // the clock went back: nothing is covered until it passes the newest mark
	case ok && m.UnixMs-cur.end <= lt.cfg.MaxSilence.Milliseconds():
		cur.end = m.UnixMs
	default:
		cur = markRun{start: m.UnixMs, end: m.UnixMs}
	}
	if err := batch.Set(encodeRunKey(p, origin, cur.start), appendOrdered(nil, cur.end), nil); err != nil {
		return fmt.Errorf("write liveness run: %w", err)
	}
	ps.runUpdates[origin] = cur
	return nil
}

// newestMark returns the newest liveness mark applied from partition p for
// origin ("" for any origin), or -1. The caller holds the partition lock.
func (lt *LongTerm) newestMark(p int, ps *partitionState, origin string) int64 {
	if origin != "" {
		if r, ok := lt.currentRun(p, ps, origin); ok {
			return r.end
		}
		return -1
	}
	newest := int64(-1)
	lt.runs.mu.RLock()
	for k, runs := range lt.runs.m {
		if k.p == p {
			for _, r := range runs {
				newest = max(newest, r.end)
			}
		}
	}
	lt.runs.mu.RUnlock()
	for _, r := range ps.runUpdates {
		newest = max(newest, r.end)
	}
	return newest
}

// committedRuns makes the runs of a committed batch visible to Coverage.
func (lt *LongTerm) committedRuns(p int, updates map[string]markRun) {
	if len(updates) == 0 {
		return
	}
	lt.runs.mu.Lock()
	defer lt.runs.mu.Unlock()
	for origin, r := range updates {
		k := runKey{p, origin}
		runs := lt.runs.m[k]
		i, found := slices.BinarySearchFunc(runs, r.start, func(x markRun, start int64) int {
			switch {
			case x.start < start:
				return -1
			case x.start > start:
				return 1
			}
			return 0
		})
		if found {
			runs[i].end = r.end
		} else {
			runs = slices.Insert(runs, i, r)
		}
		lt.runs.m[k] = runs
	}
}

// Coverage returns the sub-intervals of [from, to) (Unix seconds) that the
// long-term store can vouch for: every datum written to the WAL of an origin
// live in them is applied. The rules (docs/design.md §6):
//
//   - per origin and partition, the applied liveness marks form runs (marks
//     at most MaxSilence apart; a genesis mark reaches back without bound);
//   - an origin's applied coverage is the intersection of its runs over
//     every partition (LongTermConfig.Partitions; 0: the partitions that
//     applied any mark): its watermark is the minimum over partitions of its
//     newest applied mark. Where one partition knows the origin was live but
//     another has not applied that far, the interval is not covered;
//   - the union over origins, holes of at most MaxSilence filled (a node
//     restarted on a new WAL within seconds), minus the intervals some origin
//     was live in but is not applied in every partition, minus the
//     wall-clock spans of the recorded gaps (Gaps: the shipper's dropped
//     backlog, corrupt messages, offsets the stream lost).
//
// So an origin that is live is covered up to its watermark, an interval in
// which no origin's marks were applied is uncovered, and an origin that no
// partition has heard from since an interval is not known to have been live
// in it (simple; exact for a single node). Bounds are rounded inward to
// whole seconds. On a read error nothing is covered (logged).
func (lt *LongTerm) Coverage(from, to int64) []Interval { return lt.CoverageOf(nil, from, to) }

// CoverageOf is Coverage judged over the given partitions alone (nil: every
// partition), for a node of a cluster that owns only some of them: the
// runs and gaps of other partitions do not count. Data of one series is in
// one partition (PartitionOf), so what a node vouches for over its
// partitions is what it holds of their series.
func (lt *LongTerm) CoverageOf(parts []int, from, to int64) []Interval {
	fromMs, toMs := intervals.Mul(from, 1000), intervals.Mul(to, 1000)
	cov, err := lt.coverageOfMs(parts, fromMs, toMs)
	if err != nil {
		lt.log.Error("long-term store: coverage", "err", err)
		return nil
	}
	return cov.Clip(fromMs, toMs).Scale(1000)
}

func (lt *LongTerm) coverageMs(fromMs, toMs int64) (intervals.Set, error) {
	return lt.coverageOfMs(nil, fromMs, toMs)
}

func (lt *LongTerm) coverageOfMs(only []int, fromMs, toMs int64) (intervals.Set, error) {
	byOrigin := map[string]map[int]intervals.Set{}
	seen := map[int]bool{}
	lt.runs.mu.RLock()
	for k, runs := range lt.runs.m {
		if only != nil && !slices.Contains(only, k.p) {
			continue
		}
		per := byOrigin[k.origin]
		if per == nil {
			per = map[int]intervals.Set{}
			byOrigin[k.origin] = per
		}
		set := make([]Interval, len(runs))
		for i, r := range runs {
			set[i] = Interval{From: r.start, To: r.end}
		}
		per[k.p] = intervals.Of(set...)
		seen[k.p] = true
	}
	lt.runs.mu.RUnlock()
	var parts []int
	switch {
	case only != nil:
		parts = only
	case lt.cfg.Partitions > 0:
		for p := range lt.cfg.Partitions {
			parts = append(parts, p)
		}
	default:
		for p := range seen {
			parts = append(parts, p)
		}
	}
	var covered, behind intervals.Set
	for _, per := range byOrigin {
		var applied, live intervals.Set
		for i, p := range parts {
			if i == 0 {
				applied = per[p]
			} else {
				applied = intervals.Intersect(applied, per[p])
			}
		}
		for _, set := range per {
			live = intervals.Union(live, set)
		}
		covered = intervals.Union(covered, applied)
		behind = intervals.Union(behind, intervals.Subtract(live, applied))
	}
	covered = intervals.Subtract(covered.FillHoles(lt.cfg.MaxSilence.Milliseconds()), behind)
	if len(covered) == 0 {
		return nil, nil
	}
	gaps, err := lt.Gaps(fromMs, toMs)
	if err != nil {
		return nil, err
	}
	if only != nil {
		gaps = slices.DeleteFunc(gaps, func(g GapRecord) bool { return !slices.Contains(only, g.Partition) })
	}
	holes := make([]Interval, 0, len(gaps))
	for _, g := range gaps {
		h := Interval{From: g.FirstMs, To: math.MaxInt64}
		if g.FirstMs < 0 {
			h.From = math.MinInt64
		}
		if g.LastMs >= 0 && g.LastMs < math.MaxInt64 {
			h.To = g.LastMs + 1
		}
		holes = append(holes, h)
	}
	return intervals.Subtract(covered, intervals.Of(holes...)), nil
}

func (lt *LongTerm) registerCoverageMetrics(f promauto.Factory) {
	f.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "cellwatch_coverage_longterm_watermark_timestamp_seconds",
		Help: "End of the newest interval the long-term store can vouch for (0: none): reads of later time are answered by the local store, or unknown.",
	}, func() float64 {
		cov, err := lt.coverageMs(math.MinInt64, math.MaxInt64)
		if err != nil || len(cov) == 0 {
			return 0
		}
		return float64(cov[len(cov)-1].To) / 1000
	})
}
