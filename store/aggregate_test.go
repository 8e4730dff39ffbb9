package store

import (
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"

	"github.com/cellwatch/cellwatch/internal/record"
)

func value(v float64) record.Datum { return record.Datum{Value: v} }

func values(vs, cs []float64) record.Datum { return record.Datum{Values: vs, Counts: cs} }

func stats(n, sum, mn, mx float64) record.Datum {
	return record.Datum{Stats: &record.StatisticSet{SampleCount: n, Sum: sum, Min: mn, Max: mx}}
}

func aggOf(ds ...record.Datum) *Aggregate {
	var a Aggregate
	for i := range ds {
		a.AddDatum(&ds[i])
	}
	return &a
}

// sameAggregate reports whether a and b hold the same numbers and
// distribution (bit for bit).
func sameAggregate(a, b *Aggregate) bool {
	eq := func(x, y float64) bool { return math.Float64bits(x) == math.Float64bits(y) }
	if a.Start != b.Start || a.Width != b.Width || !eq(a.Count, b.Count) || !eq(a.Sum, b.Sum) ||
		!eq(a.Min, b.Min) || !eq(a.Max, b.Max) || a.noPct != b.noPct ||
		!eq(a.Last, b.Last) || a.LastTS != b.LastTS {
		return false
	}
	return sameSketch(a.sk, b.sk)
}

func sameSketch(a, b *sketch) bool {
	if a.empty() || b.empty() {
		return a.empty() == b.empty()
	}
	return a.zero == b.zero && slices.Equal(a.keys, b.keys) && slices.Equal(a.counts, b.counts)
}

func TestAggregateCloudWatchExamples(t *testing.T) {
	tests := []struct {
		name                 string
		datums               []record.Datum
		count, sum, min, max float64
	}{
		{
			name:   "values and counts",
			datums: []record.Datum{values([]float64{1, 10}, []float64{2, 4})},
			count:  6, sum: 42, min: 1, max: 10,
		},
		{
			name:   "value and statistic set",
			datums: []record.Datum{value(11), stats(10, 55, 1, 10)},
			count:  11, sum: 66, min: 1, max: 11,
		},
		{
			name:   "statistic set then value",
			datums: []record.Datum{stats(10, 55, 1, 10), value(11)},
			count:  11, sum: 66, min: 1, max: 11,
		},
		{
			name:   "values without counts",
			datums: []record.Datum{values([]float64{3, 4, 5}, nil)},
			count:  3, sum: 12, min: 3, max: 5,
		},
		{
			name:   "zero counts skipped",
			datums: []record.Datum{values([]float64{3, 100}, []float64{1, 0})},
			count:  1, sum: 3, min: 3, max: 3,
		},
		{
			name:   "negative values",
			datums: []record.Datum{value(-5), value(2)},
			count:  2, sum: -3, min: -5, max: 2,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := aggOf(tt.datums...)
			if a.Count != tt.count || a.Sum != tt.sum || a.Min != tt.min || a.Max != tt.max {
				t.Errorf("got Count %v Sum %v Min %v Max %v; want %v %v %v %v",
					a.Count, a.Sum, a.Min, a.Max, tt.count, tt.sum, tt.min, tt.max)
			}
			if avg := a.Sum / a.Count; tt.name == "value and statistic set" && avg != 6 {
				t.Errorf("got Average %v; want 6", avg)
			}
		})
	}
}

