package alerting

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Notifications: a metric alarm's actions for its new state fire on state
// transitions only, and only while ActionsEnabled. Targets cellwatch can
// deliver are http(s) webhooks (an SNS-shaped alarm message) and
// Alertmanagers ("alertmanager+http(s)://host:port", posted to
// /api/v2/alerts). Every other target (SNS, Auto Scaling, EC2 ARNs) is
// recorded as an Action history item saying it is not supported here.
//
// Deliveries go through the outbox (notify_outbox.go): a transition writes
// its deliveries in the same synced pebble batch as its new state, under
//
//	o\x00<seq:8 BE>                  an outbox entry (JSON of outboxEntry)
//
// and the delivery loop sends them per target in seq order, with retries
// (at least once: a crash between a delivery and its record repeats it).
// Composite alarms notify the same way through commitCompositeStates
// (notify_composite.go) once composite.go writes its transitions with it.

// Notification defaults (Config fields of the same meaning).
const (
	defaultNotifyTimeout    = 5 * time.Second
	defaultNotifyBackoffMin = time.Second
	defaultNotifyBackoffMax = 5 * time.Minute
	defaultNotifyMaxEntries = 10_000
	defaultNotifyMaxBytes   = 32 << 20
	defaultNotifyWorkers    = 4
)

const (
	accountID        = "000000000000"
	regionName       = "US East (N. Virginia)"
	alertmanagerPref = "alertmanager+"
)

func notifyDefaults(cfg *Config) {
	if cfg.NotifyTimeout <= 0 {
		cfg.NotifyTimeout = defaultNotifyTimeout
	}
	if cfg.NotifyBackoffMin <= 0 {
		cfg.NotifyBackoffMin = defaultNotifyBackoffMin
	}
	if cfg.NotifyBackoffMax <= 0 {
		cfg.NotifyBackoffMax = defaultNotifyBackoffMax
	}
	cfg.NotifyBackoffMax = max(cfg.NotifyBackoffMax, cfg.NotifyBackoffMin)
	if cfg.NotifyMaxEntries <= 0 {
		cfg.NotifyMaxEntries = defaultNotifyMaxEntries
	}
	if cfg.NotifyMaxBytes <= 0 {
		cfg.NotifyMaxBytes = defaultNotifyMaxBytes
	}
	if cfg.NotifyWorkers <= 0 {
		cfg.NotifyWorkers = defaultNotifyWorkers
	}
}

// targetKind tells how a target is delivered: "webhook", "alertmanager" or
// "" (not supported by this server).
func targetKind(target string) string {
	switch {
	case strings.HasPrefix(target, "http://"), strings.HasPrefix(target, "https://"):
		return "webhook"
	case strings.HasPrefix(target, alertmanagerPref+"http://"), strings.HasPrefix(target, alertmanagerPref+"https://"):
		return "alertmanager"
	}
	return ""
}

// actionsFor returns the alarm's actions for state.
func (a *Alarm) actionsFor(state string) []string {
	switch state {
	case StateOK:
		return a.OKActions
	case StateAlarm:
		return a.AlarmActions
	case StateInsufficientData:
		return a.InsufficientDataActions
	}
	return nil
}

// notifications returns the outbox entries and the history items (targets
// not supported) of the transitions from prev[i] to next[i]; entries have no
// Seq yet. Alarms whose state value did not change, or whose actions are
// disabled, notify nothing.
func notifications(prev, next []*Alarm, now time.Time) ([]*outboxEntry, []HistoryItem) {
	var out []*outboxEntry
	var hist []HistoryItem
	for i, n := range next {
		p := prev[i]
		if p == nil || p.State.Value == n.State.Value || !n.ActionsEnabled {
			continue
		}
		e, h := deliveries(n.Tenant, n.Name, alarmTypeMetric, n.actionsFor(n.State.Value), now,
			func() ([]byte, error) { return snsMessage(n, p.State.Value) },
			func() ([]byte, error) { return alertmanagerAlerts(n, now) })
		out, hist = append(out, e...), append(hist, h...)
	}
	return out, hist
}

