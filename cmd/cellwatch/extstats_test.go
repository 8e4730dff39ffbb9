package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
)

// extCase is one extended statistic over the values 1..1000 with the range
// docs/statistics.md guarantees for it: within 1% of the exact value for
// percent bounds and the winsorized mean, the envelope of the narrowed and
// widened windows for the other value bounds.
type extCase struct {
	stat      string
	exact     float64
	low, high float64
}

func rel(stat string, exact float64) extCase { return extCase{stat, exact, exact * 0.99, exact * 1.01} }

var extCases = []extCase{
	rel("p90", 900), rel("p99.5", 995), rel("tm90", 450.5), rel("tm99", 495.5), rel("IQM", 500.5), rel("TM(10%:90%)", 500.5),
	rel("wm90", 495.45), rel("WM(10%:90%)", 500.5), rel("tc90", 900), rel("ts90", 405450), rel("TS(80%:)", 180100),
	rel("WM(100:200)", 185.05),
	{"TM(100:200)", 150.5, 147.5, 153.6}, {"TC(100:200)", 100, 97, 103}, {"TS(100:200)", 15050, 14404, 15709},
	{"PR(:300)", 30, 29.7, 30.3}, {"PR(100:200)", 10, 9.7, 10.3},
}

// putOneToThousand publishes the values 1..1000, shuffled, in datums of 125
// values, at ts.
func putOneToThousand(t *testing.T, cw *cloudwatch.Client, ns, name string, ts time.Time) {
	t.Helper()
	values := make([]float64, 1000)
	for i := range values {
		values[i] = float64(i + 1)
	}
	rand.New(rand.NewPCG(3, 4)).Shuffle(len(values), func(i, j int) { values[i], values[j] = values[j], values[i] })
	for i := 0; i < len(values); i += 125 {
		if _, err := cw.PutMetricData(context.Background(), &cloudwatch.PutMetricDataInput{Namespace: aws.String(ns), MetricData: []types.MetricDatum{
			{MetricName: aws.String(name), Values: values[i : i+125], Timestamp: aws.Time(ts)}}}); err != nil {
			t.Fatal(err)
		}
	}
}

func TestExtendedStatisticsThroughSDK(t *testing.T) {
	tn := startNode(t, testConfig(t, t.TempDir()))
	cw, ctx := tn.sdk(), context.Background()
	ts := minute(3)
	putOneToThousand(t, cw, "Ext", "lat", ts)
	check := func(api, stat string, got float64, present bool, c extCase) {
		t.Helper()
		if !present || got < c.low || got > c.high {
			t.Errorf("%s %s: got %v (present %v); exact %v, want within [%v, %v]", api, stat, got, present, c.exact, c.low, c.high)
		}
	}
	for i := 0; i < len(extCases); i += 10 { // ExtendedStatistics takes at most 10
		batch := extCases[i:min(i+10, len(extCases))]
		var names []string
		for _, c := range batch {
			names = append(names, c.stat)
		}
		dp := getStats(t, cw, &cloudwatch.GetMetricStatisticsInput{Namespace: aws.String("Ext"), MetricName: aws.String("lat"),
			StartTime: aws.Time(ts), EndTime: aws.Time(ts.Add(time.Minute)), Period: aws.Int32(60), ExtendedStatistics: names})
		if len(dp) != 1 {
			t.Fatalf("GetMetricStatistics: got %d datapoints; want 1", len(dp))
		}
		for _, c := range batch {
			v, ok := dp[0].ExtendedStatistics[c.stat]
			check("GetMetricStatistics", c.stat, v, ok, c)
		}
	}
	var queries []types.MetricDataQuery
	for i, c := range extCases {
		queries = append(queries, types.MetricDataQuery{Id: aws.String("q" + strconv.Itoa(i)), MetricStat: &types.MetricStat{
			Metric: &types.Metric{Namespace: aws.String("Ext"), MetricName: aws.String("lat")}, Period: aws.Int32(60), Stat: aws.String(c.stat)}})
	}
	out, err := cw.GetMetricData(ctx, &cloudwatch.GetMetricDataInput{StartTime: aws.Time(ts), EndTime: aws.Time(ts.Add(time.Minute)), MetricDataQueries: queries})
	if err != nil {
		t.Fatalf("GetMetricData: %v", err)
	}
	for i, r := range out.MetricDataResults {
		c := extCases[i]
		if len(r.Values) != 1 {
			t.Errorf("GetMetricData %s: got %d values; want 1", c.stat, len(r.Values))
			continue
		}
		check("GetMetricData", c.stat, r.Values[0], true, c)
		if !strings.HasSuffix(aws.ToString(r.Label), " "+c.stat) {
			t.Errorf("GetMetricData %s: label %q does not name the statistic", c.stat, aws.ToString(r.Label))
		}
	}
}

