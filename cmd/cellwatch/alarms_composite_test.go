package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
)

func describeComposite(t *testing.T, cw *cloudwatch.Client, name string) types.CompositeAlarm {
	t.Helper()
	out, err := cw.DescribeAlarms(context.Background(), &cloudwatch.DescribeAlarmsInput{AlarmNames: []string{name},
		AlarmTypes: []types.AlarmType{types.AlarmTypeCompositeAlarm}})
	if err != nil {
		t.Fatalf("DescribeAlarms: %v", err)
	}
	if len(out.CompositeAlarms) != 1 || len(out.MetricAlarms) != 0 {
		t.Fatalf("DescribeAlarms %s: got %d composite, %d metric alarms; want 1, 0", name, len(out.CompositeAlarms), len(out.MetricAlarms))
	}
	return out.CompositeAlarms[0]
}

func TestCompositeAlarmThroughSDK(t *testing.T) {
	dir := t.TempDir()
	tn := startNode(t, testConfig(t, dir))
	cw, ctx := tn.sdk(), context.Background()
	for _, n := range []string{"a", "b"} {
		if _, err := cw.PutMetricAlarm(ctx, alarmInput(n)); err != nil {
			t.Fatalf("PutMetricAlarm %s: %v", n, err)
		}
	}
	rule := `ALARM("a") AND NOT OK(b)`
	if _, err := cw.PutCompositeAlarm(ctx, &cloudwatch.PutCompositeAlarmInput{AlarmName: aws.String("both"), AlarmRule: aws.String(rule),
		AlarmDescription: aws.String("a alarms and b is not fine"), AlarmActions: []string{"https://hooks.example/x"}}); err != nil {
		t.Fatalf("PutCompositeAlarm: %v", err)
	}
	c := describeComposite(t, cw, "both")
	// Evaluated on create: a and b are INSUFFICIENT_DATA, so the rule is false.
	if c.StateValue != types.StateValueOk || aws.ToString(c.StateReason) != "Alarm rule evaluated to FALSE" ||
		aws.ToString(c.AlarmRule) != rule || aws.ToString(c.AlarmArn) != "arn:aws:cloudwatch:us-east-1:000000000000:alarm:both" ||
		len(c.AlarmActions) != 1 || c.OKActions == nil || !aws.ToBool(c.ActionsEnabled) || c.AlarmConfigurationUpdatedTimestamp == nil {
		t.Errorf("new composite: %+v", c)
	}
	// Errors: syntax, unknown child.
	for _, r := range []string{`ALARM(a) AND`, `ALARM("nope")`, `alarm(a)`} {
		_, err := cw.PutCompositeAlarm(ctx, &cloudwatch.PutCompositeAlarmInput{AlarmName: aws.String("bad"), AlarmRule: aws.String(r)})
		if apiCode(err) != "ValidationError" {
			t.Errorf("rule %q: got %v; want ValidationError", r, err)
		}
	}
	// Children drive the composite.
	for i, step := range []struct {
		alarm string
		value types.StateValue
		want  types.StateValue
	}{
		{"a", types.StateValueAlarm, types.StateValueAlarm},
		{"b", types.StateValueOk, types.StateValueOk},
		{"b", types.StateValueAlarm, types.StateValueAlarm},
		{"a", types.StateValueOk, types.StateValueOk},
	} {
		if _, err := cw.SetAlarmState(ctx, &cloudwatch.SetAlarmStateInput{AlarmName: aws.String(step.alarm), StateValue: step.value,
			StateReason: aws.String("test")}); err != nil {
			t.Fatalf("SetAlarmState: %v", err)
		}
		if got := describeComposite(t, cw, "both"); got.StateValue != step.want {
			t.Errorf("step %d (%s→%s): composite %s %q; want %s", i, step.alarm, step.value, got.StateValue, aws.ToString(got.StateReason), step.want)
		}
	}
	c = describeComposite(t, cw, "both")
	var data struct {
		TriggeringAlarms []struct {
			Arn   string `json:"arn"`
			State struct {
				Value string `json:"value"`
			} `json:"state"`
		} `json:"triggeringAlarms"`
	}
	if err := json.Unmarshal([]byte(aws.ToString(c.StateReasonData)), &data); err != nil || len(data.TriggeringAlarms) != 1 ||
		!strings.HasSuffix(data.TriggeringAlarms[0].Arn, ":alarm:a") || data.TriggeringAlarms[0].State.Value != "OK" {
		t.Errorf("StateReasonData %q: %+v %v", aws.ToString(c.StateReasonData), data, err)
	}
	// SetAlarmState on the composite itself holds until a child changes.
	if _, err := cw.SetAlarmState(ctx, &cloudwatch.SetAlarmStateInput{AlarmName: aws.String("both"), StateValue: types.StateValueAlarm,
		StateReason: aws.String("manual")}); err != nil {
		t.Fatalf("SetAlarmState composite: %v", err)
	}
	if got := describeComposite(t, cw, "both"); got.StateValue != types.StateValueAlarm || aws.ToString(got.StateReason) != "manual" {
		t.Errorf("composite set: %s %q", got.StateValue, aws.ToString(got.StateReason))
	}
	// DescribeAlarms: without AlarmTypes only metric alarms; with both, both; children and parents.
	out, err := cw.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{})
	if err != nil || len(out.MetricAlarms) != 2 || len(out.CompositeAlarms) != 0 {
		t.Errorf("no AlarmTypes: %+v %v", out, err)
	}
	out, err = cw.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{AlarmTypes: []types.AlarmType{types.AlarmTypeCompositeAlarm, types.AlarmTypeMetricAlarm}})
	if err != nil || len(out.MetricAlarms) != 2 || len(out.CompositeAlarms) != 1 {
		t.Errorf("both AlarmTypes: %+v %v", out, err)
	}
	out, err = cw.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{ChildrenOfAlarmName: aws.String("both")})
	if err != nil || len(out.MetricAlarms) != 2 || len(out.CompositeAlarms) != 0 {
		t.Errorf("ChildrenOfAlarmName: %+v %v", out, err)
	}
	out, err = cw.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{ParentsOfAlarmName: aws.String("b")})
	if err != nil || len(out.CompositeAlarms) != 1 || aws.ToString(out.CompositeAlarms[0].AlarmName) != "both" {
		t.Errorf("ParentsOfAlarmName: %+v %v", out, err)
	}
	// DeleteAlarms refuses a child the composite depends on.
	if _, err := cw.DeleteAlarms(ctx, &cloudwatch.DeleteAlarmsInput{AlarmNames: []string{"a"}}); apiCode(err) != "ValidationError" {
		t.Errorf("delete a child: got %v; want ValidationError", err)
	}
	// History carries the composite's items.
	h, err := cw.DescribeAlarmHistory(ctx, &cloudwatch.DescribeAlarmHistoryInput{AlarmName: aws.String("both"),
		AlarmTypes: []types.AlarmType{types.AlarmTypeCompositeAlarm}})
	if err != nil || len(h.AlarmHistoryItems) < 2 {
		t.Errorf("history: %+v %v", h, err)
	}
	// A restart keeps the composite, its state, and its wiring.
	tn.stop()
	tn = startNode(t, testConfig(t, dir))
	cw = tn.sdk()
	if got := describeComposite(t, cw, "both"); got.StateValue != types.StateValueAlarm || aws.ToString(got.AlarmRule) != rule {
		t.Errorf("after restart: %s %q", got.StateValue, aws.ToString(got.AlarmRule))
	}
	if _, err := cw.SetAlarmState(ctx, &cloudwatch.SetAlarmStateInput{AlarmName: aws.String("b"), StateValue: types.StateValueOk,
		StateReason: aws.String("test")}); err != nil {
		t.Fatal(err)
	}
	if got := describeComposite(t, cw, "both"); got.StateValue != types.StateValueOk {
		t.Errorf("after restart, b OK: composite %s", got.StateValue)
	}
	if _, err := cw.DeleteAlarms(ctx, &cloudwatch.DeleteAlarmsInput{AlarmNames: []string{"both"}}); err != nil {
		t.Fatalf("delete composite: %v", err)
	}
	if _, err := cw.DeleteAlarms(ctx, &cloudwatch.DeleteAlarmsInput{AlarmNames: []string{"a"}}); err != nil {
		t.Errorf("delete a once its parent is gone: %v", err)
	}
}

