package main

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/smithy-go"
)

func getStats(t *testing.T, cw *cloudwatch.Client, in *cloudwatch.GetMetricStatisticsInput) []types.Datapoint {
	t.Helper()
	out, err := cw.GetMetricStatistics(context.Background(), in)
	if err != nil {
		t.Fatalf("GetMetricStatistics: %v", err)
	}
	return out.Datapoints
}

func TestAggregationExamplesThroughSDK(t *testing.T) {
	tn := startNode(t, testConfig(t, t.TempDir()))
	cw, ctx := tn.sdk(), context.Background()
	ts := minute(5)
	_, err := cw.PutMetricData(ctx, &cloudwatch.PutMetricDataInput{Namespace: aws.String("Examples"), MetricData: []types.MetricDatum{
		{MetricName: aws.String("values"), Values: []float64{1, 10}, Counts: []float64{2, 4}, Timestamp: aws.Time(ts)},
		{MetricName: aws.String("mixed"), Value: aws.Float64(11), Timestamp: aws.Time(ts)},
		{MetricName: aws.String("mixed"), StatisticValues: &types.StatisticSet{SampleCount: aws.Float64(10), Sum: aws.Float64(55), Minimum: aws.Float64(1), Maximum: aws.Float64(10)}, Timestamp: aws.Time(ts)},
		{MetricName: aws.String("units"), Value: aws.Float64(1), Unit: types.StandardUnitSeconds, Timestamp: aws.Time(ts)},
		{MetricName: aws.String("units"), Value: aws.Float64(5), Unit: types.StandardUnitCount, Timestamp: aws.Time(ts)},
		{MetricName: aws.String("units"), Value: aws.Float64(10), Timestamp: aws.Time(ts)},
	}})
	if err != nil {
		t.Fatalf("PutMetricData: %v", err)
	}
	query := func(name string) *cloudwatch.GetMetricStatisticsInput {
		return &cloudwatch.GetMetricStatisticsInput{Namespace: aws.String("Examples"), MetricName: aws.String(name),
			StartTime: aws.Time(ts.Add(-time.Minute)), EndTime: aws.Time(ts.Add(time.Minute)), Period: aws.Int32(60), Statistics: allStats()}
	}
	dp := getStats(t, cw, query("values"))
	if len(dp) != 1 || *dp[0].SampleCount != 6 || *dp[0].Sum != 42 || *dp[0].Maximum != 10 || *dp[0].Minimum != 1 {
		t.Errorf("Values=[1,10] Counts=[2,4]: got %+v; want one datapoint SampleCount 6, Sum 42, Max 10", dp)
	}
	dp = getStats(t, cw, query("mixed"))
	if len(dp) != 1 || *dp[0].Sum != 66 || *dp[0].SampleCount != 11 || *dp[0].Minimum != 1 || *dp[0].Maximum != 11 || *dp[0].Average != 6 {
		t.Errorf("Value 11 + StatisticSet: got %+v; want Sum 66, SampleCount 11, Min 1, Max 11, Average 6", dp)
	}
	if !dp[0].Timestamp.Equal(ts) {
		t.Errorf("timestamp: got %v; want %v", dp[0].Timestamp, ts)
	}
	dp = getStats(t, cw, query("units"))
	got := map[types.StandardUnit]float64{}
	for _, d := range dp {
		got[d.Unit] = *d.Average
	}
	want := map[types.StandardUnit]float64{types.StandardUnitSeconds: 1, types.StandardUnitCount: 5, types.StandardUnitNone: 10}
	if len(dp) != 3 || fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("units: got %d datapoints %v; want 3: %v", len(dp), got, want)
	}
	withUnit := query("units")
	withUnit.Unit = types.StandardUnitCount
	if dp := getStats(t, cw, withUnit); len(dp) != 1 || *dp[0].Average != 5 {
		t.Errorf("units filtered by Count: got %+v; want one datapoint 5", dp)
	}
	other := query("values")
	other.Dimensions = dims("Host", "a")
	if dp := getStats(t, cw, other); len(dp) != 0 {
		t.Errorf("dimension set must match exactly: got %d datapoints; want 0", len(dp))
	}
}

