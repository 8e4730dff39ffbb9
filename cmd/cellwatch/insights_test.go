package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// fleet is the data of the Metrics Insights tests: 40 hosts in three zones
// publish CPU for 5 minutes, two values a minute: rank(i)+m and
// rank(i)+m+2, so host i averages rank(i)+m+1 in minute m and rank(i)+3
// over the five. rank is a permutation of 0..39, so no two hosts tie.
const (
	fleetHosts   = 40
	fleetMinutes = 5
)

func fleetRank(i int) float64 { return float64(i * 17 % fleetHosts) }
func fleetHost(i int) string  { return fmt.Sprintf("h%02d", i) }
func fleetZone(i int) string  { return string(rune('a' + i%3)) }

func putFleet(t *testing.T, cw *cloudwatch.Client, start time.Time) {
	t.Helper()
	var data []types.MetricDatum
	for i := range fleetHosts {
		for m := range fleetMinutes {
			v := fleetRank(i) + float64(m)
			data = append(data, types.MetricDatum{MetricName: aws.String("CPU"), Timestamp: aws.Time(start.Add(time.Duration(m) * time.Minute)),
				Values: []float64{v, v + 2}, Unit: types.StandardUnitPercent,
				Dimensions: []types.Dimension{{Name: aws.String("host"), Value: aws.String(fleetHost(i))}, {Name: aws.String("az"), Value: aws.String(fleetZone(i))}}})
		}
	}
	// A metric of another name and one with other dimensions are not selected by SCHEMA(Fleet, az, host).
	data = append(data,
		types.MetricDatum{MetricName: aws.String("Memory"), Value: aws.Float64(1e6), Timestamp: aws.Time(start),
			Dimensions: []types.Dimension{{Name: aws.String("host"), Value: aws.String("h00")}, {Name: aws.String("az"), Value: aws.String("a")}}},
		types.MetricDatum{MetricName: aws.String("CPU"), Value: aws.Float64(1e6), Timestamp: aws.Time(start),
			Dimensions: []types.Dimension{{Name: aws.String("host"), Value: aws.String("h99")}}})
	if _, err := cw.PutMetricData(context.Background(), &cloudwatch.PutMetricDataInput{Namespace: aws.String("Fleet"), MetricData: data}); err != nil {
		t.Fatal(err)
	}
}

func insightsQuery(id, expr string, period int32) types.MetricDataQuery {
	return types.MetricDataQuery{Id: aws.String(id), Expression: aws.String(expr), Period: aws.Int32(period)}
}

