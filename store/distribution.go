package store

import (
	"iter"
	"math"
)

// Distribution returns a's distribution as (value, count) pairs in
// ascending order of value: zeros first, then one pair per sketch bucket
// with the bucket's representative value clamped into [Min, Max] (an
// implied distribution is the single pair (Min, Count)). Every value v
// counted in a bucket satisfies |value - v| <= 0.01·v, so a statistic that
// is a non-negative weighting of the values, computed over these pairs, is
// the exact statistic of values each moved by at most 1% (package doc). ok
// is false when percentiles are unavailable (PercentilesAvailable).
func (a *Aggregate) Distribution() (pairs iter.Seq2[float64, float64], ok bool) {
	if !a.PercentilesAvailable() {
		return nil, false
	}
	return func(yield func(float64, float64) bool) {
		if a.sk.empty() {
			yield(a.Min, a.Count)
			return
		}
		if a.sk.zero > 0 && !yield(0, a.sk.zero) {
			return
		}
		for i, k := range a.sk.keys {
			v := math.Min(math.Max(binValue(k), a.Min), a.Max)
			if !yield(v, a.sk.counts[i]) {
				return
			}
		}
	}, true
}