func TestFiftyConcurrentPublishersMergeIntoOneDatapoint(t *testing.T) {
	tn := startNode(t, testConfig(t, t.TempDir()))
	cw := tn.sdk()
	ts := minute(2)
	var wg sync.WaitGroup
	errs := make(chan error, 50)
	for i := range 50 {
		wg.Go(func() {
			_, err := cw.PutMetricData(context.Background(), &cloudwatch.PutMetricDataInput{Namespace: aws.String("Fleet"),
				MetricData: []types.MetricDatum{{MetricName: aws.String("Requests"), Dimensions: dims("Service", "api"), Value: aws.Float64(float64(i + 1)), Timestamp: aws.Time(ts)}}})
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("PutMetricData: %v", err)
		}
	}
	dp := getStats(t, cw, &cloudwatch.GetMetricStatisticsInput{Namespace: aws.String("Fleet"), MetricName: aws.String("Requests"), Dimensions: dims("Service", "api"),
		StartTime: aws.Time(ts), EndTime: aws.Time(ts.Add(time.Minute)), Period: aws.Int32(60), Statistics: allStats()})
	if len(dp) != 1 {
		t.Fatalf("got %d datapoints; want 1", len(dp))
	}
	if *dp[0].SampleCount != 50 || *dp[0].Sum != 1275 || *dp[0].Minimum != 1 || *dp[0].Maximum != 50 {
		t.Errorf("got SampleCount %v Sum %v Min %v Max %v; want 50, 1275, 1, 50", *dp[0].SampleCount, *dp[0].Sum, *dp[0].Minimum, *dp[0].Maximum)
	}
}

func apiErrorOf(t *testing.T, err error) smithy.APIError {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("got %v; want an API error", err)
	}
	return ae
}

func TestSDKSeesAWSErrors(t *testing.T) {
	tn := startNode(t, testConfig(t, t.TempDir()))
	cw, ctx := tn.sdk(), context.Background()
	now := time.Now()
	for name, tc := range map[string]struct {
		call    func() error
		code    string
		message string
	}{
		"Value and Values": {func() error {
			_, err := cw.PutMetricData(ctx, &cloudwatch.PutMetricDataInput{Namespace: aws.String("ns"), MetricData: []types.MetricDatum{{MetricName: aws.String("m"), Value: aws.Float64(1), Values: []float64{1}}}})
			return err
		}, "InvalidParameterCombination", "The parameters MetricData.member.1.Value and MetricData.member.1.Values are mutually exclusive and you have specified both."},
		"Values and Counts sizes": {func() error {
			_, err := cw.PutMetricData(ctx, &cloudwatch.PutMetricDataInput{Namespace: aws.String("ns"), MetricData: []types.MetricDatum{{MetricName: aws.String("m"), Values: []float64{1, 2}, Counts: []float64{1, 2, 3}}}})
			return err
		}, "InvalidParameterValue", "The parameters MetricData.member.1.Values and MetricData.member.1.Counts must be of the same size."},
		"start after end": {func() error {
			_, err := cw.GetMetricStatistics(ctx, &cloudwatch.GetMetricStatisticsInput{Namespace: aws.String("ns"), MetricName: aws.String("m"),
				StartTime: aws.Time(now), EndTime: aws.Time(now), Period: aws.Int32(60), Statistics: allStats()})
			return err
		}, "InvalidParameterValue", "The parameter StartTime must be less than the parameter EndTime."},
		"too many datapoints": {func() error {
			_, err := cw.GetMetricStatistics(ctx, &cloudwatch.GetMetricStatisticsInput{Namespace: aws.String("ns"), MetricName: aws.String("m"),
				StartTime: aws.Time(now.Truncate(time.Minute)), EndTime: aws.Time(now.Truncate(time.Minute).Add(24 * time.Hour)), Period: aws.Int32(1), Statistics: allStats()})
			return err
		}, "InvalidParameterCombination", "You have requested up to 86400 datapoints, which exceeds the limit of 1440. You may reduce the datapoints requested by increasing Period, or decreasing the time range."},
		"bad next token": {func() error {
			_, err := cw.GetMetricData(ctx, &cloudwatch.GetMetricDataInput{StartTime: aws.Time(now.Add(-time.Hour)), EndTime: aws.Time(now), NextToken: aws.String("bogus"),
				MetricDataQueries: []types.MetricDataQuery{{Id: aws.String("m1"), MetricStat: &types.MetricStat{Metric: &types.Metric{Namespace: aws.String("ns"), MetricName: aws.String("m")}, Period: aws.Int32(60), Stat: aws.String("Sum")}}}})
			return err
		}, "InvalidNextToken", "The specified NextToken is invalid."},
	} {
		t.Run(name, func(t *testing.T) {
			ae := apiErrorOf(t, tc.call())
			if ae.ErrorCode() != tc.code || ae.ErrorMessage() != tc.message {
				t.Errorf("got %s: %q; want %s: %q", ae.ErrorCode(), ae.ErrorMessage(), tc.code, tc.message)
			}
		})
	}
}

