// Package intervals is a small algebra of half-open integer intervals, used
// for coverage (docs/design.md §6): the stores say which wall-clock intervals they
// can vouch for, the query planner intersects and subtracts them.
//
// A Set is sorted, its intervals are non-empty and neither overlap nor touch
// (adjacent intervals are merged). Every function but Add returns a new Set
// and leaves its arguments alone. math.MinInt64 and math.MaxInt64 stand for the
// unbounded past and future; arithmetic saturates at them.
package intervals

import (
	"math"
	"slices"
)

// Interval is [From, To).
type Interval struct {
	From, To int64
}

// Set is a normalised list of intervals (see the package documentation).
type Set []Interval

// Empty reports whether iv holds nothing.
func (iv Interval) Empty() bool { return iv.From >= iv.To }

// Of returns the normalised set of ivs (any order, overlaps and empty
// intervals allowed).
func Of(ivs ...Interval) Set {
	s := make(Set, 0, len(ivs))
	for _, iv := range ivs {
		if !iv.Empty() {
			s = append(s, iv)
		}
	}
	slices.SortFunc(s, func(a, b Interval) int {
		switch {
		case a.From < b.From:
			return -1
		case a.From > b.From:
			return 1
		}
		return 0
	})
	out := s[:0]
	for _, iv := range s {
		if n := len(out); n > 0 && iv.From <= out[n-1].To {
			out[n-1].To = max(out[n-1].To, iv.To)
			continue
		}
		out = append(out, iv)
	}
	return out
}

// Add returns s with iv added. Like append, it may modify s in place (the
// one exception to "arguments are left alone"): use the result, and clone a
// shared set first. Adding at the end, the common case, costs O(1)
// amortised.
func (s Set) Add(iv Interval) Set {
	if iv.Empty() {
		return s
	}
	if n := len(s); n == 0 || iv.From > s[n-1].To {
		return append(s, iv)
	} else if iv.From >= s[n-1].From {
		s[n-1].To = max(s[n-1].To, iv.To)
		return s
	}
	return Union(s, Set{iv})
}

// Union returns a ∪ b.
func Union(a, b Set) Set {
	all := make([]Interval, 0, len(a)+len(b))
	return Of(append(append(all, a...), b...)...)
}

// Intersect returns a ∩ b.
func Intersect(a, b Set) Set {
	var out Set
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		lo, hi := max(a[i].From, b[j].From), min(a[i].To, b[j].To)
		if lo < hi {
			out = append(out, Interval{lo, hi})
		}
		if a[i].To < b[j].To {
			i++
		} else {
			j++
		}
	}
	return out
}

// Subtract returns a − b.
func Subtract(a, b Set) Set {
	var out Set
	j := 0
	for _, iv := range a {
		cur := iv
		for j < len(b) && b[j].To <= cur.From {
			j++
		}
		for k := j; k < len(b) && b[k].From < cur.To; k++ {
			if b[k].From > cur.From {
				out = append(out, Interval{cur.From, b[k].From})
			}
			cur.From = max(cur.From, b[k].To)
			if cur.Empty() {
				break
			}
		}
		if !cur.Empty() {
			out = append(out, cur)
		}
	}
	return out
}

// Clip returns s ∩ [from, to).
func (s Set) Clip(from, to int64) Set { return Intersect(s, Of(Interval{from, to})) }

// Complement returns [from, to) − s.
func (s Set) Complement(from, to int64) Set { return Subtract(Of(Interval{from, to}), s) }

// FillHoles returns s with every hole of at most maxHole between two of its
// intervals filled.
func (s Set) FillHoles(maxHole int64) Set {
	var out Set
	for _, iv := range s {
		if n := len(out); n > 0 && iv.From-out[n-1].To <= maxHole {
			out[n-1].To = iv.To
			continue
		}
		out = append(out, iv)
	}
	return out
}

// Inward returns s with every interval shrunk to the multiples of g it
// contains whole ([ceil(From/g)·g, floor(To/g)·g)); unbounded ends stay
// unbounded.
func (s Set) Inward(g int64) Set {
	var out Set
	for _, iv := range s {
		from, to := iv.From, iv.To
		if from != math.MinInt64 {
			from = CeilDiv(from, g) * g
		}
		if to != math.MaxInt64 {
			to = FloorDiv(to, g) * g
		}
		if from < to {
			out = append(out, Interval{from, to})
		}
	}
	return out
}

// Scale returns s with every bound divided by d, rounding inward (a
// millisecond set to seconds: Scale(1000)); unbounded ends stay unbounded.
func (s Set) Scale(d int64) Set {
	var out Set
	for _, iv := range s.Inward(d) {
		from, to := iv.From, iv.To
		if from != math.MinInt64 {
			from /= d
		}
		if to != math.MaxInt64 {
			to /= d
		}
		out = append(out, Interval{from, to})
	}
	return out
}

// Contains reports whether [from, to) lies wholly in s.
func (s Set) Contains(from, to int64) bool {
	if from >= to {
		return true
	}
	i, _ := slices.BinarySearchFunc(s, from, func(iv Interval, t int64) int {
		switch {
		case iv.To <= t:
			return -1
		case iv.From > t:
			return 1
		}
		return 0
	})
	return i < len(s) && s[i].From <= from && s[i].To >= to
}

// Len returns the total length of s, saturating at math.MaxInt64.
func (s Set) Len() int64 {
	var n int64
	for _, iv := range s {
		d := iv.To - iv.From
		if d < 0 || n > math.MaxInt64-d { // overflow
			return math.MaxInt64
		}
		n += d
	}
	return n
}

// Mul returns a·b saturated to [math.MinInt64, math.MaxInt64] (seconds to
// milliseconds without overflow).
func Mul(a, b int64) int64 {
	if a == 0 || b == 0 {
		return 0
	}
	p := a * b
	if p/b != a || (a == -1 && b == math.MinInt64) || (b == -1 && a == math.MinInt64) {
		if (a < 0) != (b < 0) {
			return math.MinInt64
		}
		return math.MaxInt64
	}
	return p
}

// FloorDiv returns ⌊a/b⌋ for b > 0.
func FloorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}

// CeilDiv returns ⌈a/b⌉ for b > 0.
func CeilDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && a > 0 {
		q++
	}
	return q
}
