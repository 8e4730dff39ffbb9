package alerting

import (
	"slices"
	"testing"
	"time"
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

// Firing lists exactly the alarms in ALARM with actions enabled and
// Alertmanagers among their alarm actions, of both types, with only those
// targets.
func TestStoreFiring(t *testing.T) {
	const am, hook = "alertmanager+http://127.0.0.1:1", "http://127.0.0.1:1/hook"
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	s := startStore(t, t.TempDir(), now)
	defer stopStore(t, s)
	metric := func(name string, actions []string) *Alarm {
		return &Alarm{Base: Base{Name: name, ActionsEnabled: true, AlarmActions: actions}, Metric: Metric{Namespace: "ns", MetricName: "cpu"},
			Statistic: "Average", Period: 60, EvaluationPeriods: 1, ComparisonOperator: "GreaterThanThreshold"}
	}
	for _, a := range []Any{metric("fires", []string{hook, am}), metric("ok", []string{am}), metric("disabled", []string{am}), metric("hookonly", []string{hook})} {
		if err := s.Put(a); err != nil {
			t.Fatal(err)
		}
	}
	c := &CompositeAlarm{Base: Base{Name: "comp", ActionsEnabled: true, AlarmActions: []string{am}}, Rule: "ALARM(fires)"}
	if err := c.ParseRule(); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(c); err != nil {
		t.Fatal(err)
	}
	if err := s.SetActionsEnabled("", []string{"disabled"}, false); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"fires", "disabled", "hookonly"} {
		if err := s.SetState("", name, State{Value: StateAlarm, Reason: "set", Updated: now}); err != nil {
			t.Fatal(err)
		}
	}
	got := map[string][]string{}
	for _, f := range s.Firing() {
		got[f.Alarm.Name] = f.Targets
		if f.Alarm.State != StateAlarm || f.Alarm.Labels["alertname"] != f.Alarm.Name {
			t.Errorf("firing %s: %+v", f.Alarm.Name, f.Alarm)
		}
	}
	want := map[string][]string{"fires": {am}, "comp": {am}}
	if len(got) != len(want) || !slices.Equal(got["fires"], want["fires"]) || !slices.Equal(got["comp"], want["comp"]) {
		t.Errorf("Firing: %v; want %v", got, want)
	}
}
