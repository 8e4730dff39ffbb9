package query

import (
	"math"

	"github.com/cellwatch/cellwatch/store"
)

// The extended statistics over a distribution (docs/statistics.md). A
// distribution is bins (value, count) in ascending order of value, as
// store.Aggregate.AppendDistribution gives it: every statistic here is the
// exact statistic of the values the bins stand for.

// rankWindow computes st over percent bounds. The n values, in ascending
// order, lie end to end on the rank axis [0, n), each over a unit span (a
// bin of count c over a span of c). The window is [lo/100·n, hi/100·n];
// each value weighs the length of its span inside the window, so the
// trimmed count is exactly (hi-lo)/100·n and may be fractional.
func (st Statistic) rankWindow(bins []store.Bin) (float64, bool) {
	var n float64
	for _, b := range bins {
		n += b.Count
	}
	lo, hi := 0.0, n
	if st.hasLo {
		lo = st.lo / 100 * n
	}
	if st.hasHi {
		hi = st.hi / 100 * n
	}
	var cum, count, sum float64
	atLo, atHi := math.NaN(), math.NaN() // the values at the window's ends
	for _, b := range bins {
		v, c := b.Value, b.Count
		from, to := cum, cum+c
		cum = to
		if to > lo && math.IsNaN(atLo) {
			atLo = v
		}
		if from < hi {
			atHi = v
		}
		if w := math.Min(hi, to) - math.Max(lo, from); w > 0 {
			count += w
			sum += w * v
		}
	}
	if math.IsNaN(atLo) { // lo == n: the top value
		atLo = atHi
	}
	if count == 0 || math.IsNaN(atHi) {
		atHi = atLo
	}
	return st.combine(n, count, sum, lo*atLo+(n-hi)*atHi)
}

// valueWindow computes st over value bounds: the values v with lo < v <=
// hi (an absent side is unbounded). The winsorized mean clamps the values
// outside to the bound itself.
func (st Statistic) valueWindow(bins []store.Bin) (float64, bool) {
	var n, count, sum, clamped float64
	for _, b := range bins {
		v, c := b.Value, b.Count
		n += c
		switch {
		case st.hasLo && v <= st.lo:
			clamped += c * st.lo
		case st.hasHi && v > st.hi:
			clamped += c * st.hi
		default:
			count += c
			sum += c * v
		}
	}
	return st.combine(n, count, sum, clamped)
}

// combine turns a window's count and sum (and the sum the winsorized mean
// gives the values outside it) into st's value.
func (st Statistic) combine(n, count, sum, outside float64) (float64, bool) {
	switch st.kind {
	case kindTM:
		return sum / count, count > 0
	case kindTS:
		return sum, true
	case kindTC:
		return count, true
	case kindPR:
		return 100 * count / n, n > 0
	case kindWM:
		return (sum + outside) / n, n > 0
	}
	return 0, false
}
