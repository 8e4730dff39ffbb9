package notify

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/cellwatch/cellwatch/internal/awsapi"
)

// regionName is how the SNS alarm message names awsapi.Region.
const (
	regionName       = "US East (N. Virginia)"
	alertmanagerPref = "alertmanager+"
	stateAlarm       = "ALARM"
)

// Alarm is what a notification says about an alarm that transitioned.
type Alarm struct {
	Tenant        string
	Name          string
	Type          string // MetricAlarm or CompositeAlarm
	ARN           string
	Description   *string
	ConfigUpdated time.Time
	OldState      string // the state value it left

	State        string // the new state value
	Reason       string
	Updated      time.Time
	Transitioned time.Time

	OKActions, AlarmActions, InsufficientDataActions []string

	// Trigger is the SNS message's Trigger (a metric alarm's); Rule its
	// AlarmRule (a composite alarm's). Either is left out when empty.
	Trigger any
	Rule    string

	// Labels identify the Alertmanager alert (the same in every state, so a
	// resolve matches its firing alert); Annotations are added to the
	// summary, state and description the outbox sets.
	Labels, Annotations map[string]string
}

// Result is the outcome of one action: what the alarm's Action history
// item records.
type Result struct {
	Tenant, AlarmName, AlarmType string
	Target                       string
	At                           time.Time
	OK                           bool
	Summary                      string
}

// Deliveries returns the outbox entries of a's actions targets (not yet
// staged) and the Results of the targets this server cannot deliver to.
func Deliveries(a Alarm, targets []string, now time.Time) ([]*Entry, []Result) {
	var out []*Entry
	var res []Result
	for _, t := range targets {
		var body []byte
		var err error
		switch targetKind(t) {
		case kindWebhook:
			body, err = SNSMessage(a)
		case kindAlertmanager:
			body, err = AlertmanagerAlerts(a, now)
		default:
			res = append(res, Result{a.Tenant, a.Name, a.Type, t, now, false,
				fmt.Sprintf("Failed to execute action %s: this action type is not supported by this server", t)})
			continue
		}
		if err != nil { // cannot happen for these shapes; recorded rather than lost silently
			res = append(res, Result{a.Tenant, a.Name, a.Type, t, now, false, fmt.Sprintf("Failed to execute action %s: %v", t, err)})
			continue
		}
		out = append(out, &Entry{Target: t, Tenant: a.Tenant, AlarmName: a.Name, AlarmType: a.Type, Created: now, Body: body})
	}
	return out, res
}

const (
	kindWebhook      = "webhook"
	kindAlertmanager = "alertmanager"
)

// targetKind tells how a target is delivered: "webhook", "alertmanager" or
// "" (not supported by this server).
func targetKind(target string) string {
	switch {
	case strings.HasPrefix(target, "http://"), strings.HasPrefix(target, "https://"):
		return kindWebhook
	case strings.HasPrefix(target, alertmanagerPref+"http://"), strings.HasPrefix(target, alertmanagerPref+"https://"):
		return kindAlertmanager
	}
	return ""
}

// alertmanagerURL is where an alertmanager target's alerts are posted.
func alertmanagerURL(target string) string {
	return strings.TrimSuffix(strings.TrimPrefix(target, alertmanagerPref), "/") + "/api/v2/alerts"
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
	Trigger                            any      `json:"Trigger,omitempty"`
	AlarmRule                          string   `json:"AlarmRule,omitempty"`
}

// SNSMessage renders the SNS alarm message AWS publishes for a's
// transition (docs/cloudwatch-api.md §4.4).
func SNSMessage(a Alarm) ([]byte, error) {
	v, err := json.Marshal(snsBody{AlarmName: a.Name, AlarmDescription: a.Description, AWSAccountID: awsapi.AccountID,
		AlarmConfigurationUpdatedTimestamp: ISOTime(a.ConfigUpdated), NewStateValue: a.State,
		NewStateReason: a.Reason, StateChangeTime: ISOTime(a.Updated), Region: regionName,
		AlarmArn: a.ARN, OldStateValue: a.OldState, OKActions: nonNil(a.OKActions), AlarmActions: nonNil(a.AlarmActions),
		InsufficientDataActions: nonNil(a.InsufficientDataActions), Trigger: a.Trigger, AlarmRule: a.Rule})
	if err != nil {
		return nil, fmt.Errorf("encode alarm message: %w", err)
	}
	return v, nil
}

// isoTime formats t as AWS's alarm JSON does: 2024-01-03T17:29:50.000+0000.
// ISOTime formats t as AWS's alarm JSON and SNS messages do.
func ISOTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000-0700") }

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// AMAlert is one alert of the list posted to Alertmanager's /api/v2/alerts.
type AMAlert struct {
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	StartsAt     time.Time         `json:"startsAt"`
	EndsAt       *time.Time        `json:"endsAt,omitempty"`
	GeneratorURL string            `json:"generatorURL,omitempty"`
}

// AlertmanagerAlerts renders the one-alert array posted to Alertmanager for
// a's new state: firing when the state is ALARM (with no endsAt: until the
// keepalives take over, Alertmanager's resolve_timeout bounds it), resolved
// (endsAt now) in OK and INSUFFICIENT_DATA alike, since only ALARM fires.
// The state is an annotation, with summary (the reason) and description.
func AlertmanagerAlerts(a Alarm, now time.Time) ([]byte, error) {
	al := amAlert(a, now)
	if a.State != stateAlarm {
		end := now.UTC()
		al.EndsAt = &end
	}
	v, err := json.Marshal([]AMAlert{al})
	if err != nil {
		return nil, fmt.Errorf("encode alertmanager alert: %w", err)
	}
	return v, nil
}

// amAlert is a's alert without endsAt.
func amAlert(a Alarm, now time.Time) AMAlert {
	ann := make(map[string]string, len(a.Annotations)+3)
	for k, v := range a.Annotations {
		ann[k] = v
	}
	ann["summary"], ann["state"] = a.Reason, a.State
	if a.Description != nil && *a.Description != "" {
		ann["description"] = *a.Description
	}
	al := AMAlert{Labels: a.Labels, Annotations: ann, StartsAt: a.Transitioned.UTC()}
	if al.StartsAt.IsZero() {
		al.StartsAt = now.UTC()
	}
	return al
}

// IsAlertmanager tells whether target is an Alertmanager
// ("alertmanager+http(s)://host:port").
func IsAlertmanager(target string) bool { return targetKind(target) == kindAlertmanager }
