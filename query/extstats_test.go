package query

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"

	"github.com/cellwatch/cellwatch/internal/record"
	"github.com/cellwatch/cellwatch/store"
)

// alpha is the sketch's relative accuracy (package store).
const alpha = 0.01

// exactStat computes st over raw samples, straight from the definitions in
// docs/statistics.md (not through a distribution).
func exactStat(st Statistic, xs []float64) (float64, bool) {
	xs = slices.Sorted(slices.Values(xs))
	n := float64(len(xs))
	if n == 0 {
		return 0, false
	}
	if st.kind == kindPercentile {
		rank := max(int(math.Ceil(st.p/100*n)), 1)
		return xs[rank-1], true
	}
	var count, sum, outside float64
	if st.pct {
		lo, hi := 0.0, n
		if st.hasLo {
			lo = st.lo / 100 * n
		}
		if st.hasHi {
			hi = st.hi / 100 * n
		}
		for i, x := range xs {
			w := math.Max(0, math.Min(hi, float64(i+1))-math.Max(lo, float64(i)))
			count += w
			sum += w * x
		}
		atLo := xs[min(int(math.Floor(lo)), len(xs)-1)]
		atHi := atLo
		if count > 0 {
			atHi = xs[int(math.Ceil(hi))-1]
		}
		outside = lo*atLo + (n-hi)*atHi
	} else {
		for _, x := range xs {
			c := x
			if st.hasLo && x <= st.lo {
				c = st.lo
			} else if st.hasHi && x > st.hi {
				c = st.hi
			} else {
				count++
				sum += x
			}
			outside += c
		}
		outside -= sum
	}
	return st.combine(n, count, sum, outside)
}

func TestExactStatByHand(t *testing.T) {
	xs := []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	for s, want := range map[string]float64{
		"tm90": 5, "TM(10%:90%)": 5.5, "IQM": 5.5, "tc90": 9, "ts90": 45, "TS(80%:)": 19, "wm90": 5.4,
		"WM(10%:90%)": 5.5, "TM(2:8)": 5.5, "TC(2:8)": 6, "TS(2:8)": 33, "PR(:3)": 30, "PR(2:8)": 60,
		"WM(2:8)": 5.3, "TC(25%:75%)": 5, "TM(:25%)": 1.8, "p50": 5, "p99": 10, "tm0": math.NaN(),
	} {
		st, _ := ParseStatistic(s)
		got, ok := exactStat(st, xs)
		if math.IsNaN(want) {
			if ok {
				t.Errorf("%s: got %v; want no value", s, got)
			}
			continue
		}
		if !ok || math.Abs(got-want) > 1e-12 {
			t.Errorf("%s: got %v %v; want %v", s, got, ok, want)
		}
		// Every value distinct and small: the sketch is exact to 1% here too.
		if v, ok := st.value(aggregateOf(xs)); !ok || math.Abs(v-want) > alpha*want+1e-9 {
			t.Errorf("%s from the sketch: got %v %v; want %v within 1%%", s, v, ok, want)
		}
	}
}

func aggregateOf(xs []float64) *store.Aggregate {
	var a store.Aggregate
	for _, x := range xs {
		a.AddValue(x, 1)
	}
	return &a
}

// distributions to test against: continuous, heavy-tailed, with zeros,
// with many ties, all equal.
var distributions = map[string]func(r *rand.Rand) float64{
	"uniform":     func(r *rand.Rand) float64 { return r.Float64() * 1000 },
	"lognormal":   func(r *rand.Rand) float64 { return math.Exp(3 + 1.5*r.NormFloat64()) },
	"exp+zeros":   func(r *rand.Rand) float64 { return max(0, r.ExpFloat64()*50-10) },
	"ties":        func(r *rand.Rand) float64 { return float64(1 + r.IntN(10)) },
	"all equal":   func(*rand.Rand) float64 { return 42 },
	"tiny values": func(r *rand.Rand) float64 { return r.Float64() * 0.05 },
}

var percentForms = []string{"p1", "p50", "p90", "p99", "p99.9", "tm90", "tm99", "tm50", "TM(10%:90%)", "TM(5%:)",
	"TM(:100%)", "IQM", "wm90", "wm99", "WM(10%:90%)", "WM(1%:)", "tc90", "TC(25%:75%)", "TC(33.3%:66.6%)", "ts90",
	"TS(80%:)", "TS(10%:90%)", "TM(50%:50%)", "WM(50%:50%)"}

