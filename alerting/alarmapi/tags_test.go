package alarmapi

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cellwatch/cellwatch/alerting"
	"github.com/cellwatch/cellwatch/internal/awsapi"
)

func tagsOf(t *testing.T, s *testService, arn string) string {
	t.Helper()
	out, err := call(t, s.ListTagsForResource, `{"ResourceARN":"`+arn+`"}`)
	if err != nil {
		t.Fatalf("ListTagsForResource %s: %v", arn, err)
	}
	var parts []string
	for _, tag := range out[0].Value.(awsapi.List) {
		o := tag.(awsapi.Object)
		parts = append(parts, fmt.Sprintf("%v=%v", o[0].Value, o[1].Value))
	}
	return strings.Join(parts, ",")
}

// Tags on metric and composite alarms: set on create, kept (not replaced)
// by an update's Tags, added or overwritten by TagResource, removed by
// UntagResource, and durable across a restart.
func TestTagsOnAlarms(t *testing.T) {
	dir := t.TempDir()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	open := func() *testService { return mustOpen(t, dir, func() time.Time { return now }) }
	s := open()
	const metric = `"Namespace":"ns","MetricName":"m","Statistic":"Average","Period":60,"EvaluationPeriods":1,"Threshold":5,"ComparisonOperator":"GreaterThanThreshold"`
	if _, err := call(t, s.PutMetricAlarm, `{"AlarmName":"a",`+metric+`,"Tags":[{"Key":"team","Value":"db"},{"Key":"env","Value":"prod"}]}`); err != nil {
		t.Fatal(err)
	}
	if _, err := call(t, s.PutCompositeAlarm, `{"AlarmName":"c","AlarmRule":"ALARM(a)","Tags":[{"Key":"kind","Value":"composite"}]}`); err != nil {
		t.Fatal(err)
	}
	a, c := alerting.ARNPrefix+"a", alerting.ARNPrefix+"c"
	if got := tagsOf(t, s, a); got != "env=prod,team=db" {
		t.Errorf("tags on create: %s", got)
	}
	// An update's Tags are ignored: tags apply only on create.
	if _, err := call(t, s.PutMetricAlarm, `{"AlarmName":"a",`+metric+`,"Tags":[{"Key":"other","Value":"x"}]}`); err != nil {
		t.Fatal(err)
	}
	if got := tagsOf(t, s, a); got != "env=prod,team=db" {
		t.Errorf("tags after an update: %s", got)
	}
	for _, body := range []string{
		`{"ResourceARN":"` + a + `","Tags":[{"Key":"env","Value":"dev"},{"Key":"owner","Value":""}]}`,
		`{"ResourceARN":"` + c + `","Tags":[{"Key":"tier","Value":"1"}]}`,
	} {
		if _, err := call(t, s.TagResource, body); err != nil {
			t.Fatalf("TagResource %s: %v", body, err)
		}
	}
	if _, err := call(t, s.UntagResource, `{"ResourceARN":"`+a+`","TagKeys":["team","absent"]}`); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = open()
	if got := tagsOf(t, s, a); got != "env=dev,owner=" {
		t.Errorf("metric alarm tags after restart: %s", got)
	}
	if got := tagsOf(t, s, c); got != "kind=composite,tier=1" {
		t.Errorf("composite alarm tags after restart: %s", got)
	}
	// Unknown and deleted alarms have no tags; tagging them is ResourceNotFoundException.
	if got := tagsOf(t, s, alerting.ARNPrefix+"nope"); got != "" {
		t.Errorf("unknown alarm: %s", got)
	}
	var fifty []string
	for i := range 49 {
		fifty = append(fifty, fmt.Sprintf(`{"Key":"k%d","Value":"v"}`, i))
	}
	for _, tc := range []struct {
		op   Handler
		body string
		code string
	}{
		{s.TagResource, `{"ResourceARN":"` + alerting.ARNPrefix + `nope","Tags":[{"Key":"k","Value":"v"}]}`, "ResourceNotFoundException"},
		{s.UntagResource, `{"ResourceARN":"` + alerting.ARNPrefix + `nope","TagKeys":["k"]}`, "ResourceNotFoundException"},
		{s.TagResource, `{"ResourceARN":"arn:aws:cloudwatch:eu-west-1:111111111111:alarm:a","Tags":[{"Key":"k","Value":"v"}]}`, "ResourceNotFoundException"},
		{s.TagResource, `{"ResourceARN":"not-an-arn","Tags":[{"Key":"k","Value":"v"}]}`, "InvalidParameterValue"},
		{s.ListTagsForResource, `{"ResourceARN":"not-an-arn"}`, "InvalidParameterValue"},
		{s.ListTagsForResource, `{}`, "ValidationError"},
		{s.TagResource, `{"ResourceARN":"` + a + `"}`, "ValidationError"},
		{s.TagResource, `{"ResourceARN":"` + a + `","Tags":[{"Key":"aws:x","Value":"v"}]}`, "InvalidParameterValue"},
		{s.TagResource, `{"ResourceARN":"` + a + `","Tags":[{"Key":"a<b","Value":"v"}]}`, "InvalidParameterValue"},
		{s.UntagResource, `{"ResourceARN":"` + a + `","TagKeys":["aws:x"]}`, "InvalidParameterValue"},
		{s.UntagResource, `{"ResourceARN":"` + a + `"}`, "ValidationError"},
		// a has 2 tags: 49 more is 51.
		{s.TagResource, `{"ResourceARN":"` + a + `","Tags":[` + strings.Join(fifty, ",") + `]}`, "InvalidParameterValue"},
		{s.TagResource, `{"ResourceARN":"` + a + `","Tags":[` + strings.Join(fifty[:48], ",") + `]}`, ""},
		{s.PutMetricAlarm, `{"AlarmName":"b",` + metric + `,"Tags":[{"Key":"aws:x","Value":"v"}]}`, "InvalidParameterValue"},
	} {
		if _, err := call(t, tc.op, tc.body); apiErr(err) != tc.code {
			t.Errorf("%.90s: got %v; want %q", tc.body, err, tc.code)
		}
	}
	if _, err := call(t, s.DeleteAlarms, `{"AlarmNames":["c"]}`); err != nil {
		t.Fatal(err)
	}
	if got := tagsOf(t, s, c); got != "" {
		t.Errorf("deleted alarm: %s", got)
	}
}
