package alarmapi

import (
	"slices"
	"strings"

	"github.com/cellwatch/cellwatch/alerting"
	"github.com/cellwatch/cellwatch/internal/awsapi"
)

// alarmFilter is DescribeAlarms' filters, validated.
type alarmFilter struct {
	names         []string
	prefix        string
	types         []string
	state, action string
	limit         int
	after         string
	childrenOf    string
	parentsOf     string
	related       bool // ChildrenOfAlarmName or ParentsOfAlarmName given
}

// listAlarms answers DescribeAlarms: metric and composite alarms merged by
// name, one NextToken over both.
func (s *API) listAlarms(tenant string, in awsapi.Input, f alarmFilter) (awsapi.Object, error) {
	f.childrenOf, f.parentsOf = in.String("ChildrenOfAlarmName"), in.String("ParentsOfAlarmName")
	f.related = in.Has("ChildrenOfAlarmName") || in.Has("ParentsOfAlarmName")
	if in.Has("ChildrenOfAlarmName") && in.Has("ParentsOfAlarmName") {
		return nil, awsapi.InvalidParameterCombination("ChildrenOfAlarmName and ParentsOfAlarmName cannot be specified together.")
	}
	if f.related && (len(f.names) > 0 || in.Has("AlarmNamePrefix") || in.Has("StateValue") || in.Has("ActionPrefix")) {
		return nil, awsapi.InvalidParameterCombination("ChildrenOfAlarmName and ParentsOfAlarmName can only be combined with MaxRecords, NextToken and AlarmTypes.")
	}
	wantMetric := len(f.types) == 0 || slices.Contains(f.types, alerting.TypeMetric)
	wantComposite := slices.Contains(f.types, alerting.TypeComposite)
	alarms := s.store.List(tenant)
	var only []string
	switch {
	case in.Has("ChildrenOfAlarmName"):
		for _, a := range alarms {
			if c, ok := a.(*alerting.CompositeAlarm); ok && c.Name == f.childrenOf {
				only = c.Children()
			}
		}
		if len(f.types) == 0 {
			wantMetric, wantComposite = true, true
		}
	case in.Has("ParentsOfAlarmName"):
		for _, a := range alarms {
			if c, ok := a.(*alerting.CompositeAlarm); ok && slices.Contains(c.Children(), f.parentsOf) {
				only = append(only, c.Name)
			}
		}
		wantMetric, wantComposite = false, true
	}
	metric, composite := awsapi.List{}, awsapi.List{}
	n, next, last := 0, "", ""
	for _, a := range alarms {
		b := a.Common()
		switch {
		case a.Type() == alerting.TypeMetric && !wantMetric, a.Type() == alerting.TypeComposite && !wantComposite:
		case f.after != "" && b.Name <= f.after:
		case f.related && !slices.Contains(only, b.Name):
		case len(f.names) > 0 && !slices.Contains(f.names, b.Name):
		case !strings.HasPrefix(b.Name, f.prefix):
		case f.state != "" && b.State.Value != f.state:
		case f.action != "" && !slices.ContainsFunc(b.Actions(), func(s string) bool { return strings.HasPrefix(s, f.action) }):
		default:
			if n == f.limit {
				next = encodeToken(last)
				break
			}
			n++
			last = b.Name
			if c, ok := a.(*alerting.CompositeAlarm); ok {
				composite = append(composite, compositeAlarmObject(c))
			} else {
				metric = append(metric, metricAlarmObject(a.(*alerting.Alarm)))
			}
			continue
		}
		if next != "" {
			break
		}
	}
	res := awsapi.Obj("CompositeAlarms", composite, "MetricAlarms", metric)
	if next != "" {
		res = res.Add("NextToken", next)
	}
	return res, nil
}

// compositeAlarmObject is the CompositeAlarm shape.
func compositeAlarmObject(c *alerting.CompositeAlarm) awsapi.Object {
	o := baseMembers(&c.Base, "ActionsEnabled", "AlarmActions", "AlarmArn", "AlarmConfigurationUpdatedTimestamp", "AlarmDescription", "AlarmName")
	o = append(o.Add("AlarmRule", c.Rule), baseMembers(&c.Base, "InsufficientDataActions", "OKActions", "StateReason", "StateReasonData",
		"StateUpdatedTimestamp", "StateValue", "StateTransitionedTimestamp")...)
	if c.ActionsSuppressor != "" {
		o = o.Add("ActionsSuppressor", c.ActionsSuppressor)
	}
	if c.ActionsSuppressorWaitPeriod != nil {
		o = o.Add("ActionsSuppressorWaitPeriod", *c.ActionsSuppressorWaitPeriod)
	}
	if c.ActionsSuppressorExtensionPeriod != nil {
		o = o.Add("ActionsSuppressorExtensionPeriod", *c.ActionsSuppressorExtensionPeriod)
	}
	return o
}
