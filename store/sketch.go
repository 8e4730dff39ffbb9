package store

import (
	"math"
	"slices"
	"unsafe"
)

// The sketch is a DDSketch-style log-bucket histogram of non-negative values.
// A positive value v falls in bucket k = ceil(log_gamma(v)), which covers
// (gamma^(k-1), gamma^k]; the bucket is represented by 2*gamma^k/(gamma+1),
// which is within relAccuracy (relative) of every value of the bucket. Zero
// has its own counter. Negative values are never added: an aggregate that
// saw one has no percentiles (CloudWatch rule), so the sketch is dropped.
const (
	// relAccuracy is the documented relative error bound of percentiles.
	relAccuracy = 0.01
	gamma       = (1 + relAccuracy) / (1 - relAccuracy)
	// maxBins bounds a sketch's size: 2048 bins at 1% cover a dynamic range
	// of gamma^2048 ≈ 6.7e17 (e.g. 1 ns .. 21 years). Past it, the lowest
	// bins are folded into one, so only the lowest percentiles lose accuracy.
	maxBins = 2048
)

var (
	logGamma    = math.Log(gamma)
	invLogGamma = 1 / logGamma
	valueFactor = 2 / (gamma + 1)
)

// binKey returns the bucket index of v > 0.
func binKey(v float64) int32 {
	return int32(math.Ceil(math.Log(v) * invLogGamma))
}

// binValue returns the representative value of bucket k.
func binValue(k int32) float64 {
	return math.Exp(float64(k)*logGamma) * valueFactor
}

// sketch counts non-negative values in log buckets. keys is sorted ascending
// and counts is parallel to it. Counts are float64 because CloudWatch counts
// are doubles; in practice they are integers.
type sketch struct {
	zero   float64
	keys   []int32
	counts []float64
}

const sketchSize = int64(unsafe.Sizeof(sketch{}))

func (s *sketch) empty() bool {
	return s == nil || (s.zero == 0 && len(s.keys) == 0)
}

func (s *sketch) reset() {
	s.zero = 0
	s.keys = s.keys[:0]
	s.counts = s.counts[:0]
}

// bytes is the memory held by s, for accounting.
func (s *sketch) bytes() int64 {
	if s == nil {
		return 0
	}
	return sketchSize + int64(cap(s.keys))*4 + int64(cap(s.counts))*8
}

// add counts c copies of v (v >= 0, c > 0).
func (s *sketch) add(v, c float64) {
	if v == 0 {
		s.zero += c
		return
	}
	s.addKey(binKey(v), c)
}

func (s *sketch) addKey(k int32, c float64) {
	if n := len(s.keys); n > 0 && s.keys[n-1] < k {
		s.keys = append(s.keys, k)
		s.counts = append(s.counts, c)
	} else {
		i, found := slices.BinarySearch(s.keys, k)
		if found {
			s.counts[i] += c
			return
		}
		s.keys = slices.Insert(s.keys, i, k)
		s.counts = slices.Insert(s.counts, i, c)
	}
	if len(s.keys) > maxBins {
		s.collapse()
	}
}

// merge adds every count of o to s, in place, in O(len(s)+len(o)).
func (s *sketch) merge(o *sketch) {
	if o.empty() {
		return
	}
	s.zero += o.zero
	if len(o.keys) == 0 {
		return
	}
	if len(s.keys) == 0 {
		s.keys = append(s.keys, o.keys...)
		s.counts = append(s.counts, o.counts...)
		return
	}
	// Size of the union.
	n, i, j := 0, 0, 0
	for i < len(s.keys) || j < len(o.keys) {
		switch {
		case j == len(o.keys) || (i < len(s.keys) && s.keys[i] < o.keys[j]):
			i++
		case i == len(s.keys) || o.keys[j] < s.keys[i]:
			j++
		default:
			i++
			j++
		}
		n++
	}
	// Merge from the back into the grown slices.
	i, j = len(s.keys)-1, len(o.keys)-1
	s.keys = slices.Grow(s.keys, n-len(s.keys))[:n]
	s.counts = slices.Grow(s.counts, n-len(s.counts))[:n]
	for w := n - 1; w >= 0; w-- {
		switch {
		case j < 0 || (i >= 0 && s.keys[i] > o.keys[j]):
			s.keys[w], s.counts[w] = s.keys[i], s.counts[i]
			i--
		case i < 0 || o.keys[j] > s.keys[i]:
			s.keys[w], s.counts[w] = o.keys[j], o.counts[j]
			j--
		default:
			s.keys[w], s.counts[w] = s.keys[i], s.counts[i]+o.counts[j]
			i--
			j--
		}
	}
	if len(s.keys) > maxBins {
		s.collapse()
	}
}

// collapse folds the lowest bins into one so that at most maxBins remain.
func (s *sketch) collapse() {
	excess := len(s.keys) - maxBins
	var c float64
	for _, x := range s.counts[:excess+1] {
		c += x
	}
	s.counts[excess] = c
	s.keys = s.keys[:copy(s.keys, s.keys[excess:])]
	s.counts = s.counts[:copy(s.counts, s.counts[excess:])]
}

// copyFrom makes s an exact copy of o, reusing s's storage.
func (s *sketch) copyFrom(o *sketch) {
	if o == nil {
		s.reset()
		return
	}
	s.zero = o.zero
	s.keys = append(s.keys[:0], o.keys...)
	s.counts = append(s.counts[:0], o.counts...)
}

// quantile returns the estimate of the value of nearest rank ceil(q*n), for
// q in (0, 1], where n is the total count.
func (s *sketch) quantile(q float64) float64 {
	total := s.zero
	for _, c := range s.counts {
		total += c
	}
	rank := q * total
	cum := s.zero
	if cum > 0 && cum >= rank {
		return 0
	}
	for i, c := range s.counts {
		cum += c
		if cum >= rank {
			return binValue(s.keys[i])
		}
	}
	if len(s.keys) == 0 {
		return 0
	}
	return binValue(s.keys[len(s.keys)-1])
}
