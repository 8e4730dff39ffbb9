package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
)

// TestCaptureFuzzSeeds writes the seed corpora of internal/awsapi's fuzz
// targets (testdata/fuzz/<target>/) from requests exactly as the Go SDK
// (CBOR, through the recorder) and boto3 (its wire protocol, through a
// before-send hook) send them. It runs only with CELLWATCH_FUZZ_SEEDS=1:
//
//	CELLWATCH_FUZZ_SEEDS=1 go test ./cmd/cellwatch -run TestCaptureFuzzSeeds
func TestCaptureFuzzSeeds(t *testing.T) {
	if os.Getenv("CELLWATCH_FUZZ_SEEDS") == "" {
		t.Skip("set CELLWATCH_FUZZ_SEEDS=1 to rewrite internal/awsapi/testdata/fuzz")
	}
	dir := filepath.Join("..", "..", "internal", "awsapi", "testdata", "fuzz")
	for _, c := range sdkSeedCalls(t) {
		op := c.path[strings.LastIndexByte(c.path, '/')+1:]
		body, gz := gunzipSeed(t, c.body, c.header.Get("Content-Encoding"))
		writeSeed(t, dir, "FuzzDecodeCBOR", "sdk-"+op, fmt.Sprintf("[]byte(%q)", body))
		writeSeed(t, dir, "FuzzCBORRoundTrip", "sdk-"+op, fmt.Sprintf("[]byte(%q)", body))
		writeSeed(t, dir, "FuzzReadRequestCBOR", "sdk-"+op, fmt.Sprintf("string(%q)\n[]byte(%q)\nbool(%v)", op, body, gz))
	}
	tn := startNode(t, testConfig(t, t.TempDir()))
	var calls []struct{ Target, ContentType, Encoding, Body string }
	runBoto3(t, tn, boto3SeedScript, &calls)
	for i, c := range calls {
		body, gz := gunzipSeed(t, []byte(c.Body), c.Encoding)
		name := fmt.Sprintf("boto3-%02d", i)
		switch {
		case c.Target != "":
			op := c.Target[strings.LastIndexByte(c.Target, '.')+1:]
			writeSeed(t, dir, "FuzzDecodeJSON", name+"-"+op, fmt.Sprintf("[]byte(%q)", body))
			writeSeed(t, dir, "FuzzReadRequestJSON", name+"-"+op, fmt.Sprintf("string(%q)\n[]byte(%q)\nbool(%v)", op, body, gz))
		case strings.HasPrefix(c.ContentType, "application/x-www-form-urlencoded"):
			writeSeed(t, dir, "FuzzDecodeQuery", name, fmt.Sprintf("string(%q)", body))
			writeSeed(t, dir, "FuzzReadRequestQuery", name, fmt.Sprintf("string(%q)\n[]byte(%q)\nbool(%v)", "", body, gz))
		default:
			writeSeed(t, dir, "FuzzDecodeCBOR", name, fmt.Sprintf("[]byte(%q)", body))
		}
	}
}

func gunzipSeed(t *testing.T, b []byte, encoding string) ([]byte, bool) {
	t.Helper()
	if !strings.EqualFold(encoding, "gzip") {
		return b, false
	}
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return out, true
}