// valueForms are filled with bounds at the samples' own quantiles.
var valueForms = []string{"TM(%v:%v)", "WM(%v:%v)", "TC(%v:%v)", "TS(%v:%v)", "PR(%v:%v)", "PR(:%[2]v)", "TM(%[1]v:)", "TC(:%[2]v)"}

func TestExtendedStatisticsAccuracy(t *testing.T) {
	for name, draw := range distributions {
		for _, n := range []int{1, 7, 100, 5000} {
			r := rand.New(rand.NewPCG(uint64(n), 7))
			xs := make([]float64, n)
			for i := range xs {
				xs[i] = draw(r)
			}
			agg := mergedAggregate(xs)
			sorted := slices.Sorted(slices.Values(xs))
			forms := slices.Clone(percentForms)
			for _, f := range valueForms {
				lo, hi := sorted[len(sorted)/5], sorted[len(sorted)*4/5]
				num := func(x float64) string { return strconv.FormatFloat(x, 'f', 6, 64) }
				forms = append(forms, fmt.Sprintf(f, num(lo), num(hi)))
				if lo*1.003 < hi*0.997 {
					forms = append(forms, fmt.Sprintf(f, num(lo*1.003), num(hi*0.997)))
				}
			}
			for _, s := range forms {
				st, ok := ParseStatistic(s)
				if !ok {
					t.Fatalf("%s: refused", s)
				}
				got, gotOK := st.value(agg)
				if st.pct || st.kind == kindPercentile || st.kind == kindWM {
					checkRelative(t, fmt.Sprintf("%s n=%d %s", name, n, s), st, xs, got, gotOK)
				} else {
					checkEnvelope(t, fmt.Sprintf("%s n=%d %s", name, n, s), st, xs, got, gotOK)
				}
			}
		}
	}
}

// mergedAggregate builds the aggregate of xs in three parts merged, as the
// stores do.
func mergedAggregate(xs []float64) *store.Aggregate {
	var parts [3]store.Aggregate
	for i, x := range xs {
		parts[i%3].AddDatum(&record.Datum{Values: []float64{x}})
	}
	parts[0].Merge(&parts[1])
	parts[0].Merge(&parts[2])
	return &parts[0]
}

// checkRelative: percent bounds, percentiles and the winsorized mean are
// within alpha (relative) of the exact value.
func checkRelative(t *testing.T, label string, st Statistic, xs []float64, got float64, ok bool) {
	t.Helper()
	want, wantOK := exactStat(st, xs)
	if ok != wantOK {
		t.Errorf("%s: available %v; exact %v", label, ok, wantOK)
		return
	}
	if ok && math.Abs(got-want) > alpha*math.Abs(want)*(1+1e-9)+1e-12 {
		t.Errorf("%s: got %v; exact %v (error %.4f%% > 1%%)", label, got, want, 100*math.Abs(got-want)/want)
	}
}

// checkEnvelope: over value bounds (lo, hi], the estimate lies between the
// exact statistics over the narrowed window (lo/(1-α), hi/(1+α)] and the
// widened one (lo/(1+α), hi/(1-α)] (docs/statistics.md).
func checkEnvelope(t *testing.T, label string, st Statistic, xs []float64, got float64, ok bool) {
	t.Helper()
	narrow, wide := st, st
	narrow.lo, narrow.hi = st.lo/(1-alpha)*(1+1e-12), st.hi/(1+alpha)*(1-1e-12)
	wide.lo, wide.hi = st.lo/(1+alpha)*(1-1e-12), st.hi/(1-alpha)*(1+1e-12)
	var lo, hi float64
	switch st.kind {
	case kindTC, kindTS, kindPR:
		a, _ := exactStat(narrow, xs)
		b, _ := exactStat(wide, xs)
		lo, hi = a, b
		if st.kind == kindTS {
			lo, hi = (1-alpha)*a, (1+alpha)*b
		}
	case kindTM:
		lo, hi = meanBounds(st, narrow, wide, xs)
	}
	if !ok {
		if c, _ := exactStat(Statistic{kind: kindTC, lo: narrow.lo, hi: narrow.hi, hasLo: st.hasLo, hasHi: st.hasHi}, xs); c > 0 {
			t.Errorf("%s: no value, but %v values lie in the narrowed window", label, c)
		}
		return
	}
	if got < lo*(1-1e-9)-1e-12 || got > hi*(1+1e-9)+1e-12 {
		t.Errorf("%s: got %v; want within [%v, %v]", label, got, lo, hi)
	}
}

