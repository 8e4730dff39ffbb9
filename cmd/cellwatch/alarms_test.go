package main

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/smithy-go"
)

func alarmInput(name string) *cloudwatch.PutMetricAlarmInput {
	return &cloudwatch.PutMetricAlarmInput{AlarmName: aws.String(name), Namespace: aws.String("MyApp"), MetricName: aws.String("Latency"),
		Dimensions: dims("Host", "a"), Statistic: types.StatisticAverage, Period: aws.Int32(60), EvaluationPeriods: aws.Int32(3),
		Threshold: aws.Float64(100), ComparisonOperator: types.ComparisonOperatorGreaterThanThreshold}
}

func describeAlarm(t *testing.T, cw *cloudwatch.Client, name string) types.MetricAlarm {
	t.Helper()
	out, err := cw.DescribeAlarms(context.Background(), &cloudwatch.DescribeAlarmsInput{AlarmNames: []string{name}})
	if err != nil {
		t.Fatalf("DescribeAlarms: %v", err)
	}
	if len(out.MetricAlarms) != 1 {
		t.Fatalf("DescribeAlarms %s: got %d alarms; want 1", name, len(out.MetricAlarms))
	}
	return out.MetricAlarms[0]
}

func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func TestAlarmLifecycleThroughSDK(t *testing.T) {
	dir := t.TempDir()
	tn := startNode(t, testConfig(t, dir))
	cw, ctx := tn.sdk(), context.Background()
	in := alarmInput("HighLatency")
	in.AlarmActions = []string{"arn:aws:sns:us-east-1:123456789012:alerts"}
	if _, err := cw.PutMetricAlarm(ctx, in); err != nil {
		t.Fatalf("PutMetricAlarm: %v", err)
	}
	a := describeAlarm(t, cw, "HighLatency")
	if a.StateValue != types.StateValueInsufficientData || aws.ToString(a.StateReason) != "Unchecked: Initial alarm creation" {
		t.Errorf("new alarm: got %s %q; want INSUFFICIENT_DATA \"Unchecked: Initial alarm creation\"", a.StateValue, aws.ToString(a.StateReason))
	}
	if aws.ToString(a.AlarmArn) != "arn:aws:cloudwatch:us-east-1:000000000000:alarm:HighLatency" || len(a.Dimensions) != 1 ||
		a.OKActions == nil || len(a.AlarmActions) != 1 || a.DatapointsToAlarm != nil || a.TreatMissingData != nil || !aws.ToBool(a.ActionsEnabled) {
		t.Errorf("new alarm shape: %+v", a)
	}
	// SetAlarmState round trip, and the history it leaves.
	if _, err := cw.SetAlarmState(ctx, &cloudwatch.SetAlarmStateInput{AlarmName: aws.String("HighLatency"), StateValue: types.StateValueAlarm,
		StateReason: aws.String("testing alarm"), StateReasonData: aws.String(`{"k":1}`)}); err != nil {
		t.Fatalf("SetAlarmState: %v", err)
	}
	a = describeAlarm(t, cw, "HighLatency")
	if a.StateValue != types.StateValueAlarm || aws.ToString(a.StateReason) != "testing alarm" || aws.ToString(a.StateReasonData) != `{"k":1}` {
		t.Errorf("after SetAlarmState: got %s %q %q", a.StateValue, aws.ToString(a.StateReason), aws.ToString(a.StateReasonData))
	}
	// An update keeps the state.
	in.Threshold = aws.Float64(200)
	if _, err := cw.PutMetricAlarm(ctx, in); err != nil {
		t.Fatalf("PutMetricAlarm update: %v", err)
	}
	if a = describeAlarm(t, cw, "HighLatency"); a.StateValue != types.StateValueAlarm || aws.ToFloat64(a.Threshold) != 200 {
		t.Errorf("after update: got %s threshold %v; want ALARM, 200", a.StateValue, aws.ToFloat64(a.Threshold))
	}
	checkHistory := func(t *testing.T) {
		t.Helper()
		h, err := cw.DescribeAlarmHistory(ctx, &cloudwatch.DescribeAlarmHistoryInput{AlarmName: aws.String("HighLatency"), HistoryItemType: types.HistoryItemTypeStateUpdate})
		if err != nil {
			t.Fatalf("DescribeAlarmHistory: %v", err)
		}
		if len(h.AlarmHistoryItems) != 1 || aws.ToString(h.AlarmHistoryItems[0].HistorySummary) != "Alarm updated from INSUFFICIENT_DATA to ALARM" {
			t.Errorf("state history: got %+v", h.AlarmHistoryItems)
		}
	}
	checkHistory(t)
	all, err := cw.DescribeAlarmHistory(ctx, &cloudwatch.DescribeAlarmHistoryInput{AlarmName: aws.String("HighLatency"), ScanBy: types.ScanByTimestampAscending})
	var kinds []string
	for _, h := range all.AlarmHistoryItems {
		kinds = append(kinds, string(h.HistoryItemType))
	}
	// The transition to ALARM also records its (undeliverable SNS) action,
	// at the same instant as the state update.
	if err != nil || len(kinds) != 4 || kinds[0] != "ConfigurationUpdate" || kinds[3] != "ConfigurationUpdate" ||
		!strings.Contains(strings.Join(kinds[1:3], ","), "StateUpdate") || !strings.Contains(strings.Join(kinds[1:3], ","), "Action") ||
		aws.ToString(all.AlarmHistoryItems[0].HistorySummary) != `Alarm "HighLatency" created` {
		t.Errorf("full history ascending: got %v %v; want created, state update, its action, updated", err, kinds)
	}

	// Restart: alarms, state and history survive.
	tn.stop()
	tn = startNode(t, testConfig(t, dir))
	cw = tn.sdk()
	if a = describeAlarm(t, cw, "HighLatency"); a.StateValue != types.StateValueAlarm || aws.ToString(a.StateReason) != "testing alarm" {
		t.Errorf("after restart: got %s %q; want ALARM \"testing alarm\"", a.StateValue, aws.ToString(a.StateReason))
	}
	checkHistory(t)

	// DeleteAlarms (unknown names ignored); history stays.
	if _, err := cw.DeleteAlarms(ctx, &cloudwatch.DeleteAlarmsInput{AlarmNames: []string{"HighLatency", "NoSuchAlarm"}}); err != nil {
		t.Fatalf("DeleteAlarms: %v", err)
	}
	out, err := cw.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{})
	if err != nil || len(out.MetricAlarms) != 0 || out.CompositeAlarms == nil {
		t.Errorf("after delete: got %v %+v; want no alarms", err, out)
	}
	checkHistory(t)
}

