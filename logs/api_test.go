package logs

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/smithy-go"

	"github.com/cellwatch/cellwatch/internal/awsapi"
)

func wantAPIError(t *testing.T, err error, code, msg string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("err = %v, want %s", err, code)
	}
	if ae.ErrorCode() != code || !strings.Contains(ae.ErrorMessage(), msg) {
		t.Fatalf("error = %s %q, want %s %q", ae.ErrorCode(), ae.ErrorMessage(), code, msg)
	}
}

func setup(t *testing.T, h *harness, group string, streams ...string) {
	t.Helper()
	ctx := context.Background()
	if _, err := h.client.CreateLogGroup(ctx, &cwl.CreateLogGroupInput{LogGroupName: aws.String(group)}); err != nil {
		t.Fatal(err)
	}
	for _, s := range streams {
		if _, err := h.client.CreateLogStream(ctx, &cwl.CreateLogStreamInput{LogGroupName: aws.String(group), LogStreamName: aws.String(s)}); err != nil {
			t.Fatal(err)
		}
	}
}

func TestErrors(t *testing.T) {
	h := newHarness(t, "")
	setup(t, h, "g", "s")
	ctx := context.Background()
	now := time.Now().UnixMilli()
	ev := func(ts int64, msg string) types.InputLogEvent {
		return types.InputLogEvent{Timestamp: aws.Int64(ts), Message: aws.String(msg)}
	}
	c := h.client
	cases := []struct {
		name      string
		call      func() error
		code, msg string
	}{
		{"duplicate group", func() error {
			_, err := c.CreateLogGroup(ctx, &cwl.CreateLogGroupInput{LogGroupName: aws.String("g")})
			return err
		}, "ResourceAlreadyExistsException", "The specified log group already exists"},
		{"group name too long", func() error {
			_, err := c.CreateLogGroup(ctx, &cwl.CreateLogGroupInput{LogGroupName: aws.String(strings.Repeat("a", 513))})
			return err
		}, "InvalidParameterException", "Invalid LogGroup or LogStream, both must have length less than or equal to 512."},
		{"group name pattern", func() error {
			_, err := c.CreateLogGroup(ctx, &cwl.CreateLogGroupInput{LogGroupName: aws.String("a b")})
			return err
		}, "InvalidParameterException", "Member must satisfy regular expression pattern"},
		{"duplicate stream", func() error {
			_, err := c.CreateLogStream(ctx, &cwl.CreateLogStreamInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("s")})
			return err
		}, "ResourceAlreadyExistsException", "The specified log stream already exists"},
		{"stream in missing group", func() error {
			_, err := c.CreateLogStream(ctx, &cwl.CreateLogStreamInput{LogGroupName: aws.String("nope"), LogStreamName: aws.String("s")})
			return err
		}, "ResourceNotFoundException", "The specified log group does not exist."},
		{"stream name with colon", func() error {
			_, err := c.CreateLogStream(ctx, &cwl.CreateLogStreamInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("a:b")})
			return err
		}, "InvalidParameterException", "regular expression pattern"},
		{"delete missing group", func() error {
			_, err := c.DeleteLogGroup(ctx, &cwl.DeleteLogGroupInput{LogGroupName: aws.String("nope")})
			return err
		}, "ResourceNotFoundException", "The specified log group does not exist."},
		{"delete missing stream", func() error {
			_, err := c.DeleteLogStream(ctx, &cwl.DeleteLogStreamInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("nope")})
			return err
		}, "ResourceNotFoundException", "The specified log stream does not exist."},
		{"prefix and pattern", func() error {
			_, err := c.DescribeLogGroups(ctx, &cwl.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String("a"), LogGroupNamePattern: aws.String("b")})
			return err
		}, "InvalidParameterException", "LogGroup name prefix and LogGroup name pattern are mutually exclusive parameters."},
		{"groups limit 51", func() error {
			_, err := c.DescribeLogGroups(ctx, &cwl.DescribeLogGroupsInput{Limit: aws.Int32(51)})
			return err
		}, "InvalidParameterException", "Value '51' at 'limit' failed to satisfy constraint: Member must have value less than or equal to 50"},
		{"streams by time with prefix", func() error {
			_, err := c.DescribeLogStreams(ctx, &cwl.DescribeLogStreamsInput{LogGroupName: aws.String("g"), OrderBy: types.OrderByLastEventTime, LogStreamNamePrefix: aws.String("s")})
			return err
		}, "InvalidParameterException", "Cannot order by LastEventTime with a logStreamNamePrefix."},
		{"bad retention", func() error {
			_, err := c.PutRetentionPolicy(ctx, &cwl.PutRetentionPolicyInput{LogGroupName: aws.String("g"), RetentionInDays: aws.Int32(2)})
			return err
		}, "InvalidParameterException", "at 'retentionInDays' failed to satisfy constraint: Member must satisfy enum value set"},
		{"put to missing stream", func() error {
			_, err := c.PutLogEvents(ctx, &cwl.PutLogEventsInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("nope"), LogEvents: []types.InputLogEvent{ev(now, "x")}})
			return err
		}, "ResourceNotFoundException", "The specified log stream does not exist."},
		{"out of order", func() error {
			_, err := c.PutLogEvents(ctx, &cwl.PutLogEventsInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("s"), LogEvents: []types.InputLogEvent{ev(now, "x"), ev(now-1, "y")}})
			return err
		}, "InvalidParameterException", "Log events in a single PutLogEvents request must be in chronological order."},
		{"span over 24h", func() error {
			_, err := c.PutLogEvents(ctx, &cwl.PutLogEventsInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("s"), LogEvents: []types.InputLogEvent{ev(now-25*3600_000, "x"), ev(now, "y")}})
			return err
		}, "InvalidParameterException", "cannot span more than 24 hours"},
		{"batch too large", func() error {
			big := strings.Repeat("x", 600_000)
			_, err := c.PutLogEvents(ctx, &cwl.PutLogEventsInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("s"), LogEvents: []types.InputLogEvent{ev(now, big), ev(now, big)}})
			return err
		}, "InvalidParameterException", "Upload too large: 1200052 bytes exceeds limit of 1048576"},
		{"get limit 10001", func() error {
			_, err := c.GetLogEvents(ctx, &cwl.GetLogEventsInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("s"), Limit: aws.Int32(10001)})
			return err
		}, "InvalidParameterException", "1 validation error detected: Value '10001' at 'limit' failed to satisfy constraint: Member must have value less than or equal to 10000"},
		{"get bad token", func() error {
			_, err := c.GetLogEvents(ctx, &cwl.GetLogEventsInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("s"), NextToken: aws.String("zzz")})
			return err
		}, "InvalidParameterException", "The specified nextToken is invalid."},
		{"filter names and prefix", func() error {
			_, err := c.FilterLogEvents(ctx, &cwl.FilterLogEventsInput{LogGroupName: aws.String("g"), LogStreamNames: []string{"s"}, LogStreamNamePrefix: aws.String("s")})
			return err
		}, "InvalidParameterException", "mutually exclusive"},
		{"filter group name and identifier", func() error {
			_, err := c.FilterLogEvents(ctx, &cwl.FilterLogEventsInput{LogGroupName: aws.String("g"), LogGroupIdentifier: aws.String("g")})
			return err
		}, "InvalidParameterException", "mutually exclusive"},
		{"list tags of unknown arn", func() error {
			_, err := c.ListTagsForResource(ctx, &cwl.ListTagsForResourceInput{ResourceArn: aws.String(groupARN(awsapi.DefaultTenant, "nope"))})
			return err
		}, "ResourceNotFoundException", "The specified resource does not exist."},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { wantAPIError(t, tc.call(), tc.code, tc.msg) })
	}
}