func TestPercentileAvailability(t *testing.T) {
	tests := []struct {
		name   string
		datums []record.Datum
		ok     bool
		p50    float64
	}{
		{"single value", []record.Datum{value(7)}, true, 7},
		{"equal values", []record.Datum{value(7), value(7), values([]float64{7}, []float64{3})}, true, 7},
		{"negative value", []record.Datum{value(1), value(-1), value(3)}, false, 0},
		{"only negative values", []record.Datum{value(-2), value(-2)}, false, 0},
		{"negative is sticky", []record.Datum{value(-1), stats(1, 5, 5, 5)}, false, 0},
		{"stats with SampleCount 1", []record.Datum{stats(1, 4, 4, 4)}, true, 4},
		{"stats Min==Max and Sum==Min*N", []record.Datum{stats(4, 10, 2.5, 2.5)}, true, 2.5},
		{"stats Sum with float error", []record.Datum{stats(10, sequentialSum(0.1, 10), 0.1, 0.1)}, true, 0.1},
		{"stats Min==Max Sum mismatch", []record.Datum{stats(4, 11, 2.5, 2.5)}, false, 0},
		{"stats spread", []record.Datum{stats(10, 55, 1, 10)}, false, 0},
		{"stats spread after values", []record.Datum{value(1), value(2), stats(10, 55, 1, 10)}, false, 0},
		{"stats negative reducible", []record.Datum{stats(2, -4, -2, -2)}, false, 0},
		{"reducible stats with values", []record.Datum{stats(3, 3, 1, 1), value(10)}, true, 1},
		{"zeros", []record.Datum{value(0), value(0), value(5)}, true, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := aggOf(tt.datums...)
			got, ok := a.Percentile(50)
			if ok != tt.ok {
				t.Fatalf("got ok %v; want %v", ok, tt.ok)
			}
			if ok && got != tt.p50 {
				t.Errorf("got p50 %v; want %v", got, tt.p50)
			}
			if a.PercentilesAvailable() != tt.ok {
				t.Errorf("got PercentilesAvailable %v; want %v", a.PercentilesAvailable(), tt.ok)
			}
		})
	}
	var empty Aggregate
	if _, ok := empty.Percentile(50); ok {
		t.Errorf("got ok for an empty aggregate; want not ok")
	}
	a := aggOf(value(1), value(2))
	for _, p := range []float64{-1, 100.5, math.NaN()} {
		if _, ok := a.Percentile(p); ok {
			t.Errorf("got ok for p=%v; want not ok", p)
		}
	}
}

func TestNoSketchWhileValuesEqual(t *testing.T) {
	var a Aggregate
	for range 100 {
		a.AddValue(42.5, 1)
	}
	d := stats(7, 7*42.5, 42.5, 42.5)
	a.AddDatum(&d)
	b := aggOf(value(42.5))
	a.Merge(b)
	if a.sk != nil {
		t.Fatalf("got a sketch while all values are equal; want none")
	}
	if got, _ := a.Percentile(99); got != 42.5 {
		t.Errorf("got p99 %v; want 42.5", got)
	}
	a.AddValue(50, 1)
	if a.sk.empty() {
		t.Fatalf("got no sketch after a second distinct value; want one")
	}
	if got, want := a.sk.zero+sum(a.sk.counts), a.Count; got != want {
		t.Errorf("got sketch count %v; want %v", got, want)
	}
	if got, _ := a.Percentile(50); math.Abs(got-42.5) > 0.01*42.5 {
		t.Errorf("got p50 %v; want 42.5 within 1%%", got)
	}
}

// sequentialSum adds v n times, as a client does (0.1 ten times is not 1).
func sequentialSum(v float64, n int) float64 {
	var s float64
	for range n {
		s += v
	}
	return s
}

func sum(xs []float64) float64 {
	var s float64
	for _, x := range xs {
		s += x
	}
	return s
}

// exactPercentile is the nearest-rank percentile of sorted xs.
func exactPercentile(sorted []float64, p float64) float64 {
	r := int(math.Ceil(p / 100 * float64(len(sorted))))
	return sorted[min(max(r, 1), len(sorted))-1]
}

var testPercentiles = []float64{0, 0.1, 1, 5, 10, 25, 50, 75, 90, 95, 99, 99.9, 100}

func TestPercentileAccuracy(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	gens := []struct {
		name string
		gen  func() float64
	}{
		{"uniform", func() float64 { return rng.Float64() * 1000 }},
		{"lognormal", func() float64 { return math.Exp(rng.NormFloat64()*2 + 3) }},
		{"tiny lognormal", func() float64 { return math.Exp(rng.NormFloat64()*5 - 20) }},
		{"one decimal latency", func() float64 { return math.Round(math.Exp(rng.NormFloat64()*0.5+4.5)*10) / 10 }},
		{"with zeros", func() float64 {
			if rng.IntN(4) == 0 {
				return 0
			}
			return rng.ExpFloat64() * 50
		}},
	}
	for _, g := range gens {
		for _, n := range []int{1, 2, 3, 10, 101, 5000} {
			xs := make([]float64, n)
			var a Aggregate
			for i := range xs {
				xs[i] = g.gen()
				a.AddValue(xs[i], 1)
			}
			sort.Float64s(xs)
			for _, p := range testPercentiles {
				got, ok := a.Percentile(p)
				want := exactPercentile(xs, p)
				if !ok {
					t.Fatalf("%s n=%d p%v: got not ok; want %v", g.name, n, p, want)
				}
				if (p == 0 || p == 100) && got != want {
					t.Errorf("%s n=%d p%v: got %v; want exactly %v", g.name, n, p, got, want)
				}
				if math.Abs(got-want) > relAccuracy*math.Abs(want)*(1+1e-9) {
					t.Errorf("%s n=%d p%v: got %v; want %v within 1%% (error %.4g%%)",
						g.name, n, p, got, want, 100*math.Abs(got-want)/want)
				}
				if got < a.Min || got > a.Max {
					t.Errorf("%s n=%d p%v: got %v outside [%v, %v]", g.name, n, p, got, a.Min, a.Max)
				}
			}
		}
	}
}

