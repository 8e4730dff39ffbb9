package alerting

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/cellwatch/cellwatch/internal/awsapi"
)

const (
	maxRecords        = 100
	defaultRecords    = 50
	maxNamesPerCall   = 100
	maxActionPrefix   = 1024
	alarmTypeMetric   = "MetricAlarm"
	alarmTypeComposit = "CompositeAlarm"
)

// DescribeAlarms lists the tenant's alarms by name, filtered.
func (s *Service) DescribeAlarms(_ context.Context, req *awsapi.Request, _ http.Header) (awsapi.Object, error) {
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
func (s *Service) DescribeAlarmsForMetric(_ context.Context, req *awsapi.Request, _ http.Header) (awsapi.Object, error) {
	in := req.Input
	probe := &Alarm{}
	for _, m := range []string{"Namespace", "MetricName"} {
		if !in.Has(m) {
			return nil, awsapi.MissingParameter("The parameter %s is required.", m)
		}
	}
	probe.Metric.Namespace, probe.Metric.MetricName = in.String("Namespace"), in.String("MetricName")
	for _, d := range in.Structs("Dimensions") {
		probe.Metric.Dimensions = append(probe.Metric.Dimensions, Dimension{Name: d.String("Name"), Value: d.String("Value")})
	}
	slices.SortFunc(probe.Metric.Dimensions, func(x, y Dimension) int { return strings.Compare(x.Name, y.Name) })
	period, _, err := in.Int("Period")
	if err != nil {
		return nil, err
	}
	withDims := in.Has("Dimensions")
	out := awsapi.List{}
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, a := range s.sorted(awsapi.TenantOf(req)) {
		switch {
		case a.Metric.Namespace != probe.Metric.Namespace || a.Metric.MetricName != probe.Metric.MetricName:
		case withDims && a.Metric.key() != probe.Metric.key():
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
// Dimensions always present, absent optionals omitted (reference §1.6).
func metricAlarmObject(a *Alarm) awsapi.Object {
	o := awsapi.Obj("AlarmName", a.Name, "AlarmArn", a.ARN())
	if a.Description != nil {
		o = o.Add("AlarmDescription", *a.Description)
	}
	o = o.Add("AlarmConfigurationUpdatedTimestamp", a.ConfigUpdated).
		Add("ActionsEnabled", a.ActionsEnabled).
		Add("OKActions", strs(a.OKActions)).
		Add("AlarmActions", strs(a.AlarmActions)).
		Add("InsufficientDataActions", strs(a.InsufficientDataActions)).
		Add("StateValue", a.State.Value).
		Add("StateReason", a.State.Reason)
	if a.State.ReasonData != "" {
		o = o.Add("StateReasonData", a.State.ReasonData)
	}
	o = o.Add("StateUpdatedTimestamp", a.State.Updated).
		Add("StateTransitionedTimestamp", a.State.Transitioned)
	if a.IsMath() {
		o = o.Add("Dimensions", awsapi.List{}).Add("Metrics", metricsList(a.Metrics)) // mathalarm.go
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
func addEvaluation(o awsapi.Object, a *Alarm) awsapi.Object {
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

// alarmJSON is an alarm's configuration as history items carry it.
func alarmJSON(a *Alarm) string {
	m := map[string]any{
		"alarmName": a.Name, "alarmArn": a.ARN(), "namespace": a.Metric.Namespace, "metricName": a.Metric.MetricName,
		"dimensions": a.Metric.Dimensions, "period": a.Period, "evaluationPeriods": a.EvaluationPeriods,
		"threshold": a.Threshold, "comparisonOperator": a.ComparisonOperator, "actionsEnabled": a.ActionsEnabled,
		"okActions": a.OKActions, "alarmActions": a.AlarmActions, "insufficientDataActions": a.InsufficientDataActions,
		"timestamp": isoTime(a.ConfigUpdated),
	}
	for k, v := range map[string]string{"statistic": a.Statistic, "extendedStatistic": a.ExtendedStatistic, "unit": a.Unit,
		"treatMissingData": a.TreatMissingData, "evaluateLowSampleCountPercentile": a.EvaluateLowSampleCountPercentile} {
		if v != "" {
			m[k] = v
		}
	}
	if a.Description != nil {
		m["alarmDescription"] = *a.Description
	}
	if a.DatapointsToAlarm > 0 {
		m["datapointsToAlarm"] = a.DatapointsToAlarm
	}
	if a.IsMath() {
		for _, k := range []string{"namespace", "metricName", "dimensions", "period"} {
			delete(m, k)
		}
		m["metrics"] = a.Metrics
	}
	b, _ := json.Marshal(m)
	return string(b)
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
