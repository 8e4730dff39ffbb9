package logs

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"

	"github.com/cellwatch/cellwatch/internal/awsapi"
)

func TestTenantsApart(t *testing.T) {
	h := newHarness(t, "")
	setup(t, h, "g", "s")
	ctx := context.Background()
	other := &awsapi.Request{Tenant: "t2", Input: awsapi.Input{"logGroupName": "g"}}
	out, err := h.api.DescribeLogGroups(ctx, &awsapi.Request{Tenant: "t2", Input: awsapi.Input{}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if l := out[0].Value.(awsapi.List); len(l) != 0 {
		t.Fatalf("t2 sees %v", l)
	}
	if _, err := h.api.DeleteLogGroup(ctx, other, nil); err != errGroupNotFound { //nolint:errorlint // the sentinel itself
		t.Fatalf("t2 deletes the default tenant's group: %v", err)
	}
	if _, err := h.api.CreateLogGroup(ctx, other, nil); err != nil {
		t.Fatalf("t2 cannot create its own g: %v", err)
	}
}

func TestRetentionAndDelete(t *testing.T) {
	h := newHarness(t, "")
	setup(t, h, "g", "s", "s2")
	ctx := context.Background()
	if _, err := h.client.PutRetentionPolicy(ctx, &cwl.PutRetentionPolicyInput{LogGroupName: aws.String("g"), RetentionInDays: aws.Int32(1)}); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	put(t, h, "g", "s", now.Add(-time.Hour).UnixMilli(), "old")
	put(t, h, "g", "s", now.UnixMilli(), "new")
	put(t, h, "g", "s2", now.UnixMilli(), "other")
	h.api.cfg.Now = func() time.Time { return now.Add(24*time.Hour - 30*time.Minute) }
	h.api.applyRetention(ctx)
	if evs := h.mem.events[[3]string{awsapi.DefaultTenant, "g", "s"}]; len(evs) != 1 || evs[0].Message != "new" {
		t.Fatalf("after retention %+v", evs)
	}
	if _, err := h.client.DeleteLogStream(ctx, &cwl.DeleteLogStreamInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("s")}); err != nil {
		t.Fatal(err)
	}
	if evs := h.mem.events[[3]string{awsapi.DefaultTenant, "g", "s"}]; len(evs) != 0 {
		t.Fatalf("after DeleteLogStream %+v", evs)
	}
	if _, err := h.client.DeleteLogGroup(ctx, &cwl.DeleteLogGroupInput{LogGroupName: aws.String("g")}); err != nil {
		t.Fatal(err)
	}
	if evs := h.mem.events[[3]string{awsapi.DefaultTenant, "g", "s2"}]; len(evs) != 0 {
		t.Fatalf("after DeleteLogGroup %+v", evs)
	}
}

func TestLogGroupARNsCarryTheTenantsAccount(t *testing.T) {
	for _, tc := range []struct {
		tenant, arn, group string
		ok                 bool
	}{
		{awsapi.DefaultTenant, "arn:aws:logs:us-east-1:000000000000:log-group:/app/web:*", "/app/web", true},
		{"123456789012", "arn:aws:logs:us-east-1:123456789012:log-group:/app/web:*", "/app/web", true},
		{"123456789012", "arn:aws:logs:us-east-1:123456789012:log-group:/app/web", "/app/web", true},
		{"123456789012", "arn:aws:logs:us-east-1:000000000000:log-group:/app/web:*", "", false}, // another account's
		{awsapi.DefaultTenant, "arn:aws:logs:us-east-1:123456789012:log-group:/app/web:*", "", false},
	} {
		g, ok := groupOfARN(tc.tenant, tc.arn)
		if ok != tc.ok || (ok && g != tc.group) {
			t.Errorf("groupOfARN(%q, %q) = %q, %v; want %q, %v", tc.tenant, tc.arn, g, ok, tc.group, tc.ok)
		}
		if tc.ok && groupARN(tc.tenant, tc.group) != strings.TrimSuffix(tc.arn, ":*")+":*" {
			t.Errorf("groupARN(%q, %q) = %q", tc.tenant, tc.group, groupARN(tc.tenant, tc.group))
		}
	}
}
