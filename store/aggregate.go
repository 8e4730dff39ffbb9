package store

import (
	"math"
	"unsafe"

	"github.com/cellwatch/cellwatch/internal/record"
)

// Aggregate is the stored unit: one series, one bucket.
//
// Count, Sum, Min and Max are exact (float64 addition). The distribution for
// percentiles is a sketch with a relative error bound (see the package doc).
// While every value merged so far is equal (Min == Max) no sketch is held: it
// is implied as Count copies of Min.
//
// The zero Aggregate is empty (Count == 0). An Aggregate is not safe for
// concurrent use.
type Aggregate struct {
	Start int64 // bucket start, Unix seconds
	Width int64 // seconds: 1 (StorageResolution 1) or 60 (standard); roll-ups use 300/3600

	Count, Sum, Min, Max float64

	// Last is the value of the latest Prometheus sample merged (a datum
	// with Sample set) and LastTS its timestamp in Unix milliseconds;
	// LastTS 0 means none was merged.
	// Merge keeps the later timestamp; on equal timestamps the greater
	// value, so merging stays commutative. PromQL reads Last: it is the
	// sample Prometheus would keep for the bucket.
	Last   float64
	LastTS int64

	// sk is the distribution; nil or empty while the distribution is
	// implied (all values equal) or unavailable (noPct).
	sk *sketch
	// noPct is set once a value that makes percentiles unavailable was
	// merged: a negative value, or a statistic set that is not reducible to
	// raw values.
	noPct bool
}

const aggregateSize = int64(unsafe.Sizeof(Aggregate{}))

// Empty reports whether nothing was merged into a.
func (a *Aggregate) Empty() bool { return a.Count <= 0 }

// PercentilesAvailable reports whether Percentile can answer for a.
func (a *Aggregate) PercentilesAvailable() bool { return a.Count > 0 && !a.noPct }

// AddDatum merges one datum: its Value (count 1), its Values and Counts (a
// missing count is 1; entries with a count <= 0 are skipped), or its
// StatisticSet (as given); a Sample datum also becomes the last value when
// it is the latest. Start and Width are not changed.
func (a *Aggregate) AddDatum(d *record.Datum) {
	switch {
	case d.Stats != nil:
		a.addStats(d.Stats)
	case len(d.Values) > 0:
		for i, v := range d.Values {
			c := 1.0
			if i < len(d.Counts) {
				c = d.Counts[i]
			}
			a.addValue(v, c)
		}
	default:
		a.addValue(d.Value, 1)
		if d.Sample && !math.IsNaN(d.Value) {
			a.takeLast(d.Value, d.Timestamp)
		}
	}
}

// takeLast makes (v, ts) the last value when it is later than the current
// one (on a tie, when it is greater). ts 0 is no value.
func (a *Aggregate) takeLast(v float64, ts int64) {
	if ts == 0 {
		return
	}
	if a.LastTS == 0 || ts > a.LastTS || (ts == a.LastTS && v > a.Last) {
		a.Last, a.LastTS = v, ts
	}
}

// AddValue merges count copies of v (count <= 0 or NaN is ignored).
func (a *Aggregate) AddValue(v, count float64) { a.addValue(v, count) }

func (a *Aggregate) addValue(v, c float64) {
	if !(c > 0) || math.IsNaN(v) {
		return
	}
	a.addRun(v, c, c, v*c, v, v, v >= 0)
}

// reducibleStats reports whether a statistic set can be taken as SampleCount
// copies of Min for percentiles (CloudWatch: SampleCount 1, or Min == Max and
// Sum == Min*SampleCount; the latter is compared with a relative tolerance of
// 1e-9 because clients add floats).
func reducibleStats(s *record.StatisticSet) bool {
	if s.Min != s.Max {
		return false
	}
	if s.SampleCount == 1 {
		return true
	}
	want := s.Min * s.SampleCount
	return math.Abs(s.Sum-want) <= 1e-9*math.Abs(want)
}

func (a *Aggregate) addStats(s *record.StatisticSet) {
	if !(s.SampleCount > 0) {
		return
	}
	a.addRun(s.Min, s.SampleCount, s.SampleCount, s.Sum, s.Min, s.Max, reducibleStats(s) && s.Min >= 0)
}

