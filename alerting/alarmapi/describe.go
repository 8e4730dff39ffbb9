package alarmapi

import (
	"context"
	"encoding/base64"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/cellwatch/cellwatch/alerting"
	"github.com/cellwatch/cellwatch/internal/awsapi"
)

const (
	maxRecords      = 100
	defaultRecords  = 50
	maxNamesPerCall = 100
	maxActionPrefix = 1024
)

// DescribeAlarms lists the tenant's alarms by name, filtered.
func (s *API) DescribeAlarms(_ context.Context, req *awsapi.Request, _ http.Header) (awsapi.Object, error) {
	in := req.Input
	names, prefix := in.Strings("AlarmNames"), in.String("AlarmNamePrefix")
	if len(names) > maxNamesPerCall {
		return nil, awsapi.ConstraintError(strings.Join(names, ", "), "alarmNames", "have length less than or equal to 100")
	}
	if len(names) > 0 && in.Has("AlarmNamePrefix") {
		return nil, awsapi.InvalidParameterCombination("AlarmNamePrefix and AlarmNames cannot be specified together.")
	}
	if in.Has("AlarmNamePrefix") {
		if err := checkName(prefix, "alarmNamePrefix"); err != nil {
			return nil, err
		}
	}
	types := in.Strings("AlarmTypes")
	for i, t := range types {
		if !slices.Contains(alarmTypes, t) {
			return nil, awsapi.ConstraintError(t, "alarmTypes."+strconv.Itoa(i+1)+".member", "satisfy enum value set: [CompositeAlarm, MetricAlarm]")
		}
	}
	state := in.String("StateValue")
	if in.Has("StateValue") && !slices.Contains(states, state) {
		return nil, stateEnumError(state)
	}
	action := in.String("ActionPrefix")
	if in.Has("ActionPrefix") && (len(action) < 1 || len(action) > maxActionPrefix) {
		return nil, awsapi.ConstraintError(action, "actionPrefix", "have length between 1 and 1024")
	}
	limit, err := maxRecordsOf(in, defaultRecords)
	if err != nil {
		return nil, err
	}
	after, err := decodeToken(in)
	if err != nil {
		return nil, err
	}
	return s.listAlarms(awsapi.TenantOf(req), in, alarmFilter{names: names, prefix: prefix, types: types, state: state, action: action, limit: limit, after: after})
}

// DescribeAlarmsForMetric lists the tenant's alarms on one metric.
func (s *API) DescribeAlarmsForMetric(_ context.Context, req *awsapi.Request, _ http.Header) (awsapi.Object, error) {
	in := req.Input
	var probe alerting.Metric
	for _, m := range []string{"Namespace", "MetricName"} {
		if !in.Has(m) {
			return nil, awsapi.MissingParameter("The parameter %s is required.", m)
		}
	}
	probe.Namespace, probe.MetricName = in.String("Namespace"), in.String("MetricName")
	for _, d := range in.Structs("Dimensions") {
		probe.Dimensions = append(probe.Dimensions, alerting.Dimension{Name: d.String("Name"), Value: d.String("Value")})
	}
	slices.SortFunc(probe.Dimensions, func(x, y alerting.Dimension) int { return strings.Compare(x.Name, y.Name) })
	period, _, err := in.Int("Period")
	if err != nil {
		return nil, err
	}
	withDims := in.Has("Dimensions")
	out := awsapi.List{}
	for _, x := range s.store.List(awsapi.TenantOf(req)) {
		a, ok := x.(*alerting.Alarm)
		switch {
		case !ok:
		case a.Metric.Namespace != probe.Namespace || a.Metric.MetricName != probe.MetricName:
		case withDims && a.Metric.Key() != probe.Key():
		case in.Has("Statistic") && a.Statistic != in.String("Statistic"):
		case in.Has("ExtendedStatistic") && a.ExtendedStatistic != in.String("ExtendedStatistic"):
		case in.Has("Period") && a.Period != period:
		case in.Has("Unit") && a.Unit != in.String("Unit"):
		default:
			out = append(out, metricAlarmObject(a))
		}
	}
	return awsapi.Obj("MetricAlarms", out), nil
}

func stateEnumError(v string) error {
	return awsapi.ConstraintError(v, "stateValue", "satisfy enum value set: [OK, ALARM, INSUFFICIENT_DATA]")
}