func TestRejectedRequestKeepsAcceptedData(t *testing.T) {
	tn := startNode(t, testConfig(t, t.TempDir()))
	cw, ctx := tn.sdk(), context.Background()
	ts := minute(3)
	put := func(v float64) error {
		_, err := cw.PutMetricData(ctx, &cloudwatch.PutMetricDataInput{Namespace: aws.String("Keep"), MetricData: []types.MetricDatum{
			{MetricName: aws.String("m"), Value: aws.Float64(v), Timestamp: aws.Time(ts)},
		}})
		return err
	}
	if err := put(7); err != nil {
		t.Fatal(err)
	}
	// A request whose second datum is bad is refused whole: its first datum must not land either.
	_, err := cw.PutMetricData(ctx, &cloudwatch.PutMetricDataInput{Namespace: aws.String("Keep"), MetricData: []types.MetricDatum{
		{MetricName: aws.String("m"), Value: aws.Float64(100), Timestamp: aws.Time(ts)},
		{MetricName: aws.String("m"), Value: aws.Float64(1), StorageResolution: aws.Int32(7), Timestamp: aws.Time(ts)},
	}})
	if ae := apiErrorOf(t, err); ae.ErrorCode() != "InvalidParameterValue" {
		t.Fatalf("got %v; want InvalidParameterValue", err)
	}
	dp := getStats(t, cw, &cloudwatch.GetMetricStatisticsInput{Namespace: aws.String("Keep"), MetricName: aws.String("m"),
		StartTime: aws.Time(ts), EndTime: aws.Time(ts.Add(time.Minute)), Period: aws.Int32(60), Statistics: allStats()})
	if len(dp) != 1 || *dp[0].SampleCount != 1 || *dp[0].Sum != 7 {
		t.Errorf("got %+v; want the one accepted datum (count 1, sum 7)", dp)
	}
}

