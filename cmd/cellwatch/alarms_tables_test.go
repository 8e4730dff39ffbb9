package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"

	"github.com/cellwatch/cellwatch/fallback"
)

// evalEnd is the end of the range the evaluator uses at now: the last period
// boundary at least the evaluation delay (10 s) ago.
func evalEnd(now time.Time) time.Time { return now.Add(-10 * time.Second).Truncate(time.Minute) }

// steadyMinute waits until the next evaluation's range cannot move for a
// while, so a test's writes and its evaluation see the same five periods.
func steadyMinute(t *testing.T) time.Time {
	t.Helper()
	for {
		now := time.Now()
		if into := now.Add(-10 * time.Second).Sub(evalEnd(now)); into >= 2*time.Second && into <= 40*time.Second {
			return evalEnd(now)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// missingDataCase is one cell of the missing-data tables of docs/cloudwatch-api.md §4.3.
type missingDataCase struct {
	row    string // oldest to newest: 0 not breaching, X breaching, - missing
	m      int32  // DatapointsToAlarm (N is 3)
	treat  string
	want   string // a state, or "retain"
	before types.StateValue
}

func missingDataCases() []missingDataCase {
	treats := []string{"missing", "ignore", "breaching", "notBreaching"}
	rows := []struct {
		row  string
		m    int32
		want [4]string
	}{
		{"0 - X - X", 3, [4]string{"OK", "OK", "OK", "OK"}},
		{"0 - - - -", 3, [4]string{"OK", "OK", "OK", "OK"}},
		{"- - - - -", 3, [4]string{"INSUFFICIENT_DATA", "retain", "ALARM", "OK"}},
		{"0 X X - X", 3, [4]string{"ALARM", "ALARM", "ALARM", "ALARM"}},
		{"- - X - -", 3, [4]string{"ALARM", "retain", "ALARM", "OK"}},
		{"0 - X - X", 2, [4]string{"ALARM", "ALARM", "ALARM", "ALARM"}},
		{"0 0 X 0 X", 2, [4]string{"ALARM", "ALARM", "ALARM", "ALARM"}},
		{"0 - X - -", 2, [4]string{"OK", "OK", "ALARM", "OK"}},
		{"- - - - 0", 2, [4]string{"OK", "OK", "ALARM", "OK"}},
		{"- - - X -", 2, [4]string{"ALARM", "retain", "ALARM", "OK"}},
	}
	var out []missingDataCase
	for _, r := range rows {
		for i, treat := range treats {
			if r.want[i] == "retain" {
				for _, from := range []types.StateValue{types.StateValueOk, types.StateValueAlarm} {
					out = append(out, missingDataCase{r.row, r.m, treat, "retain", from})
				}
				continue
			}
			out = append(out, missingDataCase{r.row, r.m, treat, r.want[i], ""})
		}
	}
	return out
}

// TestMissingDataTablesThroughTheAPI drives every cell of both tables of
// the reference through the public API: PutMetricData writes the row's
// datapoints into the five periods before the evaluation, PutMetricAlarm
// creates the alarm, SetAlarmState sets the state a "retain" cell starts
// from, one evaluation pass runs, and DescribeAlarms reads the state.
func TestMissingDataTablesThroughTheAPI(t *testing.T) {
	tn := startNode(t, testConfig(t, t.TempDir()))
	cw, ctx := tn.sdk(), context.Background()
	end := steadyMinute(t)
	cases := missingDataCases()
	var data []types.MetricDatum
	for i, c := range cases {
		metric := fmt.Sprintf("case%02d", i)
		for j, p := range strings.Fields(c.row) {
			if p == "-" {
				continue
			}
			v := 0.0
			if p == "X" {
				v = 1
			}
			ts := end.Add(time.Duration(j-5)*time.Minute + 30*time.Second)
			data = append(data, types.MetricDatum{MetricName: aws.String(metric), Value: aws.Float64(v), Timestamp: aws.Time(ts)})
		}
		_, err := cw.PutMetricAlarm(ctx, &cloudwatch.PutMetricAlarmInput{AlarmName: aws.String(metric), Namespace: aws.String("Tables"), MetricName: aws.String(metric),
			Statistic: types.StatisticMaximum, Period: aws.Int32(60), EvaluationPeriods: aws.Int32(3), DatapointsToAlarm: aws.Int32(c.m),
			Threshold: aws.Float64(0.5), ComparisonOperator: types.ComparisonOperatorGreaterThanThreshold, TreatMissingData: aws.String(c.treat)})
		if err != nil {
			t.Fatal(err)
		}
	}
	if _, err := cw.PutMetricData(ctx, &cloudwatch.PutMetricDataInput{Namespace: aws.String("Tables"), MetricData: data}); err != nil {
		t.Fatal(err)
	}
	for i, c := range cases {
		if c.before != "" {
			if _, err := cw.SetAlarmState(ctx, &cloudwatch.SetAlarmStateInput{AlarmName: aws.String(fmt.Sprintf("case%02d", i)), StateValue: c.before, StateReason: aws.String("test start")}); err != nil {
				t.Fatal(err)
			}
		}
	}
	tn.evaluator.EvaluateDue(ctx, map[string]int64{})
	if got := evalEnd(time.Now()); !got.Equal(end) {
		t.Skipf("the evaluation range moved during the test (%v -> %v); it needs a steady minute", end, got)
	}
	for i, c := range cases {
		name := fmt.Sprintf("case%02d", i)
		out, err := cw.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{AlarmNames: []string{name}})
		if err != nil || len(out.MetricAlarms) != 1 {
			t.Fatalf("DescribeAlarms %s: %v", name, err)
		}
		got := string(out.MetricAlarms[0].StateValue)
		want := c.want
		if want == "retain" {
			want = string(c.before)
		}
		if got != want {
			t.Errorf("%s (M=%d, %s, from %q): got %s (%s); want %s", c.row, c.m, c.treat, c.before, got, *out.MetricAlarms[0].StateReason, want)
		}
	}
}

// TestAlarmsKeepTheirStateThroughAStreamOutage: alarms read the local store,
// so a stream outage with the publisher still running changes nothing.
func TestAlarmsKeepTheirStateThroughAStreamOutage(t *testing.T) {
	tn := startNode(t, testConfig(t, t.TempDir()))
	cw, ctx := tn.sdk(), context.Background()
	end := steadyMinute(t)
	for _, a := range []struct {
		name      string
		threshold float64
	}{{"hot", 5}, {"cold", 50}} {
		if _, err := cw.PutMetricAlarm(ctx, &cloudwatch.PutMetricAlarmInput{AlarmName: aws.String(a.name), Namespace: aws.String("Outage"), MetricName: aws.String("load"),
			Statistic: types.StatisticAverage, Period: aws.Int32(60), EvaluationPeriods: aws.Int32(3), Threshold: aws.Float64(a.threshold),
			ComparisonOperator: types.ComparisonOperatorGreaterThanThreshold, TreatMissingData: aws.String("breaching")}); err != nil {
			t.Fatal(err)
		}
	}
	if err := tn.faulty.Set(fallback.Fault{Mode: fallback.FaultDown}); err != nil {
		t.Fatal(err)
	}
	var data []types.MetricDatum
	for m := 1; m <= 5; m++ {
		data = append(data, types.MetricDatum{MetricName: aws.String("load"), Value: aws.Float64(10), Timestamp: aws.Time(end.Add(-time.Duration(m) * time.Minute))})
	}
	if _, err := cw.PutMetricData(ctx, &cloudwatch.PutMetricDataInput{Namespace: aws.String("Outage"), MetricData: data}); err != nil {
		t.Fatal(err)
	}
	tn.evaluator.EvaluateDue(ctx, map[string]int64{})
	for name, want := range map[string]types.StateValue{"hot": types.StateValueAlarm, "cold": types.StateValueOk} {
		out, err := cw.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{AlarmNames: []string{name}})
		if err != nil {
			t.Fatal(err)
		}
		if got := out.MetricAlarms[0].StateValue; got != want {
			t.Errorf("%s during the outage: %s (%s); want %s", name, got, *out.MetricAlarms[0].StateReason, want)
		}
	}
	waitFor(t, 10*time.Second, "the node to see the stream down", func() bool { mode, _, _ := tn.shipper.Health(); return mode == fallback.ModeDegraded })
}

// TestLostWALGivesInsufficientDataNotAlarm: a node that lost its WAL (and
// whose data never reached the long-term store) cannot vouch for the periods
// before its restart; a `breaching` alarm over them says INSUFFICIENT_DATA.
func TestLostWALGivesInsufficientDataNotAlarm(t *testing.T) {
	dir := t.TempDir()
	tn := startNode(t, testConfig(t, dir, "-shipper.fault", "down"))
	cw, ctx := tn.sdk(), context.Background()
	for _, treat := range []string{"breaching", "notBreaching"} {
		if _, err := cw.PutMetricAlarm(ctx, &cloudwatch.PutMetricAlarmInput{AlarmName: aws.String(treat), Namespace: aws.String("Lost"), MetricName: aws.String("m"),
			Statistic: types.StatisticMaximum, Period: aws.Int32(60), EvaluationPeriods: aws.Int32(3), Threshold: aws.Float64(0.5),
			ComparisonOperator: types.ComparisonOperatorGreaterThanThreshold, TreatMissingData: aws.String(treat)}); err != nil {
			t.Fatal(err)
		}
	}
	tn.stop()
	if err := os.RemoveAll(filepath.Join(dir, "wal")); err != nil {
		t.Fatal(err)
	}
	tn = startNode(t, testConfig(t, dir, "-shipper.fault", "down"))
	cw = tn.sdk()
	tn.evaluator.EvaluateDue(ctx, map[string]int64{})
	for _, treat := range []string{"breaching", "notBreaching"} {
		out, err := cw.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{AlarmNames: []string{treat}})
		if err != nil || len(out.MetricAlarms) != 1 {
			t.Fatalf("DescribeAlarms after the restart: %v", err)
		}
		a := out.MetricAlarms[0]
		if a.StateValue != types.StateValueInsufficientData || !strings.Contains(strings.ToLower(*a.StateReason), "unknown") {
			t.Errorf("%s alarm after losing the WAL: %s (%s); want INSUFFICIENT_DATA naming the unknown periods", treat, a.StateValue, *a.StateReason)
		}
	}
}
