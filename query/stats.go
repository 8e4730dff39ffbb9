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

// statistic is one parsed Stat: a simple statistic or a percentile.
type statistic struct {
	name       string  // as the caller wrote it
	percentile float64 // -1 for simple statistics
}

// parseStat accepts SampleCount|Average|Sum|Minimum|Maximum and p0.0-p100.
func parseStat(s string) (statistic, bool) {
	if slices.Contains(simpleStats, s) {
		return statistic{name: s, percentile: -1}, true
	}
	if p, ok := parsePercentile(s); ok {
		return statistic{name: s, percentile: p}, true
	}
	return statistic{}, false
}

func parsePercentile(s string) (float64, bool) {
	rest, ok := strings.CutPrefix(s, "p")
	if !ok || rest == "" || strings.ContainsAny(rest, "eE+-") {
		return 0, false
	}
	p, err := strconv.ParseFloat(rest, 64)
	if err != nil || p < 0 || p > 100 || math.IsNaN(p) {
		return 0, false
	}
	return p, true
}

// value computes the statistic of a; ok is false when it is not available
// (a percentile of data sent only as statistic sets, or negative values).
func (st statistic) value(a *store.Aggregate) (float64, bool) {
	if a.Count <= 0 {
		return 0, false
	}
	switch st.name {
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
	return a.Percentile(st.percentile)
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