func writeSeed(t *testing.T, dir, target, name, values string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(dir, target), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, target, name), []byte("go test fuzz v1\n"+values+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

// sdkSeedCalls has the Go SDK encode one call of each kind of input shape.
func sdkSeedCalls(t *testing.T) []capturedCall {
	rec := &recorder{}
	cw := rec.client()
	ctx := context.Background()
	ts := time.Date(2026, 1, 2, 3, 4, 5, 678e6, time.UTC)
	calls := []func() error{
		func() error {
			_, err := cw.PutMetricData(ctx, &cloudwatch.PutMetricDataInput{Namespace: aws.String("App"), MetricData: []types.MetricDatum{
				{MetricName: aws.String("Latency"), Timestamp: aws.Time(ts), Value: aws.Float64(12.5), Unit: types.StandardUnitMilliseconds,
					Dimensions: dims("Host", "a", "Service", "api"), StorageResolution: aws.Int32(1)},
				{MetricName: aws.String("Sizes"), Timestamp: aws.Time(ts), Values: []float64{1, 2.5, -3}, Counts: []float64{1, 2, 3},
					StatisticValues: nil},
				{MetricName: aws.String("Agg"), StatisticValues: &types.StatisticSet{SampleCount: aws.Float64(3), Sum: aws.Float64(6), Minimum: aws.Float64(1), Maximum: aws.Float64(3)}},
			}})
			return err
		},
		func() error {
			_, err := cw.GetMetricData(ctx, &cloudwatch.GetMetricDataInput{StartTime: aws.Time(ts.Add(-time.Hour)), EndTime: aws.Time(ts),
				MaxDatapoints: aws.Int32(100), ScanBy: types.ScanByTimestampDescending, MetricDataQueries: []types.MetricDataQuery{
					{Id: aws.String("m1"), MetricStat: &types.MetricStat{Metric: &types.Metric{Namespace: aws.String("App"), MetricName: aws.String("Latency"),
						Dimensions: dims("Host", "a")}, Period: aws.Int32(60), Stat: aws.String("p99")}, ReturnData: aws.Bool(false)},
					{Id: aws.String("e1"), Expression: aws.String("m1 * 2"), Label: aws.String("double")},
					{Id: aws.String("s1"), Expression: aws.String(`SEARCH('{App,Host} MetricName="Latency"', 'Average', 300)`), Period: aws.Int32(300)},
				}})
			return err
		},
		func() error {
			_, err := cw.GetMetricStatistics(ctx, &cloudwatch.GetMetricStatisticsInput{Namespace: aws.String("App"), MetricName: aws.String("Latency"),
				StartTime: aws.Time(ts.Add(-time.Hour)), EndTime: aws.Time(ts), Period: aws.Int32(60), Statistics: []types.Statistic{types.StatisticAverage},
				ExtendedStatistics: []string{"p50"}, Dimensions: dims("Host", "a")})
			return err
		},
		func() error {
			_, err := cw.PutMetricAlarm(ctx, &cloudwatch.PutMetricAlarmInput{AlarmName: aws.String("hot"), Namespace: aws.String("App"),
				MetricName: aws.String("Latency"), Statistic: types.StatisticMaximum, Period: aws.Int32(60), EvaluationPeriods: aws.Int32(3),
				DatapointsToAlarm: aws.Int32(2), Threshold: aws.Float64(50), ComparisonOperator: types.ComparisonOperatorGreaterThanThreshold,
				AlarmActions: []string{"alertmanager+http://127.0.0.1:9093"}, TreatMissingData: aws.String("breaching"),
				Tags: []types.Tag{{Key: aws.String("team"), Value: aws.String("core")}}})
			return err
		},
		func() error {
			_, err := cw.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{AlarmNamePrefix: aws.String("h"), StateValue: types.StateValueAlarm,
				AlarmTypes: []types.AlarmType{types.AlarmTypeMetricAlarm, types.AlarmTypeCompositeAlarm}, MaxRecords: aws.Int32(10)})
			return err
		},
		func() error {
			_, err := cw.ListMetrics(ctx, &cloudwatch.ListMetricsInput{Namespace: aws.String("App"), RecentlyActive: types.RecentlyActivePt3h,
				Dimensions: []types.DimensionFilter{{Name: aws.String("Host")}, {Name: aws.String("Service"), Value: aws.String("api")}}})
			return err
		},
		func() error {
			_, err := cw.PutDashboard(ctx, &cloudwatch.PutDashboardInput{DashboardName: aws.String("d"),
				DashboardBody: aws.String(`{"widgets":[{"type":"metric","properties":{"metrics":[["App","Latency"]]}}]}`)})
			return err
		},
	}
	for _, call := range calls {
		if err := call(); err != nil {
			t.Logf("capture call: %v", err) // the recorder's empty answer may not decode; the request was captured
		}
	}
	return rec.calls
}

// boto3SeedScript records every request boto3 sends (before-send) and
// prints them; the node answers them (errors do not matter here).
const boto3SeedScript = `
calls = []
def capture(request, **kwargs):
    body = request.body or b""
    if isinstance(body, str):
        body = body.encode()
    calls.append({"Target": request.headers.get("X-Amz-Target", b"").decode() if isinstance(request.headers.get("X-Amz-Target", b""), bytes) else request.headers.get("X-Amz-Target", ""),
                  "ContentType": str(request.headers.get("Content-Type", b"").decode() if isinstance(request.headers.get("Content-Type", b""), bytes) else request.headers.get("Content-Type", "")),
                  "Encoding": str(request.headers.get("Content-Encoding", b"").decode() if isinstance(request.headers.get("Content-Encoding", b""), bytes) else request.headers.get("Content-Encoding", "")),
                  "Body": body.decode("latin-1")})
cw.meta.events.register("before-send.cloudwatch", capture)
ts = datetime.datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=datetime.timezone.utc)
for f in [
    lambda: cw.put_metric_data(Namespace="App", MetricData=[
        {"MetricName": "Latency", "Timestamp": ts, "Value": 12.5, "Unit": "Milliseconds", "Dimensions": [{"Name": "Host", "Value": "a"}]},
        {"MetricName": "Sizes", "Values": [1, 2.5, -3], "Counts": [1, 2, 3]},
        {"MetricName": "Agg", "StatisticValues": {"SampleCount": 3, "Sum": 6, "Minimum": 1, "Maximum": 3}}]),
    lambda: cw.get_metric_data(StartTime=ts - datetime.timedelta(hours=1), EndTime=ts, MetricDataQueries=[
        {"Id": "m1", "MetricStat": {"Metric": {"Namespace": "App", "MetricName": "Latency", "Dimensions": [{"Name": "Host", "Value": "a"}]}, "Period": 60, "Stat": "p99"}, "ReturnData": False},
        {"Id": "e1", "Expression": "m1 * 2", "Label": "double"}]),
    lambda: cw.get_metric_statistics(Namespace="App", MetricName="Latency", StartTime=ts - datetime.timedelta(hours=1), EndTime=ts, Period=60, Statistics=["Average"], ExtendedStatistics=["p50"]),
    lambda: cw.put_metric_alarm(AlarmName="hot", Namespace="App", MetricName="Latency", Statistic="Maximum", Period=60, EvaluationPeriods=3, Threshold=50, ComparisonOperator="GreaterThanThreshold", Tags=[{"Key": "team", "Value": "core"}]),
    lambda: cw.describe_alarms(AlarmNamePrefix="h", StateValue="ALARM", AlarmTypes=["MetricAlarm", "CompositeAlarm"]),
    lambda: cw.list_metrics(Namespace="App", Dimensions=[{"Name": "Host"}]),
    lambda: cw.put_dashboard(DashboardName="d", DashboardBody='{"widgets":[]}'),
]:
    try:
        f()
    except Exception:
        pass
print(json.dumps(calls))
`