func TestCompositeAlarmWireJSONAndQuery(t *testing.T) {
	tn := startNode(t, testConfig(t, t.TempDir()))
	status, body := tn.postJSON(t, "PutMetricAlarm", `{"AlarmName":"a","Namespace":"ns","MetricName":"m","Statistic":"Sum","Period":10,"EvaluationPeriods":1,"Threshold":30.0,"ComparisonOperator":"GreaterThanThreshold"}`)
	if status != 200 {
		t.Fatalf("PutMetricAlarm JSON: %d %s", status, body)
	}
	status, body = tn.postJSON(t, "PutCompositeAlarm", `{"AlarmName":"c","AlarmRule":"ALARM(\"a\") OR FALSE"}`)
	if status != 200 {
		t.Fatalf("PutCompositeAlarm JSON: %d %s", status, body)
	}
	status, body = tn.postJSON(t, "PutCompositeAlarm", `{"AlarmName":"bad","AlarmRule":"ALARM(a) OR"}`)
	if status != 400 || !strings.Contains(body, "ValidationException") || !strings.Contains(body, "Error in alarm rule") {
		t.Errorf("bad rule JSON: %d %s", status, body)
	}
	status, body = tn.postJSON(t, "DescribeAlarms", `{"AlarmTypes":["CompositeAlarm"]}`)
	for _, want := range []string{`"MetricAlarms":[]`, `"AlarmRule":"ALARM(\"a\") OR FALSE"`, `"OKActions":[]`, `"StateValue":"OK"`} {
		if status != 200 || !strings.Contains(body, want) {
			t.Errorf("DescribeAlarms JSON: %d %s; want %s", status, body, want)
		}
	}
	status, body = tn.postQuery(t, url.Values{"Action": {"PutCompositeAlarm"}, "AlarmName": {"q"}, "AlarmRule": {"OK(a)"},
		"AlarmActions.member.1": {"https://hooks.example/q"}})
	if status != 200 {
		t.Errorf("PutCompositeAlarm Query: %d %s", status, body)
	}
	status, body = tn.postQuery(t, url.Values{"Action": {"DescribeAlarms"}, "AlarmTypes.member.1": {"CompositeAlarm"}, "ParentsOfAlarmName": {"a"}})
	if status != 200 || !strings.Contains(body, "<AlarmName>q</AlarmName>") || !strings.Contains(body, "<AlarmName>c</AlarmName>") ||
		!strings.Contains(body, "<AlarmRule>OK(a)</AlarmRule>") {
		t.Errorf("DescribeAlarms Query: %d %s", status, body)
	}
	status, body = tn.postQuery(t, url.Values{"Action": {"DeleteAlarms"}, "AlarmNames.member.1": {"c"}, "AlarmNames.member.2": {"q"}})
	if status != 400 || !strings.Contains(body, "<Code>ValidationError</Code>") {
		t.Errorf("DeleteAlarms two composites, Query: %d %s", status, body)
	}
}

