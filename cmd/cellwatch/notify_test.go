package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
)

// A webhook named in AlarmActions receives the SNS-shaped alarm message when
// SetAlarmState moves the alarm to ALARM, and the attempt is an Action
// history item.
func TestNotifyWebhookThroughSDK(t *testing.T) {
	var mu sync.Mutex
	var bodies [][]byte
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		bodies = append(bodies, b)
		mu.Unlock()
	}))
	defer hook.Close()
	tn := startNode(t, testConfig(t, t.TempDir()))
	cw, ctx := tn.sdk(), context.Background()
	if _, err := cw.PutMetricAlarm(ctx, &cloudwatch.PutMetricAlarmInput{AlarmName: aws.String("NotifyMe"), Namespace: aws.String("MyApp"),
		MetricName: aws.String("Latency"), Dimensions: []types.Dimension{{Name: aws.String("Host"), Value: aws.String("a")}},
		Statistic: types.StatisticAverage, Period: aws.Int32(60), EvaluationPeriods: aws.Int32(3), Threshold: aws.Float64(100),
		ComparisonOperator: types.ComparisonOperatorGreaterThanThreshold, AlarmActions: []string{hook.URL + "/alarm"}}); err != nil {
		t.Fatalf("PutMetricAlarm: %v", err)
	}
	if _, err := cw.SetAlarmState(ctx, &cloudwatch.SetAlarmStateInput{AlarmName: aws.String("NotifyMe"), StateValue: types.StateValueAlarm,
		StateReason: aws.String("testing notifications")}); err != nil {
		t.Fatalf("SetAlarmState: %v", err)
	}
	waitFor(t, 10*time.Second, "the webhook notification", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(bodies) > 0
	})
	mu.Lock()
	var m map[string]any
	err := json.Unmarshal(bodies[0], &m)
	mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	if m["AlarmName"] != "NotifyMe" || m["NewStateValue"] != "ALARM" || m["OldStateValue"] != "INSUFFICIENT_DATA" ||
		m["NewStateReason"] != "testing notifications" || !strings.HasSuffix(m["AlarmArn"].(string), ":alarm:NotifyMe") {
		t.Errorf("webhook body: %s", bodies[0])
	}
	if tr, _ := m["Trigger"].(map[string]any); tr["Statistic"] != "AVERAGE" || tr["MetricName"] != "Latency" {
		t.Errorf("trigger: %v", m["Trigger"])
	}
	want := "Successfully executed action " + hook.URL + "/alarm"
	waitFor(t, 10*time.Second, "the Action history item", func() bool {
		out, err := cw.DescribeAlarmHistory(ctx, &cloudwatch.DescribeAlarmHistoryInput{AlarmName: aws.String("NotifyMe"),
			HistoryItemType: types.HistoryItemTypeAction})
		if err != nil {
			t.Fatalf("DescribeAlarmHistory: %v", err)
		}
		for _, h := range out.AlarmHistoryItems {
			if aws.ToString(h.HistorySummary) == want {
				return true
			}
		}
		return false
	})
	mfs, err := tn.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, mf := range mfs {
		if strings.HasPrefix(mf.GetName(), "cellwatch_alarm_notifications_") {
			m := mf.GetMetric()[0]
			got[mf.GetName()] = m.GetCounter().GetValue() + m.GetGauge().GetValue()
		}
	}
	for name, want := range map[string]float64{"cellwatch_alarm_notifications_delivered_total": 1, "cellwatch_alarm_notifications_failed_attempts_total": 0,
		"cellwatch_alarm_notifications_dropped_total": 0, "cellwatch_alarm_notifications_outbox_entries": 0, "cellwatch_alarm_notifications_outbox_bytes": 0} {
		if v, ok := got[name]; !ok || v != want {
			t.Errorf("%s: %v (present %v); want %v", name, v, ok, want)
		}
	}
}
