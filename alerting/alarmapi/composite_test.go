package alarmapi

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cellwatch/cellwatch/alerting"
	"github.com/cellwatch/cellwatch/internal/awsapi"
	"github.com/cellwatch/cellwatch/query"
)

func apiErr(err error) string {
	var e *awsapi.Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

func TestCompositeAlarmService(t *testing.T) {
	dir := t.TempDir()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	open := func() *testService { return mustOpen(t, dir, func() time.Time { return now }) }
	s := open()
	for _, n := range []string{"a", "b"} {
		if _, err := call(t, s.PutMetricAlarm, `{"AlarmName":"`+n+`","Namespace":"ns","MetricName":"m","Statistic":"Average","Period":60,"EvaluationPeriods":1,"Threshold":5,"ComparisonOperator":"GreaterThanThreshold"}`); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct{ body, code string }{
		{`{"AlarmName":"x","AlarmRule":"ALARM(a) AND"}`, "ValidationError"},
		{`{"AlarmName":"x","AlarmRule":"ALARM(nope)"}`, "ValidationError"},
		{`{"AlarmName":"x","AlarmRule":"ALARM(x)"}`, "ValidationError"},
		{`{"AlarmName":"x"}`, "ValidationError"},
		{`{"AlarmName":"x","AlarmRule":""}`, "ValidationError"},
		{`{"AlarmName":"a","AlarmRule":"TRUE"}`, "InvalidParameterValue"},
		{`{"AlarmName":"x","AlarmRule":"TRUE","AlarmActions":["1","2","3","4","5","6"]}`, "ValidationError"},
	} {
		if _, err := call(t, s.PutCompositeAlarm, tc.body); apiErr(err) != tc.code {
			t.Errorf("%s: got %v; want %s", tc.body, err, tc.code)
		}
	}
	put := func(name, rule string) {
		t.Helper()
		if _, err := call(t, s.PutCompositeAlarm, `{"AlarmName":"`+name+`","AlarmRule":`+jsonString(rule)+`}`); err != nil {
			t.Fatalf("put %s: %v", name, err)
		}
	}
	put("c", `ALARM(a) AND NOT OK(b)`)
	put("top", `ALARM("c")`)
	// c depends on top through an update: a cycle.
	if _, err := call(t, s.PutCompositeAlarm, `{"AlarmName":"c","AlarmRule":"ALARM(top)"}`); apiErr(err) != "ValidationError" {
		t.Errorf("cycle: got %v; want ValidationError", err)
	}
	comp := func(name string) alerting.State {
		t.Helper()
		return s.Composite(awsapi.DefaultTenant, name).State
	}
	// Evaluated on create: a and b are INSUFFICIENT_DATA, so the rule is false.
	if st := comp("c"); st.Value != alerting.StateOK || st.Reason != "Alarm rule evaluated to FALSE" {
		t.Errorf("new composite: %+v", st)
	}
	set := func(name, value string) {
		t.Helper()
		now = now.Add(time.Second)
		if _, err := call(t, s.SetAlarmState, `{"AlarmName":"`+name+`","StateValue":"`+value+`","StateReason":"test"}`); err != nil {
			t.Fatalf("set %s: %v", name, err)
		}
	}
	for i, step := range []struct {
		alarm, value string
		c, top       string
	}{
		{"a", alerting.StateAlarm, alerting.StateAlarm, alerting.StateAlarm}, // b INSUFFICIENT_DATA: NOT OK(b)
		{"b", alerting.StateOK, alerting.StateOK, alerting.StateOK},
		{"b", alerting.StateAlarm, alerting.StateAlarm, alerting.StateAlarm},
		{"a", alerting.StateOK, alerting.StateOK, alerting.StateOK},
		{"c", alerting.StateAlarm, alerting.StateAlarm, alerting.StateAlarm}, // set on a composite: stays until a child changes
		{"b", alerting.StateOK, alerting.StateOK, alerting.StateOK},
	} {
		set(step.alarm, step.value)
		if got := comp("c").Value; got != step.c {
			t.Errorf("step %d (%s→%s): c is %s; want %s", i, step.alarm, step.value, got, step.c)
		}
		if got := comp("top").Value; got != step.top {
			t.Errorf("step %d (%s→%s): top is %s; want %s", i, step.alarm, step.value, got, step.top)
		}
	}
	set("a", alerting.StateAlarm) // b is OK: c stays OK
	set("b", alerting.StateAlarm) // c goes to ALARM, triggered by b
	st := comp("c")
	var data struct {
		TriggeringAlarms []struct {
			ARN   string `json:"arn"`
			State struct{ Value, Timestamp string }
		} `json:"triggeringAlarms"`
	}
	if err := json.Unmarshal([]byte(st.ReasonData), &data); err != nil || len(data.TriggeringAlarms) != 1 ||
		data.TriggeringAlarms[0].ARN != alerting.ARNPrefix+"b" || data.TriggeringAlarms[0].State.Value != alerting.StateAlarm {
		t.Errorf("reason data %s: %+v %v", st.ReasonData, data, err)
	}
	if !strings.HasPrefix(st.Reason, alerting.ARNPrefix+"b transitioned to ALARM at ") {
		t.Errorf("reason: %q", st.Reason)
	}
	// Describe filters.
	out, err := call(t, s.DescribeAlarms, `{"ChildrenOfAlarmName":"c"}`)
	if err != nil || len(out[1].Value.(awsapi.List)) != 2 || len(out[0].Value.(awsapi.List)) != 0 {
		t.Errorf("children of c: %v %v", out, err)
	}
	out, err = call(t, s.DescribeAlarms, `{"ParentsOfAlarmName":"c"}`)
	if err != nil || len(out[0].Value.(awsapi.List)) != 1 {
		t.Errorf("parents of c: %v %v", out, err)
	}
	out, err = call(t, s.DescribeAlarms, `{}`)
	if err != nil || len(out[0].Value.(awsapi.List)) != 0 || len(out[1].Value.(awsapi.List)) != 2 {
		t.Errorf("no AlarmTypes: %v %v", out, err)
	}
	out, err = call(t, s.DescribeAlarms, `{"AlarmTypes":["CompositeAlarm","MetricAlarm"],"MaxRecords":3}`)
	if err != nil || len(out[0].Value.(awsapi.List))+len(out[1].Value.(awsapi.List)) != 3 || len(out) != 3 {
		t.Errorf("both types, 3 records: %v %v", out, err)
	}
	// Deletion: refused while a parent remains, one composite per call.
	for _, body := range []string{`{"AlarmNames":["a"]}`, `{"AlarmNames":["c"]}`, `{"AlarmNames":["c","top"]}`} {
		if _, err := call(t, s.DeleteAlarms, body); apiErr(err) != "ValidationError" {
			t.Errorf("delete %s: got %v; want ValidationError", body, err)
		}
	}
	if _, err := call(t, s.DeleteAlarms, `{"AlarmNames":["top"]}`); err != nil {
		t.Fatal(err)
	}
	// Restart keeps c and its state.
	want := comp("c")
	s.Close()
	s = open()
	defer s.Close()
	if got := comp("c"); got.Value != want.Value || got.Reason != want.Reason {
		t.Errorf("after restart: %+v; want %+v", got, want)
	}
	set("b", alerting.StateOK)
	if got := comp("c").Value; got != alerting.StateOK {
		t.Errorf("after restart, b OK: c is %s", got)
	}
	if _, err := call(t, s.DeleteAlarms, `{"AlarmNames":["c","a","b"]}`); err != nil {
		t.Fatal(err)
	}
	if s.Alarm(awsapi.DefaultTenant, "a") != nil || len(s.store.List(awsapi.DefaultTenant)) != 0 {
		t.Error("delete c, a, b together left alarms behind")
	}
}

func TestCompositeFollowsEvaluator(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 10, 30, 0, time.UTC)
	f := &fakeReader{values: map[int64]query.AlarmDatapoint{}}
	end := now.Add(-10*time.Second).Unix() / 60 * 60
	for i := int64(1); i <= 5; i++ {
		f.values[end-i*60] = query.AlarmDatapoint{Value: 10, SampleCount: 1}
	}
	s, err := openService(t, alerting.Config{Dir: t.TempDir(), Reader: f, Now: func() time.Time { return now }}, prometheus.NewRegistry(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := call(t, s.PutMetricAlarm, `{"AlarmName":"m","Namespace":"ns","MetricName":"m","Statistic":"Average","Period":60,"EvaluationPeriods":3,"Threshold":5,"ComparisonOperator":"GreaterThanThreshold"}`); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, rule string }{{"c", `ALARM(m)`}, {"notc", `NOT ALARM("c")`}} {
		if _, err := call(t, s.PutCompositeAlarm, `{"AlarmName":"`+tc.name+`","AlarmRule":`+jsonString(tc.rule)+`}`); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := call(t, s.PutMetricAlarm, `{"AlarmName":"c","Namespace":"ns","MetricName":"m","Statistic":"Average","Period":60,"EvaluationPeriods":3,"Threshold":5,"ComparisonOperator":"GreaterThanThreshold"}`); apiErr(err) != "InvalidParameterValue" {
		t.Errorf("metric alarm named like a composite: got %v; want InvalidParameterValue", err)
	}
	s.EvaluateDue(context.Background(), map[string]int64{})
	for name, want := range map[string]string{"c": alerting.StateAlarm, "notc": alerting.StateOK} {
		if got := s.Composite(awsapi.DefaultTenant, name).State; got.Value != want {
			t.Errorf("%s after evaluation: %s %q; want %s", name, got.Value, got.Reason, want)
		}
	}
}

func TestCompositeActionsEnabled(t *testing.T) {
	s, err := openService(t, alerting.Config{Dir: t.TempDir()}, prometheus.NewRegistry(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := call(t, s.PutCompositeAlarm, `{"AlarmName":"c","AlarmRule":"TRUE"}`); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		h    Handler
		want bool
	}{{s.DisableAlarmActions, false}, {s.EnableAlarmActions, true}} {
		if _, err := call(t, tc.h, `{"AlarmNames":["c","c","nope"]}`); err != nil {
			t.Fatal(err)
		}
		if got := s.Composite(awsapi.DefaultTenant, "c").ActionsEnabled; got != tc.want {
			t.Errorf("ActionsEnabled: got %v; want %v", got, tc.want)
		}
	}
}

// A composite whose rule is already true is in ALARM right after its
// PutCompositeAlarm, with the history of the transition; an update that
// makes the rule false moves it to OK at once.
func TestCompositeEvaluatedOnPut(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	s, err := openService(t, alerting.Config{Dir: t.TempDir(), Now: func() time.Time { return now }}, prometheus.NewRegistry(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := call(t, s.PutMetricAlarm, `{"AlarmName":"a","Namespace":"ns","MetricName":"m","Statistic":"Average","Period":60,"EvaluationPeriods":1,"Threshold":5,"ComparisonOperator":"GreaterThanThreshold"}`); err != nil {
		t.Fatal(err)
	}
	if _, err := call(t, s.SetAlarmState, `{"AlarmName":"a","StateValue":"ALARM","StateReason":"test"}`); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ rule, want, reason string }{
		{`ALARM(a)`, alerting.StateAlarm, "Alarm rule evaluated to TRUE"},
		{`TRUE`, alerting.StateAlarm, "Alarm rule evaluated to TRUE"},
		{`OK(a) OR FALSE`, alerting.StateOK, "Alarm rule evaluated to FALSE"},
		{`ALARM(a) AND NOT INSUFFICIENT_DATA(a)`, alerting.StateAlarm, "Alarm rule evaluated to TRUE"}, // update: back to ALARM
	} {
		if _, err := call(t, s.PutCompositeAlarm, `{"AlarmName":"c","AlarmRule":`+jsonString(tc.rule)+`}`); err != nil {
			t.Fatalf("put %s: %v", tc.rule, err)
		}
		if st := s.Composite(awsapi.DefaultTenant, "c").State; st.Value != tc.want || st.Reason != tc.reason {
			t.Errorf("after put %s: %+v; want %s", tc.rule, st, tc.want)
		}
	}
	out, err := call(t, s.DescribeAlarmHistory, `{"AlarmName":"c","HistoryItemType":"StateUpdate","ScanBy":"TimestampAscending"}`)
	if err != nil {
		t.Fatal(err)
	}
	var summaries []string
	for _, it := range out[0].Value.(awsapi.List) {
		for _, f := range it.(awsapi.Object) {
			if f.Name == "HistorySummary" {
				summaries = append(summaries, f.Value.(string))
			}
		}
	}
	want := []string{"Alarm updated from INSUFFICIENT_DATA to ALARM", "Alarm updated from ALARM to OK", "Alarm updated from OK to ALARM"}
	if strings.Join(summaries, "|") != strings.Join(want, "|") {
		t.Errorf("state history: %q; want %q", summaries, want)
	}
}