func TestAlarmErrorsThroughSDK(t *testing.T) {
	tn := startNode(t, testConfig(t, t.TempDir()))
	cw, ctx := tn.sdk(), context.Background()
	_, err := cw.SetAlarmState(ctx, &cloudwatch.SetAlarmStateInput{AlarmName: aws.String("nope"), StateValue: types.StateValueOk, StateReason: aws.String("x")})
	if apiCode(err) != "ResourceNotFound" {
		t.Errorf("SetAlarmState unknown alarm: got %v (code %q); want ResourceNotFound", err, apiCode(err))
	}
	if _, err := cw.PutMetricAlarm(ctx, alarmInput("a")); err != nil {
		t.Fatal(err)
	}
	_, err = cw.SetAlarmState(ctx, &cloudwatch.SetAlarmStateInput{AlarmName: aws.String("a"), StateValue: types.StateValueOk, StateReason: aws.String("x"), StateReasonData: aws.String("{not json")})
	if apiCode(err) != "InvalidFormat" {
		t.Errorf("SetAlarmState bad StateReasonData: got %v; want InvalidFormat", err)
	}
	_, err = cw.SetAlarmState(ctx, &cloudwatch.SetAlarmStateInput{AlarmName: aws.String("a"), StateValue: "BROKEN", StateReason: aws.String("x")})
	if apiCode(err) != "ValidationError" || !strings.Contains(err.Error(), "at 'stateValue' failed to satisfy constraint") {
		t.Errorf("SetAlarmState bad StateValue: got %v; want ValidationError at 'stateValue'", err)
	}
	for _, c := range []struct {
		name   string
		modify func(*cloudwatch.PutMetricAlarmInput)
		code   string
	}{
		{"period 45", func(in *cloudwatch.PutMetricAlarmInput) { in.Period = aws.Int32(45) }, "ValidationError"},
		{"period x N over a day", func(in *cloudwatch.PutMetricAlarmInput) { in.EvaluationPeriods = aws.Int32(1441) }, "ValidationError"},
		{"M > N", func(in *cloudwatch.PutMetricAlarmInput) { in.DatapointsToAlarm = aws.Int32(4) }, "ValidationError"},
		{"both statistics", func(in *cloudwatch.PutMetricAlarmInput) { in.ExtendedStatistic = aws.String("p99") }, "InvalidParameterCombination"},
		{"no statistic", func(in *cloudwatch.PutMetricAlarmInput) { in.Statistic = "" }, "MissingParameter"},
		{"six actions", func(in *cloudwatch.PutMetricAlarmInput) { in.OKActions = []string{"a", "b", "c", "d", "e", "f"} }, "ValidationError"},
		{"bad operator", func(in *cloudwatch.PutMetricAlarmInput) { in.ComparisonOperator = "Bigger" }, "ValidationError"},
		{"bad treat", func(in *cloudwatch.PutMetricAlarmInput) { in.TreatMissingData = aws.String("sometimes") }, "ValidationError"},
	} {
		in := alarmInput("bad")
		c.modify(in)
		if _, err := cw.PutMetricAlarm(ctx, in); apiCode(err) != c.code {
			t.Errorf("%s: got %v; want %s", c.name, err, c.code)
		}
	}
	if _, err := cw.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{MaxRecords: aws.Int32(101)}); apiCode(err) != "ValidationError" {
		t.Errorf("DescribeAlarms MaxRecords 101: got %v; want ValidationError", err)
	}
}