func TestGetMetricDataLabelsOrderAndPaging(t *testing.T) {
	tn := startNode(t, testConfig(t, t.TempDir()))
	cw, ctx := tn.sdk(), context.Background()
	start := minute(30)
	var data []types.MetricDatum
	for i := range 30 {
		data = append(data, types.MetricDatum{MetricName: aws.String("metric1"), Value: aws.Float64(float64(i)), Timestamp: aws.Time(start.Add(time.Duration(i) * time.Minute))})
	}
	if _, err := cw.PutMetricData(ctx, &cloudwatch.PutMetricDataInput{Namespace: aws.String("GMD"), MetricData: data}); err != nil {
		t.Fatal(err)
	}
	q := func(id, stat string, period int32) types.MetricDataQuery {
		return types.MetricDataQuery{Id: aws.String(id), MetricStat: &types.MetricStat{
			Metric: &types.Metric{Namespace: aws.String("GMD"), MetricName: aws.String("metric1")}, Period: aws.Int32(period), Stat: aws.String(stat)}}
	}
	for name, tc := range map[string]struct {
		queries []types.MetricDataQuery
		labels  []string
	}{
		"stat and period differ": {[]types.MetricDataQuery{q("a", "Sum", 60), q("b", "Minimum", 30)}, []string{"metric1 Sum 60", "metric1 Minimum 30"}},
		"stat differs":           {[]types.MetricDataQuery{q("a", "Sum", 60), q("b", "Minimum", 60)}, []string{"metric1 Sum", "metric1 Minimum"}},
		"period differs":         {[]types.MetricDataQuery{q("a", "Sum", 60), q("b", "Sum", 30)}, []string{"metric1 60", "metric1 30"}},
		"single query":           {[]types.MetricDataQuery{q("a", "Sum", 60)}, []string{"metric1"}},
	} {
		t.Run(name, func(t *testing.T) {
			out, err := cw.GetMetricData(ctx, &cloudwatch.GetMetricDataInput{StartTime: aws.Time(start), EndTime: aws.Time(start.Add(30 * time.Minute)), MetricDataQueries: tc.queries})
			if err != nil {
				t.Fatal(err)
			}
			var labels []string
			for _, r := range out.MetricDataResults {
				labels = append(labels, *r.Label)
			}
			if !slices.Equal(labels, tc.labels) {
				t.Errorf("got labels %q; want %q", labels, tc.labels)
			}
		})
	}

	// Default order is newest first; ascending on request.
	out, err := cw.GetMetricData(ctx, &cloudwatch.GetMetricDataInput{StartTime: aws.Time(start), EndTime: aws.Time(start.Add(30 * time.Minute)),
		MetricDataQueries: []types.MetricDataQuery{q("a", "Maximum", 60)}})
	if err != nil {
		t.Fatal(err)
	}
	r := out.MetricDataResults[0]
	if len(r.Values) != 30 || r.Values[0] != 29 || !r.Timestamps[0].Equal(start.Add(29*time.Minute)) || r.StatusCode != types.StatusCodeComplete {
		t.Fatalf("descending: got %d values, first %v at %v, status %s", len(r.Values), r.Values, r.Timestamps, r.StatusCode)
	}
	// Pages of 7 datapoints over two queries (30 + 6 at 300 s) walk every datapoint once, in order.
	p := cloudwatch.NewGetMetricDataPaginator(cw, &cloudwatch.GetMetricDataInput{StartTime: aws.Time(start), EndTime: aws.Time(start.Add(30 * time.Minute)),
		ScanBy: types.ScanByTimestampAscending, MaxDatapoints: aws.Int32(7),
		MetricDataQueries: []types.MetricDataQuery{q("a", "Maximum", 60), q("b", "SampleCount", 300)}})
	got := map[string][]float64{}
	pages := 0
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		n := 0
		for _, r := range page.MetricDataResults {
			got[*r.Id] = append(got[*r.Id], r.Values...)
			n += len(r.Values)
		}
		if n > 7 {
			t.Errorf("page %d has %d datapoints; want at most 7", pages, n)
		}
	}
	if pages != 6 || len(got["a"]) != 30 || got["a"][0] != 0 || got["a"][29] != 29 || fmt.Sprint(got["b"]) != "[5 5 5 5 5 5]" {
		t.Errorf("paging: got %d pages, a=%v b=%v; want 6 pages, a=0..29, b=six 5s", pages, got["a"], got["b"])
	}
}

