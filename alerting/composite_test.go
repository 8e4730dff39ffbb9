package alerting

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cellwatch/cellwatch/internal/awsapi"
)

// show prints a parsed rule fully parenthesised, to check precedence.
func show(n *ruleNode) string {
	switch n.op {
	case "TRUE", "FALSE":
		return n.op
	case "NOT":
		return "NOT " + show(n.args[0])
	case "AND", "OR":
		return "(" + show(n.args[0]) + " " + n.op + " " + show(n.args[1]) + ")"
	}
	return n.op + "(" + n.alarm + ")"
}

func TestParseRule(t *testing.T) {
	for _, tc := range []struct {
		rule, want, err string
	}{
		{rule: `ALARM("a")`, want: `ALARM(a)`},
		{rule: `ALARM(a)`, want: `ALARM(a)`},
		{rule: ` OK( "my alarm" ) `, want: `OK(my alarm)`},
		{rule: `INSUFFICIENT_DATA(x-1.b)`, want: `INSUFFICIENT_DATA(x-1.b)`},
		{rule: `ALARM("quote\"d")`, want: `ALARM(quote"d)`},
		{rule: `TRUE`, want: `TRUE`},
		{rule: `FALSE`, want: `FALSE`},
		{rule: `ALARM(a) AND NOT OK(b)`, want: `(ALARM(a) AND NOT OK(b))`},
		{rule: `ALARM(a) OR ALARM(b) AND ALARM(c)`, want: `(ALARM(a) OR (ALARM(b) AND ALARM(c)))`},
		{rule: `ALARM(a) AND ALARM(b) OR ALARM(c)`, want: `((ALARM(a) AND ALARM(b)) OR ALARM(c))`},
		{rule: `NOT ALARM(a) AND ALARM(b)`, want: `(NOT ALARM(a) AND ALARM(b))`},
		{rule: `NOT (ALARM(a) OR ALARM(b))`, want: `NOT (ALARM(a) OR ALARM(b))`},
		{rule: `(ALARM(a) OR ALARM(b)) AND ALARM(c)`, want: `((ALARM(a) OR ALARM(b)) AND ALARM(c))`},
		{rule: `NOT NOT TRUE`, want: `NOT NOT TRUE`},
		{rule: `ALARM(a) OR OK(b) OR FALSE`, want: `((ALARM(a) OR OK(b)) OR FALSE)`},
		{rule: ``, err: "unexpected end of rule"},
		{rule: `ALARM`, err: "expected ( after ALARM"},
		{rule: `ALARM()`, err: "missing alarm name"},
		{rule: `ALARM("")`, err: "empty alarm name"},
		{rule: `ALARM("a`, err: "unterminated alarm name"},
		{rule: `ALARM("a"`, err: "expected ) after the alarm name"},
		{rule: `(ALARM(a)`, err: "missing closing parenthesis"},
		{rule: `ALARM(a) AND`, err: "unexpected end of rule"},
		{rule: `ALARM(a) XOR ALARM(b)`, err: `unexpected "XOR"`},
		{rule: `alarm(a)`, err: `unexpected "alarm"`},
		{rule: `true`, err: `unexpected "true"`},
		{rule: `ALARM(a))`, err: `unexpected ")"`},
		{rule: `AND ALARM(a)`, err: `unexpected "AND"`},
	} {
		n, err := parseRule(tc.rule)
		switch {
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("%q: got error %v; want one containing %q", tc.rule, err, tc.err)
		case tc.err == "" && err != nil:
			t.Errorf("%q: %v", tc.rule, err)
		case tc.err == "" && show(n) != tc.want:
			t.Errorf("%q: parsed as %s; want %s", tc.rule, show(n), tc.want)
		}
	}
}

