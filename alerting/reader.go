package alerting

import (
	"context"

	"github.com/cellwatch/cellwatch/internal/intervals"
	"github.com/cellwatch/cellwatch/query"
)

// Reader reads the periods an alarm evaluates. QueryReader adapts
// query.Service to it.
type Reader interface {
	// Periods returns, for the periods of length period starting in
	// [from, to) (aligned on period), the statistic stat of metric m (unit ""
	// = every unit) keyed by period start, and the intervals no store can
	// vouch for.
	Periods(ctx context.Context, tenant string, m Metric, stat, unit string, period, from, to int64) (map[int64]query.AlarmDatapoint, []intervals.Interval, error)
}
