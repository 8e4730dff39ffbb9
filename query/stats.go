package query

import (
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/cellwatch/cellwatch/internal/awsapi"
	"github.com/cellwatch/cellwatch/store"
)

// The simple statistics, in the order CloudWatch lists them.
var simpleStats = []string{"SampleCount", "Average", "Sum", "Minimum", "Maximum"}

// statKind tells the statistics apart. The zero kind is a simple statistic,
// known by its name.
type statKind uint8

const (
	kindSimple     statKind = iota
	kindPercentile          // pNN
	kindTM                  // trimmed mean: tmNN, TM(a:b), IQM
	kindWM                  // winsorized mean: wmNN, WM(a:b)
	kindTC                  // trimmed count: tcNN, TC(a:b)
	kindTS                  // trimmed sum: tsNN, TS(a:b)
	kindPR                  // percentile rank: PR(a:b)
)

// Statistic is one parsed statistic: a simple one (SampleCount, Average,
// Sum, Minimum, Maximum) or an extended one (docs/statistics.md). Build it
// with ParseStatistic; the zero Statistic is invalid.
type Statistic struct {
	name string // as the caller wrote it
	kind statKind
	p    float64 // the percentile of pNN

	// The bounds of the range forms. pct: both are percents (0-100) of the
	// values by rank, else absolute values, lower exclusive and upper
	// inclusive. An absent side (hasLo/hasHi false) is open: 0% and 100% for
	// percents, unbounded for values.
	lo, hi       float64
	hasLo, hasHi bool
	pct          bool
	short        bool // the lowercase one-number form (tm90 = TM(:90%))
}

// statistic is the package's name for Statistic.
type statistic = Statistic

// Name returns the statistic as it was written.
func (st Statistic) Name() string { return st.name }

// Extended reports whether st is an extended statistic (anything but the
// five simple ones): GetMetricStatistics returns those in
// Datapoint.ExtendedStatistics.
func (st Statistic) Extended() bool { return st.kind != kindSimple }

// ParseStatistic parses a statistic as GetMetricData's MetricStat.Stat,
// GetMetricStatistics's ExtendedStatistics (besides the simple ones) and
// SEARCH take it: a simple statistic, pNN, tmNN, wmNN, tcNN, tsNN, IQM, or
// TM, WM, TC, TS or PR with a range "(a:b)" whose sides are both percents
// ("10%") or both values ("150"), either side may be empty. Numbers are
// non-negative decimals with at most 10 decimal places; percents and NN are
// at most 100; the lower bound may not exceed the upper; PR takes values
// only. ok is false for anything else.
func ParseStatistic(s string) (st Statistic, ok bool) {
	if slices.Contains(simpleStats, s) {
		return Statistic{name: s}, true
	}
	if s == "IQM" {
		return Statistic{name: s, kind: kindTM, lo: 25, hi: 75, hasLo: true, hasHi: true, pct: true}, true
	}
	if st, ok := parseShort(s); ok {
		return st, true
	}
	return parseRange(s)
}

// parseStat is ParseStatistic under the package's older name.
func parseStat(s string) (Statistic, bool) { return ParseStatistic(s) }

var shortPrefixes = []struct {
	prefix string
	kind   statKind
}{{"tm", kindTM}, {"wm", kindWM}, {"tc", kindTC}, {"ts", kindTS}, {"p", kindPercentile}}

// parseShort parses pNN and the lowercase one-number forms.
func parseShort(s string) (Statistic, bool) {
	for _, f := range shortPrefixes {
		rest, found := strings.CutPrefix(s, f.prefix)
		if !found {
			continue
		}
		n, ok := parseNumber(rest)
		if !ok || n > 100 {
			return Statistic{}, false
		}
		if f.kind == kindPercentile {
			return Statistic{name: s, kind: kindPercentile, p: n}, true
		}
		return Statistic{name: s, kind: f.kind, hi: n, hasHi: true, pct: true, short: true}, true
	}
	return Statistic{}, false
}

var rangeKinds = map[string]statKind{"TM": kindTM, "WM": kindWM, "TC": kindTC, "TS": kindTS, "PR": kindPR}

