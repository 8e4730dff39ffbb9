package main

import (
	"context"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"

	"github.com/cellwatch/cellwatch/query"
)

// searchFixture is what putSearchFixture wrote: for each series (by
// "Namespace|MetricName|Dim=Value,..."), its Sum per minute offset.
type searchFixture struct {
	start  time.Time
	series map[string][]float64
}

// putSearchFixture writes 340 series over three minutes through the Go SDK:
// in Shop, Latency by Service (api, web) and Host (100 each), Errors by
// Service=api and Host (50), Latency by Host alone (50); in Other, Latency
// by Service=api and Host (40).
func putSearchFixture(t *testing.T, cw *cloudwatch.Client) searchFixture {
	t.Helper()
	f := searchFixture{start: minute(10), series: map[string][]float64{}}
	type metric struct {
		ns, name string
		dims     []string
	}
	var metrics []metric
	for i := range 100 {
		host := fmt.Sprintf("h%03d", i)
		metrics = append(metrics, metric{"Shop", "Latency", []string{"Host", host, "Service", "api"}},
			metric{"Shop", "Latency", []string{"Host", host, "Service", "web"}})
		if i < 50 {
			metrics = append(metrics, metric{"Shop", "Errors", []string{"Host", host, "Service", "api"}},
				metric{"Shop", "Latency", []string{"Host", host}})
		}
		if i < 40 {
			metrics = append(metrics, metric{"Other", "Latency", []string{"Host", host, "Service", "api"}})
		}
	}
	byNS := map[string][]types.MetricDatum{}
	for i, m := range metrics {
		key := m.ns + "|" + m.name + "|"
		for j := 0; j < len(m.dims); j += 2 {
			key += m.dims[j] + "=" + m.dims[j+1] + ","
		}
		for k := range 3 {
			v := float64(i*10 + k + 1)
			f.series[key] = append(f.series[key], v)
			byNS[m.ns] = append(byNS[m.ns], types.MetricDatum{MetricName: aws.String(m.name), Dimensions: dims(m.dims...),
				Value: aws.Float64(v), Timestamp: aws.Time(f.start.Add(time.Duration(k) * time.Minute))})
		}
	}
	for ns, data := range byNS {
		for len(data) > 0 {
			n := min(len(data), 1000)
			if _, err := cw.PutMetricData(context.Background(), &cloudwatch.PutMetricDataInput{Namespace: aws.String(ns), MetricData: data[:n]}); err != nil {
				t.Fatal(err)
			}
			data = data[n:]
		}
	}
	return f
}

// where returns the series whose key satisfies keep, by the label AWS
// gives them (the values that vary, here the Host).
func (f searchFixture) where(keep func(key string) bool) map[string][]float64 {
	out := map[string][]float64{}
	for key, vs := range f.series {
		if keep(key) {
			host := key[strings.Index(key, "Host=")+5:]
			out[host[:strings.IndexByte(host, ',')]] = vs
		}
	}
	return out
}

// has: the key has every part.
func has(parts ...string) func(string) bool {
	return func(key string) bool {
		return !slices.ContainsFunc(parts, func(p string) bool { return !strings.Contains(key, p) })
	}
}