func TestPercentileWeightedValues(t *testing.T) {
	// Values/Counts and reducible statistic sets count as repeated values.
	d1 := values([]float64{1, 10, 100}, []float64{50, 40, 10})
	d2 := stats(100, 500, 5, 5)
	a := aggOf(d1, d2)
	var xs []float64
	for i, v := range d1.Values {
		for range int(d1.Counts[i]) {
			xs = append(xs, v)
		}
	}
	for range 100 {
		xs = append(xs, 5)
	}
	sort.Float64s(xs)
	for _, p := range testPercentiles {
		got, _ := a.Percentile(p)
		want := exactPercentile(xs, p)
		if math.Abs(got-want) > relAccuracy*want*(1+1e-9) {
			t.Errorf("p%v: got %v; want %v within 1%%", p, got, want)
		}
	}
}

func TestMergeEqualsUnion(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for trial := range 200 {
		n := 1 + rng.IntN(6)
		parts := make([]*Aggregate, n)
		var union Aggregate
		for i := range parts {
			parts[i] = new(Aggregate)
			m := 1 + rng.IntN(50)
			for range m {
				var v float64
				switch rng.IntN(4) {
				case 0:
					v = float64(rng.IntN(5)) // repeats, zeros
				case 1:
					v = math.Round(rng.ExpFloat64()*1000) / 10
				default:
					v = math.Exp(rng.NormFloat64() * 3)
				}
				if trial%7 == 0 && rng.IntN(40) == 0 {
					v = -v - 1
				}
				c := float64(1 + rng.IntN(3))
				parts[i].AddValue(v, c)
				union.AddValue(v, c)
			}
		}
		// Left fold.
		var left Aggregate
		for _, p := range parts {
			left.Merge(p)
		}
		// Right fold, reversed order.
		var right Aggregate
		for i := len(parts) - 1; i >= 0; i-- {
			right.Merge(parts[i])
		}
		// Tree.
		tree := parts[0].Clone()
		if n > 1 {
			rest := parts[1].Clone()
			for _, p := range parts[2:] {
				rest.Merge(p)
			}
			tree.Merge(rest)
		}
		for name, got := range map[string]*Aggregate{"left": &left, "right": &right, "tree": tree} {
			// Sums may differ in the last bits with the order of additions.
			if got.Count != union.Count || got.Min != union.Min || got.Max != union.Max ||
				math.Abs(got.Sum-union.Sum) > 1e-9*math.Abs(union.Sum) || got.noPct != union.noPct {
				t.Fatalf("trial %d %s: got %+v; want %+v", trial, name, *got, union)
			}
			if !sameSketch(got.sk, union.sk) {
				t.Fatalf("trial %d %s: got sketch %+v; want %+v", trial, name, got.sk, union.sk)
			}
		}
	}
}

func TestMergeDoesNotShare(t *testing.T) {
	b := aggOf(value(1), value(2))
	var a Aggregate
	a.Merge(b)
	a.AddValue(1000, 1)
	if got, _ := b.Percentile(100); got != 2 {
		t.Errorf("got b p100 %v after changing a; want 2", got)
	}
	if got := b.sk.zero + sum(b.sk.counts); got != 2 {
		t.Errorf("got b sketch count %v; want 2", got)
	}
	a.Merge(&a)
	if a.Count != 6 {
		t.Errorf("got Count %v after merging a into itself; want 6", a.Count)
	}
}

func TestSketchCollapseKeepsCount(t *testing.T) {
	var a Aggregate
	v := 1e-300
	n := 0
	for v < 1e300 {
		a.AddValue(v, 1)
		v *= 1.5
		n++
	}
	if len(a.sk.keys) > maxBins {
		t.Fatalf("got %d bins; want at most %d", len(a.sk.keys), maxBins)
	}
	if got := a.sk.zero + sum(a.sk.counts); got != float64(n) {
		t.Errorf("got sketch count %v; want %d", got, n)
	}
	if got, _ := a.Percentile(99); math.Abs(got-exactNth(1e-300, 1.5, int(math.Ceil(0.99*float64(n)))))/got > 0.0101 {
		t.Errorf("got p99 %v; want within 1%%", got)
	}
}