// TestExtendedStatisticsErrorsAndStatisticSets: malformed statistics get
// AWS's errors in every API; data sent only as statistic sets has no
// extended statistic (no key, no value) unless the set is of equal values.
func TestExtendedStatisticsErrorsAndStatisticSets(t *testing.T) {
	tn := startNode(t, testConfig(t, t.TempDir()))
	cw, ctx := tn.sdk(), context.Background()
	ts := minute(3)
	metric := func(name string) *types.Metric {
		return &types.Metric{Namespace: aws.String("Ext"), MetricName: aws.String(name)}
	}
	for _, stat := range []string{"tm101", "TM(90%:10%)", "TM(10%:500)", "iqm", "PR(10%:90%)", "TM(1e3:)"} {
		_, err := cw.GetMetricData(ctx, &cloudwatch.GetMetricDataInput{StartTime: aws.Time(ts), EndTime: aws.Time(ts.Add(time.Minute)),
			MetricDataQueries: []types.MetricDataQuery{{Id: aws.String("q"), MetricStat: &types.MetricStat{Metric: metric("lat"), Period: aws.Int32(60), Stat: aws.String(stat)}}}})
		want := "The value " + stat + " for parameter MetricDataQueries.member.1.MetricStat.Stat is not a valid statistic."
		if apiCode(err) != "ValidationError" || !strings.Contains(err.Error(), want) {
			t.Errorf("GetMetricData %s: got %v; want ValidationError %q", stat, err, want)
		}
		_, err = cw.GetMetricStatistics(ctx, &cloudwatch.GetMetricStatisticsInput{Namespace: aws.String("Ext"), MetricName: aws.String("lat"),
			StartTime: aws.Time(ts), EndTime: aws.Time(ts.Add(time.Minute)), Period: aws.Int32(60), ExtendedStatistics: []string{"p50", stat}})
		if apiCode(err) != "InvalidParameterValue" || !strings.Contains(err.Error(), "ExtendedStatistics.member.2") {
			t.Errorf("GetMetricStatistics %s: got %v; want InvalidParameterValue naming ExtendedStatistics.member.2", stat, err)
		}
	}
	_, err := cw.GetMetricStatistics(ctx, &cloudwatch.GetMetricStatisticsInput{Namespace: aws.String("Ext"), MetricName: aws.String("lat"),
		StartTime: aws.Time(ts), EndTime: aws.Time(ts.Add(time.Minute)), Period: aws.Int32(60), ExtendedStatistics: []string{"Sum"}})
	if apiCode(err) != "InvalidParameterValue" {
		t.Errorf("GetMetricStatistics ExtendedStatistics [Sum]: got %v; want InvalidParameterValue (simple statistics go in Statistics)", err)
	}
	sets := []types.MetricDatum{
		{MetricName: aws.String("set"), Timestamp: aws.Time(ts), StatisticValues: &types.StatisticSet{SampleCount: aws.Float64(10), Sum: aws.Float64(55), Minimum: aws.Float64(1), Maximum: aws.Float64(10)}},
		{MetricName: aws.String("equal"), Timestamp: aws.Time(ts), StatisticValues: &types.StatisticSet{SampleCount: aws.Float64(4), Sum: aws.Float64(20), Minimum: aws.Float64(5), Maximum: aws.Float64(5)}},
	}
	if _, err := cw.PutMetricData(ctx, &cloudwatch.PutMetricDataInput{Namespace: aws.String("Ext"), MetricData: sets}); err != nil {
		t.Fatal(err)
	}
	stats := []string{"tm90", "IQM", "wm90", "tc90", "ts90", "PR(:6)"}
	for name, want := range map[string]map[string]float64{"set": {}, "equal": {"tm90": 5, "IQM": 5, "wm90": 5, "tc90": 3.6, "ts90": 18, "PR(:6)": 100}} {
		dp := getStats(t, cw, &cloudwatch.GetMetricStatisticsInput{Namespace: aws.String("Ext"), MetricName: aws.String(name),
			StartTime: aws.Time(ts), EndTime: aws.Time(ts.Add(time.Minute)), Period: aws.Int32(60), ExtendedStatistics: stats})
		if len(dp) != 1 || len(dp[0].ExtendedStatistics) != len(want) {
			t.Errorf("%s: got %+v; want one datapoint with %v", name, dp, want)
			continue
		}
		for k, v := range want {
			if got := dp[0].ExtendedStatistics[k]; got < v*0.99 || got > v*1.01 {
				t.Errorf("%s %s: got %v; want %v", name, k, got, v)
			}
		}
	}
	out, err := cw.GetMetricData(ctx, &cloudwatch.GetMetricDataInput{StartTime: aws.Time(ts), EndTime: aws.Time(ts.Add(time.Minute)),
		MetricDataQueries: []types.MetricDataQuery{{Id: aws.String("q"), MetricStat: &types.MetricStat{Metric: metric("set"), Period: aws.Int32(60), Stat: aws.String("tm90")}}}})
	if err != nil || len(out.MetricDataResults) != 1 || len(out.MetricDataResults[0].Values) != 0 {
		t.Errorf("GetMetricData tm90 of statistic sets: got %+v, %v; want a result without values", out, err)
	}
}