func TestEvalRule(t *testing.T) {
	states := map[string]string{"a": StateAlarm, "b": StateOK, "c": StateInsufficientData}
	state := func(n string) string { return states[n] }
	for _, tc := range []struct {
		rule string
		want bool
	}{
		{`ALARM(a)`, true},
		{`ALARM(b)`, false},
		{`OK(b)`, true},
		{`INSUFFICIENT_DATA(c)`, true},
		{`INSUFFICIENT_DATA(a)`, false},
		{`ALARM(a) AND NOT OK(b)`, false},
		{`ALARM(a) AND NOT OK(c)`, true},
		{`ALARM(b) OR ALARM(a) AND OK(b)`, true},
		{`(ALARM(b) OR ALARM(a)) AND ALARM(b)`, false},
		{`NOT ALARM(a) OR OK(b)`, true},
		{`NOT (ALARM(a) OR OK(b))`, false},
		{`TRUE AND FALSE`, false},
		{`FALSE OR TRUE`, true},
		{`ALARM(gone)`, false},
		{`NOT OK(gone)`, true},
	} {
		n, err := parseRule(tc.rule)
		if err != nil {
			t.Fatalf("%q: %v", tc.rule, err)
		}
		if got := n.eval(state); got != tc.want {
			t.Errorf("%q: got %v; want %v", tc.rule, got, tc.want)
		}
	}
}

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
	open := func() *Service {
		s, err := New(Config{Dir: dir, Now: func() time.Time { return now }}, prometheus.NewRegistry(), nil)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
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
	comp := func(name string) State {
		t.Helper()
		s.mu.RLock()
		defer s.mu.RUnlock()
		return s.composites[awsapi.DefaultTenant][name].State
	}
	if st := comp("c"); st.Value != StateInsufficientData || st.Reason != "Unchecked: Initial alarm creation" {
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
		{"a", StateAlarm, StateAlarm, StateAlarm}, // b INSUFFICIENT_DATA: NOT OK(b)
		{"b", StateOK, StateOK, StateOK},
		{"b", StateAlarm, StateAlarm, StateAlarm},
		{"a", StateOK, StateOK, StateOK},
		{"c", StateAlarm, StateAlarm, StateAlarm}, // set on a composite: stays until a child changes
		{"b", StateOK, StateOK, StateOK},
	} {
		set(step.alarm, step.value)
		if got := comp("c").Value; got != step.c {
			t.Errorf("step %d (%s→%s): c is %s; want %s", i, step.alarm, step.value, got, step.c)
		}
		if got := comp("top").Value; got != step.top {
			t.Errorf("step %d (%s→%s): top is %s; want %s", i, step.alarm, step.value, got, step.top)
		}
	}
	set("a", StateAlarm) // b is OK: c stays OK
	set("b", StateAlarm) // c goes to ALARM, triggered by b
	st := comp("c")
	var data struct {
		TriggeringAlarms []struct {
			ARN   string `json:"arn"`
			State struct{ Value, Timestamp string }
		} `json:"triggeringAlarms"`
	}
	if err := json.Unmarshal([]byte(st.ReasonData), &data); err != nil || len(data.TriggeringAlarms) != 1 ||
		data.TriggeringAlarms[0].ARN != arnPrefix+"b" || data.TriggeringAlarms[0].State.Value != StateAlarm {
		t.Errorf("reason data %s: %+v %v", st.ReasonData, data, err)
	}
	if !strings.HasPrefix(st.Reason, arnPrefix+"b transitioned to ALARM at ") {
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
	set("b", StateOK)
	if got := comp("c").Value; got != StateOK {
		t.Errorf("after restart, b OK: c is %s", got)
	}
	if _, err := call(t, s.DeleteAlarms, `{"AlarmNames":["c","a","b"]}`); err != nil {
		t.Fatal(err)
	}
	if s.Alarm(awsapi.DefaultTenant, "a") != nil || len(s.composites[awsapi.DefaultTenant]) != 0 {
		t.Error("delete c, a, b together left alarms behind")
	}
}

func TestCompositeFollowsEvaluator(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 10, 30, 0, time.UTC)
	f := &fakeReader{values: map[int64]Datapoint{}}
	end := now.Add(-10*time.Second).Unix() / 60 * 60
	for i := int64(1); i <= 5; i++ {
		f.values[end-i*60] = Datapoint{Value: 10, SampleCount: 1}
	}
	s, err := New(Config{Dir: t.TempDir(), Reader: f, Now: func() time.Time { return now }}, prometheus.NewRegistry(), nil)
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
	s.mu.RLock()
	defer s.mu.RUnlock()
	for name, want := range map[string]string{"c": StateAlarm, "notc": StateOK} {
		if got := s.composites[awsapi.DefaultTenant][name].State; got.Value != want {
			t.Errorf("%s after evaluation: %s %q; want %s", name, got.Value, got.Reason, want)
		}
	}
}

func TestCompositeActionsEnabled(t *testing.T) {
	s, err := New(Config{Dir: t.TempDir()}, prometheus.NewRegistry(), nil)
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
		if got := s.composites[awsapi.DefaultTenant]["c"].ActionsEnabled; got != tc.want {
			t.Errorf("ActionsEnabled: got %v; want %v", got, tc.want)
		}
	}
}
