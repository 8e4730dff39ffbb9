package main

import (
	"context"
	"errors"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
)

const alarmARN = "arn:aws:cloudwatch:us-east-1:000000000000:alarm:"

func listTags(t *testing.T, cw *cloudwatch.Client, arn string) string {
	t.Helper()
	out, err := cw.ListTagsForResource(context.Background(), &cloudwatch.ListTagsForResourceInput{ResourceARN: aws.String(arn)})
	if err != nil {
		t.Fatalf("ListTagsForResource %s: %v", arn, err)
	}
	var kv []string
	for _, tag := range out.Tags {
		kv = append(kv, aws.ToString(tag.Key)+"="+aws.ToString(tag.Value))
	}
	sort.Strings(kv)
	return strings.Join(kv, ",")
}

// Tags on a metric and a composite alarm through the Go SDK: set on
// create, changed by TagResource and UntagResource, kept across a restart;
// AWS's errors for an unknown alarm and a reserved key.
func TestAlarmTagsThroughSDK(t *testing.T) {
	dir := t.TempDir()
	tn := startNode(t, testConfig(t, dir))
	cw, ctx := tn.sdk(), context.Background()
	in := alarmInput("tagged")
	in.Tags = []types.Tag{{Key: aws.String("team"), Value: aws.String("db")}, {Key: aws.String("env"), Value: aws.String("prod")}}
	if _, err := cw.PutMetricAlarm(ctx, in); err != nil {
		t.Fatalf("PutMetricAlarm: %v", err)
	}
	if _, err := cw.PutCompositeAlarm(ctx, &cloudwatch.PutCompositeAlarmInput{AlarmName: aws.String("parent"), AlarmRule: aws.String(`ALARM("tagged")`),
		Tags: []types.Tag{{Key: aws.String("kind"), Value: aws.String("composite")}}}); err != nil {
		t.Fatalf("PutCompositeAlarm: %v", err)
	}
	if got := listTags(t, cw, alarmARN+"tagged"); got != "env=prod,team=db" {
		t.Errorf("on create: %s", got)
	}
	in.Tags = []types.Tag{{Key: aws.String("ignored"), Value: aws.String("x")}}
	if _, err := cw.PutMetricAlarm(ctx, in); err != nil {
		t.Fatalf("PutMetricAlarm update: %v", err)
	}
	if _, err := cw.TagResource(ctx, &cloudwatch.TagResourceInput{ResourceARN: aws.String(alarmARN + "tagged"),
		Tags: []types.Tag{{Key: aws.String("env"), Value: aws.String("dev")}, {Key: aws.String("owner"), Value: aws.String("")}}}); err != nil {
		t.Fatalf("TagResource: %v", err)
	}
	if _, err := cw.UntagResource(ctx, &cloudwatch.UntagResourceInput{ResourceARN: aws.String(alarmARN + "tagged"), TagKeys: []string{"team"}}); err != nil {
		t.Fatalf("UntagResource: %v", err)
	}
	if _, err := cw.TagResource(ctx, &cloudwatch.TagResourceInput{ResourceARN: aws.String(alarmARN + "parent"),
		Tags: []types.Tag{{Key: aws.String("tier"), Value: aws.String("1")}}}); err != nil {
		t.Fatalf("TagResource composite: %v", err)
	}
	tn.stop()
	tn = startNode(t, testConfig(t, dir))
	cw = tn.sdk()
	if got := listTags(t, cw, alarmARN+"tagged"); got != "env=dev,owner=" {
		t.Errorf("metric alarm after restart: %s", got)
	}
	if got := listTags(t, cw, alarmARN+"parent"); got != "kind=composite,tier=1" {
		t.Errorf("composite alarm after restart: %s", got)
	}
	if got := listTags(t, cw, alarmARN+"never"); got != "" {
		t.Errorf("unknown alarm: %s", got)
	}
	_, err := cw.TagResource(ctx, &cloudwatch.TagResourceInput{ResourceARN: aws.String(alarmARN + "never"),
		Tags: []types.Tag{{Key: aws.String("k"), Value: aws.String("v")}}})
	var nf *types.ResourceNotFoundException
	if !errors.As(err, &nf) || aws.ToString(nf.ResourceId) != alarmARN+"never" {
		t.Errorf("TagResource on an unknown alarm: %v; want ResourceNotFoundException naming it", err)
	}
	_, err = cw.TagResource(ctx, &cloudwatch.TagResourceInput{ResourceARN: aws.String(alarmARN + "tagged"),
		Tags: []types.Tag{{Key: aws.String("aws:owner"), Value: aws.String("v")}}})
	if apiCode(err) != "InvalidParameterValue" {
		t.Errorf("reserved key: %v; want InvalidParameterValue", err)
	}
}

