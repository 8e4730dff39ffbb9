package logs

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
)

// waitQuery polls GetQueryResults until the query leaves Running.
func waitQuery(t *testing.T, h *harness, id *string) *cwl.GetQueryResultsOutput {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		out, err := h.client.GetQueryResults(context.Background(), &cwl.GetQueryResultsInput{QueryId: id})
		if err != nil {
			t.Fatal(err)
		}
		if out.Status != types.QueryStatusRunning {
			return out
		}
		if time.Now().After(deadline) {
			t.Fatal("query still running after 20 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestInsightsQueriesThroughSDK(t *testing.T) {
	h := newHarness(t, "")
	setup(t, h, "app", "a", "b")
	// 1-minute-aligned base; a gets 3 events in the first minute and 1 in
	// the second, b one ERROR in the first.
	base := (time.Now().Add(-10*time.Minute).UnixMilli() / 60000) * 60000
	put(t, h, "app", "a", base, `{"level":"ERROR","ms":10}`, `{"level":"INFO","ms":20}`, `{"level":"ERROR","ms":30}`)
	put(t, h, "app", "a", base+60_000, `{"level":"ERROR","ms":40}`)
	put(t, h, "app", "b", base, "ERROR plain text")
	ctx := context.Background()
	start, end := aws.Int64(base/1000-60), aws.Int64(base/1000+600)
	cases := []struct {
		query string
		want  map[string]string // bin -> count, for the stats query
		rows  int
	}{
		{"filter @message like /ERROR/ | stats count(*) by bin(1m)", map[string]string{"0": "3", "60000": "1"}, 2},
		{"fields @timestamp, @message | filter level = 'ERROR' and ms > 15", nil, 2},
	}
	for _, tc := range cases {
		t.Run(tc.query, func(t *testing.T) {
			q, err := h.client.StartQuery(ctx, &cwl.StartQueryInput{LogGroupName: aws.String("app"), StartTime: start, EndTime: end, QueryString: aws.String(tc.query)})
			if err != nil {
				t.Fatal(err)
			}
			out := waitQuery(t, h, q.QueryId)
			if out.Status != types.QueryStatusComplete || len(out.Results) != tc.rows {
				t.Fatalf("status %s, %d rows %v; want Complete, %d", out.Status, len(out.Results), out.Results, tc.rows)
			}
			if out.Statistics.RecordsScanned != 5 {
				t.Errorf("recordsScanned %v; want 5", out.Statistics.RecordsScanned)
			}
			if tc.want == nil {
				return
			}
			for _, row := range out.Results {
				var bin, count string
				for _, f := range row {
					switch *f.Field {
					case "bin(1m)":
						bin = *f.Value
					case "count(*)":
						count = *f.Value
					}
				}
				ts, err := time.Parse("2006-01-02 15:04:05.000", bin)
				if err != nil {
					t.Fatalf("bin %q: %v", bin, err)
				}
				if got := tc.want[strconv.FormatInt(ts.UnixMilli()-base, 10)]; got != count {
					t.Errorf("bin %s: count %s; want %s", bin, count, got)
				}
			}
		})
	}
	d, err := h.client.DescribeQueries(ctx, &cwl.DescribeQueriesInput{LogGroupName: aws.String("app")})
	if err != nil || len(d.Queries) != 2 || d.Queries[0].Status != types.QueryStatusComplete {
		t.Fatalf("DescribeQueries: %+v, %v; want both queries, Complete", d, err)
	}
	f, err := h.client.GetLogGroupFields(ctx, &cwl.GetLogGroupFieldsInput{LogGroupName: aws.String("app"), Time: aws.Int64(base / 1000)})
	if err != nil {
		t.Fatal(err)
	}
	pct := map[string]int32{}
	for _, lf := range f.LogGroupFields {
		pct[*lf.Name] = lf.Percent
	}
	if pct["level"] != 80 || pct["@message"] != 100 {
		t.Errorf("GetLogGroupFields: %v; want level in 80%% (4 of 5 events), @message in 100%%", pct)
	}
}

func TestInsightsQueryErrors(t *testing.T) {
	h := newHarness(t, "")
	setup(t, h, "app", "a")
	ctx := context.Background()
	now := time.Now().Unix()
	for _, tc := range []struct {
		name string
		in   cwl.StartQueryInput
		code string
	}{
		{"malformed", cwl.StartQueryInput{LogGroupName: aws.String("app"), StartTime: aws.Int64(now - 60), EndTime: aws.Int64(now), QueryString: aws.String("stats count(*) by")}, "MalformedQueryException"},
		{"no such group", cwl.StartQueryInput{LogGroupName: aws.String("nope"), StartTime: aws.Int64(now - 60), EndTime: aws.Int64(now), QueryString: aws.String("fields @message")}, "ResourceNotFoundException"},
		{"end before start", cwl.StartQueryInput{LogGroupName: aws.String("app"), StartTime: aws.Int64(now), EndTime: aws.Int64(now - 60), QueryString: aws.String("fields @message")}, "InvalidParameterException"},
		{"two group members", cwl.StartQueryInput{LogGroupName: aws.String("app"), LogGroupNames: []string{"app"}, StartTime: aws.Int64(now - 60), EndTime: aws.Int64(now), QueryString: aws.String("fields @message")}, "InvalidParameterException"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := h.client.StartQuery(ctx, &tc.in)
			if code := errCode(err); code != tc.code {
				t.Fatalf("got %v; want %s", err, tc.code)
			}
		})
	}
	if _, err := h.client.GetQueryResults(ctx, &cwl.GetQueryResultsInput{QueryId: aws.String("no-such-query")}); errCode(err) != "ResourceNotFoundException" {
		t.Errorf("GetQueryResults of an unknown id: %v", err)
	}
	q, err := h.client.StartQuery(ctx, &cwl.StartQueryInput{LogGroupName: aws.String("app"), StartTime: aws.Int64(now - 60), EndTime: aws.Int64(now), QueryString: aws.String("fields @message")})
	if err != nil {
		t.Fatal(err)
	}
	waitQuery(t, h, q.QueryId)
	if _, err := h.client.StopQuery(ctx, &cwl.StopQueryInput{QueryId: q.QueryId}); errCode(err) != "InvalidParameterException" {
		t.Errorf("StopQuery of a finished query: %v; want InvalidParameterException", err)
	}
}

func errCode(err error) string {
	var ae interface{ ErrorCode() string }
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return fmt.Sprint(err)
}

// TestInsightsStartQueryLimit: StartQuery's limit caps the rows of a query
// without a limit command, newest first; a limit command still wins.
func TestInsightsStartQueryLimit(t *testing.T) {
	h := newHarness(t, "")
	setup(t, h, "app", "a")
	base := time.Now().Add(-5 * time.Minute).UnixMilli()
	put(t, h, "app", "a", base, "e0", "e1", "e2", "e3", "e4")
	ctx := context.Background()
	for _, tc := range []struct {
		query string
		limit *int32
		want  []string
	}{
		{"fields @message", aws.Int32(2), []string{"e4", "e3"}},
		{"fields @message | limit 3", aws.Int32(1), []string{"e4", "e3", "e2"}},
		{"fields @message", nil, []string{"e4", "e3", "e2", "e1", "e0"}},
	} {
		q, err := h.client.StartQuery(ctx, &cwl.StartQueryInput{LogGroupName: aws.String("app"), StartTime: aws.Int64(base/1000 - 60),
			EndTime: aws.Int64(base/1000 + 600), QueryString: aws.String(tc.query), Limit: tc.limit})
		if err != nil {
			t.Fatal(err)
		}
		out := waitQuery(t, h, q.QueryId)
		var got []string
		for _, row := range out.Results {
			for _, f := range row {
				if aws.ToString(f.Field) == "@message" {
					got = append(got, aws.ToString(f.Value))
				}
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("%q limit %v: %v, want %v", tc.query, aws.ToInt32(tc.limit), got, tc.want)
		}
	}
}
