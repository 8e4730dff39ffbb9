package main

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"

	"github.com/cellwatch/cellwatch/dashboards"
)

// widgetBody is a dashboard of n metric widgets of 4 metrics each.
func widgetBody(n int) string {
	w := make([]string, n)
	for i := range w {
		w[i] = fmt.Sprintf(`{"type":"metric","x":%d,"y":%d,"width":6,"height":6,"properties":{"metrics":[["MyApp","Latency","Host","h%d"],[".","Errors",".","."],[".","Requests",".","."],[{"expression":"m1/m2","label":"ratio","id":"e1"}]],"region":"us-east-1","stat":"Average","period":60,"title":"host %d"}}`,
			i%4*6, i/4*6, i, i)
	}
	return `{"start":"-PT3H","widgets":[` + strings.Join(w, ",") + `]}`
}

// BenchmarkDashboardPutGet100Widgets: PutDashboard (validated, synced)
// then GetDashboard of a 100-widget body, through the Go SDK.
func BenchmarkDashboardPutGet100Widgets(b *testing.B) {
	tn := startBenchNode(b, testConfig(b, b.TempDir()))
	cw, ctx := tn.sdk(), context.Background()
	body := widgetBody(100)
	b.SetBytes(int64(len(body)))
	b.ResetTimer()
	for i := range b.N {
		name := aws.String(fmt.Sprintf("d%d", i%50))
		if _, err := cw.PutDashboard(ctx, &cloudwatch.PutDashboardInput{DashboardName: name, DashboardBody: aws.String(body)}); err != nil {
			b.Fatal(err)
		}
		out, err := cw.GetDashboard(ctx, &cloudwatch.GetDashboardInput{DashboardName: name})
		if err != nil || len(aws.ToString(out.DashboardBody)) != len(body) {
			b.Fatalf("GetDashboard: %v", err)
		}
	}
}

// BenchmarkListTagsForResource: ListTagsForResource of an alarm with 50
// tags, through the Go SDK.
func BenchmarkListTagsForResource(b *testing.B) {
	tn := startBenchNode(b, testConfig(b, b.TempDir()))
	cw, ctx := tn.sdk(), context.Background()
	in := alarmInput("tagged")
	for i := range 50 {
		in.Tags = append(in.Tags, types.Tag{Key: aws.String(fmt.Sprintf("key-%02d", i)), Value: aws.String(strings.Repeat("v", 32))})
	}
	if _, err := cw.PutMetricAlarm(ctx, in); err != nil {
		b.Fatal(err)
	}
	arn := aws.String(alarmARN + "tagged")
	b.ResetTimer()
	for range b.N {
		out, err := cw.ListTagsForResource(ctx, &cloudwatch.ListTagsForResourceInput{ResourceARN: arn})
		if err != nil || len(out.Tags) != 50 {
			b.Fatalf("ListTagsForResource: %v", err)
		}
	}
}

// BenchmarkValidateDashboard100Widgets: the body check alone.
func BenchmarkValidateDashboard100Widgets(b *testing.B) {
	body := widgetBody(100)
	b.SetBytes(int64(len(body)))
	for range b.N {
		if msgs, err := dashboards.Validate(body); err != nil || len(msgs) != 0 {
			b.Fatalf("%v %v", msgs, err)
		}
	}
}