// deliveries returns the outbox entries for targets (bodies rendered by
// sns for webhooks, am for Alertmanagers) and the Action history items of
// the targets this server cannot deliver to.
func deliveries(tenant, name, alarmType string, targets []string, now time.Time, sns, am func() ([]byte, error)) ([]*outboxEntry, []HistoryItem) {
	var out []*outboxEntry
	var hist []HistoryItem
	for _, t := range targets {
		var body []byte
		var err error
		switch targetKind(t) {
		case "webhook":
			body, err = sns()
		case "alertmanager":
			body, err = am()
		default:
			hist = append(hist, actionItem(tenant, name, alarmType, now, t, false,
				fmt.Sprintf("Failed to execute action %s: this action type is not supported by this server", t)))
			continue
		}
		if err != nil { // cannot happen for these shapes; recorded rather than lost silently
			hist = append(hist, actionItem(tenant, name, alarmType, now, t, false, fmt.Sprintf("Failed to execute action %s: %v", t, err)))
			continue
		}
		out = append(out, &outboxEntry{Target: t, Tenant: tenant, AlarmName: name, AlarmType: alarmType, Created: now, Body: body})
	}
	return out, hist
}

// actionItem is an Action history item about target.
func actionItem(tenant, alarm, alarmType string, at time.Time, target string, ok bool, summary string) HistoryItem {
	st := "Failed"
	if ok {
		st = "Succeeded"
	}
	data := fmt.Sprintf(`{"actionState":%s,"stateUpdateTimestamp":%d,"notificationResource":%s}`,
		jsonString(st), at.UnixMilli(), jsonString(target))
	return HistoryItem{Tenant: tenant, AlarmName: alarm, AlarmType: alarmType, Timestamp: at,
		Type: HistoryAction, Summary: summary, Data: data}
}

type snsTrigger struct {
	MetricName                       string      `json:"MetricName"`
	Namespace                        string      `json:"Namespace"`
	StatisticType                    string      `json:"StatisticType"`
	Statistic                        string      `json:"Statistic,omitempty"`
	ExtendedStatistic                string      `json:"ExtendedStatistic,omitempty"`
	Unit                             *string     `json:"Unit"`
	Dimensions                       []Dimension `json:"Dimensions"`
	Period                           int64       `json:"Period"`
	EvaluationPeriods                int         `json:"EvaluationPeriods"`
	DatapointsToAlarm                int         `json:"DatapointsToAlarm"`
	ComparisonOperator               string      `json:"ComparisonOperator"`
	Threshold                        float64     `json:"Threshold"`
	TreatMissingData                 string      `json:"TreatMissingData"`
	EvaluateLowSampleCountPercentile string      `json:"EvaluateLowSampleCountPercentile"`
}

type snsBody struct {
	AlarmName                          string   `json:"AlarmName"`
	AlarmDescription                   *string  `json:"AlarmDescription"`
	AWSAccountID                       string   `json:"AWSAccountId"`
	AlarmConfigurationUpdatedTimestamp string   `json:"AlarmConfigurationUpdatedTimestamp"`
	NewStateValue                      string   `json:"NewStateValue"`
	NewStateReason                     string   `json:"NewStateReason"`
	StateChangeTime                    string   `json:"StateChangeTime"`
	Region                             string   `json:"Region"`
	AlarmArn                           string   `json:"AlarmArn"`
	OldStateValue                      string   `json:"OldStateValue"`
	OKActions                          []string `json:"OKActions"`
	AlarmActions                       []string `json:"AlarmActions"`
	InsufficientDataActions            []string `json:"InsufficientDataActions"`
	Trigger                            any      `json:"Trigger"` // snsTrigger, or snsMathTrigger (mathalarm.go)
}

