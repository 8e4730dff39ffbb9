package query

import (
	"context"
	"errors"
	"fmt"

	"github.com/cellwatch/cellwatch/internal/record"
	"github.com/cellwatch/cellwatch/store"
)

// ErrUnsupportedStatistic is AlarmPeriods' error for a statistic it cannot
// compute (an alarm stored before its statistic was validated as now): it
// will never succeed, unlike a failed read.
var ErrUnsupportedStatistic = errors.New("statistic not supported")

// AlarmDatapoint is one period's statistic, as an alarm evaluates it.
type AlarmDatapoint struct {
	Value       float64
	SampleCount float64
}

// AlarmPeriods reads, for an alarm, the statistic stat (anything
// ParseStatistic takes) of one metric over the periods of length period starting in
// [from, to) (from aligned on period), keyed by period start, with the
// intervals no store can vouch for. unit "" merges every unit. Every store
// is read once, merged by coverage exactly as the read API merges them.
func (s *Service) AlarmPeriods(_ context.Context, tenant, namespace, metricName string, dims []record.Dimension, stat, unit string, period, from, to int64) (map[int64]AlarmDatapoint, []store.Interval, error) {
	st, ok := parseStat(stat)
	if !ok {
		return nil, nil, fmt.Errorf("read alarm periods: %w: %q", ErrUnsupportedStatistic, stat)
	}
	view, err := s.view(tenant, nil, from, ceilDiv(to, 60)*60)
	if err != nil {
		return nil, nil, fmt.Errorf("read alarm periods: %w", err)
	}
	plan := view.plan(from, to, grainOf(period))
	var used answered
	m := metricRef{namespace: namespace, name: metricName, dims: dims}
	merged := map[int64]*store.Aggregate{}
	for _, periods := range s.unitPeriods(plan.sources, tenant, m, unit, from, period, &used) {
		for p, agg := range periods {
			if acc := merged[p]; acc != nil {
				acc.Merge(agg)
			} else {
				merged[p] = agg
			}
		}
	}
	out := make(map[int64]AlarmDatapoint, len(merged))
	for p, agg := range merged {
		if p < from || p >= to {
			continue
		}
		if v, ok := st.value(agg); ok {
			out[p] = AlarmDatapoint{Value: v, SampleCount: agg.Count}
		}
	}
	unknown := make([]store.Interval, 0, len(plan.unknown))
	for _, iv := range plan.unknown {
		unknown = append(unknown, store.Interval(iv))
	}
	return out, unknown, nil
}