// TestInsightsThroughSDK: GROUP BY / ORDER BY / LIMIT return exactly the top
// hosts with their per-minute values and labels; AWS's errors for what is
// refused; a range past the window is cut with AWS's message.
func TestInsightsThroughSDK(t *testing.T) {
	tn := startNode(t, testConfig(t, t.TempDir()))
	cw, ctx := tn.sdk(), context.Background()
	start := minute(10)
	putFleet(t, cw, start)
	get := func(from time.Time, queries ...types.MetricDataQuery) (*cloudwatch.GetMetricDataOutput, error) {
		return cw.GetMetricData(ctx, &cloudwatch.GetMetricDataInput{StartTime: aws.Time(from), EndTime: aws.Time(start.Add(fleetMinutes * time.Minute)),
			ScanBy: types.ScanByTimestampAscending, MetricDataQueries: queries})
	}
	render := func(r types.MetricDataResult) string {
		parts := make([]string, len(r.Values))
		for i, v := range r.Values {
			parts[i] = fmt.Sprintf("%d:%g", int(r.Timestamps[i].Sub(start)/time.Minute), v)
		}
		return *r.Label + "=" + strings.Join(parts, " ")
	}

	t.Run("top 7 hosts by average", func(t *testing.T) {
		out, err := get(start, insightsQuery("q1", `SELECT AVG(CPU) FROM SCHEMA("Fleet", host, az) GROUP BY host ORDER BY AVG() DESC LIMIT 7`, 60))
		if err != nil {
			t.Fatal(err)
		}
		hosts := make([]int, fleetHosts)
		for i := range hosts {
			hosts[i] = i
		}
		slices.SortFunc(hosts, func(a, b int) int { return int(fleetRank(b) - fleetRank(a)) })
		var want, got []string
		for _, i := range hosts[:7] {
			var parts []string
			for m := range fleetMinutes {
				parts = append(parts, fmt.Sprintf("%d:%g", m, fleetRank(i)+float64(m)+1))
			}
			want = append(want, fleetHost(i)+"="+strings.Join(parts, " "))
		}
		for _, r := range out.MetricDataResults {
			if *r.Id != "q1" || r.StatusCode != types.StatusCodeComplete {
				t.Errorf("result %s %s; want q1 Complete", *r.Id, r.StatusCode)
			}
			got = append(got, render(r))
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	})

	t.Run("SUM by zone with WHERE, two keys, labels", func(t *testing.T) {
		out, err := get(start, insightsQuery("q1", `select sum(CPU) from Fleet where az != 'c' and host != 'h99' group by az, host order by sum() asc limit 2`, 300))
		if err != nil {
			t.Fatal(err)
		}
		// host i sums 2*rank(i)+2m+2 over m=0..4: 10*rank(i)+30; the two
		// lowest outside zone c are ranks 0 (h00, a) and 1 (h33, a).
		got := []string{}
		for _, r := range out.MetricDataResults {
			got = append(got, render(r))
		}
		if want := "a h00=0:30|a h33=0:40"; strings.Join(got, "|") != want {
			t.Errorf("got %s; want %s", strings.Join(got, "|"), want)
		}
	})

	t.Run("no GROUP BY: one series, and math over it", func(t *testing.T) {
		q := insightsQuery("q1", `SELECT MAX(CPU) FROM Fleet WHERE host != 'h99'`, 60)
		q.ReturnData = aws.Bool(false)
		e := types.MetricDataQuery{Id: aws.String("e1"), Expression: aws.String("q1 * 2")}
		out, err := get(start, q, e)
		if err != nil {
			t.Fatal(err)
		}
		// the highest rank is 39: max 39+m+2 in minute m, doubled
		if len(out.MetricDataResults) != 1 || render(out.MetricDataResults[0]) != "e1=0:82 1:84 2:86 3:88 4:90" {
			t.Errorf("got %v", out.MetricDataResults)
		}
	})

	t.Run("a range past the 3 h window is cut, with AWS's message", func(t *testing.T) {
		out, err := get(time.Now().Add(-4*time.Hour), insightsQuery("q1", `SELECT COUNT(CPU) FROM Fleet`, 60))
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Messages) != 1 || *out.Messages[0].Code != "MaxQueryTimeRangeExceeded" {
			t.Errorf("messages %v; want MaxQueryTimeRangeExceeded", out.Messages)
		}
		r := out.MetricDataResults[0]
		if r.StatusCode != types.StatusCodePartialData || len(r.Values) != fleetMinutes || r.Values[0] != 2*fleetHosts+1 {
			t.Errorf("got %s %v; want PartialData with the 5 minutes (%d values in the first)", r.StatusCode, r.Values, 2*fleetHosts+1)
		}
	})

	for name, tc := range map[string]struct {
		queries []types.MetricDataQuery
		code    string
		message string
	}{
		"unsupported function": {[]types.MetricDataQuery{insightsQuery("q1", `SELECT P99(CPU) FROM Fleet`, 60)}, "ValidationError",
			"The Metrics Insights query in MetricDataQueries.member.1.Expression is invalid: the function P99 is not supported"},
		"unquoted namespace": {[]types.MetricDataQuery{insightsQuery("q1", `SELECT AVG(CPU) FROM AWS/EC2`, 60)}, "ValidationError", "must be double-quoted"},
		"LIMIT over 500":     {[]types.MetricDataQuery{insightsQuery("q1", `SELECT AVG(CPU) FROM Fleet LIMIT 501`, 60)}, "ValidationError", "LIMIT must be between 1 and 500"},
		"two Insights queries": {[]types.MetricDataQuery{insightsQuery("q1", `SELECT AVG(CPU) FROM Fleet`, 60), insightsQuery("q2", `SELECT SUM(CPU) FROM Fleet`, 60)},
			"ValidationError", "one Metrics Insights query, not 2"},
		"no Period": {[]types.MetricDataQuery{{Id: aws.String("q1"), Expression: aws.String(`SELECT AVG(CPU) FROM Fleet`)}}, "MissingParameter",
			"MetricDataQueries.member.1.Period is required"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := get(start, tc.queries...)
			ae := apiErrorOf(t, err)
			var re *smithyhttp.ResponseError
			status := 0
			if errors.As(err, &re) {
				status = re.HTTPStatusCode()
			}
			if ae.ErrorCode() != tc.code || !strings.Contains(ae.ErrorMessage(), tc.message) || status != http.StatusBadRequest {
				t.Errorf("got %d %s: %q; want 400 %s with %q", status, ae.ErrorCode(), ae.ErrorMessage(), tc.code, tc.message)
			}
		})
	}
}