func maxRecordsOf(in awsapi.Input, def int) (int, error) {
	n, ok, err := in.Int("MaxRecords")
	switch {
	case err != nil:
		return 0, err
	case !ok:
		return def, nil
	case n < 1 || n > maxRecords:
		return 0, awsapi.ConstraintError(n, "maxRecords", "have value between 1 and 100") // coral: "less than or equal to 100"
	}
	return int(n), nil
}

func encodeToken(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func decodeToken(in awsapi.Input) (string, error) {
	if !in.Has("NextToken") {
		return "", nil
	}
	b, err := base64.RawURLEncoding.DecodeString(in.String("NextToken"))
	if err != nil || len(b) == 0 {
		return "", awsapi.InvalidNextToken("The service couldn't process your request because the NextToken is invalid.")
	}
	return string(b), nil
}

// metricAlarmObject is the MetricAlarm shape: the three action lists and
// Dimensions always present, absent optionals omitted (docs/cloudwatch-api.md §1.6).
func metricAlarmObject(a *alerting.Alarm) awsapi.Object {
	o := baseMembers(&a.Base, "AlarmName", "AlarmArn", "AlarmDescription", "AlarmConfigurationUpdatedTimestamp", "ActionsEnabled",
		"OKActions", "AlarmActions", "InsufficientDataActions", "StateValue", "StateReason", "StateReasonData",
		"StateUpdatedTimestamp", "StateTransitionedTimestamp")
	if a.IsMath() {
		o = o.Add("Dimensions", awsapi.List{}).Add("Metrics", metricsList(a.Metrics)) // math.go
		return addEvaluation(o, a)
	}
	o = o.Add("MetricName", a.Metric.MetricName).
		Add("Namespace", a.Metric.Namespace)
	if a.Statistic != "" {
		o = o.Add("Statistic", a.Statistic)
	}
	if a.ExtendedStatistic != "" {
		o = o.Add("ExtendedStatistic", a.ExtendedStatistic)
	}
	dims := awsapi.List{}
	for _, d := range a.Metric.Dimensions {
		dims = append(dims, awsapi.Obj("Name", d.Name, "Value", d.Value))
	}
	o = o.Add("Dimensions", dims).Add("Period", a.Period)
	if a.Unit != "" {
		o = o.Add("Unit", a.Unit)
	}
	return addEvaluation(o, a)
}

// addEvaluation adds the members both alarm forms share after the metric.
func addEvaluation(o awsapi.Object, a *alerting.Alarm) awsapi.Object {
	o = o.Add("EvaluationPeriods", a.EvaluationPeriods)
	if a.DatapointsToAlarm > 0 {
		o = o.Add("DatapointsToAlarm", a.DatapointsToAlarm)
	}
	o = o.Add("Threshold", a.Threshold).Add("ComparisonOperator", a.ComparisonOperator)
	if a.TreatMissingData != "" {
		o = o.Add("TreatMissingData", a.TreatMissingData)
	}
	if a.EvaluateLowSampleCountPercentile != "" {
		o = o.Add("EvaluateLowSampleCountPercentile", a.EvaluateLowSampleCountPercentile)
	}
	return o
}

func strs(l []string) awsapi.List {
	out := make(awsapi.List, len(l))
	for i, s := range l {
		out[i] = s
	}
	return out
}

// baseMembers are the members of b named, in that order; the optional ones
// (AlarmDescription, StateReasonData) only when set.
func baseMembers(b *alerting.Base, names ...string) awsapi.Object {
	o := awsapi.Object{}
	for _, n := range names {
		var v any
		switch n {
		case "AlarmName":
			v = b.Name
		case "AlarmArn":
			v = b.ARN()
		case "AlarmDescription":
			if b.Description == nil {
				continue
			}
			v = *b.Description
		case "AlarmConfigurationUpdatedTimestamp":
			v = b.ConfigUpdated
		case "ActionsEnabled":
			v = b.ActionsEnabled
		case "OKActions":
			v = strs(b.OKActions)
		case "AlarmActions":
			v = strs(b.AlarmActions)
		case "InsufficientDataActions":
			v = strs(b.InsufficientDataActions)
		case "StateValue":
			v = b.State.Value
		case "StateReason":
			v = b.State.Reason
		case "StateReasonData":
			if b.State.ReasonData == "" {
				continue
			}
			v = b.State.ReasonData
		case "StateUpdatedTimestamp":
			v = b.State.Updated
		case "StateTransitionedTimestamp":
			v = b.State.Transitioned
		}
		o = o.Add(n, v)
	}
	return o
}