// The same through boto3 (JSON 1.0): tag, list, untag, and the errors.
func TestBoto3AlarmTags(t *testing.T) {
	tn := startNode(t, testConfig(t, t.TempDir()))
	var got struct {
		Created, Tagged, Untagged []map[string]string
		NotFound, Reserved        string
		NotFoundStatus            int
	}
	runBoto3(t, tn, `
arn = "`+alarmARN+`b3"
cw.put_metric_alarm(AlarmName="b3", Namespace="ns", MetricName="m", Statistic="Sum", Period=60, EvaluationPeriods=1,
    Threshold=1.0, ComparisonOperator="GreaterThanThreshold", Tags=[{"Key": "team", "Value": "db"}])
created = cw.list_tags_for_resource(ResourceARN=arn)["Tags"]
cw.tag_resource(ResourceARN=arn, Tags=[{"Key": "env", "Value": "prod"}, {"Key": "team", "Value": "web"}])
tagged = cw.list_tags_for_resource(ResourceARN=arn)["Tags"]
cw.untag_resource(ResourceARN=arn, TagKeys=["team"])
untagged = cw.list_tags_for_resource(ResourceARN=arn)["Tags"]
nf, status, reserved = "", 0, ""
try:
    cw.tag_resource(ResourceARN=arn + "x", Tags=[{"Key": "k", "Value": "v"}])
except cw.exceptions.ResourceNotFoundException as e:
    nf, status = e.response["Error"]["Code"], e.response["ResponseMetadata"]["HTTPStatusCode"]
try:
    cw.tag_resource(ResourceARN=arn, Tags=[{"Key": "aws:k", "Value": "v"}])
except cw.exceptions.InvalidParameterValueException as e:
    reserved = e.response["Error"]["Code"]
print(json.dumps({"Created": created, "Tagged": tagged, "Untagged": untagged, "NotFound": nf, "NotFoundStatus": status, "Reserved": reserved}))
`, &got)
	if len(got.Created) != 1 || got.Created[0]["Key"] != "team" || len(got.Tagged) != 2 || got.Tagged[1]["Value"] != "web" ||
		len(got.Untagged) != 1 || got.Untagged[0]["Key"] != "env" {
		t.Errorf("boto3 tags: %+v", got)
	}
	if got.NotFound != "ResourceNotFoundException" || got.NotFoundStatus != 404 || got.Reserved != "InvalidParameterValue" {
		t.Errorf("boto3 errors: %+v", got)
	}
}

// Dashboards are tagged through the same operations, by their ARN; the
// tags of PutDashboard apply on create and survive a restart.
func TestDashboardTagsThroughSDK(t *testing.T) {
	dir := t.TempDir()
	tn := startNode(t, testConfig(t, dir))
	cw, ctx := tn.sdk(), context.Background()
	arn := "arn:aws:cloudwatch::000000000000:dashboard/tagged"
	if _, err := cw.PutDashboard(ctx, &cloudwatch.PutDashboardInput{DashboardName: aws.String("tagged"), DashboardBody: aws.String(`{"widgets":[]}`),
		Tags: []types.Tag{{Key: aws.String("team"), Value: aws.String("db")}}}); err != nil {
		t.Fatalf("PutDashboard: %v", err)
	}
	if _, err := cw.TagResource(ctx, &cloudwatch.TagResourceInput{ResourceARN: aws.String(arn), Tags: []types.Tag{{Key: aws.String("env"), Value: aws.String("prod")}}}); err != nil {
		t.Fatalf("TagResource: %v", err)
	}
	tn.stop()
	tn = startNode(t, testConfig(t, dir))
	if got := listTags(t, tn.sdk(), arn); got != "env=prod,team=db" {
		t.Errorf("dashboard tags after restart: %s", got)
	}
}
