package insights

import (
	"math"
	"math/bits"
	"slices"
)

// Percentiles (pct) are exact up to pctExactMax values per aggregate, and
// then a DDSketch-style log histogram: relative error at most pctAlpha,
// at most ddMaxBins bins per sign (the lowest magnitudes merge when more
// would be needed), values nearer zero than ddMinValue count as zero.
const (
	pctExactMax = 1024
	pctAlpha    = 0.01
	ddMaxBins   = 2048
	ddMinValue  = 1e-9
)

var (
	ddGamma   = (1 + pctAlpha) / (1 - pctAlpha)
	ddLnGamma = math.Log(ddGamma)
)

// pctState accumulates the values of one pct aggregate.
type pctState struct {
	vals     []float64 // exact values, until pctExactMax
	sorted   bool
	sk       *ddSketch
	n        int
	min, max float64
}

// add takes one value and returns the change in held bytes.
func (p *pctState) add(x float64) int64 {
	if p.n == 0 || x < p.min {
		p.min = x
	}
	if p.n == 0 || x > p.max {
		p.max = x
	}
	p.n++
	if p.sk != nil {
		return p.sk.add(x)
	}
	if len(p.vals) < pctExactMax {
		p.vals = append(p.vals, x)
		p.sorted = false
		return 8
	}
	p.sk = &ddSketch{}
	delta := int64(-8 * len(p.vals))
	for _, v := range p.vals {
		delta += p.sk.add(v)
	}
	p.vals = nil
	return delta + p.sk.add(x)
}

// value is the nearest-rank percentile: the value at rank ceil(pct/100 *
// n) (1-based) of the ascending values; pct 0 is the minimum.
func (p *pctState) value(pct float64) (float64, bool) {
	if p.n == 0 {
		return 0, false
	}
	rank := int(math.Ceil(pct / 100 * float64(p.n)))
	rank = max(1, min(rank, p.n))
	switch {
	case rank == 1:
		return p.min, true
	case rank == p.n:
		return p.max, true
	case p.sk == nil:
		// Sorting in place changes no answer: the values are a multiset.
		if !p.sorted {
			slices.Sort(p.vals)
			p.sorted = true
		}
		return p.vals[rank-1], true
	}
	return min(p.max, max(p.min, p.sk.quantile(rank))), true
}

// ddSketch is a log-bucketed histogram of a value distribution.
type ddSketch struct {
	pos, neg ddStore
	zero     int
}

// ddStore counts values by bucket index: bins[i] counts index off+i.
type ddStore struct {
	bins []uint64
	off  int
	n    int
}

func ddIndex(x float64) int { return int(math.Ceil(math.Log(x) / ddLnGamma)) }

// ddValue is the value a bucket stands for: within pctAlpha of every value
// in it.
func ddValue(i int) float64 { return 2 * math.Exp(float64(i)*ddLnGamma) / (ddGamma + 1) }

func (s *ddSketch) add(x float64) int64 {
	switch {
	case x > ddMinValue:
		return s.pos.add(ddIndex(x))
	case x < -ddMinValue:
		return s.neg.add(ddIndex(-x))
	}
	s.zero++
	return 0
}

// add counts index i and returns the change in bytes.
func (st *ddStore) add(i int) int64 {
	st.n++
	if len(st.bins) == 0 {
		st.bins, st.off = make([]uint64, 1, 8), i
		st.bins[0] = 1
		return 64
	}
	lo, hi := min(i, st.off), max(i, st.off+len(st.bins)-1)
	if hi-lo+1 > ddMaxBins {
		lo = hi - ddMaxBins + 1
		i = max(i, lo)
	}
	var delta int64
	if lo != st.off || hi != st.off+len(st.bins)-1 {
		before := cap(st.bins)
		nb := make([]uint64, hi-lo+1, hi-lo+1+8)
		for j, c := range st.bins {
			nb[max(st.off+j, lo)-lo] += c
		}
		st.bins, st.off = nb, lo
		delta = int64(8 * (cap(nb) - before))
	}
	st.bins[i-st.off]++
	return delta
}

// quantile is the value at a 1-based rank, negatives first (largest
// magnitude first), then zeros, then positives.
func (s *ddSketch) quantile(rank int) float64 {
	if rank <= s.neg.n {
		cum := 0
		for j := len(s.neg.bins) - 1; j >= 0; j-- {
			cum += int(s.neg.bins[j])
			if cum >= rank {
				return -ddValue(s.neg.off + j)
			}
		}
	}
	rank -= s.neg.n
	if rank <= s.zero {
		return 0
	}
	rank -= s.zero
	cum := 0
	for j, c := range s.pos.bins {
		cum += int(c)
		if cum >= rank {
			return ddValue(s.pos.off + j)
		}
	}
	return math.NaN()
}

// count_distinct is exact (by 64-bit hash of the value's text) up to
// distinctExactMax distinct values per aggregate, then a HyperLogLog of
// 2^hllP registers (16 KiB, standard error 1.04/sqrt(2^hllP) ≈ 0.8%).
const (
	distinctExactMax = 2048
	hllP             = 14
)

// distinctState accumulates one count_distinct aggregate.
type distinctState struct {
	set map[uint64]struct{}
	hll []uint8
}

// add takes a value's text and returns the change in held bytes.
func (d *distinctState) add(s string) int64 {
	h := hashString(s)
	if d.hll != nil {
		hllAdd(d.hll, h)
		return 0
	}
	if d.set == nil {
		d.set = make(map[uint64]struct{})
	}
	if _, ok := d.set[h]; ok {
		return 0
	}
	d.set[h] = struct{}{}
	if len(d.set) <= distinctExactMax {
		return 24
	}
	d.hll = make([]uint8, 1<<hllP)
	for k := range d.set {
		hllAdd(d.hll, k)
	}
	delta := int64(len(d.hll) - 24*len(d.set))
	d.set = nil
	return delta + 24
}

func (d *distinctState) count() float64 {
	if d.hll == nil {
		return float64(len(d.set))
	}
	return math.Round(hllEstimate(d.hll))
}

func hllAdd(reg []uint8, h uint64) {
	i := h >> (64 - hllP)
	w := h<<hllP | 1<<(hllP-1) // a guard bit bounds the run of zeros
	if r := uint8(bits.LeadingZeros64(w) + 1); r > reg[i] {
		reg[i] = r
	}
}

// hllEstimate is the HyperLogLog estimate with linear counting for small
// cardinalities (no large-range correction is needed with 64-bit hashes).
func hllEstimate(reg []uint8) float64 {
	m := float64(len(reg))
	sum, zeros := 0.0, 0
	for _, r := range reg {
		sum += math.Ldexp(1, -int(r))
		if r == 0 {
			zeros++
		}
	}
	e := 0.7213 / (1 + 1.079/m) * m * m / sum
	if e <= 2.5*m && zeros > 0 {
		return m * math.Log(m/float64(zeros))
	}
	return e
}

// hashString is FNV-1a 64 with the murmur3 finalizer, so every bit
// depends on every input byte (HyperLogLog reads the top bits).
func hashString(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	return h
}