// TestExtendedStatisticAlarms: an alarm on tm90 ignores the top 10% of the
// values (ALARM on data whose bulk breaches, OK on data where only outliers
// do), in both the single-metric and the Metrics form; PutMetricAlarm
// refuses what an alarm cannot take with AWS's error.
func TestExtendedStatisticAlarms(t *testing.T) {
	tn := startNode(t, testConfig(t, t.TempDir()))
	cw, ctx := tn.sdk(), context.Background()
	end := steadyMinute(t)
	var data []types.MetricDatum
	for m := 1; m <= 5; m++ {
		ts := aws.Time(end.Add(-time.Duration(m)*time.Minute + 30*time.Second))
		spiky := make([]float64, 100) // 90 fast requests and 10 outliers: Average 109, tm90 10
		slow := make([]float64, 100)  // every request slow: tm90 200
		for i := range spiky {
			spiky[i], slow[i] = 10, 200
			if i >= 90 {
				spiky[i] = 1000
			}
		}
		data = append(data, types.MetricDatum{MetricName: aws.String("spiky"), Values: spiky, Timestamp: ts},
			types.MetricDatum{MetricName: aws.String("slow"), Values: slow, Timestamp: ts})
	}
	if _, err := cw.PutMetricData(ctx, &cloudwatch.PutMetricDataInput{Namespace: aws.String("ExtAlarm"), MetricData: data}); err != nil {
		t.Fatal(err)
	}
	put := func(in *cloudwatch.PutMetricAlarmInput) error {
		in.EvaluationPeriods, in.Threshold, in.ComparisonOperator = aws.Int32(3), aws.Float64(100), types.ComparisonOperatorGreaterThanThreshold
		_, err := cw.PutMetricAlarm(ctx, in)
		return err
	}
	single := func(name, metric, stat string) *cloudwatch.PutMetricAlarmInput {
		return &cloudwatch.PutMetricAlarmInput{AlarmName: aws.String(name), Namespace: aws.String("ExtAlarm"), MetricName: aws.String(metric),
			ExtendedStatistic: aws.String(stat), Period: aws.Int32(60)}
	}
	form := func(name, metric, stat string) *cloudwatch.PutMetricAlarmInput {
		return &cloudwatch.PutMetricAlarmInput{AlarmName: aws.String(name), Metrics: []types.MetricDataQuery{{Id: aws.String("m1"), ReturnData: aws.Bool(true),
			MetricStat: &types.MetricStat{Metric: &types.Metric{Namespace: aws.String("ExtAlarm"), MetricName: aws.String(metric)}, Period: aws.Int32(60), Stat: aws.String(stat)}}}}
	}
	want := map[string]types.StateValue{"slow": types.StateValueAlarm, "spiky": types.StateValueOk, "spiky-average": types.StateValueAlarm,
		"slow-metrics": types.StateValueAlarm, "spiky-metrics": types.StateValueOk, "spiky-iqm": types.StateValueOk, "slow-tm": types.StateValueAlarm}
	for _, in := range []*cloudwatch.PutMetricAlarmInput{single("slow", "slow", "tm90"), single("spiky", "spiky", "tm90"),
		{AlarmName: aws.String("spiky-average"), Namespace: aws.String("ExtAlarm"), MetricName: aws.String("spiky"), Statistic: types.StatisticAverage, Period: aws.Int32(60)},
		form("slow-metrics", "slow", "tm90"), form("spiky-metrics", "spiky", "TM(:90%)"), single("spiky-iqm", "spiky", "IQM"), single("slow-tm", "slow", "TM(10%:90%)")} {
		if err := put(in); err != nil {
			t.Fatalf("PutMetricAlarm %s: %v", aws.ToString(in.AlarmName), err)
		}
	}
	tn.evaluator.EvaluateDue(ctx, map[string]int64{})
	if got := evalEnd(time.Now()); !got.Equal(end) {
		t.Skipf("the evaluation range moved during the test (%v -> %v); it needs a steady minute", end, got)
	}
	for name, state := range want {
		if a := describeAlarm(t, cw, name); a.StateValue != state {
			t.Errorf("%s: got %s (%s); want %s", name, a.StateValue, aws.ToString(a.StateReason), state)
		}
	}
	if a := describeAlarm(t, cw, "slow"); aws.ToString(a.ExtendedStatistic) != "tm90" || a.Statistic != "" {
		t.Errorf("slow: described ExtendedStatistic %q Statistic %q; want tm90 and none", aws.ToString(a.ExtendedStatistic), a.Statistic)
	}

	for _, stat := range []string{"tm101", "TM(5%:95%)", "TM(:90%)", "TM(150:1000)", "iqm", "Sum", "PR(10%:90%)", "p99.12345678901"} {
		err := put(single("bad", "slow", stat))
		if msg := fmt.Sprintf("The value %s for parameter ExtendedStatistic is not supported.", stat); apiCode(err) != "InvalidParameterValue" || !strings.Contains(err.Error(), msg) {
			t.Errorf("ExtendedStatistic %s: got %v; want InvalidParameterValue %q", stat, err, msg)
		}
	}
	err := put(form("bad", "slow", "TM(90%:10%)"))
	if msg := "The value TM(90%:10%) for parameter Metrics.member.1.MetricStat.Stat is not a valid statistic."; apiCode(err) != "ValidationError" || !strings.Contains(err.Error(), msg) {
		t.Errorf("Metrics MetricStat.Stat TM(90%%:10%%): got %v; want ValidationError %q", err, msg)
	}
}