// A composite whose rule is already true when it is created is in ALARM
// right after PutCompositeAlarm: its webhook is notified and the transition
// is a StateUpdate history item, as for any transition.
func TestCompositeAlarmOnCreateThroughSDK(t *testing.T) {
	var mu sync.Mutex
	var bodies []string
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		bodies = append(bodies, string(b))
		mu.Unlock()
	}))
	defer hook.Close()
	tn := startNode(t, testConfig(t, t.TempDir()))
	cw, ctx := tn.sdk(), context.Background()
	if _, err := cw.PutMetricAlarm(ctx, alarmInput("child")); err != nil {
		t.Fatalf("PutMetricAlarm: %v", err)
	}
	if _, err := cw.SetAlarmState(ctx, &cloudwatch.SetAlarmStateInput{AlarmName: aws.String("child"), StateValue: types.StateValueAlarm,
		StateReason: aws.String("test")}); err != nil {
		t.Fatalf("SetAlarmState: %v", err)
	}
	if _, err := cw.PutCompositeAlarm(ctx, &cloudwatch.PutCompositeAlarmInput{AlarmName: aws.String("parent"),
		AlarmRule: aws.String(`ALARM("child")`), AlarmActions: []string{hook.URL + "/parent"}}); err != nil {
		t.Fatalf("PutCompositeAlarm: %v", err)
	}
	if c := describeComposite(t, cw, "parent"); c.StateValue != types.StateValueAlarm || aws.ToString(c.StateReason) != "Alarm rule evaluated to TRUE" {
		t.Errorf("new composite: %s %q; want ALARM", c.StateValue, aws.ToString(c.StateReason))
	}
	h, err := cw.DescribeAlarmHistory(ctx, &cloudwatch.DescribeAlarmHistoryInput{AlarmName: aws.String("parent"), HistoryItemType: types.HistoryItemTypeStateUpdate})
	if err != nil || len(h.AlarmHistoryItems) != 1 || aws.ToString(h.AlarmHistoryItems[0].HistorySummary) != "Alarm updated from INSUFFICIENT_DATA to ALARM" {
		t.Errorf("state history: %+v %v", h, err)
	}
	waitFor(t, 10*time.Second, "the composite's webhook notification", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(bodies) > 0
	})
	mu.Lock()
	defer mu.Unlock()
	if !strings.Contains(bodies[0], `"AlarmName":"parent"`) || !strings.Contains(bodies[0], `"NewStateValue":"ALARM"`) {
		t.Errorf("webhook body: %s", bodies[0])
	}
}
