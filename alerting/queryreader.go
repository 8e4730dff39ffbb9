package alerting

import (
	"context"
	"fmt"

	"github.com/cellwatch/cellwatch/internal/intervals"
	"github.com/cellwatch/cellwatch/internal/record"
	"github.com/cellwatch/cellwatch/query"
)

// QueryReader adapts query.Service, which merges the stores by coverage, to
// Reader and MathReader.
func QueryReader(q *query.Service) Reader { return queryReader{q} }

type queryReader struct{ q *query.Service }

func (r queryReader) Periods(ctx context.Context, tenant string, m Metric, stat, unit string, period, from, to int64) (map[int64]query.AlarmDatapoint, []intervals.Interval, error) {
	return r.q.AlarmPeriods(ctx, tenant, m.Namespace, m.MetricName, recordDimensions(m.Dimensions), stat, unit, period, from, to)
}

// Series evaluates a metric math alarm's queries (MathReader).
func (r queryReader) Series(ctx context.Context, tenant string, queries []MetricDataQuery, returned string, from, to int64) (map[int64]float64, []intervals.Interval, error) {
	all, unknown, err := r.q.EvaluateQueries(ctx, tenant, MetricQueries(queries), from, to)
	if err != nil {
		return nil, nil, fmt.Errorf("evaluate alarm queries: %w", err)
	}
	ser, ok := all[returned]
	if !ok {
		return nil, nil, fmt.Errorf("evaluate alarm queries: %s does not return one time series", returned)
	}
	out := make(map[int64]float64, len(ser.Timestamps))
	for i, t := range ser.Timestamps {
		out[t] = ser.Values[i]
	}
	return out, unknown, nil
}

func recordDimensions(ds []Dimension) []record.Dimension {
	out := make([]record.Dimension, len(ds))
	for i, d := range ds {
		out[i] = record.Dimension(d)
	}
	return out
}
