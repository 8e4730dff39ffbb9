package alarmapi

import (
	"slices"
	"strconv"
	"strings"

	"github.com/cellwatch/cellwatch/alerting"
	"github.com/cellwatch/cellwatch/internal/awsapi"
	"github.com/cellwatch/cellwatch/query"
)

// Metric math alarms: PutMetricAlarm's Metrics form (docs/cloudwatch-api.md §4.1).

// maxAlarmMetrics bounds the MetricStat inputs of a metric math alarm.
const maxAlarmMetrics = 10

// singleMetricMembers are the PutMetricAlarm members the Metrics form excludes.
var singleMetricMembers = []string{"Namespace", "MetricName", "Dimensions", "Period", "Unit", "Statistic", "ExtendedStatistic"}

// parseMetrics reads and validates the Metrics form into a, setting its
// Period to the returned query's.
func parseMetrics(in awsapi.Input, a *alerting.Alarm) error {
	for _, m := range singleMetricMembers {
		if in.Has(m) {
			return awsapi.InvalidParameterCombination("The parameters Metrics and %s are mutually exclusive and you have specified both.", m)
		}
	}
	items := in.Structs("Metrics")
	if len(items) == 0 {
		return awsapi.ValidationError("The Metrics list must not be empty.")
	}
	stats := 0
	for i, it := range items {
		path := "Metrics.member." + strconv.Itoa(i+1)
		q := alerting.MetricDataQuery{ID: it.String("Id"), Expression: it.String("Expression"), ReturnData: true}
		if !it.Has("Id") {
			return nullError(awsapi.CoralPath(path + ".Id"))
		}
		if v, ok, err := it.Bool("ReturnData"); err != nil {
			return err
		} else if ok {
			q.ReturnData = v
		}
		if it.Has("Label") {
			l := it.String("Label")
			q.Label = &l
		}
		ms := it.Struct("MetricStat")
		switch {
		case it.Has("Expression") && ms != nil:
			return awsapi.ValidationError("The parameters %s.Expression and %s.MetricStat are mutually exclusive and you have specified both.", path, path)
		case !it.Has("Expression") && ms == nil:
			return awsapi.ValidationError("%s must specify either Expression or MetricStat.", path)
		case it.Has("Expression"):
			if len(q.Expression) < 1 {
				return awsapi.ConstraintError(q.Expression, awsapi.CoralPath(path+".Expression"), "have length between 1 and 2048")
			}
			p, ok, err := it.Int("Period")
			if err != nil {
				return err
			}
			if ok {
				q.Period = p
			}
		default:
			stats++
			st, err := parseStat(ms, path+".MetricStat")
			if err != nil {
				return err
			}
			q.MetricStat = st
		}
		a.Metrics = append(a.Metrics, q)
	}
	if stats > maxAlarmMetrics {
		return awsapi.ValidationError("The maximum number of metrics in a metric math alarm is %d; this one has %d.", maxAlarmMetrics, stats)
	}
	var ret []string
	for _, q := range a.Metrics {
		if q.ReturnData {
			ret = append(ret, q.ID)
		}
	}
	if len(ret) != 1 {
		return awsapi.ValidationError("Exactly one element of the metrics list should return data (ReturnData true); %d do: [%s]. Set ReturnData to false on the others.", len(ret), strings.Join(ret, ", "))
	}
	periods, err := query.ValidateQueries(alerting.MetricQueries(a.Metrics))
	if err != nil {
		return err
	}
	a.Period = periods[ret[0]]
	for _, q := range a.Metrics {
		if q.Expression != "" && q.Period != 0 && q.Period != periods[q.ID] {
			return awsapi.ValidationError("The Period of %s (%d) differs from its inputs' (%d): all the metrics of an alarm share one period.", q.ID, q.Period, periods[q.ID])
		}
	}
	for _, q := range a.Metrics {
		if p := periods[q.ID]; p != a.Period {
			return awsapi.ValidationError("All the metrics of an alarm must share one period: %s has %d seconds and %s has %d.", ret[0], a.Period, q.ID, p)
		}
	}
	return nil
}

func parseStat(ms awsapi.Input, path string) (*alerting.Stat, error) {
	m := ms.Struct("Metric")
	if m == nil {
		return nil, nullError(awsapi.CoralPath(path + ".Metric"))
	}
	st := &alerting.Stat{Stat: ms.String("Stat"), Unit: ms.String("Unit")}
	for _, f := range []struct {
		member string
		dst    *string
	}{{"Namespace", &st.Metric.Namespace}, {"MetricName", &st.Metric.MetricName}} {
		*f.dst = m.String(f.member)
		if len(*f.dst) < 1 || len(*f.dst) > 255 {
			return nil, awsapi.ConstraintError(*f.dst, awsapi.CoralPath(path+".Metric."+f.member), "have length between 1 and 255")
		}
	}
	dims := m.Structs("Dimensions")
	if len(dims) > maxDimensions {
		return nil, awsapi.ConstraintError(len(dims), awsapi.CoralPath(path+".Metric.Dimensions"), "have length less than or equal to 30")
	}
	for _, d := range dims {
		dim := alerting.Dimension{Name: d.String("Name"), Value: d.String("Value")}
		if slices.ContainsFunc(st.Metric.Dimensions, func(o alerting.Dimension) bool { return o.Name == dim.Name }) {
			return nil, awsapi.InvalidParameterValue("The dimension %s appears more than once.", dim.Name)
		}
		st.Metric.Dimensions = append(st.Metric.Dimensions, dim)
	}
	slices.SortFunc(st.Metric.Dimensions, func(x, y alerting.Dimension) int { return strings.Compare(x.Name, y.Name) })
	if !ms.Has("Stat") {
		return nil, nullError(awsapi.CoralPath(path + ".Stat"))
	}
	p, ok, err := ms.Int("Period")
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, nullError(awsapi.CoralPath(path + ".Period"))
	}
	st.Period = p
	if ms.Has("Unit") {
		if err := awsapi.CheckUnit(st.Unit, path+".Unit"); err != nil {
			return nil, err
		}
	}
	return st, nil
}

// metricsList is the Metrics member of DescribeAlarms, in the input's shape.
func metricsList(qs []alerting.MetricDataQuery) awsapi.List {
	out := make(awsapi.List, 0, len(qs))
	for _, q := range qs {
		o := awsapi.Obj("Id", q.ID)
		if q.MetricStat != nil {
			dims := awsapi.List{}
			for _, d := range q.MetricStat.Metric.Dimensions {
				dims = append(dims, awsapi.Obj("Name", d.Name, "Value", d.Value))
			}
			ms := awsapi.Obj("Metric", awsapi.Obj("Namespace", q.MetricStat.Metric.Namespace, "MetricName", q.MetricStat.Metric.MetricName, "Dimensions", dims),
				"Period", q.MetricStat.Period, "Stat", q.MetricStat.Stat)
			if q.MetricStat.Unit != "" {
				ms = ms.Add("Unit", q.MetricStat.Unit)
			}
			o = o.Add("MetricStat", ms)
		}
		if q.Expression != "" {
			o = o.Add("Expression", q.Expression)
		}
		if q.Label != nil {
			o = o.Add("Label", *q.Label)
		}
		o = o.Add("ReturnData", q.ReturnData)
		if q.Period != 0 {
			o = o.Add("Period", q.Period)
		}
		out = append(out, o)
	}
	return out
}