// addRun merges count n with the given sum/min/max. When pct is true the run
// is n copies of v for the distribution; otherwise percentiles become
// unavailable.
func (a *Aggregate) addRun(v, c, n, sum, mn, mx float64, pct bool) {
	if a.Count <= 0 {
		a.Count, a.Sum, a.Min, a.Max = n, sum, mn, mx
		a.Last, a.LastTS = 0, 0
		a.noPct = !pct
		if !pct {
			a.sk = nil
		} else if a.sk != nil {
			a.sk.reset()
		}
		return
	}
	implied := !a.noPct && a.sk.empty()
	oldMin, oldCount := a.Min, a.Count
	a.Count += n
	a.Sum += sum
	a.Min = math.Min(a.Min, mn)
	a.Max = math.Max(a.Max, mx)
	if !pct {
		a.dropPercentiles()
	}
	if a.noPct {
		return
	}
	if implied {
		if v == oldMin {
			return
		}
		a.materialize(oldMin, oldCount)
	}
	a.sk.add(v, c)
}

// materialize turns the implied distribution (count copies of v) into a
// sketch.
func (a *Aggregate) materialize(v, count float64) {
	if a.sk == nil {
		a.sk = new(sketch)
	}
	a.sk.reset()
	a.sk.add(v, count)
}

func (a *Aggregate) dropPercentiles() {
	a.noPct = true
	a.sk = nil
}

// Merge merges b into a (associative and commutative; a keeps its Start and
// Width). b is not modified and a shares no memory with it afterwards.
func (a *Aggregate) Merge(b *Aggregate) {
	if b.Count <= 0 {
		return
	}
	if a == b {
		b = b.Clone()
	}
	if a.Count <= 0 {
		a.Last, a.LastTS = 0, 0
	}
	a.takeLast(b.Last, b.LastTS)
	if a.Count <= 0 {
		a.Count, a.Sum, a.Min, a.Max = b.Count, b.Sum, b.Min, b.Max
		a.noPct = b.noPct
		switch {
		case b.noPct:
			a.sk = nil
		case b.sk.empty():
			if a.sk != nil {
				a.sk.reset()
			}
		default:
			if a.sk == nil {
				a.sk = new(sketch)
			}
			a.sk.copyFrom(b.sk)
		}
		return
	}
	aImplied := !a.noPct && a.sk.empty()
	bImplied := !b.noPct && b.sk.empty()
	oldMin, oldCount := a.Min, a.Count
	a.Count += b.Count
	a.Sum += b.Sum
	a.Min = math.Min(a.Min, b.Min)
	a.Max = math.Max(a.Max, b.Max)
	if b.noPct {
		a.dropPercentiles()
	}
	if a.noPct {
		return
	}
	if aImplied {
		if bImplied && b.Min == oldMin {
			return
		}
		a.materialize(oldMin, oldCount)
	}
	if bImplied {
		a.sk.add(b.Min, b.Count)
	} else {
		a.sk.merge(b.sk)
	}
}

// Percentile returns the p-th percentile (p in [0, 100]) by nearest rank:
// the estimate of the ceil(p/100*Count)-th smallest value. p0 is Min and
// p100 is Max exactly; other estimates are within the relative error bound
// of the package doc and clamped into [Min, Max]. ok is false when the
// aggregate is empty, p is out of range, or percentiles are unavailable (a
// negative value or an irreducible statistic set was merged).
func (a *Aggregate) Percentile(p float64) (v float64, ok bool) {
	if a.Count <= 0 || a.noPct || !(p >= 0 && p <= 100) {
		return 0, false
	}
	switch {
	case p == 0:
		return a.Min, true
	case p == 100:
		return a.Max, true
	case a.sk.empty():
		return a.Min, true
	}
	v = a.sk.quantile(p / 100)
	return math.Min(math.Max(v, a.Min), a.Max), true
}

// Reset empties a (Start and Width too), keeping its sketch storage for
// reuse.
func (a *Aggregate) Reset() {
	sk := a.sk
	*a = Aggregate{}
	if sk != nil {
		sk.reset()
		a.sk = sk
	}
}

// Clone returns a deep copy of a.
func (a *Aggregate) Clone() *Aggregate {
	c := new(Aggregate)
	a.cloneInto(c)
	return c
}

// cloneInto makes dst a deep copy of a, reusing dst's sketch storage.
func (a *Aggregate) cloneInto(dst *Aggregate) {
	sk := dst.sk
	*dst = *a
	dst.sk = sk
	switch {
	case a.sk.empty():
		if sk != nil {
			sk.reset()
		}
	default:
		if sk == nil {
			dst.sk = new(sketch)
		}
		dst.sk.copyFrom(a.sk)
	}
}

// memBytes is the memory a holds beyond its own struct, for accounting.
func (a *Aggregate) memBytes() int64 { return a.sk.bytes() }
