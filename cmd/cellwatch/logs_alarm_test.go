package main

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	lt "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
)

// TestMetricFilterFeedsAnAlarm: a metric filter on { $.status = 5* } turns
// error events into datums in the same WAL record; an alarm on them goes to
// ALARM when errors appear and stays OK while there are none.
func TestMetricFilterFeedsAnAlarm(t *testing.T) {
	tn := startNode(t, testConfig(t, t.TempDir()))
	c, cw, ctx := tn.logsSDK(), tn.sdk(), context.Background()
	createGroupAndStream(t, c, "/app/web", "i-1")
	if _, err := c.PutMetricFilter(ctx, &cloudwatchlogs.PutMetricFilterInput{LogGroupName: aws.String("/app/web"), FilterName: aws.String("5xx"),
		FilterPattern: aws.String("{ $.status = 5* }"),
		MetricTransformations: []lt.MetricTransformation{{MetricName: aws.String("Errors"), MetricNamespace: aws.String("LogMetrics"),
			MetricValue: aws.String("1"), DefaultValue: aws.Float64(0)}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := cw.PutMetricAlarm(ctx, &cloudwatch.PutMetricAlarmInput{AlarmName: aws.String("web-5xx"), Namespace: aws.String("LogMetrics"),
		MetricName: aws.String("Errors"), Statistic: types.StatisticSum, Period: aws.Int32(60), EvaluationPeriods: aws.Int32(1),
		Threshold: aws.Float64(0), ComparisonOperator: types.ComparisonOperatorGreaterThanThreshold, TreatMissingData: aws.String("notBreaching")}); err != nil {
		t.Fatal(err)
	}
	end := steadyMinute(t)
	put := func(status ...int) {
		evs := make([]lt.InputLogEvent, len(status))
		for i, s := range status {
			evs[i] = lt.InputLogEvent{Timestamp: aws.Int64(end.Add(-30*time.Second).UnixMilli() + int64(i)),
				Message: aws.String(fmt.Sprintf(`{"path":"/","status":%d}`, s))}
		}
		if _, err := c.PutLogEvents(ctx, &cloudwatchlogs.PutLogEventsInput{LogGroupName: aws.String("/app/web"), LogStreamName: aws.String("i-1"), LogEvents: evs}); err != nil {
			t.Fatal(err)
		}
	}
	state := func() types.StateValue {
		tn.evaluator.EvaluateDue(ctx, map[string]int64{})
		out, err := cw.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{AlarmNames: []string{"web-5xx"}})
		if err != nil {
			t.Fatal(err)
		}
		return out.MetricAlarms[0].StateValue
	}
	put(200, 200, 404)
	if got := state(); got != types.StateValueOk {
		t.Fatalf("with no 5xx: %s; want OK", got)
	}
	put(200, 503, 500)
	if got := state(); got != types.StateValueAlarm {
		t.Fatalf("after two 5xx events: %s; want ALARM", got)
	}
	dp, err := cw.GetMetricStatistics(ctx, &cloudwatch.GetMetricStatisticsInput{Namespace: aws.String("LogMetrics"), MetricName: aws.String("Errors"),
		StartTime: aws.Time(end.Add(-time.Minute)), EndTime: aws.Time(end), Period: aws.Int32(60), Statistics: []types.Statistic{types.StatisticSum, types.StatisticSampleCount}})
	if err != nil || len(dp.Datapoints) != 1 || *dp.Datapoints[0].Sum != 2 || *dp.Datapoints[0].SampleCount != 6 {
		t.Fatalf("Errors datapoints %+v, %v; want Sum 2 (the 5xx events) over 6 samples (defaultValue 0 for the others)", dp.Datapoints, err)
	}
}

// TestLogsThroughBoto3: the flow a Python user runs, in the JSON 1.1 that
// botocore sends.
func TestLogsThroughBoto3(t *testing.T) {
	tn := startNode(t, testConfig(t, t.TempDir()))
	var out struct {
		Groups []string `json:"groups"`
		Events []string `json:"events"`
		Filter []string `json:"filter"`
		Error  string   `json:"error"`
	}
	runBoto3(t, tn, `
import time
logs = boto3.client("logs", endpoint_url=os.environ["CELLWATCH_URL"], region_name="us-east-1",
                    aws_access_key_id="any", aws_secret_access_key="any")
logs.create_log_group(logGroupName="py")
logs.create_log_stream(logGroupName="py", logStreamName="s")
now = int(time.time() * 1000)
logs.put_log_events(logGroupName="py", logStreamName="s", logEvents=[
    {"timestamp": now, "message": "GET / 200"}, {"timestamp": now + 1, "message": "GET /x 500"}])
err = ""
try:
    logs.create_log_group(logGroupName="py")
except logs.exceptions.ResourceAlreadyExistsException as e:
    err = e.response["Error"]["Code"]
print(json.dumps({
    "groups": [g["logGroupName"] for g in logs.describe_log_groups()["logGroups"]],
    "events": [e["message"] for e in logs.get_log_events(logGroupName="py", logStreamName="s", startFromHead=True)["events"]],
    "filter": [e["message"] for e in logs.filter_log_events(logGroupName="py", filterPattern="500")["events"]],
    "error": err}))
`, &out)
	if len(out.Groups) != 1 || len(out.Events) != 2 || len(out.Filter) != 1 || out.Filter[0] != "GET /x 500" || out.Error != "ResourceAlreadyExistsException" {
		t.Fatalf("boto3 flow: %+v", out)
	}
}
