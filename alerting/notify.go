package alerting

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/cellwatch/cellwatch/alerting/notify"
)

// Notifications: an alarm's actions for its new state fire on state
// transitions only, and only while ActionsEnabled. Package notify delivers
// them (webhooks, Alertmanagers); every other target (SNS, Auto Scaling,
// EC2 ARNs) is recorded as an Action history item saying it is not
// supported here.
//
// An Alertmanager alert fires exactly while its alarm is in ALARM: the
// outbox re-sends it as a keepalive (Store.Firing) and an alarm leaving
// ALARM, for OK or INSUFFICIENT_DATA, resolves it at the Alertmanagers of
// its AlarmActions as well as at those of the new state's actions.

// notifications returns the outbox entries and the Results (targets not
// supported) of the transitions from prev[i] to next[i]. Alarms whose state
// value did not change, or whose actions are disabled, notify nothing.
func notifications(prev, next []Any, now time.Time) ([]*notify.Entry, []notify.Result) {
	var out []*notify.Entry
	var res []notify.Result
	for i, n := range next {
		p, b := prev[i], n.Common()
		if p == nil || p.Common().State.Value == b.State.Value || !b.ActionsEnabled {
			continue
		}
		old := p.Common().State.Value
		e, r := notify.Deliveries(Message(n, old), targets(b, old), now)
		out, res = append(out, e...), append(res, r...)
	}
	return out, res
}

// targets are the actions of b's new state plus, when it leaves ALARM, the
// Alertmanagers of its alarm actions (to resolve their alert).
func targets(b *Base, old string) []string {
	out := b.actionsFor(b.State.Value)
	if old != StateAlarm {
		return out
	}
	out = slices.Clone(out)
	for _, t := range b.AlarmActions {
		if notify.IsAlertmanager(t) && !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	return out
}

// Firing lists the alarms to keep firing at their Alertmanagers: those in
// ALARM with actions enabled and Alertmanagers among their alarm actions
// (notify.Source of the outbox's keepalives).
func (s *Store) Firing() []notify.Firing {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []notify.Firing
	for _, alarms := range s.alarms {
		for _, a := range alarms {
			b := a.Common()
			if b.State.Value != StateAlarm || !b.ActionsEnabled {
				continue
			}
			var ts []string
			for _, t := range b.AlarmActions {
				if notify.IsAlertmanager(t) {
					ts = append(ts, t)
				}
			}
			if len(ts) > 0 {
				out = append(out, notify.Firing{Alarm: Message(a, ""), Targets: ts})
			}
		}
	}
	return out
}

// Message is what a's notifications say of its transition from old.
func Message(a Any, old string) notify.Alarm {
	b := a.Common()
	labels := map[string]string{"alertname": b.Name}
	if b.Tenant != "" {
		labels["tenant"] = b.Tenant
	}
	ann := a.labels(labels)
	ann["alarmArn"] = b.ARN()
	return notify.Alarm{Tenant: b.Tenant, Name: b.Name, Type: a.Type(), ARN: b.ARN(), Description: b.Description,
		ConfigUpdated: b.ConfigUpdated, OldState: old, State: b.State.Value, Reason: b.State.Reason,
		Updated: b.State.Updated, Transitioned: b.State.Transitioned, OKActions: b.OKActions, AlarmActions: b.AlarmActions,
		InsufficientDataActions: b.InsufficientDataActions, Trigger: a.trigger(), Rule: a.rule(), Labels: labels, Annotations: ann}
}

// actionItem is the Action history item of r.
func actionItem(r notify.Result) HistoryItem {
	st := "Failed"
	if r.OK {
		st = "Succeeded"
	}
	data := fmt.Sprintf(`{"actionState":%s,"stateUpdateTimestamp":%d,"notificationResource":%s}`,
		jsonString(st), r.At.UnixMilli(), jsonString(r.Target))
	return HistoryItem{Tenant: r.Tenant, AlarmName: r.AlarmName, AlarmType: r.AlarmType, Timestamp: r.At,
		Type: HistoryAction, Summary: r.Summary, Data: data}
}

// snsTrigger is the Trigger of a single-metric alarm's SNS message.
type snsTrigger struct {
	MetricName        string      `json:"MetricName"`
	Namespace         string      `json:"Namespace"`
	StatisticType     string      `json:"StatisticType"`
	Statistic         string      `json:"Statistic,omitempty"`
	ExtendedStatistic string      `json:"ExtendedStatistic,omitempty"`
	Unit              *string     `json:"Unit"`
	Dimensions        []Dimension `json:"Dimensions"`
	snsEvaluation
}

// snsEvaluation is the Trigger members of both alarm forms after the metric.
type snsEvaluation struct {
	Period                           int64   `json:"Period"`
	EvaluationPeriods                int     `json:"EvaluationPeriods"`
	DatapointsToAlarm                int     `json:"DatapointsToAlarm"`
	ComparisonOperator               string  `json:"ComparisonOperator"`
	Threshold                        float64 `json:"Threshold"`
	TreatMissingData                 string  `json:"TreatMissingData"`
	EvaluateLowSampleCountPercentile string  `json:"EvaluateLowSampleCountPercentile"`
}

func (a *Alarm) snsEvaluation() snsEvaluation {
	return snsEvaluation{Period: a.Period, EvaluationPeriods: a.EvaluationPeriods, DatapointsToAlarm: a.M(),
		ComparisonOperator: a.ComparisonOperator, Threshold: a.Threshold, TreatMissingData: a.Treatment(),
		EvaluateLowSampleCountPercentile: a.EvaluateLowSampleCountPercentile}
}

func (a *Alarm) trigger() any {
	if a.IsMath() {
		return mathTrigger(a) // mathalarm.go
	}
	tr := snsTrigger{MetricName: a.Metric.MetricName, Namespace: a.Metric.Namespace, StatisticType: "Statistic",
		Statistic: strings.ToUpper(a.Statistic), Dimensions: a.Metric.Dimensions, snsEvaluation: a.snsEvaluation()}
	if a.ExtendedStatistic != "" {
		tr.StatisticType, tr.Statistic, tr.ExtendedStatistic = "ExtendedStatistic", "", a.ExtendedStatistic
	}
	if a.Unit != "" {
		tr.Unit = &a.Unit
	}
	if tr.Dimensions == nil {
		tr.Dimensions = []Dimension{}
	}
	return tr
}

func (a *Alarm) rule() string { return "" }

// labels: namespace, metric and the dimensions (a metric math alarm has no
// single metric to name).
func (a *Alarm) labels(labels map[string]string) map[string]string {
	if !a.IsMath() {
		labels["namespace"], labels["metric"] = a.Metric.Namespace, a.Metric.MetricName
	}
	for _, d := range a.Metric.Dimensions {
		if _, taken := labels[d.Name]; !taken {
			labels[d.Name] = d.Value
		}
	}
	return map[string]string{}
}

func (c *CompositeAlarm) trigger() any { return nil }
func (c *CompositeAlarm) rule() string { return c.Rule }

func (c *CompositeAlarm) labels(labels map[string]string) map[string]string {
	labels["alarmType"] = TypeComposite
	return map[string]string{"alarmRule": c.Rule}
}
