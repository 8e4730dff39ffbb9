package alerting

import (
	"context"
	"errors"
	"fmt"

	"github.com/cellwatch/cellwatch/internal/intervals"
	"github.com/cellwatch/cellwatch/query"
)

// Metric math alarms: PutMetricAlarm's Metrics form (docs/cloudwatch-api.md §4.1).

// MetricDataQuery is one entry of a metric math alarm's Metrics list: an
// Expression over the other entries' Ids, or a MetricStat.
type MetricDataQuery struct {
	ID         string  `json:"id"`
	Expression string  `json:"expression,omitempty"`
	MetricStat *Stat   `json:"metricStat,omitempty"`
	Label      *string `json:"label,omitempty"`
	ReturnData bool    `json:"returnData"`
	Period     int64   `json:"period,omitempty"` // an expression's, when given
}

// Stat is a MetricStat: a metric with its statistic, period and unit.
type Stat struct {
	Metric Metric `json:"metric"`
	Period int64  `json:"period"`
	Stat   string `json:"stat"`
	Unit   string `json:"unit,omitempty"`
}

// IsMath reports whether the alarm is in the Metrics form.
func (a *Alarm) IsMath() bool { return len(a.Metrics) > 0 }

// Returned is the Id of the query whose series the alarm evaluates.
func (a *Alarm) Returned() string {
	for _, q := range a.Metrics {
		if q.ReturnData {
			return q.ID
		}
	}
	return ""
}

// MathReader evaluates a metric math alarm's queries. Config.Reader
// implements it for the Metrics form (QueryReader does).
type MathReader interface {
	// Series evaluates queries over [from, to) and returns the series of the
	// query returned, keyed by period start, and the intervals no store can
	// vouch for.
	Series(ctx context.Context, tenant string, queries []MetricDataQuery, returned string, from, to int64) (map[int64]float64, []intervals.Interval, error)
}

// MetricQueries converts an alarm's Metrics list to query's form.
func MetricQueries(qs []MetricDataQuery) []query.MetricQuery {
	out := make([]query.MetricQuery, len(qs))
	for i, q := range qs {
		mq := query.MetricQuery{ID: q.ID, Expression: q.Expression}
		if q.MetricStat != nil {
			m := q.MetricStat.Metric
			mq.Namespace, mq.MetricName, mq.Dimensions = m.Namespace, m.MetricName, recordDimensions(m.Dimensions)
			mq.Stat, mq.Unit, mq.Period = q.MetricStat.Stat, q.MetricStat.Unit, q.MetricStat.Period
		}
		out[i] = mq
	}
	return out
}

// readMath reads a metric math alarm's evaluation range ending at end.
func (e *Evaluator) readMath(ctx context.Context, a *Alarm, end int64) ([]Point, error) {
	mr, ok := e.cfg.Reader.(MathReader)
	if !ok {
		return nil, errors.New("read alarm series: the reader cannot evaluate metric math")
	}
	from := end - int64(RangeLen(a.EvaluationPeriods))*a.Period
	values, unknown, err := mr.Series(ctx, a.Tenant, a.Metrics, a.Returned(), from, end)
	if err != nil {
		return nil, fmt.Errorf("read alarm series: %w", err)
	}
	dps := make(map[int64]query.AlarmDatapoint, len(values))
	for t, v := range values {
		dps[t] = query.AlarmDatapoint{Value: v, SampleCount: 1}
	}
	return rangePoints(a, dps, unknown, end), nil
}

// snsMathTrigger is the Trigger of a metric math alarm's SNS message: the
// Metrics list instead of the single metric.
type snsMathTrigger struct {
	snsEvaluation                 // notify.go
	Metrics       []snsMathMetric `json:"Metrics"`
}

type snsMathMetric struct {
	Expression string   `json:"Expression,omitempty"`
	ID         string   `json:"Id"`
	Label      *string  `json:"Label,omitempty"`
	MetricStat *snsStat `json:"MetricStat,omitempty"`
	ReturnData bool     `json:"ReturnData"`
}

type snsStat struct {
	Metric struct {
		Dimensions []Dimension `json:"Dimensions"`
		MetricName string      `json:"MetricName"`
		Namespace  string      `json:"Namespace"`
	} `json:"Metric"`
	Period int64   `json:"Period"`
	Stat   string  `json:"Stat"`
	Unit   *string `json:"Unit,omitempty"`
}

func mathTrigger(a *Alarm) snsMathTrigger {
	tr := snsMathTrigger{snsEvaluation: a.snsEvaluation()}
	for _, q := range a.Metrics {
		m := snsMathMetric{Expression: q.Expression, ID: q.ID, Label: q.Label, ReturnData: q.ReturnData}
		if q.MetricStat != nil {
			st := &snsStat{Period: q.MetricStat.Period, Stat: q.MetricStat.Stat}
			st.Metric.Dimensions = append([]Dimension{}, q.MetricStat.Metric.Dimensions...)
			st.Metric.MetricName, st.Metric.Namespace = q.MetricStat.Metric.MetricName, q.MetricStat.Metric.Namespace
			if q.MetricStat.Unit != "" {
				st.Unit = &q.MetricStat.Unit
			}
			m.MetricStat = st
		}
		tr.Metrics = append(tr.Metrics, m)
	}
	return tr
}