// meanBounds bounds the trimmed mean over value bounds: the estimate is the
// mean (each value within α) of a set between the narrowed and the widened
// window. The lowest such mean is at most the narrowed set plus every value
// of the low margin at the margin's least; the highest likewise.
func meanBounds(st, narrow, wide Statistic, xs []float64) (float64, float64) {
	in := func(w Statistic, x float64) bool { return (!w.hasLo || x > w.lo) && (!w.hasHi || x <= w.hi) }
	var sum, n, nLow, nHigh float64
	minLow, maxHigh := math.Inf(1), math.Inf(-1)
	for _, x := range xs {
		switch {
		case in(narrow, x):
			sum += x
			n++
		case in(wide, x) && st.hasLo && x <= narrow.lo:
			nLow++
			minLow = math.Min(minLow, x)
		case in(wide, x):
			nHigh++
			maxHigh = math.Max(maxHigh, x)
		}
	}
	lo, hi := math.Inf(-1), math.Inf(1)
	if n+nLow > 0 {
		lo = (1 - alpha) * (sum + nLow*minLow) / (n + nLow)
	}
	if n+nHigh > 0 {
		hi = (1 + alpha) * (sum + nHigh*maxHigh) / (n + nHigh)
	}
	return lo, hi
}

// TestExtendedStatisticsUnavailable: a negative value, or a statistic set
// that is not a set of equal values, leaves no extended statistic; a
// reducible set counts as its copies (docs/statistics.md).
func TestExtendedStatisticsUnavailable(t *testing.T) {
	negative := aggregateOf([]float64{5, -1, 7})
	var irreducible, reducible store.Aggregate
	irreducible.AddDatum(&record.Datum{Stats: &record.StatisticSet{SampleCount: 3, Sum: 12, Min: 2, Max: 6}})
	reducible.AddDatum(&record.Datum{Stats: &record.StatisticSet{SampleCount: 4, Sum: 20, Min: 5, Max: 5}})
	reducible.AddValue(10, 1)
	for _, s := range append(slices.Clone(percentForms), "PR(:6)", "TC(1:8)", "WM(1:8)") {
		st, _ := ParseStatistic(s)
		for name, a := range map[string]*store.Aggregate{"negative": negative, "irreducible set": &irreducible} {
			if v, ok := st.value(a); ok {
				t.Errorf("%s of %s: got %v; want no value", s, name, v)
			}
		}
		v, ok := st.value(&reducible)
		checkRelative(t, s+" of a reducible set", st, []float64{5, 5, 5, 5, 10}, v, ok)
	}
	for _, s := range simpleStats {
		if _, ok := parseStatOrFail(t, s).value(negative); !ok {
			t.Errorf("%s of negative values: no value; the simple statistics stay", s)
		}
	}
}

func parseStatOrFail(t *testing.T, s string) Statistic {
	t.Helper()
	st, ok := ParseStatistic(s)
	if !ok {
		t.Fatalf("%s: refused", s)
	}
	return st
}

// TestFractionalCounts: a value of count c spans c on the rank axis, so
// halving every count halves TC and TS and keeps the means and PR.
func TestFractionalCounts(t *testing.T) {
	var half, whole store.Aggregate
	for i, c := range []float64{0.5, 1.5, 2, 0.25, 3} {
		half.AddValue(float64(10*(i+1)), c)
		whole.AddValue(float64(10*(i+1)), 2*c)
	}
	for _, s := range []string{"tm90", "IQM", "wm90", "TM(10%:90%)", "PR(15:40)", "TM(15:40)", "WM(15:40)", "tc90", "ts90", "TC(15:40)", "TS(15:40)"} {
		st := parseStatOrFail(t, s)
		h, okH := st.value(&half)
		w, okW := st.value(&whole)
		if st.kind == kindTC || st.kind == kindTS {
			w /= 2
		}
		if !okH || !okW || math.Abs(h-w) > 1e-9*math.Abs(w) {
			t.Errorf("%s: half counts %v, whole counts %v", s, h, w)
		}
	}
	if v, _ := parseStatOrFail(t, "tc90").value(&half); math.Abs(v-0.9*7.25) > 1e-12 {
		t.Errorf("tc90 over counts summing to 7.25: got %v; want %v", v, 0.9*7.25)
	}
}
