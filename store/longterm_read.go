package store

import (
	"errors"

	"github.com/cockroachdb/pebble/v2"
)

// RangePeriod calls fn for the buckets of the series with Start in [start,
// end), ascending by Start, read from the tiers that answer period exactly:
//
//   - a tier is eligible when its width divides period and it still holds
//     the bucket of start (retention: 1 s for 3 h, 60 s for 15 days, 300 s
//     for 63 days, 3600 s for 455 days). Sub-minute periods read only the
//     1 s tier (high-resolution datums; CloudWatch gives standard-resolution
//     data no sub-minute periods); periods of 60 s or more never read it.
//   - the coarsest eligible tier answers every one of its buckets that lies
//     wholly inside [start, end) (fewest buckets, and exact, because every
//     datum is merged into every tier); the edges it cannot cover are read
//     from the next finer eligible tier, recursively. Where no finer tier
//     is eligible (retention), the coarse tier answers by bucket Start: its
//     last bucket may then reach past end.
//
// So a period P starting more than 15 days ago is answered from 300 s or
// 3600 s buckets only (CloudWatch: no datapoints for P = 60 there), and a
// range whose end is not aligned to the coarse width never reads a coarse
// bucket that extends past end. fn must not retain a.
func (lt *LongTerm) RangePeriod(ref SeriesRef, start, end, period int64, fn func(a *Aggregate)) {
	if start >= end || period <= 0 {
		return
	}
	lt.visit(uint32(ref), start, end, period, lt.now(), len(tiers), fn)
}

// Range calls fn for the buckets with Start in [start, end), ascending, of
// the finest complete tier (60 s, 300 s or 3600 s) that still holds start;
// the 1 s tier is read only through RangePeriod with a sub-minute period.
// Past every tier's retention it reads the 3600 s tier, which returns what
// is left. fn must not retain a.
func (lt *LongTerm) Range(ref SeriesRef, start, end int64, fn func(a *Aggregate)) {
	if start >= end {
		return
	}
	now := lt.now()
	ti := tier3600s
	for i := tier60s; i < len(tiers); i++ {
		if tiers[i].holds(start, now) {
			ti = i
			break
		}
	}
	lt.readTier(uint32(ref), ti, start, end, now, fn)
}

// eligible reports whether tier ti answers period for buckets from start.
func eligible(ti int, start, period, now int64) bool {
	t := &tiers[ti]
	if (t.width == 1) != (period < 60) || period%t.width != 0 {
		return false
	}
	return t.holds(start, now)
}

// visit reads [start, end) for period from the tiers below index below.
func (lt *LongTerm) visit(id uint32, start, end, period, now int64, below int, fn func(a *Aggregate)) {
	if start >= end {
		return
	}
	c := coarsestEligible(below, start, period, now)
	if c < 0 {
		return
	}
	w := tiers[c].width
	a, b := ceilDiv(start, w)*w, floorDiv(end, w)*w
	if a >= b {
		b = start // no whole bucket of c: the rest is the right edge
	} else {
		// No bucket of c starts in [start, a); finer tiers may hold it.
		lt.visit(id, start, a, period, now, c, fn)
		lt.readTier(id, c, a, b, now, fn)
	}
	if coarsestEligible(c, b, period, now) >= 0 {
		lt.visit(id, b, end, period, now, c, fn)
	} else {
		lt.readTier(id, c, b, end, now, fn) // at most one bucket, reaching past end
	}
}

// coarsestEligible returns the coarsest tier below index below that is
// eligible for period at start, or -1.
func coarsestEligible(below int, start, period, now int64) int {
	for ti := below - 1; ti >= 0; ti-- {
		if eligible(ti, start, period, now) {
			return ti
		}
	}
	return -1
}

// readTier calls fn for the buckets of tier ti with Start in [start, end)
// that the tier still holds, ascending.
func (lt *LongTerm) readTier(id uint32, ti int, start, end, now int64, fn func(a *Aggregate)) {
	t := &tiers[ti]
	cutoff := t.cutoff(now)
	sc := rangePool.Get().(*rangeScratch)
	defer rangePool.Put(sc)
	a := &sc.a
	for bs := floorDiv(start, t.span) * t.span; bs < end; bs += t.span {
		if bs+t.span <= cutoff {
			continue
		}
		k := makeDataKey(ti, bs, id)
		v, closer, err := lt.db.Get(k[:])
		if errors.Is(err, pebble.ErrNotFound) {
			continue
		}
		if err != nil {
			lt.log.Error("long-term store: read block", "series", id, "tier", t.width, "block", bs, "err", err)
			continue
		}
		br := newBlockReader(v, bs, t.width, t.buckets())
		for br.next(a) {
			if a.Start >= end {
				break
			}
			if a.Start < start || a.Start+a.Width <= cutoff {
				continue
			}
			fn(a)
		}
		if err := br.err(); err != nil {
			lt.corruptBlock(err)
		}
		closer.Close()
	}
}