func TestListMetricsFiltersAndPages(t *testing.T) {
	tn := startNode(t, testConfig(t, t.TempDir()))
	cw, ctx := tn.sdk(), context.Background()
	put := func(ns string, data ...types.MetricDatum) {
		t.Helper()
		if _, err := cw.PutMetricData(ctx, &cloudwatch.PutMetricDataInput{Namespace: aws.String(ns), MetricData: data}); err != nil {
			t.Fatal(err)
		}
	}
	put("Dims",
		types.MetricDatum{MetricName: aws.String("m"), Value: aws.Float64(1), Dimensions: dims("B", "1")},
		types.MetricDatum{MetricName: aws.String("m"), Value: aws.Float64(1), Dimensions: dims("B", "1", "C", "2")},
		types.MetricDatum{MetricName: aws.String("m"), Value: aws.Float64(1), Unit: types.StandardUnitCount, Dimensions: dims("B", "1")},
		types.MetricDatum{MetricName: aws.String("other"), Value: aws.Float64(1), Dimensions: dims("C", "3")},
	)
	count := func(in *cloudwatch.ListMetricsInput) int {
		t.Helper()
		n := 0
		p := cloudwatch.NewListMetricsPaginator(cw, in)
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			n += len(page.Metrics)
		}
		return n
	}
	filter := func(name string, value *string) []types.DimensionFilter {
		return []types.DimensionFilter{{Name: aws.String(name), Value: value}}
	}
	for name, tc := range map[string]struct {
		in   *cloudwatch.ListMetricsInput
		want int
	}{
		"namespace":                        {&cloudwatch.ListMetricsInput{Namespace: aws.String("Dims")}, 3},
		"dimension name matches supersets": {&cloudwatch.ListMetricsInput{Namespace: aws.String("Dims"), Dimensions: filter("B", nil)}, 2},
		"dimension value":                  {&cloudwatch.ListMetricsInput{Namespace: aws.String("Dims"), Dimensions: filter("C", aws.String("3"))}, 1},
		"metric name":                      {&cloudwatch.ListMetricsInput{Namespace: aws.String("Dims"), MetricName: aws.String("other")}, 1},
		"recently active":                  {&cloudwatch.ListMetricsInput{Namespace: aws.String("Dims"), RecentlyActive: types.RecentlyActivePt3h}, 3},
	} {
		t.Run(name, func(t *testing.T) {
			if got := count(tc.in); got != tc.want {
				t.Errorf("got %d metrics; want %d", got, tc.want)
			}
		})
	}
	// 1,200 metrics come back in pages of 500, each once.
	for batch := range 2 {
		var data []types.MetricDatum
		for i := range 600 {
			data = append(data, types.MetricDatum{MetricName: aws.String(fmt.Sprintf("m%04d", batch*600+i)), Value: aws.Float64(1)})
		}
		put("Many", data...)
	}
	first, err := cw.ListMetrics(ctx, &cloudwatch.ListMetricsInput{Namespace: aws.String("Many")})
	if err != nil {
		t.Fatal(err)
	}
	if len(first.Metrics) != 500 || first.NextToken == nil {
		t.Errorf("first page: got %d metrics, token %v; want 500 and a token", len(first.Metrics), first.NextToken)
	}
	if got := count(&cloudwatch.ListMetricsInput{Namespace: aws.String("Many")}); got != 1200 {
		t.Errorf("all pages: got %d metrics; want 1200", got)
	}
}

