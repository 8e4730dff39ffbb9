package main

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"

	"github.com/cellwatch/cellwatch/query"
)

// TestMathThroughSDK publishes two metrics, m1 = 2 6 - 10 4 and m2 = 1 1 1 1
// 1 (one value a minute, m1 silent in the third minute), and asks for metric
// math over them through the Go SDK.
func TestMathThroughSDK(t *testing.T) {
	tn := startNode(t, testConfig(t, t.TempDir()))
	cw, ctx := tn.sdk(), context.Background()
	start := minute(10)
	var data []types.MetricDatum
	for i, v := range []float64{2, 6, -1, 10, 4} {
		ts := aws.Time(start.Add(time.Duration(i) * time.Minute))
		if v >= 0 {
			data = append(data, types.MetricDatum{MetricName: aws.String("a"), Value: aws.Float64(v), Timestamp: ts})
		}
		data = append(data, types.MetricDatum{MetricName: aws.String("b"), Value: aws.Float64(1), Timestamp: ts})
	}
	if _, err := cw.PutMetricData(ctx, &cloudwatch.PutMetricDataInput{Namespace: aws.String("Math"), MetricData: data}); err != nil {
		t.Fatal(err)
	}
	metric := func(id, name string, period int32, returnData bool) types.MetricDataQuery {
		return types.MetricDataQuery{Id: aws.String(id), ReturnData: aws.Bool(returnData), MetricStat: &types.MetricStat{
			Metric: &types.Metric{Namespace: aws.String("Math"), MetricName: aws.String(name)}, Period: aws.Int32(period), Stat: aws.String("Sum")}}
	}
	expr := func(id, e string) types.MetricDataQuery {
		return types.MetricDataQuery{Id: aws.String(id), Expression: aws.String(e)}
	}
	inputs := []types.MetricDataQuery{metric("m1", "a", 60, false), metric("m2", "b", 60, false)}
	get := func(scan types.ScanBy, queries ...types.MetricDataQuery) (*cloudwatch.GetMetricDataOutput, error) {
		return cw.GetMetricData(ctx, &cloudwatch.GetMetricDataInput{StartTime: aws.Time(start), EndTime: aws.Time(start.Add(5 * time.Minute)),
			ScanBy: scan, MetricDataQueries: append(append([]types.MetricDataQuery{}, inputs...), queries...)})
	}
	// render shows a result as "minute:value" pairs.
	render := func(r types.MetricDataResult) string {
		parts := make([]string, len(r.Values))
		for i, v := range r.Values {
			parts[i] = fmt.Sprintf("%d:%.4g", int(r.Timestamps[i].Sub(start)/time.Minute), v)
		}
		return strings.Join(parts, " ")
	}

	for name, tc := range map[string]struct {
		expression, want string
	}{
		"sum of two series":     {"m1 + m2", "0:3 1:7 3:11 4:5"}, // m1 has no point at minute 2
		"sum of METRICS()":      {"SUM(METRICS())", "0:3 1:7 2:1 3:11 4:5"},
		"FILL with a number":    {"FILL(m1, 0)", "0:2 1:6 2:0 3:10 4:4"},
		"FILL REPEAT":           {"FILL(m1, REPEAT)", "0:2 1:6 2:6 3:10 4:4"},
		"RATE per second":       {"RATE(m1)", "1:0.06667 3:0.03333 4:-0.1"},
		"DIFF":                  {"DIFF(m1)", "1:4 3:4 4:-6"},
		"IF with a comparison":  {"IF(m1 > 5, 1, 0)", "0:0 1:1 3:1 4:0"},
		"series minus scalar":   {"m1 - AVG(m1)", "0:-3.5 1:0.5 3:4.5 4:-1.5"},
		"precedence":            {"m2 + m1 * 2 ^ 2", "0:9 1:25 3:41 4:17"},
		"list form of AVG":      {"AVG([m1, m2 * 3])", "0:2.5 1:4.5 2:3 3:6.5 4:3.5"},
		"number spread on grid": {"SAMPLE_COUNT(m1) + 0 * m2", "0:4 1:4 2:4 3:4 4:4"},
	} {
		t.Run(name, func(t *testing.T) {
			out, err := get(types.ScanByTimestampAscending, expr("e1", tc.expression))
			if err != nil {
				t.Fatal(err)
			}
			if len(out.MetricDataResults) != 1 {
				t.Fatalf("got %d results; want only e1 (ReturnData false hides m1 and m2)", len(out.MetricDataResults))
			}
			r := out.MetricDataResults[0]
			if *r.Id != "e1" || *r.Label != "e1" || r.StatusCode != types.StatusCodeComplete {
				t.Errorf("got Id %s Label %s Status %s; want e1, e1, Complete", *r.Id, *r.Label, r.StatusCode)
			}
			if got := render(r); got != tc.want {
				t.Errorf("%s: got %s; want %s", tc.expression, got, tc.want)
			}
		})
	}

	t.Run("expressions of expressions, labels, default order, paging", func(t *testing.T) {
		e2 := expr("e2", "e1 * 10")
		e2.Label = aws.String("ten times")
		out, err := get("", expr("e1", "m1 + m2"), e2)
		if err != nil {
			t.Fatal(err)
		}
		if len(out.MetricDataResults) != 2 {
			t.Fatalf("got %d results; want 2", len(out.MetricDataResults))
		}
		r := out.MetricDataResults[1]
		if *r.Label != "ten times" || render(r) != "4:50 3:110 1:70 0:30" {
			t.Errorf("e2 newest first: got %q %s; want \"ten times\" 4:50 3:110 1:70 0:30", *r.Label, render(r))
		}
		p := cloudwatch.NewGetMetricDataPaginator(cw, &cloudwatch.GetMetricDataInput{StartTime: aws.Time(start), EndTime: aws.Time(start.Add(5 * time.Minute)),
			MaxDatapoints: aws.Int32(3), ScanBy: types.ScanByTimestampAscending,
			MetricDataQueries: append(append([]types.MetricDataQuery{}, inputs...), expr("e1", "m1 + m2"), e2)})
		var got []string
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			var items []string
			for _, r := range page.MetricDataResults {
				items = append(items, *r.Id+"="+render(r))
			}
			got = append(got, strings.Join(items, " "))
		}
		want := "e1=0:3 1:7 3:11|e1=4:5 e2=0:30 1:70|e2=3:110 4:50"
		if strings.Join(got, "|") != want {
			t.Errorf("pages of 3: got %q; want %q", strings.Join(got, "|"), want)
		}
	})

	t.Run("an array of time series: one result per member", func(t *testing.T) {
		all := expr("all", "METRICS()")
		all.ReturnData = aws.Bool(false)
		out, err := get(types.ScanByTimestampAscending, expr("e1", "FILL(METRICS(), 0)"), all, expr("e2", "SUM(all) * 2"))
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, r := range out.MetricDataResults {
			got = append(got, *r.Id+" "+*r.Label+" = "+render(r))
		}
		want := "e1 e1 a = 0:2 1:6 2:0 3:10 4:4|e1 e1 b = 0:1 1:1 2:1 3:1 4:1|e2 e2 = 0:6 1:14 2:2 3:22 4:10"
		if strings.Join(got, "|") != want {
			t.Errorf("got  %q\nwant %q", strings.Join(got, "|"), want)
		}
	})

	t.Run("unknown input periods: PartialData, and FILL does not fill them", func(t *testing.T) {
		old := minute(5 * 60) // before the local window: a local-only read cannot vouch for it
		out, err := cw.GetMetricData(ctx, &cloudwatch.GetMetricDataInput{StartTime: aws.Time(old), EndTime: aws.Time(old.Add(5 * time.Minute)),
			MetricDataQueries: append(append([]types.MetricDataQuery{}, inputs...), expr("e1", "FILL(m1, 0)"), expr("e2", "m1 + m2"))},
			from(query.SourceLocal))
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range out.MetricDataResults {
			if r.StatusCode != types.StatusCodePartialData || len(r.Values) != 0 {
				t.Errorf("%s: got %s with %d values; want PartialData and no values (unknown is not missing)", *r.Id, r.StatusCode, len(r.Values))
			}
		}
		if len(out.MetricDataResults) != 2 || len(out.Messages) != 1 || *out.Messages[0].Code != "PartialData" {
			t.Errorf("got %d results, messages %+v; want e1, e2 and one PartialData message", len(out.MetricDataResults), out.Messages)
		}
	})

	t.Run("Query protocol", func(t *testing.T) {
		f := func(d time.Duration) string { return start.Add(d).Format(time.RFC3339) }
		status, body := tn.postQuery(t, url.Values{"Action": {"GetMetricData"}, "StartTime": {f(0)}, "EndTime": {f(5 * time.Minute)}, "ScanBy": {"TimestampAscending"},
			"MetricDataQueries.member.1.Id":                           {"m1"},
			"MetricDataQueries.member.1.ReturnData":                   {"false"},
			"MetricDataQueries.member.1.MetricStat.Metric.Namespace":  {"Math"},
			"MetricDataQueries.member.1.MetricStat.Metric.MetricName": {"a"},
			"MetricDataQueries.member.1.MetricStat.Period":            {"60"},
			"MetricDataQueries.member.1.MetricStat.Stat":              {"Sum"},
			"MetricDataQueries.member.2.Id":                           {"e1"},
			"MetricDataQueries.member.2.Expression":                   {"FILL(m1, 0) * 10"},
		})
		if status != 200 || !strings.Contains(body, "<Id>e1</Id>") || strings.Count(body, "<member>") != 11 || !strings.Contains(body, "<Values><member>20.0</member><member>60.0</member><member>0.0</member><member>100.0</member><member>40.0</member></Values>") {
			t.Errorf("got %d %s; want e1 with 5 timestamps and values 20 60 0 100 40", status, body)
		}
	})

	t.Run("inputs shown with ReturnData true", func(t *testing.T) {
		out, err := cw.GetMetricData(ctx, &cloudwatch.GetMetricDataInput{StartTime: aws.Time(start), EndTime: aws.Time(start.Add(5 * time.Minute)),
			MetricDataQueries: []types.MetricDataQuery{metric("m1", "a", 60, true), expr("e1", "m1 * 2")}})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.MetricDataResults) != 2 || *out.MetricDataResults[0].Label != "a" || *out.MetricDataResults[1].Label != "e1" {
			t.Errorf("got %d results; want m1 (label a) and e1", len(out.MetricDataResults))
		}
	})

	for name, tc := range map[string]struct {
		queries []types.MetricDataQuery
		message string
	}{
		"cycle":                {[]types.MetricDataQuery{expr("e1", "e2 + m1"), expr("e2", "e1 * 2")}, "cycle: e1 -> e2 -> e1"},
		"unknown Id":           {[]types.MetricDataQuery{expr("e1", "m1 + m9")}, "uses the Id m9, which no query of the request has"},
		"unsupported function": {[]types.MetricDataQuery{expr("e1", "ANOMALY_DETECTION_BAND(m1, 2)")}, "The function ANOMALY_DETECTION_BAND is not supported by this server"},
		"syntax":               {[]types.MetricDataQuery{expr("e1", "m1 +")}, "MetricDataQueries.member.3.Expression is invalid"},
		"periods differ":       {[]types.MetricDataQuery{metric("m3", "a", 300, false), expr("e1", "m1 + m3")}, "must share one period"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := get("", tc.queries...)
			ae := apiErrorOf(t, err)
			if ae.ErrorCode() != "InvalidParameterValue" || !strings.Contains(ae.ErrorMessage(), tc.message) {
				t.Errorf("got %s: %q; want InvalidParameterValue with %q", ae.ErrorCode(), ae.ErrorMessage(), tc.message)
			}
		})
	}
}