// snsMessage renders the SNS alarm message AWS publishes for a's transition
// from old (reference §4.4).
func snsMessage(a *Alarm, old string) ([]byte, error) {
	tr := snsTrigger{MetricName: a.Metric.MetricName, Namespace: a.Metric.Namespace, StatisticType: "Statistic",
		Statistic: strings.ToUpper(a.Statistic), Dimensions: a.Metric.Dimensions, Period: a.Period,
		EvaluationPeriods: a.EvaluationPeriods, DatapointsToAlarm: a.M(), ComparisonOperator: a.ComparisonOperator,
		Threshold: a.Threshold, TreatMissingData: a.Treatment(), EvaluateLowSampleCountPercentile: a.EvaluateLowSampleCountPercentile}
	if a.ExtendedStatistic != "" {
		tr.StatisticType, tr.Statistic, tr.ExtendedStatistic = "ExtendedStatistic", "", a.ExtendedStatistic
	}
	if a.Unit != "" {
		tr.Unit = &a.Unit
	}
	if tr.Dimensions == nil {
		tr.Dimensions = []Dimension{}
	}
	b := snsBody{AlarmName: a.Name, AlarmDescription: a.Description, AWSAccountID: accountID,
		AlarmConfigurationUpdatedTimestamp: isoTime(a.ConfigUpdated), NewStateValue: a.State.Value,
		NewStateReason: a.State.Reason, StateChangeTime: isoTime(a.State.Updated), Region: regionName,
		AlarmArn: a.ARN(), OldStateValue: old, OKActions: nonNil(a.OKActions), AlarmActions: nonNil(a.AlarmActions),
		InsufficientDataActions: nonNil(a.InsufficientDataActions), Trigger: tr}
	if a.IsMath() {
		b.Trigger = mathTrigger(a)
	}
	v, err := json.Marshal(b)
	if err != nil {
		return nil, fmt.Errorf("encode alarm message: %w", err)
	}
	return v, nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

type amAlert struct {
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	StartsAt     time.Time         `json:"startsAt"`
	EndsAt       *time.Time        `json:"endsAt,omitempty"`
	GeneratorURL string            `json:"generatorURL,omitempty"`
}

// alertmanagerAlerts renders the Alertmanager v2 alert list for a's new
// state: firing for ALARM and INSUFFICIENT_DATA, resolved (endsAt now) for
// OK. The labels are the same in every state so that the resolve matches
// the firing alert (Alertmanager identifies an alert by its labels): they
// carry alertname, namespace, metric, tenant and the dimensions; the state
// is an annotation, with summary (the reason) and description.
func alertmanagerAlerts(a *Alarm, now time.Time) ([]byte, error) {
	labels := map[string]string{"alertname": a.Name}
	if !a.IsMath() { // a metric math alarm has no single metric to name
		labels["namespace"], labels["metric"] = a.Metric.Namespace, a.Metric.MetricName
	}
	if a.Tenant != "" {
		labels["tenant"] = a.Tenant
	}
	for _, d := range a.Metric.Dimensions {
		if _, taken := labels[d.Name]; !taken {
			labels[d.Name] = d.Value
		}
	}
	ann := map[string]string{"alarmArn": a.ARN()}
	return encodeAMAlert(labels, ann, a.State, a.Description, now)
}

// encodeAMAlert encodes the one-alert array posted to Alertmanager for an
// alarm of either type in state st: firing from its transition, resolved
// (endsAt now) when the state is OK.
func encodeAMAlert(labels, ann map[string]string, st State, description *string, now time.Time) ([]byte, error) {
	ann["summary"], ann["state"] = st.Reason, st.Value
	if description != nil && *description != "" {
		ann["description"] = *description
	}
	al := amAlert{Labels: labels, Annotations: ann, StartsAt: st.Transitioned.UTC()}
	if al.StartsAt.IsZero() {
		al.StartsAt = now.UTC()
	}
	if st.Value == StateOK {
		end := now.UTC()
		al.EndsAt = &end
	}
	v, err := json.Marshal([]amAlert{al})
	if err != nil {
		return nil, fmt.Errorf("encode alertmanager alert: %w", err)
	}
	return v, nil
}

// alertmanagerURL is where an alertmanager target's alerts are posted.
func alertmanagerURL(target string) string {
	return strings.TrimSuffix(strings.TrimPrefix(target, alertmanagerPref), "/") + "/api/v2/alerts"
}
