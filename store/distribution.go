package store

import "math"

// Bin is one step of a distribution: Count values represented by Value.
type Bin struct {
	Value, Count float64
}

// gammaPowers[j] is gamma^j: the ratio of the representatives of two
// buckets j apart.
var gammaPowers = func() (p [64]float64) {
	for j := range p {
		p[j] = math.Pow(gamma, float64(j))
	}
	return p
}()

// AppendDistribution appends a's distribution to dst in ascending order of
// value and returns it: zeros first, then one Bin per sketch bucket with
// the bucket's representative clamped into [Min, Max] (an implied
// distribution is the single Bin {Min, Count}). Every value v counted in a
// bucket satisfies |Value - v| <= 0.01·v (plus float rounding), so a
// statistic that weighs the values with non-negative weights, computed over
// the bins, is the exact statistic of values each moved by at most 1%
// (package doc). ok is false when percentiles are unavailable
// (PercentilesAvailable).
func (a *Aggregate) AppendDistribution(dst []Bin) (bins []Bin, ok bool) {
	if !a.PercentilesAvailable() {
		return dst, false
	}
	if a.sk.empty() {
		return append(dst, Bin{a.Min, a.Count}), true
	}
	if a.sk.zero > 0 {
		dst = append(dst, Bin{0, a.sk.zero})
	}
	var v float64
	for i, k := range a.sk.keys {
		// Consecutive buckets differ by a factor gamma: one multiplication
		// instead of an exponential per bucket (drift ~1e-16 a step).
		if gap := k - a.sk.keys[max(i-1, 0)]; i > 0 && gap < int32(len(gammaPowers)) {
			v *= gammaPowers[gap]
		} else {
			v = binValue(k)
		}
		dst = append(dst, Bin{math.Min(math.Max(v, a.Min), a.Max), a.sk.counts[i]})
	}
	return dst, true
}