func (f searchFixture) get(t *testing.T, cw *cloudwatch.Client, queries ...types.MetricDataQuery) *cloudwatch.GetMetricDataOutput {
	t.Helper()
	out, err := f.read(cw, "", queries...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// read asks GetMetricData over the fixture's three minutes, from one store
// when source is given.
func (f searchFixture) read(cw *cloudwatch.Client, source string, queries ...types.MetricDataQuery) (*cloudwatch.GetMetricDataOutput, error) {
	var opts []func(*cloudwatch.Options)
	if source != "" {
		opts = append(opts, from(source))
	}
	return cw.GetMetricData(context.Background(), &cloudwatch.GetMetricDataInput{StartTime: aws.Time(f.start), EndTime: aws.Time(f.start.Add(3 * time.Minute)),
		ScanBy: types.ScanByTimestampAscending, MetricDataQueries: queries}, opts...)
}

// byLabel maps results to their values by label.
func byLabel(rs []types.MetricDataResult) map[string][]float64 {
	out := map[string][]float64{}
	for _, r := range rs {
		out[*r.Label] = r.Values
	}
	return out
}

func searchQuery(id, expr string) types.MetricDataQuery {
	return types.MetricDataQuery{Id: aws.String(id), Expression: aws.String(expr)}
}

// TestSearchThroughSDK: SEARCH finds exactly the matching series with AWS's
// labels, each read as a MetricStat would be, SUM(SEARCH(...)) is their sum,
// and a malformed SEARCH gets a 400 ValidationError.
func TestSearchThroughSDK(t *testing.T) {
	tn := startNode(t, testConfig(t, t.TempDir()))
	cw := tn.sdk()
	f := putSearchFixture(t, cw)

	for name, tc := range map[string]struct {
		expr  string
		label string
		want  map[string][]float64
	}{
		"schema and a designator": {`SEARCH('{Shop,Host,Service} MetricName="Latency" Service=api', 'Sum', 60)`, "", f.where(has("Shop|Latency|", "Service=api"))},
		"Grafana's inferred form": {`REMOVE_EMPTY(SEARCH('{"Shop","Host","Service"} MetricName="Latency" "Service"="web" "Host"=("h001" OR "h042")', 'Sum', 60))`, "",
			f.where(func(key string) bool {
				return has("Shop|Latency|", "Service=web")(key) && (strings.Contains(key, "Host=h001,") || strings.Contains(key, "Host=h042,"))
			})},
		"schema of one dimension": {`SEARCH('{Shop,Host}', 'Sum', 60)`, "", f.where(func(key string) bool { return strings.HasPrefix(key, "Shop|") && !strings.Contains(key, "Service") })},
		"static label":            {`SEARCH('{Shop, Host, Service}, Errors', 'Sum', 60)`, "err", f.where(has("Shop|Errors|"))},
	} {
		t.Run(name, func(t *testing.T) {
			q := searchQuery("s1", tc.expr)
			if tc.label != "" {
				q.Label = aws.String(tc.label)
			}
			out := f.get(t, cw, q)
			want := tc.want
			got := map[string][]float64{}
			for _, r := range out.MetricDataResults {
				label := *r.Label
				if tc.label != "" {
					var ok bool
					if label, ok = strings.CutPrefix(label, tc.label+" "); !ok {
						t.Errorf("label %q; want %q before the default label", *r.Label, tc.label)
					}
				}
				if *r.Id != "s1" || r.StatusCode != types.StatusCodeComplete || len(r.Timestamps) != 3 || !r.Timestamps[0].Equal(f.start) {
					t.Errorf("result %s %q: status %s, %d timestamps from %v; want s1, Complete, 3 from %v", *r.Id, *r.Label, r.StatusCode, len(r.Timestamps), r.Timestamps, f.start)
				}
				if _, dup := got[label]; dup {
					t.Errorf("label %q twice", *r.Label)
				}
				got[label] = r.Values
			}
			if len(got) != len(want) || !maps.EqualFunc(got, want, slices.Equal) {
				t.Errorf("%s: got %d series; want %d\ngot  %v\nwant %v", tc.expr, len(got), len(want), got, want)
			}
		})
	}

	t.Run("free text with OR and NOT, in SUM", func(t *testing.T) {
		body := `Namespace="Shop" (Errors OR Latency) NOT Service=web`
		out := f.get(t, cw, searchQuery("each", `SEARCH('`+body+`', 'Sum', 60)`), searchQuery("total", `SUM(SEARCH('`+body+`', 'Sum', 60))`))
		var each, total []types.MetricDataResult
		for _, r := range out.MetricDataResults {
			if *r.Id == "each" {
				each = append(each, r)
			} else {
				total = append(total, r)
			}
		}
		var want []float64
		n := 0
		for key, vs := range f.series {
			if strings.HasPrefix(key, "Shop|") && !strings.Contains(key, "Service=web") {
				n++
				want = addValues(want, vs)
			}
		}
		if len(each) != n || n != 200 {
			t.Fatalf("got %d series; want %d (of 200)", len(each), n)
		}
		var sum []float64
		for _, r := range each {
			sum = addValues(sum, r.Values)
		}
		if len(total) != 1 || *total[0].Label != "total" || !slices.Equal(total[0].Values, want) || !slices.Equal(sum, want) {
			t.Errorf("SUM(SEARCH): got %+v (series summed: %v); want one result labelled total with %v", total, sum, want)
		}
	})

	t.Run("period from the query, AVG", func(t *testing.T) {
		q := searchQuery("a", `AVG(SEARCH('{Other,Host,Service} Latency', 'Maximum'))`)
		q.Period = aws.Int32(180)
		out := f.get(t, cw, q)
		want := 0.0
		for key, vs := range f.series {
			if strings.HasPrefix(key, "Other|") {
				want += slices.Max(vs)
			}
		}
		want /= 40
		if len(out.MetricDataResults) != 1 || len(out.MetricDataResults[0].Values) != 1 || math.Abs(out.MetricDataResults[0].Values[0]-want) > 1e-9 {
			t.Errorf("got %+v; want one 180 s value %v", out.MetricDataResults, want)
		}
	})

	t.Run("from the long-term store", func(t *testing.T) {
		q := searchQuery("s", `SEARCH('{Shop,Host,Service} MetricName="Latency" Service=api', 'Sum', 60)`)
		want := f.where(has("Shop|Latency|", "Service=api"))
		var got map[string][]float64
		waitFor(t, 90*time.Second, "the long-term store to answer the SEARCH", func() bool {
			out, err := f.read(cw, query.SourceLongTerm, q)
			if err != nil {
				t.Fatal(err)
			}
			got = byLabel(out.MetricDataResults)
			return maps.EqualFunc(got, want, slices.Equal)
		})
	})

	t.Run("older than the local window: the long-term store lists and answers", func(t *testing.T) {
		old := minute(5 * 60)
		var data []types.MetricDatum
		for i := range 5 {
			data = append(data, types.MetricDatum{MetricName: aws.String("Gone"), Dimensions: dims("Q", fmt.Sprintf("q%d", i)), Value: aws.Float64(float64(i)), Timestamp: aws.Time(old)})
		}
		if _, err := cw.PutMetricData(context.Background(), &cloudwatch.PutMetricDataInput{Namespace: aws.String("Old"), MetricData: data}); err != nil {
			t.Fatal(err)
		}
		var got map[string][]float64
		want := map[string][]float64{"q0": {0}, "q1": {1}, "q2": {2}, "q3": {3}, "q4": {4}}
		waitFor(t, 90*time.Second, "SEARCH to find the old series", func() bool {
			out, err := cw.GetMetricData(context.Background(), &cloudwatch.GetMetricDataInput{StartTime: aws.Time(old.Add(-time.Hour)), EndTime: aws.Time(old.Add(time.Hour)),
				MetricDataQueries: []types.MetricDataQuery{searchQuery("s", `SEARCH('{Old,Q}', 'Sum', 3600)`)}})
			if err != nil {
				t.Fatal(err)
			}
			got = byLabel(out.MetricDataResults)
			return maps.EqualFunc(got, want, slices.Equal)
		})
	})

	t.Run("at most 500 series, MaxMetricsExceeded", func(t *testing.T) {
		var data []types.MetricDatum
		for i := range 520 {
			data = append(data, types.MetricDatum{MetricName: aws.String("Queue"), Dimensions: dims("Q", fmt.Sprintf("q%03d", i)),
				Value: aws.Float64(1), Timestamp: aws.Time(f.start)})
		}
		if _, err := cw.PutMetricData(context.Background(), &cloudwatch.PutMetricDataInput{Namespace: aws.String("Big"), MetricData: data}); err != nil {
			t.Fatal(err)
		}
		out := f.get(t, cw, searchQuery("big", `SEARCH('{Big,Q} Queue', 'Sum', 60)`))
		if len(out.MetricDataResults) != 500 || *out.MetricDataResults[0].Label != "q000" || *out.MetricDataResults[499].Label != "q499" {
			t.Errorf("got %d results; want the first 500 (q000-q499)", len(out.MetricDataResults))
		}
		if len(out.Messages) != 1 || *out.Messages[0].Code != "MaxMetricsExceeded" {
			t.Errorf("got messages %+v; want MaxMetricsExceeded", out.Messages)
		}
	})

	for name, tc := range map[string]struct{ expr, msg string }{
		"unclosed schema": {`SEARCH('{Shop,Host', 'Sum', 60)`, `Invalid SEARCH expression in query bad: the search expression ends where "," or "}" in the schema opened at position 9 is expected.`},
		"bad statistic":   {`SUM(SEARCH('Latency', 'Median', 60))`, `Invalid SEARCH expression in query bad: the statistic "Median" of SEARCH is not supported`},
		"no period":       {`SEARCH('Latency', 'Sum')`, `Invalid SEARCH expression in query bad: it has no period`},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := cw.GetMetricData(context.Background(), &cloudwatch.GetMetricDataInput{StartTime: aws.Time(f.start), EndTime: aws.Time(f.start.Add(3 * time.Minute)),
				MetricDataQueries: []types.MetricDataQuery{searchQuery("bad", tc.expr)}})
			ae := apiErrorOf(t, err)
			if ae.ErrorCode() != "ValidationError" || !strings.HasPrefix(ae.ErrorMessage(), tc.msg) {
				t.Errorf("got %s: %s; want ValidationError: %s", ae.ErrorCode(), ae.ErrorMessage(), tc.msg)
			}
		})
	}
}