func TestAlarmDescribeFiltersThroughSDK(t *testing.T) {
	tn := startNode(t, testConfig(t, t.TempDir()))
	cw, ctx := tn.sdk(), context.Background()
	for _, name := range []string{"web-1", "web-2", "db-1"} {
		in := alarmInput(name)
		if name == "db-1" {
			in.MetricName = aws.String("Connections")
			in.OKActions = []string{"arn:aws:sns:us-east-1:123456789012:db"}
		}
		if _, err := cw.PutMetricAlarm(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	names := func(out *cloudwatch.DescribeAlarmsOutput) (s []string) {
		for _, a := range out.MetricAlarms {
			s = append(s, aws.ToString(a.AlarmName))
		}
		return s
	}
	out, err := cw.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{AlarmNamePrefix: aws.String("web-"), MaxRecords: aws.Int32(1)})
	if err != nil || strings.Join(names(out), ",") != "web-1" || out.NextToken == nil {
		t.Fatalf("prefix page 1: %v %v", err, names(out))
	}
	out, err = cw.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{AlarmNamePrefix: aws.String("web-"), MaxRecords: aws.Int32(1), NextToken: out.NextToken})
	if err != nil || strings.Join(names(out), ",") != "web-2" {
		t.Errorf("prefix page 2: %v %v", err, names(out))
	}
	if out, err = cw.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{ActionPrefix: aws.String("arn:aws:sns:us-east-1:123456789012:d")}); err != nil || strings.Join(names(out), ",") != "db-1" {
		t.Errorf("ActionPrefix: %v %v", err, names(out))
	}
	if out, err = cw.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{AlarmTypes: []types.AlarmType{types.AlarmTypeCompositeAlarm}}); err != nil || len(out.MetricAlarms) != 0 {
		t.Errorf("AlarmTypes CompositeAlarm: %v %v", err, names(out))
	}
	fm, err := cw.DescribeAlarmsForMetric(ctx, &cloudwatch.DescribeAlarmsForMetricInput{Namespace: aws.String("MyApp"), MetricName: aws.String("Latency"), Dimensions: dims("Host", "a")})
	if err != nil || len(fm.MetricAlarms) != 2 {
		t.Errorf("DescribeAlarmsForMetric: %v, %d alarms; want 2", err, len(fm.MetricAlarms))
	}
	if _, err := cw.DisableAlarmActions(ctx, &cloudwatch.DisableAlarmActionsInput{AlarmNames: []string{"web-1", "unknown"}}); err != nil {
		t.Fatal(err)
	}
	if a := describeAlarm(t, cw, "web-1"); aws.ToBool(a.ActionsEnabled) {
		t.Errorf("DisableAlarmActions: ActionsEnabled still true")
	}
	if _, err := cw.EnableAlarmActions(ctx, &cloudwatch.EnableAlarmActionsInput{AlarmNames: []string{"web-1"}}); err != nil {
		t.Fatal(err)
	}
	if a := describeAlarm(t, cw, "web-1"); !aws.ToBool(a.ActionsEnabled) {
		t.Errorf("EnableAlarmActions: ActionsEnabled still false")
	}
	if out, err = cw.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{StateValue: types.StateValueAlarm}); err != nil || len(out.MetricAlarms) != 0 {
		t.Errorf("StateValue ALARM: %v %v", err, names(out))
	}
}

