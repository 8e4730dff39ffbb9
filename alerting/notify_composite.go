package alerting

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"
)

// commitCompositeStates is writeComposites plus notifications: it writes the
// composite alarms put (next states of prev[i], nil for a new one) and their
// history items with the outbox entries of their transitions, in one synced
// batch. It is the seam for composite alarm actions: composite.go calls it
// where it would call writeComposites for a state change. s.mu must be held
// for writing.
func (s *Service) commitCompositeStates(prev, put []*CompositeAlarm, hist []HistoryItem) error {
	sets := make([]kv, 0, len(put))
	for _, c := range put {
		v, err := json.Marshal(c)
		if err != nil {
			return fmt.Errorf("encode composite alarm: %w", err)
		}
		sets = append(sets, kv{compositeKey(c.Tenant, c.Name), v})
	}
	now := s.cfg.Now().UTC()
	add, extra := compositeNotifications(prev, put, now)
	return s.commitOutbox(now, sets, slices.Concat(hist, extra), add)
}

// compositeNotifications is notifications for composite alarms.
func compositeNotifications(prev, next []*CompositeAlarm, now time.Time) ([]*outboxEntry, []HistoryItem) {
	var out []*outboxEntry
	var hist []HistoryItem
	for i, n := range next {
		p := prev[i]
		if p == nil || p.State.Value == n.State.Value || !n.ActionsEnabled {
			continue
		}
		e, h := deliveries(n.Tenant, n.Name, alarmTypeComposit, n.actionsFor(n.State.Value), now,
			func() ([]byte, error) { return compositeSNSMessage(n, p.State.Value) },
			func() ([]byte, error) { return compositeAlertmanagerAlerts(n, now) })
		out, hist = append(out, e...), append(hist, h...)
	}
	return out, hist
}

// actionsFor returns the composite alarm's actions for state.
func (c *CompositeAlarm) actionsFor(state string) []string {
	switch state {
	case StateOK:
		return c.OKActions
	case StateAlarm:
		return c.AlarmActions
	case StateInsufficientData:
		return c.InsufficientDataActions
	}
	return nil
}

type compositeSNSBody struct {
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
	AlarmRule                          string   `json:"AlarmRule"`
}

// compositeSNSMessage is snsMessage for a composite alarm: AlarmRule in
// place of Trigger.
func compositeSNSMessage(c *CompositeAlarm, old string) ([]byte, error) {
	v, err := json.Marshal(compositeSNSBody{AlarmName: c.Name, AlarmDescription: c.Description, AWSAccountID: accountID,
		AlarmConfigurationUpdatedTimestamp: isoTime(c.ConfigUpdated), NewStateValue: c.State.Value,
		NewStateReason: c.State.Reason, StateChangeTime: isoTime(c.State.Updated), Region: regionName,
		AlarmArn: c.ARN(), OldStateValue: old, OKActions: nonNil(c.OKActions), AlarmActions: nonNil(c.AlarmActions),
		InsufficientDataActions: nonNil(c.InsufficientDataActions), AlarmRule: c.Rule})
	if err != nil {
		return nil, fmt.Errorf("encode alarm message: %w", err)
	}
	return v, nil
}

// compositeAlertmanagerAlerts is alertmanagerAlerts for a composite alarm.
func compositeAlertmanagerAlerts(c *CompositeAlarm, now time.Time) ([]byte, error) {
	labels := map[string]string{"alertname": c.Name, "alarmType": alarmTypeComposit}
	if c.Tenant != "" {
		labels["tenant"] = c.Tenant
	}
	return encodeAMAlert(labels, map[string]string{"alarmArn": c.ARN(), "alarmRule": c.Rule}, c.State, c.Description, now)
}
