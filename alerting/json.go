package alerting

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/cellwatch/cellwatch/alerting/notify"
)

// baseJSON is the configuration members both alarm types carry in history.
func (b *Base) baseJSON() map[string]any {
	m := map[string]any{
		"alarmName": b.Name, "alarmArn": b.ARN(), "actionsEnabled": b.ActionsEnabled,
		"okActions": b.OKActions, "alarmActions": b.AlarmActions, "insufficientDataActions": b.InsufficientDataActions,
		"timestamp": notify.ISOTime(b.ConfigUpdated),
	}
	if b.Description != nil {
		m["alarmDescription"] = *b.Description
	}
	return m
}

func encodeJSON(m map[string]any) string {
	b, _ := json.Marshal(m)
	return string(b)
}

// configJSON is a metric alarm's configuration as history items carry it.
func (a *Alarm) configJSON() string {
	m := a.baseJSON()
	if a.IsMath() {
		m["metrics"] = a.Metrics
	} else {
		m["namespace"], m["metricName"], m["dimensions"], m["period"] = a.Metric.Namespace, a.Metric.MetricName, a.Metric.Dimensions, a.Period
	}
	m["evaluationPeriods"], m["threshold"], m["comparisonOperator"] = a.EvaluationPeriods, a.Threshold, a.ComparisonOperator
	for k, v := range map[string]string{"statistic": a.Statistic, "extendedStatistic": a.ExtendedStatistic, "unit": a.Unit,
		"treatMissingData": a.TreatMissingData, "evaluateLowSampleCountPercentile": a.EvaluateLowSampleCountPercentile} {
		if v != "" {
			m[k] = v
		}
	}
	if a.DatapointsToAlarm > 0 {
		m["datapointsToAlarm"] = a.DatapointsToAlarm
	}
	return encodeJSON(m)
}

// configJSON is a composite alarm's configuration as history items carry it.
func (c *CompositeAlarm) configJSON() string {
	m := c.baseJSON()
	m["alarmRule"] = c.Rule
	if c.ActionsSuppressor != "" {
		m["actionsSuppressor"] = c.ActionsSuppressor
	}
	return encodeJSON(m)
}

// ConfigJSON is a's configuration as its history items carry it.
func ConfigJSON(a Any) string { return a.configJSON() }

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// configItem is the ConfigurationUpdate history item of kind (Create,
// Update or Delete) for a at now, old the configuration an Update replaces.
func configItem(kind string, old, a Any, now time.Time) HistoryItem {
	b := a.Common()
	verb := map[string]string{"Create": "created", "Update": "updated", "Delete": "deleted"}[kind]
	data := `{"version":"1.0","type":"` + kind + `",`
	switch kind {
	case "Create":
		data += `"createdAlarm":` + a.configJSON()
	case "Update":
		data += `"originalUpdatedAlarm":` + old.configJSON() + `,"updatedAlarm":` + a.configJSON()
	default:
		data += `"deletedAlarm":` + a.configJSON()
	}
	return HistoryItem{Tenant: b.Tenant, AlarmName: b.Name, AlarmType: a.Type(), Timestamp: now,
		Type: HistoryConfigurationUpdate, Summary: fmt.Sprintf("Alarm %q %s", b.Name, verb), Data: data + `}`}
}

// transition moves a copy of a to st: st with its Transitioned time, and
// the StateUpdate history item when the value changes.
func transition(a Any, st State) (Any, []HistoryItem) {
	next := a.clone()
	b, old := next.Common(), a.Common().State
	st.Transitioned = old.Transitioned
	if st.Value != old.Value {
		st.Transitioned = st.Updated
	}
	b.State = st
	if st.Value == old.Value {
		return next, nil
	}
	data := fmt.Sprintf(`{"version":"1.0","oldState":{"stateValue":%s,"stateReason":%s},"newState":{"stateValue":%s,"stateReason":%s%s}}`,
		jsonString(old.Value), jsonString(old.Reason), jsonString(st.Value), jsonString(st.Reason), reasonDataMember(st.ReasonData))
	return next, []HistoryItem{{
		Tenant: b.Tenant, AlarmName: b.Name, AlarmType: a.Type(), Timestamp: st.Updated,
		Type: HistoryStateUpdate, Summary: "Alarm updated from " + old.Value + " to " + st.Value, Data: data,
	}}
}

func reasonDataMember(d string) string {
	if d == "" {
		return ""
	}
	return `,"stateReasonData":` + d
}
