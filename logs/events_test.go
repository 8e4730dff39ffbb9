package logs

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/cellwatch/cellwatch/store"
)

func put(t *testing.T, h *harness, group, stream string, base int64, msgs ...string) *cwl.PutLogEventsOutput {
	t.Helper()
	evs := make([]types.InputLogEvent, len(msgs))
	for i, m := range msgs {
		evs[i] = types.InputLogEvent{Timestamp: aws.Int64(base + int64(i)), Message: aws.String(m)}
	}
	out, err := h.client.PutLogEvents(context.Background(), &cwl.PutLogEventsInput{LogGroupName: aws.String(group),
		LogStreamName: aws.String(stream), LogEvents: evs, SequenceToken: aws.String("ignored")})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestPutRejected(t *testing.T) {
	h := newHarness(t, "")
	setup(t, h, "g", "s")
	ctx := context.Background()
	if _, err := h.client.PutRetentionPolicy(ctx, &cwl.PutRetentionPolicyInput{LogGroupName: aws.String("g"), RetentionInDays: aws.Int32(1)}); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UnixMilli()
	hour := int64(3600_000)
	evs := []types.InputLogEvent{
		{Timestamp: aws.Int64(now - 20*24*hour), Message: aws.String("too old")},
		{Timestamp: aws.Int64(now - 2*24*hour), Message: aws.String("expired")},
		{Timestamp: aws.Int64(now), Message: aws.String("ok")},
		{Timestamp: aws.Int64(now + 3*hour), Message: aws.String("too new")},
	}
	out, err := h.client.PutLogEvents(ctx, &cwl.PutLogEventsInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("s"), LogEvents: evs})
	if err != nil {
		t.Fatal(err)
	}
	r := out.RejectedLogEventsInfo
	if r == nil || *r.TooOldLogEventEndIndex != 0 || *r.ExpiredLogEventEndIndex != 1 || *r.TooNewLogEventStartIndex != 3 {
		t.Fatalf("rejected %+v", r)
	}
	if out.NextSequenceToken == nil || len(*out.NextSequenceToken) != 56 {
		t.Fatalf("sequence token %v", out.NextSequenceToken)
	}
	if len(h.mem.records) != 1 || len(h.mem.records[0].Events) != 1 || h.mem.records[0].Events[0].Message != "ok" {
		t.Fatalf("records %+v", h.mem.records)
	}
}

func TestGetLogEventsPaging(t *testing.T) {
	h := newHarness(t, "")
	setup(t, h, "g", "s")
	base := time.Now().UnixMilli() - 1000
	put(t, h, "g", "s", base, "e0", "e1", "e2", "e3", "e4")
	ctx := context.Background()
	get := func(head bool, tok *string) *cwl.GetLogEventsOutput {
		out, err := h.client.GetLogEvents(ctx, &cwl.GetLogEventsInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("s"),
			Limit: aws.Int32(2), StartFromHead: aws.Bool(head), NextToken: tok})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	msgs := func(o *cwl.GetLogEventsOutput) string {
		var s []string
		for _, e := range o.Events {
			s = append(s, *e.Message)
		}
		return strings.Join(s, ",")
	}
	// From the head, forward to the end: the last token repeats.
	var got []string
	o := get(true, nil)
	for range 10 {
		got = append(got, msgs(o))
		next := get(true, o.NextForwardToken)
		if *next.NextForwardToken == *o.NextForwardToken {
			if len(next.Events) != 0 {
				t.Fatal("same token with events")
			}
			break
		}
		o = next
	}
	if fmt.Sprint(got) != "[e0,e1 e2,e3 e4]" {
		t.Fatalf("forward pages %v", got)
	}
	// The newest page by default, then backward.
	o = get(false, nil)
	if msgs(o) != "e3,e4" {
		t.Fatalf("newest page %q", msgs(o))
	}
	if b := get(false, o.NextBackwardToken); msgs(b) != "e1,e2" {
		t.Fatalf("backward page %q", msgs(b))
	}
}

func TestFilterLogEventsInterleaves(t *testing.T) {
	h := newHarness(t, "")
	setup(t, h, "g", "a", "b")
	base := time.Now().UnixMilli() - 10_000
	put(t, h, "g", "a", base, "ERROR a0", "info a1", "ERROR a2")
	put(t, h, "g", "b", base, "ERROR b0", "ERROR b1", "info b2")
	h.mem.unknown = []store.Interval{{From: base - 5000, To: base - 4000}}
	ctx := context.Background()
	var hdr http.Header
	capture := func(o *cwl.Options) {
		o.APIOptions = append(o.APIOptions, func(s *middleware.Stack) error {
			return s.Deserialize.Add(middleware.DeserializeMiddlewareFunc("hdr", func(ctx context.Context, in middleware.DeserializeInput, next middleware.DeserializeHandler) (middleware.DeserializeOutput, middleware.Metadata, error) {
				out, md, err := next.HandleDeserialize(ctx, in)
				if r, ok := out.RawResponse.(*smithyhttp.Response); ok {
					hdr = r.Header
				}
				return out, md, err
			}), middleware.After)
		})
	}
	var got []string
	var tok *string
	for range 10 {
		out, err := h.client.FilterLogEvents(ctx, &cwl.FilterLogEventsInput{LogGroupName: aws.String("g"), FilterPattern: aws.String("ERROR"),
			Limit: aws.Int32(3), NextToken: tok}, capture)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range out.Events {
			got = append(got, *e.LogStreamName+":"+*e.Message)
		}
		if len(out.SearchedLogStreams) != 2 || *out.SearchedLogStreams[0].SearchedCompletely {
			t.Fatalf("searched %+v", out.SearchedLogStreams)
		}
		if tok = out.NextToken; tok == nil {
			break
		}
	}
	want := "[a:ERROR a0 b:ERROR b0 b:ERROR b1 a:ERROR a2]"
	if fmt.Sprint(got) != want {
		t.Fatalf("filtered %v, want %s", got, want)
	}
	if hdr.Get(HeaderUnknown) == "" {
		t.Fatal("no unknown header")
	}
}

