package alerting

import "context"

// Interval is [From, To), Unix seconds.
type Interval struct{ From, To int64 }

// Datapoint is one period's statistic of a metric.
type Datapoint struct {
	Value       float64
	SampleCount float64
}

// Reader reads the periods an alarm evaluates. cmd adapts query.Service to it.
type Reader interface {
	// Periods returns, for the periods of length period starting in
	// [from, to) (aligned on period), the statistic stat of metric m (unit ""
	// = every unit) keyed by period start, and the intervals no store can
	// vouch for.
	Periods(ctx context.Context, tenant string, m Metric, stat, unit string, period, from, to int64) (map[int64]Datapoint, []Interval, error)
}