func TestGroupsAndStreams(t *testing.T) {
	dir := t.TempDir()
	h := newHarness(t, dir)
	ctx := context.Background()
	c := h.client
	for _, g := range []string{"b", "a", "a/x", "C"} {
		setup(t, h, g)
	}
	var got []string
	var tok *string
	for {
		out, err := c.DescribeLogGroups(ctx, &cwl.DescribeLogGroupsInput{Limit: aws.Int32(3), NextToken: tok})
		if err != nil {
			t.Fatal(err)
		}
		for _, g := range out.LogGroups {
			got = append(got, *g.LogGroupName)
			if *g.Arn != "arn:aws:logs:us-east-1:000000000000:log-group:"+*g.LogGroupName+":*" {
				t.Errorf("arn %s", *g.Arn)
			}
		}
		if tok = out.NextToken; tok == nil {
			break
		}
	}
	if fmt.Sprint(got) != "[C a a/x b]" {
		t.Fatalf("groups %v, want ASCII order", got)
	}
	out, err := c.DescribeLogGroups(ctx, &cwl.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String("a")})
	if err != nil || len(out.LogGroups) != 2 {
		t.Fatalf("prefix a: %v %v", out, err)
	}
	if _, err := c.CreateLogGroup(ctx, &cwl.CreateLogGroupInput{LogGroupName: aws.String("e")}); err != nil {
		t.Fatal(err)
	}
	_, err = c.CreateLogGroup(ctx, &cwl.CreateLogGroupInput{LogGroupName: aws.String("f")})
	wantAPIError(t, err, "LimitExceededException", "Resource limit exceeded.")

	if _, err := c.PutRetentionPolicy(ctx, &cwl.PutRetentionPolicyInput{LogGroupName: aws.String("a"), RetentionInDays: aws.Int32(7)}); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"s2", "s1"} {
		if _, err := c.CreateLogStream(ctx, &cwl.CreateLogStreamInput{LogGroupName: aws.String("a"), LogStreamName: aws.String(s)}); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Now().UnixMilli()
	if _, err := c.PutLogEvents(ctx, &cwl.PutLogEventsInput{LogGroupName: aws.String("a"), LogStreamName: aws.String("s1"),
		LogEvents: []types.InputLogEvent{{Timestamp: aws.Int64(now), Message: aws.String("hi")}}}); err != nil {
		t.Fatal(err)
	}
	streams, err := c.DescribeLogStreams(ctx, &cwl.DescribeLogStreamsInput{LogGroupName: aws.String("a"), OrderBy: types.OrderByLastEventTime, Descending: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	if len(streams.LogStreams) != 2 || *streams.LogStreams[0].LogStreamName != "s1" || *streams.LogStreams[0].LastEventTimestamp != now {
		t.Fatalf("streams by last event time: %+v", streams.LogStreams)
	}
	if _, err := c.TagResource(ctx, &cwl.TagResourceInput{ResourceArn: aws.String(groupARN(awsapi.DefaultTenant, "a")), Tags: map[string]string{"team": "x"}}); err != nil {
		t.Fatal(err)
	}
	// Restart over the same directory: the metadata survives.
	h.api.StopAsync()
	if err := h.api.AwaitTerminated(ctx); err != nil {
		t.Fatal(err)
	}
	h2 := newHarness(t, dir)
	groups, err := h2.client.DescribeLogGroups(ctx, &cwl.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String("a")})
	if err != nil {
		t.Fatal(err)
	}
	if g := groups.LogGroups[0]; *g.LogGroupName != "a" || g.RetentionInDays == nil || *g.RetentionInDays != 7 {
		t.Fatalf("after restart: %+v", g)
	}
	tags, err := h2.client.ListTagsLogGroup(ctx, &cwl.ListTagsLogGroupInput{LogGroupName: aws.String("a")}) //nolint:staticcheck // the deprecated operation is served too
	if err != nil || tags.Tags["team"] != "x" {
		t.Fatalf("tags after restart: %v %v", tags, err)
	}
	ss, err := h2.client.DescribeLogStreams(ctx, &cwl.DescribeLogStreamsInput{LogGroupName: aws.String("a")})
	if err != nil || len(ss.LogStreams) != 2 || *ss.LogStreams[0].LogStreamName != "s1" {
		t.Fatalf("streams after restart: %v %v", ss, err)
	}
}
