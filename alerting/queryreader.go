package alerting

import (
	"context"
	"fmt"

	"github.com/cellwatch/cellwatch/internal/record"
	"github.com/cellwatch/cellwatch/query"
)

// QueryReader adapts query.Service, which merges the stores by coverage, to
// Reader.
func QueryReader(q *query.Service) Reader { return queryReader{q} }

type queryReader struct{ q *query.Service }

func (r queryReader) Periods(ctx context.Context, tenant string, m Metric, stat, unit string, period, from, to int64) (map[int64]Datapoint, []Interval, error) {
	dims := make([]record.Dimension, len(m.Dimensions))
	for i, d := range m.Dimensions {
		dims[i] = record.Dimension{Name: d.Name, Value: d.Value}
	}
	values, unknown, err := r.q.AlarmPeriods(ctx, tenant, m.Namespace, m.MetricName, dims, stat, unit, period, from, to)
	if err != nil {
		return nil, nil, err
	}
	out := make(map[int64]Datapoint, len(values))
	for t, v := range values {
		out[t] = Datapoint{Value: v.Value, SampleCount: v.SampleCount}
	}
	iv := make([]Interval, len(unknown))
	for i, u := range unknown {
		iv[i] = Interval{From: u.From, To: u.To}
	}
	return out, iv, nil
}

// Series evaluates a metric math alarm's queries (MathReader).
func (r queryReader) Series(ctx context.Context, tenant string, queries []MetricDataQuery, returned string, from, to int64) (map[int64]float64, []Interval, error) {
	all, unknown, err := r.q.EvaluateQueries(ctx, tenant, toMetricQueries(queries), from, to)
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
	iv := make([]Interval, len(unknown))
	for i, u := range unknown {
		iv[i] = Interval{From: u.From, To: u.To}
	}
	return out, iv, nil
}
