package alerting

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

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
func (s *Service) listAlarms(tenant string, in awsapi.Input, f alarmFilter) (awsapi.Object, error) {
	f.childrenOf, f.parentsOf = in.String("ChildrenOfAlarmName"), in.String("ParentsOfAlarmName")
	f.related = in.Has("ChildrenOfAlarmName") || in.Has("ParentsOfAlarmName")
	if in.Has("ChildrenOfAlarmName") && in.Has("ParentsOfAlarmName") {
		return nil, awsapi.InvalidParameterCombination("ChildrenOfAlarmName and ParentsOfAlarmName cannot be specified together.")
	}
	if f.related && (len(f.names) > 0 || in.Has("AlarmNamePrefix") || in.Has("StateValue") || in.Has("ActionPrefix")) {
		return nil, awsapi.InvalidParameterCombination("ChildrenOfAlarmName and ParentsOfAlarmName can only be combined with MaxRecords, NextToken and AlarmTypes.")
	}
	wantMetric := len(f.types) == 0 || slices.Contains(f.types, alarmTypeMetric)
	wantComposite := slices.Contains(f.types, alarmTypeComposit)
	s.mu.RLock()
	defer s.mu.RUnlock()
	var only []string
	switch {
	case in.Has("ChildrenOfAlarmName"):
		if c := s.composites[tenant][f.childrenOf]; c != nil {
			only = c.rule.children()
		}
		if len(f.types) == 0 {
			wantMetric, wantComposite = true, true
		}
	case in.Has("ParentsOfAlarmName"):
		for _, c := range s.composites[tenant] {
			if slices.Contains(c.rule.children(), f.parentsOf) {
				only = append(only, c.Name)
			}
		}
		wantMetric, wantComposite = false, true
	}
	type entry struct {
		name    string
		state   string
		actions []string
		obj     func() awsapi.Object
	}
	var all []entry
	if wantMetric {
		for _, a := range s.alarms[tenant] {
			all = append(all, entry{a.Name, a.State.Value, a.actions(), func() awsapi.Object { return metricAlarmObject(a) }})
		}
	}
	if wantComposite {
		for _, c := range s.composites[tenant] {
			all = append(all, entry{c.Name, c.State.Value, c.actions(), func() awsapi.Object { return compositeAlarmObject(c) }})
		}
	}
	sort.Slice(all, func(i, j int) bool { return all[i].name < all[j].name })
	metric, composite := awsapi.List{}, awsapi.List{}
	n, next, last := 0, "", ""
	for _, e := range all {
		switch {
		case f.after != "" && e.name <= f.after:
		case f.related && !slices.Contains(only, e.name):
		case len(f.names) > 0 && !slices.Contains(f.names, e.name):
		case !strings.HasPrefix(e.name, f.prefix):
		case f.state != "" && e.state != f.state:
		case f.action != "" && !slices.ContainsFunc(e.actions, func(s string) bool { return strings.HasPrefix(s, f.action) }):
		default:
			if n == f.limit {
				next = encodeToken(last)
				break
			}
			n++
			last = e.name
			if o := e.obj(); s.composites[tenant][e.name] != nil && s.alarms[tenant][e.name] == nil {
				composite = append(composite, o)
			} else {
				metric = append(metric, o)
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
func compositeAlarmObject(c *CompositeAlarm) awsapi.Object {
	o := awsapi.Obj("ActionsEnabled", c.ActionsEnabled, "AlarmActions", strs(c.AlarmActions), "AlarmArn", c.ARN(),
		"AlarmConfigurationUpdatedTimestamp", c.ConfigUpdated)
	if c.Description != nil {
		o = o.Add("AlarmDescription", *c.Description)
	}
	o = o.Add("AlarmName", c.Name).Add("AlarmRule", c.Rule).
		Add("InsufficientDataActions", strs(c.InsufficientDataActions)).
		Add("OKActions", strs(c.OKActions)).
		Add("StateReason", c.State.Reason)
	if c.State.ReasonData != "" {
		o = o.Add("StateReasonData", c.State.ReasonData)
	}
	o = o.Add("StateUpdatedTimestamp", c.State.Updated).Add("StateValue", c.State.Value).
		Add("StateTransitionedTimestamp", c.State.Transitioned)
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

// compositeJSON is a composite alarm's configuration as history items carry it.
func compositeJSON(c *CompositeAlarm) string {
	m := map[string]any{
		"alarmName": c.Name, "alarmArn": c.ARN(), "alarmRule": c.Rule, "actionsEnabled": c.ActionsEnabled,
		"okActions": c.OKActions, "alarmActions": c.AlarmActions, "insufficientDataActions": c.InsufficientDataActions,
		"timestamp": isoTime(c.ConfigUpdated),
	}
	if c.Description != nil {
		m["alarmDescription"] = *c.Description
	}
	if c.ActionsSuppressor != "" {
		m["actionsSuppressor"] = c.ActionsSuppressor
	}
	b, _ := json.Marshal(m)
	return string(b)
}

// deleteComposites serves DeleteAlarms' composite side and its checks: at
// most one composite alarm per call, and no alarm another composite (not
// deleted in the same call) depends on. It deletes the named composite
// alarm durably; the caller deletes the metric alarms. s.mu must be held
// for writing.
func (s *Service) deleteComposites(tenant string, names []string, now time.Time) error {
	var del []*CompositeAlarm
	for _, n := range names {
		if c := s.composites[tenant][n]; c != nil && !slices.Contains(del, c) {
			del = append(del, c)
		}
	}
	if len(del) > 1 {
		return awsapi.ValidationError("Only one composite alarm can be deleted per call; %d were specified.", len(del))
	}
	var blocked, parents []string
	for _, p := range s.composites[tenant] {
		if slices.Contains(names, p.Name) {
			continue
		}
		for _, ch := range p.rule.children() {
			if slices.Contains(names, ch) {
				if !slices.Contains(blocked, ch) {
					blocked = append(blocked, ch)
				}
				if !slices.Contains(parents, p.Name) {
					parents = append(parents, p.Name)
				}
			}
		}
	}
	if len(blocked) > 0 {
		sort.Strings(blocked)
		sort.Strings(parents)
		return awsapi.ValidationError("Could not delete alarm(s) [%s] as they are referenced in the alarm rule of composite alarm(s) [%s].",
			strings.Join(blocked, ", "), strings.Join(parents, ", "))
	}
	if len(del) == 0 {
		return nil
	}
	c := del[0]
	h := HistoryItem{Tenant: tenant, AlarmName: c.Name, AlarmType: alarmTypeComposit, Timestamp: now,
		Type: HistoryConfigurationUpdate, Summary: fmt.Sprintf("Alarm %q deleted", c.Name),
		Data: `{"version":"1.0","type":"Delete","deletedAlarm":` + compositeJSON(c) + `}`}
	if err := s.writeComposites(nil, del, []HistoryItem{h}); err != nil {
		return err
	}
	delete(s.composites[tenant], c.Name)
	return nil
}