func TestMetricFilters(t *testing.T) {
	h := newHarness(t, "")
	setup(t, h, "g", "s")
	ctx := context.Background()
	_, err := h.client.PutMetricFilter(ctx, &cwl.PutMetricFilterInput{LogGroupName: aws.String("g"), FilterName: aws.String("errors"),
		FilterPattern: aws.String("ERROR"), MetricTransformations: []types.MetricTransformation{
			{MetricName: aws.String("Errors"), MetricNamespace: aws.String("App"), MetricValue: aws.String("1")}}})
	if err != nil {
		t.Fatal(err)
	}
	base := time.Now().UnixMilli()
	put(t, h, "g", "s", base, "ERROR x", "fine", "ERROR y")
	rec := h.mem.records[0]
	if len(rec.Metrics) != 1 || rec.Metrics[0].Namespace != "App" || len(rec.Metrics[0].Datums) != 2 {
		t.Fatalf("metrics %+v", rec.Metrics)
	}
	if d := rec.Metrics[0].Datums[1]; d.MetricName != "Errors" || d.Value != 1 || d.Timestamp != base+2 || d.Unit != "None" {
		t.Fatalf("datum %+v", d)
	}
	list, err := h.client.DescribeMetricFilters(ctx, &cwl.DescribeMetricFiltersInput{MetricName: aws.String("Errors"), MetricNamespace: aws.String("App")})
	if err != nil || len(list.MetricFilters) != 1 || *list.MetricFilters[0].FilterName != "errors" {
		t.Fatalf("describe %v %v", list, err)
	}
	groups, err := h.client.DescribeLogGroups(ctx, &cwl.DescribeLogGroupsInput{})
	if err != nil || *groups.LogGroups[0].MetricFilterCount != 1 {
		t.Fatalf("metricFilterCount %v %v", groups, err)
	}
	tm, err := h.client.TestMetricFilter(ctx, &cwl.TestMetricFilterInput{FilterPattern: aws.String("[level, msg]"), LogEventMessages: []string{"ERROR boom", "x"}})
	if err != nil || len(tm.Matches) != 1 || tm.Matches[0].ExtractedValues["$level"] != "ERROR" {
		t.Fatalf("test metric filter %+v %v", tm, err)
	}
	if _, err := h.client.DeleteMetricFilter(ctx, &cwl.DeleteMetricFilterInput{LogGroupName: aws.String("g"), FilterName: aws.String("errors")}); err != nil {
		t.Fatal(err)
	}
	_, err = h.client.DeleteMetricFilter(ctx, &cwl.DeleteMetricFilterInput{LogGroupName: aws.String("g"), FilterName: aws.String("errors")})
	wantAPIError(t, err, "ResourceNotFoundException", "The specified metric filter does not exist.")
}

// TestRecreatedStreamHidesLateEventsOfItsPast: a PutLogEvents record of a
// deleted stream that reaches the store after the delete (a late delivery
// from the WAL backlog or the stream) is not shown by the stream created
// again under the same name, in GetLogEvents, FilterLogEvents or Insights.
func TestRecreatedStreamHidesLateEventsOfItsPast(t *testing.T) {
	h := newHarness(t, "")
	ctx := context.Background()
	setup(t, h, "g", "s")
	base := time.Now().Add(-time.Minute).UnixMilli()
	put(t, h, "g", "s", base, "old life")
	h.mem.mu.Lock()
	late := h.mem.records[len(h.mem.records)-1]
	h.mem.mu.Unlock()
	if _, err := h.client.DeleteLogGroup(ctx, &cwl.DeleteLogGroupInput{LogGroupName: aws.String("g")}); err != nil {
		t.Fatal(err)
	}
	for time.Now().UnixMilli() <= late.Ingestion { // the next incarnation starts in a later millisecond
	}
	setup(t, h, "g", "s")
	if err := h.mem.AppendLogs(ctx, late); err != nil { // the late delivery
		t.Fatal(err)
	}
	put(t, h, "g", "s", base+1, "new life")
	get, err := h.client.GetLogEvents(ctx, &cwl.GetLogEventsInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("s"), StartFromHead: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	filter, err := h.client.FilterLogEvents(ctx, &cwl.FilterLogEventsInput{LogGroupName: aws.String("g")})
	if err != nil {
		t.Fatal(err)
	}
	q, err := h.client.StartQuery(ctx, &cwl.StartQueryInput{LogGroupName: aws.String("g"), QueryString: aws.String("stats count(*) as n"),
		StartTime: aws.Int64(base/1000 - 60), EndTime: aws.Int64(base/1000 + 600)})
	if err != nil {
		t.Fatal(err)
	}
	res := waitQuery(t, h, q.QueryId)
	if len(get.Events) != 1 || aws.ToString(get.Events[0].Message) != "new life" || len(filter.Events) != 1 ||
		len(res.Results) != 1 || aws.ToString(res.Results[0][0].Value) != "1" {
		t.Fatalf("GetLogEvents %d events, FilterLogEvents %d, Insights %+v; want only the new life's event", len(get.Events), len(filter.Events), res.Results)
	}
}