// TestInsightsThroughBoto3: boto3 sends a grouped, ordered query and reads
// the labels and values.
func TestInsightsThroughBoto3(t *testing.T) {
	tn := startNode(t, testConfig(t, t.TempDir()))
	start := minute(10)
	putFleet(t, tn.sdk(), start)
	var got struct {
		Labels []string
		Values [][]float64
		Error  string
	}
	runBoto3(t, tn, `
start = datetime.datetime.fromtimestamp(`+strconv.FormatInt(start.Unix(), 10)+`, datetime.timezone.utc)
out = cw.get_metric_data(StartTime=start, EndTime=start + datetime.timedelta(minutes=5), ScanBy="TimestampAscending",
    MetricDataQueries=[{"Id": "q1", "Period": 300,
        "Expression": "SELECT SUM(CPU) FROM \"Fleet\" WHERE host != 'h99' GROUP BY az ORDER BY SUM() DESC"}])
err = ""
try:
    cw.get_metric_data(StartTime=start, EndTime=start + datetime.timedelta(minutes=5),
        MetricDataQueries=[{"Id": "q1", "Period": 60, "Expression": "SELECT AVG(CPU) FROM Fleet WHERE host LIKE 'h%'"}])
except cw.exceptions.ClientError as e:
    err = e.response["Error"]["Code"] + ": " + e.response["Error"]["Message"]
print(json.dumps({"Labels": [r["Label"] for r in out["MetricDataResults"]],
                  "Values": [r["Values"] for r in out["MetricDataResults"]], "Error": err}))
`, &got)
	// each host sums 10*rank+30 over the five minutes
	sums := map[string]float64{}
	for i := range fleetHosts {
		sums[fleetZone(i)] += 10*fleetRank(i) + 30
	}
	zones := []string{"a", "b", "c"}
	slices.SortFunc(zones, func(x, y string) int { return int(sums[y] - sums[x]) })
	want := fmt.Sprint(zones, [][]float64{{sums[zones[0]]}, {sums[zones[1]]}, {sums[zones[2]]}})
	if fmt.Sprint(got.Labels, got.Values) != want {
		t.Errorf("got %v %v; want %s", got.Labels, got.Values, want)
	}
	if !strings.HasPrefix(got.Error, "ValidationError: ") || !strings.Contains(got.Error, "the operator LIKE is not supported") {
		t.Errorf("the LIKE query gave %q; want a ValidationError naming LIKE", got.Error)
	}
}