// TestExtendedStatisticsBoto3: boto3 reads trimmed means and a percentile
// rank and sees the alarm API's error for a statistic alarms do not take.
func TestExtendedStatisticsBoto3(t *testing.T) {
	tn := startNode(t, testConfig(t, t.TempDir()))
	ts := minute(3)
	putOneToThousand(t, tn.sdk(), "ExtBoto", "lat", ts)
	var got struct {
		TM90, IQM, PR float64
		ErrorCode     string
	}
	runBoto3(t, tn, `
ts = datetime.datetime.fromtimestamp(`+strconv.FormatInt(ts.Unix(), 10)+`, datetime.timezone.utc)
end = ts + datetime.timedelta(minutes=1)
gms = cw.get_metric_statistics(Namespace="ExtBoto", MetricName="lat", StartTime=ts, EndTime=end, Period=60, ExtendedStatistics=["tm90", "IQM"])
ext = gms["Datapoints"][0]["ExtendedStatistics"]
gmd = cw.get_metric_data(StartTime=ts, EndTime=end, MetricDataQueries=[{"Id": "pr", "MetricStat": {
    "Metric": {"Namespace": "ExtBoto", "MetricName": "lat"}, "Period": 60, "Stat": "PR(:300)"}}])
code = ""
try:
    cw.put_metric_alarm(AlarmName="bad", Namespace="ExtBoto", MetricName="lat", ExtendedStatistic="TM(150:1000)", Period=60,
        EvaluationPeriods=1, Threshold=1, ComparisonOperator="GreaterThanThreshold")
except cw.exceptions.ClientError as e:
    code = e.response["Error"]["Code"]
print(json.dumps({"TM90": ext["tm90"], "IQM": ext["IQM"], "PR": gmd["MetricDataResults"][0]["Values"][0], "ErrorCode": code}))
`, &got)
	if got.TM90 < 450.5*0.99 || got.TM90 > 450.5*1.01 || got.IQM < 500.5*0.99 || got.IQM > 500.5*1.01 || got.PR < 29.7 || got.PR > 30.3 ||
		got.ErrorCode != "InvalidParameterValue" {
		t.Errorf("boto3: got %+v; want tm90 450.5, IQM 500.5 (1%%), PR(:300) 30 (±0.3) and InvalidParameterValue", got)
	}
}
