package main

import (
	"math"
	"math/bits"
	"sync/atomic"
	"time"
)

// hist is a lock-free latency histogram: 16 sub-buckets per power of two
// of nanoseconds (about 6% resolution), so percentiles can be read while
// workers record.
type hist struct {
	counts [64 * 16]atomic.Int64
	n      atomic.Int64
}

func bucketOf(ns uint64) int {
	if ns < 16 {
		return int(ns)
	}
	e := bits.Len64(ns) - 1 // ns in [2^e, 2^(e+1))
	mant := (ns >> (e - 4)) & 15
	return e*16 + int(mant)
}

// bucketValue is the upper bound of bucket b in nanoseconds.
func bucketValue(b int) float64 {
	if b < 16 {
		return float64(b)
	}
	e, mant := b/16, b%16
	return math.Ldexp(float64(16+mant+1), e-4)
}

func (h *hist) record(d time.Duration) {
	h.counts[bucketOf(uint64(max(d, 0)))].Add(1)
	h.n.Add(1)
}

// quantile is the q-quantile (0..1) of what was recorded, 0 when empty.
func (h *hist) quantile(q float64) time.Duration {
	total := h.n.Load()
	if total == 0 {
		return 0
	}
	want := int64(math.Ceil(q * float64(total)))
	var seen int64
	for b := range h.counts {
		seen += h.counts[b].Load()
		if seen >= want {
			return time.Duration(bucketValue(b))
		}
	}
	return time.Duration(bucketValue(len(h.counts) - 1))
}