func TestSameDatumsWhicheverProtocolWroteThem(t *testing.T) {
	tn := startNode(t, testConfig(t, t.TempDir()))
	cw, ctx := tn.sdk(), context.Background()
	ts := minute(4)
	// CBOR through the SDK.
	_, err := cw.PutMetricData(ctx, &cloudwatch.PutMetricDataInput{Namespace: aws.String("P-cbor"), MetricData: []types.MetricDatum{
		{MetricName: aws.String("Latency"), Dimensions: dims("Host", "a"), Value: aws.Float64(12.5), Unit: types.StandardUnitMilliseconds, Timestamp: aws.Time(ts)},
		{MetricName: aws.String("Latency"), Dimensions: dims("Host", "a"), Values: []float64{1, 10, 30}, Counts: []float64{2, 4, 1}, Unit: types.StandardUnitMilliseconds, Timestamp: aws.Time(ts)},
		{MetricName: aws.String("Latency"), Dimensions: dims("Host", "a"), StatisticValues: &types.StatisticSet{SampleCount: aws.Float64(3), Sum: aws.Float64(123), Minimum: aws.Float64(12), Maximum: aws.Float64(100)}, Unit: types.StandardUnitMilliseconds, Timestamp: aws.Time(ts)},
	}})
	if err != nil {
		t.Fatal(err)
	}
	// JSON 1.0 as boto3 sends it.
	status, body := tn.postJSON(t, "PutMetricData", fmt.Sprintf(`{"Namespace":"P-json","MetricData":[
		{"MetricName":"Latency","Dimensions":[{"Name":"Host","Value":"a"}],"Value":12.5,"Unit":"Milliseconds","Timestamp":%d},
		{"MetricName":"Latency","Dimensions":[{"Name":"Host","Value":"a"}],"Values":[1,10,30],"Counts":[2,4,1],"Unit":"Milliseconds","Timestamp":%d},
		{"MetricName":"Latency","Dimensions":[{"Name":"Host","Value":"a"}],"StatisticValues":{"SampleCount":3,"Sum":123,"Minimum":12,"Maximum":100},"Unit":"Milliseconds","Timestamp":%d}]}`,
		ts.Unix(), ts.Unix(), ts.Unix()))
	if status != 200 {
		t.Fatalf("JSON PutMetricData: %d %s", status, body)
	}
	// Query as older SDKs send it.
	form := url.Values{"Action": {"PutMetricData"}, "Namespace": {"P-query"}}
	iso := ts.Format(time.RFC3339)
	for i := 1; i <= 3; i++ {
		p := fmt.Sprintf("MetricData.member.%d.", i)
		form.Set(p+"MetricName", "Latency")
		form.Set(p+"Dimensions.member.1.Name", "Host")
		form.Set(p+"Dimensions.member.1.Value", "a")
		form.Set(p+"Unit", "Milliseconds")
		form.Set(p+"Timestamp", iso)
	}
	form.Set("MetricData.member.1.Value", "12.5")
	for j, v := range []string{"1", "10", "30"} {
		form.Set(fmt.Sprintf("MetricData.member.2.Values.member.%d", j+1), v)
		form.Set(fmt.Sprintf("MetricData.member.2.Counts.member.%d", j+1), []string{"2", "4", "1"}[j])
	}
	for k, v := range map[string]string{"SampleCount": "3", "Sum": "123", "Minimum": "12", "Maximum": "100"} {
		form.Set("MetricData.member.3.StatisticValues."+k, v)
	}
	if status, body := tn.postQuery(t, form); status != 200 || !strings.Contains(body, "<PutMetricDataResponse") {
		t.Fatalf("Query PutMetricData: %d %s", status, body)
	}
	// Read all three back through the SDK: identical datapoints.
	var answers []string
	for _, ns := range []string{"P-cbor", "P-json", "P-query"} {
		dp := getStats(t, cw, &cloudwatch.GetMetricStatisticsInput{Namespace: aws.String(ns), MetricName: aws.String("Latency"), Dimensions: dims("Host", "a"),
			StartTime: aws.Time(ts), EndTime: aws.Time(ts.Add(time.Minute)), Period: aws.Int32(60), Statistics: allStats()})
		if len(dp) != 1 {
			t.Fatalf("%s: got %d datapoints; want 1", ns, len(dp))
		}
		d := dp[0]
		answers = append(answers, fmt.Sprintf("n=%v sum=%v min=%v max=%v unit=%s t=%v", *d.SampleCount, *d.Sum, *d.Minimum, *d.Maximum, d.Unit, d.Timestamp.Unix()))
	}
	want := fmt.Sprintf("n=11 sum=207.5 min=1 max=100 unit=Milliseconds t=%d", ts.Unix())
	for i, a := range answers {
		if a != want {
			t.Errorf("protocol %d: got %s; want %s", i, a, want)
		}
	}
	// The read side answers in JSON and Query too.
	status, body = tn.postJSON(t, "GetMetricStatistics", fmt.Sprintf(`{"Namespace":"P-json","MetricName":"Latency","Dimensions":[{"Name":"Host","Value":"a"}],"StartTime":%d,"EndTime":%d,"Period":60,"Statistics":["Sum"]}`, ts.Unix(), ts.Unix()+60))
	if wantJSON := fmt.Sprintf(`{"Label":"Latency","Datapoints":[{"Timestamp":%d.0,"Sum":207.5,"Unit":"Milliseconds"}]}`, ts.Unix()); status != 200 || body != wantJSON {
		t.Errorf("JSON GetMetricStatistics: got %d %s; want %s", status, body, wantJSON)
	}
	status, body = tn.postQuery(t, url.Values{"Action": {"GetMetricStatistics"}, "Namespace": {"P-query"}, "MetricName": {"Latency"},
		"Dimensions.member.1.Name": {"Host"}, "Dimensions.member.1.Value": {"a"}, "StartTime": {iso}, "EndTime": {ts.Add(time.Minute).Format(time.RFC3339)},
		"Period": {"60"}, "Statistics.member.1": {"Sum"}})
	if status != 200 || !strings.Contains(body, "<Sum>207.5</Sum>") || !strings.Contains(body, "<Label>Latency</Label>") {
		t.Errorf("Query GetMetricStatistics: got %d %s", status, body)
	}
	status, body = tn.postQuery(t, url.Values{"Action": {"PutMetricData"}, "Namespace": {"q"}, "MetricData.member.1.MetricName": {"m"},
		"MetricData.member.1.Value": {"1"}, "MetricData.member.1.Values.member.1": {"1"}})
	if status != 400 || !strings.Contains(body, "<Code>InvalidParameterCombination</Code>") {
		t.Errorf("Query error: got %d %s", status, body)
	}
}