func exactNth(first, factor float64, rank int) float64 {
	v := first
	for range rank - 1 {
		v *= factor
	}
	return v
}

func TestReset(t *testing.T) {
	a := aggOf(value(1), value(5))
	a.Start, a.Width = 60, 60
	a.Reset()
	if !a.Empty() || a.Start != 0 || a.Sum != 0 || !a.sk.empty() {
		t.Fatalf("got %+v after Reset; want empty", *a)
	}
	a.AddValue(3, 1)
	if got, ok := a.Percentile(50); !ok || got != 3 {
		t.Errorf("got p50 %v, %v after Reset and one value; want 3, true", got, ok)
	}
}

// TestLastValue: the last value is the sample with the latest timestamp,
// whatever the order datums arrive or aggregates merge in; on equal
// timestamps the greater value, so merging commutes.
func TestLastValue(t *testing.T) {
	sample := func(v float64, ts int64) record.Datum { return record.Datum{Value: v, Timestamp: ts, Sample: true} }
	cases := []struct {
		name     string
		in       []record.Datum
		last     float64
		lastTS   int64
		wantNone bool
	}{
		{name: "one", in: []record.Datum{sample(5, 1000)}, last: 5, lastTS: 1000},
		{name: "in order", in: []record.Datum{sample(1, 1000), sample(2, 1500)}, last: 2, lastTS: 1500},
		{name: "out of order", in: []record.Datum{sample(2, 1500), sample(1, 1000)}, last: 2, lastTS: 1500},
		{name: "tie keeps greater", in: []record.Datum{sample(3, 1000), sample(7, 1000), sample(4, 1000)}, last: 7, lastTS: 1000},
		{name: "negative", in: []record.Datum{sample(-1, 1999), sample(10, 1200)}, last: -1, lastTS: 1999},
		{name: "statistic set has none", in: []record.Datum{{Timestamp: 1000, Stats: &record.StatisticSet{SampleCount: 2, Sum: 3, Min: 1, Max: 2}}}, wantNone: true},
		{name: "a CloudWatch value has none", in: []record.Datum{{Timestamp: 1000, Value: 3}}, wantNone: true},
		{name: "values list has none", in: []record.Datum{{Timestamp: 1000, Values: []float64{1, 2}}}, wantNone: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var direct Aggregate
			for i := range c.in {
				direct.AddDatum(&c.in[i])
			}
			// Merged one aggregate per datum, in reverse: the same answer.
			var merged Aggregate
			for i := len(c.in) - 1; i >= 0; i-- {
				var one Aggregate
				one.AddDatum(&c.in[i])
				merged.Merge(&one)
			}
			for _, a := range []*Aggregate{&direct, &merged} {
				if c.wantNone {
					if a.LastTS != 0 {
						t.Fatalf("got last %v@%d; want none", a.Last, a.LastTS)
					}
					continue
				}
				if a.Last != c.last || a.LastTS != c.lastTS {
					t.Fatalf("got last %v@%d; want %v@%d", a.Last, a.LastTS, c.last, c.lastTS)
				}
			}
		})
	}
	// Reset forgets it; a reused aggregate does not keep an old last.
	var a Aggregate
	d := sample(9, 5000)
	a.AddDatum(&d)
	a.Reset()
	d2 := record.Datum{Timestamp: 1000, Stats: &record.StatisticSet{SampleCount: 1, Sum: 1, Min: 1, Max: 1}}
	a.AddDatum(&d2)
	if a.LastTS != 0 {
		t.Fatalf("after Reset got last %v@%d; want none", a.Last, a.LastTS)
	}
}

// TestBlockVersion1StillRead: a block written before the last value existed
// decodes, with no last value.
func TestBlockVersion1StillRead(t *testing.T) {
	a := Aggregate{Start: 0, Width: 1}
	a.AddValue(4, 1)
	st := newCodecState(0)
	v2 := appendBucket([]byte{blockVersion}, &st, &a)
	// A bucket without a last value is encoded as version 1 did.
	v1 := append([]byte{1}, v2[1:]...)
	br := newBlockReader(v1, 100, 60, 10)
	var got Aggregate
	if !br.next(&got) || br.err() != nil {
		t.Fatalf("version 1 block: %v", br.err())
	}
	if got.Start != 100 || got.Count != 1 || got.Min != 4 || got.LastTS != 0 {
		t.Fatalf("got %+v", got)
	}
}
