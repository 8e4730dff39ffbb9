package query

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cellwatch/cellwatch/internal/awsapi"
	"github.com/cellwatch/cellwatch/internal/record"
	"github.com/cellwatch/cellwatch/store"
)

// Limits of the read operations (docs/cloudwatch-api.md §3).
const (
	maxStatDatapoints   = 1440
	maxStatistics       = 5
	maxExtendedStats    = 10
	maxQueryDimensions  = 30
	maxDimensionFilters = 10
	highResWindow       = 3 * time.Hour
)

// metricRef is the metric part of a request: namespace, name, dimensions.
type metricRef struct {
	namespace, name string
	dims            []record.Dimension
}

// parseMetric reads Namespace, MetricName and Dimensions from in; prefix is
// the Query path of in ("" at the top level).
func parseMetric(in awsapi.Input, prefix string) (metricRef, error) {
	m := metricRef{namespace: in.String("Namespace"), name: in.String("MetricName")}
	for _, p := range []struct{ member, v string }{{"Namespace", m.namespace}, {"MetricName", m.name}} {
		if !in.Has(p.member) {
			return m, awsapi.MissingParameter("The parameter %s%s is required.", prefix, p.member)
		}
		if len(p.v) < 1 || len(p.v) > 255 {
			return m, awsapi.ConstraintError(p.v, awsapi.CoralPath(prefix+p.member), "have length between 1 and 255")
		}
	}
	dims := in.Structs("Dimensions")
	if len(dims) > maxQueryDimensions {
		return m, awsapi.InvalidParameterValue("The collection %sDimensions must not have a size greater than %d.", prefix, maxQueryDimensions)
	}
	for i, d := range dims {
		if !d.Has("Name") || !d.Has("Value") {
			return m, awsapi.MissingParameter("The parameter %sDimensions.member.%d.Name and Value are required.", prefix, i+1)
		}
		m.dims = append(m.dims, record.Dimension{Name: d.String("Name"), Value: d.String("Value")})
	}
	record.SortDimensions(m.dims)
	return m, nil
}

// timeRange reads StartTime and EndTime (or StartDate/EndDate names given).
func timeRange(in awsapi.Input) (start, end time.Time, err error) {
	start, ok, err := in.Time("StartTime")
	if err != nil {
		return start, end, err
	}
	if !ok {
		return start, end, awsapi.MissingParameter("The parameter StartTime is required.")
	}
	end, ok, err = in.Time("EndTime")
	if err != nil {
		return start, end, err
	}
	if !ok {
		return start, end, awsapi.MissingParameter("The parameter EndTime is required.")
	}
	if !start.Before(end) {
		return start, end, awsapi.InvalidParameterValue("The parameter StartTime must be less than the parameter EndTime.")
	}
	return start, end, nil
}

// GetMetricStatistics serves the operation of that name.
func (s *Service) GetMetricStatistics(_ context.Context, req *awsapi.Request, hdr http.Header) (awsapi.Object, error) {
	in := req.Input
	metric, err := parseMetric(in, "")
	if err != nil {
		return nil, err
	}
	start, end, err := timeRange(in)
	if err != nil {
		return nil, err
	}
	period, ok, err := in.Int("Period")
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, awsapi.MissingParameter("The parameter Period is required.")
	}
	if err := checkPeriod(period, "Period"); err != nil {
		return nil, err
	}
	stats, err := parseStatistics(in)
	if err != nil {
		return nil, err
	}
	unit := in.String("Unit")
	if in.Has("Unit") {
		if err := awsapi.CheckUnit(unit, "Unit"); err != nil {
			return nil, err
		}
	}
	from, to := alignStart(start.Unix(), period), ceilSeconds(end)
	if n := (to - start.Unix() + period - 1) / period; n > maxStatDatapoints {
		return nil, awsapi.InvalidParameterCombination("You have requested up to %d datapoints, which exceeds the limit of %d. You may reduce the datapoints requested by increasing Period, or decreasing the time range.", n, maxStatDatapoints)
	}
	view, err := s.view(awsapi.TenantOf(req), req, from, ceilDiv(to, 60)*60)
	if err != nil {
		return nil, err
	}
	var used answered
	datapoints := awsapi.List{}
	if s.highResAvailable(from, period) {
		plan := view.plan(from, to, grainOf(period))
		used.addUnknown(plan.unknown)
		datapoints = statDatapoints(s.unitPeriods(plan.sources, awsapi.TenantOf(req), metric, unit, from, period, &used), stats)
	}
	used.write(hdr)
	return awsapi.Obj("Label", metric.name, "Datapoints", datapoints), nil
}

func ceilSeconds(t time.Time) int64 {
	s := t.Unix()
	if t.Nanosecond() > 0 {
		s++
	}
	return s
}

func parseStatistics(in awsapi.Input) ([]statistic, error) {
	simple, extended := in.Strings("Statistics"), in.Strings("ExtendedStatistics")
	switch {
	case len(simple) == 0 && len(extended) == 0:
		return nil, awsapi.InvalidParameterCombination("Must specify either Statistics or ExtendedStatistics.")
	case len(simple) > 0 && len(extended) > 0:
		return nil, awsapi.InvalidParameterCombination("The parameters Statistics and ExtendedStatistics are mutually exclusive and you have specified both.")
	case len(simple) > maxStatistics:
		return nil, awsapi.ConstraintError(simple, "statistics", "have length less than or equal to 5")
	case len(extended) > maxExtendedStats:
		return nil, awsapi.ConstraintError(extended, "extendedStatistics", "have length less than or equal to 10")
	}
	var stats []statistic
	for i, name := range simple {
		if !slices.Contains(simpleStats, name) {
			return nil, awsapi.ConstraintError(name, "statistics."+strconv.Itoa(i+1)+".member", "satisfy enum value set: [SampleCount, Average, Sum, Minimum, Maximum]")
		}
		stats = append(stats, statistic{name: name})
	}
	for i, name := range extended {
		st, ok := ParseStatistic(name)
		if !ok || !st.Extended() {
			// The exact AWS wording for a malformed extended statistic here is unverified.
			return nil, awsapi.InvalidParameterValue("The value %s for parameter ExtendedStatistics.member.%d is not a valid statistic.", name, i+1)
		}
		stats = append(stats, st)
	}
	return stats, nil
}

// statDatapoints builds the datapoints: one per period and unit with data.
func statDatapoints(units map[string]map[int64]*store.Aggregate, stats []statistic) awsapi.List {
	type point struct {
		agg  *store.Aggregate
		unit string
	}
	var points []point
	for unit, periods := range units {
		for _, agg := range periods {
			points = append(points, point{agg, unit})
		}
	}
	slices.SortFunc(points, func(a, b point) int {
		if a.agg.Start != b.agg.Start {
			return int(a.agg.Start - b.agg.Start)
		}
		return strings.Compare(a.unit, b.unit)
	})
	out := make(awsapi.List, 0, len(points))
	for _, p := range points {
		dp := awsapi.Obj("Timestamp", time.Unix(p.agg.Start, 0).UTC())
		var ext awsapi.Map
		for _, st := range stats {
			v, ok := st.value(p.agg)
			switch {
			case !ok:
			case st.Extended():
				ext = append(ext, awsapi.Field{Name: st.name, Value: v})
			default:
				dp = dp.Add(st.name, v)
			}
		}
		dp = dp.Add("Unit", p.unit)
		if ext != nil {
			dp = dp.Add("ExtendedStatistics", ext)
		}
		out = append(out, dp)
	}
	return out
}