func addValues(acc, vs []float64) []float64 {
	if acc == nil {
		acc = make([]float64, len(vs))
	}
	for i, v := range vs {
		acc[i] += v
	}
	return acc
}

// TestSearchThroughBoto3: boto3 sends a SEARCH and reads the labelled
// series back.
func TestSearchThroughBoto3(t *testing.T) {
	tn := startNode(t, testConfig(t, t.TempDir()))
	f := putSearchFixture(t, tn.sdk())
	var got struct {
		Labels []string
		Values map[string][]float64
		Error  string
	}
	runBoto3(t, tn, `
import botocore.exceptions
start = datetime.datetime.fromtimestamp(`+strconv.FormatInt(f.start.Unix(), 10)+`, datetime.timezone.utc)
out = cw.get_metric_data(StartTime=start, EndTime=start + datetime.timedelta(minutes=3), ScanBy="TimestampAscending",
    MetricDataQueries=[{"Id": "s", "Expression": "SEARCH('{Shop,Host,Service} MetricName=\"Errors\" Host=(h001 OR h002)', 'Sum', 60)"}])
err = ""
try:
    cw.get_metric_data(StartTime=start, EndTime=start + datetime.timedelta(minutes=3),
        MetricDataQueries=[{"Id": "s", "Expression": "SEARCH('Errors AND', 'Sum', 60)"}])
except botocore.exceptions.ClientError as e:
    err = e.response["Error"]["Code"]
res = out["MetricDataResults"]
print(json.dumps({"Labels": sorted(r["Label"] for r in res), "Values": {r["Label"]: r["Values"] for r in res}, "Error": err}))
`, &got)
	want := f.where(has("Shop|Errors|"))
	if !slices.Equal(got.Labels, []string{"h001", "h002"}) || !slices.Equal(got.Values["h001"], want["h001"]) ||
		!slices.Equal(got.Values["h002"], want["h002"]) || got.Error != "ValidationError" {
		t.Errorf("boto3: got %+v; want labels h001 h002 with %v %v and ValidationError for a dangling AND", got, want["h001"], want["h002"])
	}
}