func TestAlarmWireShapesJSONAndQuery(t *testing.T) {
	tn := startNode(t, testConfig(t, t.TempDir()))
	status, body := tn.postJSON(t, "PutMetricAlarm", `{"AlarmName":"a","Namespace":"ns","MetricName":"m","Statistic":"Sum","Period":10,"EvaluationPeriods":1,"Threshold":30.0,"ComparisonOperator":"GreaterThanThreshold"}`)
	if status != 200 {
		t.Fatalf("PutMetricAlarm JSON: %d %s", status, body)
	}
	status, body = tn.postJSON(t, "DescribeAlarms", `{}`)
	for _, want := range []string{`"CompositeAlarms":[]`, `"OKActions":[]`, `"AlarmActions":[]`, `"InsufficientDataActions":[]`, `"Dimensions":[]`, `"Threshold":30.0`, `"Period":10`} {
		if status != 200 || !strings.Contains(body, want) {
			t.Errorf("DescribeAlarms JSON: %d %s; want %s", status, body, want)
		}
	}
	for _, absent := range []string{"DatapointsToAlarm", "TreatMissingData", "Unit", "AlarmDescription", "StateReasonData", "NextToken"} {
		if strings.Contains(body, absent) {
			t.Errorf("DescribeAlarms JSON: %s present in %s", absent, body)
		}
	}
	status, body = tn.postJSON(t, "SetAlarmState", `{"AlarmName":"nope","StateValue":"OK","StateReason":"x"}`)
	if status != 404 || strings.Contains(body, "message") || !strings.Contains(body, "ResourceNotFound") {
		t.Errorf("SetAlarmState unknown, query mode: %d %s; want 404 ResourceNotFound without message", status, body)
	}
	status, body = tn.postQuery(t, url.Values{"Action": {"SetAlarmState"}, "AlarmName": {"nope"}, "StateValue": {"OK"}, "StateReason": {"x"}})
	if status != 404 || !strings.Contains(body, "<Code>ResourceNotFound</Code>") {
		t.Errorf("SetAlarmState unknown, Query: %d %s", status, body)
	}
	status, body = tn.postQuery(t, url.Values{"Action": {"DescribeAlarms"}, "AlarmNames.member.1": {"a"}})
	if status != 200 || !strings.Contains(body, "<AlarmName>a</AlarmName>") || !strings.Contains(body, "<OKActions/>") {
		t.Errorf("DescribeAlarms Query: %d %s", status, body)
	}
}