// parseRange parses NAME(a:b).
func parseRange(s string) (Statistic, bool) {
	open := strings.IndexByte(s, '(')
	kind, known := rangeKinds[s[:max(open, 0)]]
	if open < 0 || !known || !strings.HasSuffix(s, ")") {
		return Statistic{}, false
	}
	lo, hi, found := strings.Cut(s[open+1:len(s)-1], ":")
	if !found {
		return Statistic{}, false
	}
	st := Statistic{name: s, kind: kind, hasLo: lo != "", hasHi: hi != ""}
	loPct, hiPct := strings.HasSuffix(lo, "%"), strings.HasSuffix(hi, "%")
	switch {
	case st.hasLo && st.hasHi && loPct != hiPct:
		return Statistic{}, false // one side a percent, the other a value
	case loPct || hiPct:
		st.pct = true
	case !st.hasLo && !st.hasHi:
		st.pct = kind != kindPR // "(:)": the whole distribution
	}
	if st.pct && kind == kindPR {
		return Statistic{}, false // a percentile rank of percentiles says nothing
	}
	var ok bool
	if st.lo, ok = parseBound(lo, st.pct); !ok {
		return Statistic{}, false
	}
	if st.hi, ok = parseBound(hi, st.pct); !ok {
		return Statistic{}, false
	}
	if st.hasLo && st.hasHi && st.lo > st.hi {
		return Statistic{}, false
	}
	return st, true
}

// parseBound parses one side of a range ("" is open).
func parseBound(s string, pct bool) (float64, bool) {
	if s == "" {
		return 0, true
	}
	if pct {
		s = strings.TrimSuffix(s, "%")
	}
	n, ok := parseNumber(s)
	return n, ok && (!pct || n <= 100)
}

// parseNumber parses digits with an optional fraction of 1-10 digits.
func parseNumber(s string) (float64, bool) {
	whole, frac, dot := strings.Cut(s, ".")
	if whole == "" || !allDigits(whole) || (dot && (frac == "" || len(frac) > 10 || !allDigits(frac))) {
		return 0, false
	}
	n, err := strconv.ParseFloat(s, 64)
	return n, err == nil && !math.IsInf(n, 0)
}

func allDigits(s string) bool {
	return strings.Trim(s, "0123456789") == ""
}

// AlarmAllowed reports whether PutMetricAlarm takes st as its
// ExtendedStatistic. The alarm API is stricter than reads: pNN, tmNN,
// wmNN, tcNN, tsNN, IQM, PR(n:m) with values, and TM, WM, TC or TS with
// both bounds percents between 10% and 90% inclusive.
func (st Statistic) AlarmAllowed() bool {
	switch {
	case st.kind == kindSimple:
		return false
	case st.kind == kindPercentile, st.short, st.name == "IQM", st.kind == kindPR:
		return true
	}
	return st.pct && st.hasLo && st.hasHi && st.lo >= 10 && st.hi <= 90
}

// value computes the statistic of a; ok is false when it is not available
// (an empty aggregate; an extended statistic of data with a negative value
// or sent only as irreducible statistic sets; a trimmed mean of no value).
func (st Statistic) value(a *store.Aggregate) (float64, bool) {
	if a.Count <= 0 {
		return 0, false
	}
	switch st.kind {
	case kindSimple:
		return simpleValue(st.name, a)
	case kindPercentile:
		return a.Percentile(st.p)
	}
	var buf [256]store.Bin // most distributions fit: no allocation
	bins, ok := a.AppendDistribution(buf[:0])
	if !ok {
		return 0, false
	}
	if st.pct {
		return st.rankWindow(bins)
	}
	return st.valueWindow(bins)
}

// Value is value for other packages: the statistic st of aggregate a.
func (st Statistic) Value(a *store.Aggregate) (float64, bool) { return st.value(a) }

func simpleValue(name string, a *store.Aggregate) (float64, bool) {
	switch name {
	case "SampleCount":
		return a.Count, true
	case "Average":
		return a.Sum / a.Count, true
	case "Sum":
		return a.Sum, true
	case "Minimum":
		return a.Min, true
	case "Maximum":
		return a.Max, true
	}
	return 0, false
}

// checkPeriod applies CloudWatch's period rule: 1, 5, 10, 20, 30 or a
// multiple of 60 seconds.
func checkPeriod(period int64, param string) error {
	switch {
	case period < 1:
		return awsapi.ConstraintError(period, awsapi.CoralPath(param), "have value greater than or equal to 1")
	case period%60 == 0, period == 1, period == 5, period == 10, period == 20, period == 30:
		return nil
	}
	return awsapi.InvalidParameterValue("The parameter %s must be 1, 5, 10, 20, 30, 60, or any multiple of 60.", param)
}

// alignStart rounds a query's start down as CloudWatch does: to the period
// for sub-minute periods, else to the minute.
func alignStart(start, period int64) int64 {
	step := int64(60)
	if period < 60 {
		step = period
	}
	return floorDiv(start, step) * step
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// invalidStat is AWS's error for a statistic GetMetricData cannot parse
// (one query's line; AWS joins several bad queries' lines with "\n").
func invalidStat(name, param string) error {
	return awsapi.ValidationError("The value %s for parameter %s is not a valid statistic.", name, param)
}
