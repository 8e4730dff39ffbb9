package alerting

import (
	"slices"
	"testing"
)

// Leaving ALARM resolves the alert at the Alertmanagers of the alarm
// actions too; only Alertmanagers are added, never webhooks or ARNs.
func TestNotificationTargets(t *testing.T) {
	const am, am2, hook = "alertmanager+http://am:9093", "alertmanager+http://am2:9093", "http://hook"
	base := Base{AlarmActions: []string{am, hook, "arn:aws:sns:x"}, OKActions: []string{am2}, InsufficientDataActions: nil}
	for _, tc := range []struct {
		old, next string
		want      []string
	}{
		{StateOK, StateAlarm, []string{am, hook, "arn:aws:sns:x"}},
		{StateAlarm, StateOK, []string{am2, am}},
		{StateAlarm, StateInsufficientData, []string{am}},
		{StateInsufficientData, StateOK, []string{am2}},
		{StateOK, StateInsufficientData, nil},
	} {
		b := base
		b.State.Value = tc.next
		if got := targets(&b, tc.old); !slices.Equal(got, tc.want) {
			t.Errorf("%s -> %s: %v; want %v", tc.old, tc.next, got, tc.want)
		}
	}
	if len(base.OKActions) != 1 {
		t.Errorf("targets changed the alarm's OKActions: %v", base.OKActions)
	}
}
