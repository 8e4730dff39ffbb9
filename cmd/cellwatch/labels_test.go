package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/smithy-go"
)

// TestDynamicLabelsThroughSDK: a Label's dynamic tokens come back filled in
// per series, for a MetricStat and for each member of METRICS(), with
// LabelOptions.Timezone applied to the time tokens; a bad timezone and a
// label with too many tokens get AWS's errors.
func TestDynamicLabelsThroughSDK(t *testing.T) {
	tn := startNode(t, testConfig(t, t.TempDir()))
	cw, ctx := tn.sdk(), context.Background()
	base := time.Now().Add(-30 * time.Minute).Truncate(time.Hour).Add(-time.Hour) // well inside the window
	for h, host := range []string{"a", "b"} {
		var data []types.MetricDatum
		for i := range 3 { // three minutes: 1, 2, 3 for a; 11, 12, 13 for b
			data = append(data, types.MetricDatum{MetricName: aws.String("Latency"), Dimensions: dims("Host", host),
				Timestamp: aws.Time(base.Add(time.Duration(i) * time.Minute)), Value: aws.Float64(float64(10*h + i + 1))})
		}
		if _, err := cw.PutMetricData(ctx, &cloudwatch.PutMetricDataInput{Namespace: aws.String("Labels"), MetricData: data}); err != nil {
			t.Fatal(err)
		}
	}
	stat := func(host string) *types.MetricStat {
		return &types.MetricStat{Metric: &types.Metric{Namespace: aws.String("Labels"), MetricName: aws.String("Latency"), Dimensions: dims("Host", host)},
			Period: aws.Int32(60), Stat: aws.String("Maximum")}
	}
	out, err := cw.GetMetricData(ctx, &cloudwatch.GetMetricDataInput{StartTime: aws.Time(base), EndTime: aws.Time(base.Add(10 * time.Minute)),
		LabelOptions: &types.LabelOptions{Timezone: aws.String("+0200")},
		MetricDataQueries: []types.MetricDataQuery{
			{Id: aws.String("a"), MetricStat: stat("a"), Label: aws.String("${PROP('Dim.Host')} max ${MAX} at ${MAX_TIME} (${PROP('Stat')}/${PROP('Period')}s)")},
			{Id: aws.String("b"), MetricStat: stat("b"), ReturnData: aws.Bool(false)},
			{Id: aws.String("all"), Expression: aws.String("FILL(METRICS(), 0)"), Label: aws.String("${LABEL}: ${PROP('Dim.Host')} avg ${AVG}")},
		}})
	if err != nil {
		t.Fatal(err)
	}
	maxAt := base.Add(2 * time.Minute).In(time.FixedZone("", 2*3600)).Format(time.DateTime)
	// FILL puts 0 in the seven empty minutes of the ten; ${LABEL} of a member
	// is the member's own label.
	aLabel := fmt.Sprintf("a max 3 at %s (Maximum/60s)", maxAt)
	want := []string{aLabel, aLabel + ": a avg 0.6", "Latency: b avg 3.6"}
	var got []string
	for _, r := range out.MetricDataResults {
		got = append(got, aws.ToString(r.Label))
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("labels: got %q; want %q", got, want)
	}

	// SEARCH members carry their metric's properties too.
	found, err := cw.GetMetricData(ctx, &cloudwatch.GetMetricDataInput{StartTime: aws.Time(base), EndTime: aws.Time(base.Add(10 * time.Minute)),
		MetricDataQueries: []types.MetricDataQuery{{Id: aws.String("s"), Expression: aws.String(`SEARCH('{Labels,Host} Latency', 'Maximum', 60)`),
			Label: aws.String("host ${PROP('Dim.Host')} ${PROP('MetricName')} max ${MAX}")}}})
	if err != nil {
		t.Fatal(err)
	}
	var searched []string
	for _, r := range found.MetricDataResults {
		searched = append(searched, aws.ToString(r.Label))
	}
	slices.Sort(searched)
	if fmt.Sprint(searched) != "[host a Latency max 3 host b Latency max 13]" {
		t.Errorf("SEARCH labels: got %q; want each member's host, metric name and maximum", searched)
	}

	for name, tc := range map[string]struct {
		label, tz, code string
	}{
		"timezone without a sign": {label: "x", tz: "0200", code: "ValidationError"},
		"six dynamic values":      {label: "${MIN} ${MAX} ${AVG} ${SUM} ${FIRST} ${LAST}", tz: "+0000", code: "InvalidParameterValue"},
	} {
		_, err := cw.GetMetricData(ctx, &cloudwatch.GetMetricDataInput{StartTime: aws.Time(base), EndTime: aws.Time(base.Add(10 * time.Minute)),
			LabelOptions:      &types.LabelOptions{Timezone: aws.String(tc.tz)},
			MetricDataQueries: []types.MetricDataQuery{{Id: aws.String("a"), MetricStat: stat("a"), Label: aws.String(tc.label)}}})
		if ae, ok := errors.AsType[smithy.APIError](err); !ok || ae.ErrorCode() != tc.code {
			t.Errorf("%s: got %v; want %s", name, err, tc.code)
		}
	}

	var fromBoto struct{ Labels []string }
	runBoto3(t, tn, `
start = datetime.datetime.fromtimestamp(`+strconv.FormatInt(base.Unix(), 10)+`, datetime.timezone.utc)
out = cw.get_metric_data(StartTime=start, EndTime=start + datetime.timedelta(minutes=10), MetricDataQueries=[
    {"Id": "b", "Label": "${PROP('Dim.Host')} last ${LAST} of ${DATAPOINT_COUNT}",
     "MetricStat": {"Metric": {"Namespace": "Labels", "MetricName": "Latency", "Dimensions": [{"Name": "Host", "Value": "b"}]},
                    "Period": 60, "Stat": "Minimum"}}])
print(json.dumps({"Labels": [r["Label"] for r in out["MetricDataResults"]]}))
`, &fromBoto)
	if fmt.Sprint(fromBoto.Labels) != "[b last 13 of 3]" {
		t.Errorf("boto3: got %q; want [b last 13 of 3]", fromBoto.Labels)
	}
}
