package dashboards

import (
	"context"
	"net/http"
	"testing"

	"github.com/cellwatch/cellwatch/internal/awsapi"
)

func TestDashboardTags(t *testing.T) {
	dir := t.TempDir()
	_, api := open(t, dir, 0)
	if _, err := call(t, api.PutDashboard, map[string]any{"DashboardName": "d", "DashboardBody": textBody,
		"Tags": []any{map[string]any{"Key": "team", "Value": "db"}}}); err != nil {
		t.Fatal(err)
	}
	var otherCalls int
	other := func(context.Context, *awsapi.Request, http.Header) (awsapi.Object, error) {
		otherCalls++
		return awsapi.Obj("Tags", awsapi.List{}), nil
	}
	h := api.TagHandlers(map[string]Handler{"TagResource": other, "UntagResource": other, "ListTagsForResource": other})
	arn := ARNPrefix + "d"
	list := func() []any {
		t.Helper()
		out, err := call(t, h["ListTagsForResource"], map[string]any{"ResourceARN": arn})
		if err != nil {
			t.Fatal(err)
		}
		return out[0].Value.(awsapi.List)
	}
	if l := list(); len(l) != 1 {
		t.Errorf("tags on create: %v", l)
	}
	if _, err := call(t, h["TagResource"], map[string]any{"ResourceARN": arn, "Tags": []any{map[string]any{"Key": "env", "Value": "prod"}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := call(t, h["UntagResource"], map[string]any{"ResourceARN": arn, "TagKeys": []any{"team"}}); err != nil {
		t.Fatal(err)
	}
	if l := list(); len(l) != 1 || l[0].(awsapi.Object)[0].Value != "env" {
		t.Errorf("after tag and untag: %v", l)
	}
	for _, tc := range []struct {
		op   string
		in   map[string]any
		code string
	}{
		{"TagResource", map[string]any{"ResourceARN": ARNPrefix + "nope", "Tags": []any{map[string]any{"Key": "k", "Value": "v"}}}, "ResourceNotFoundException"},
		{"UntagResource", map[string]any{"ResourceARN": ARNPrefix + "nope", "TagKeys": []any{"k"}}, "ResourceNotFoundException"},
		{"TagResource", map[string]any{"ResourceARN": arn, "Tags": []any{map[string]any{"Key": "aws:k", "Value": "v"}}}, "InvalidParameterValue"},
		{"TagResource", map[string]any{"ResourceARN": arn}, "ValidationError"},
	} {
		if _, err := call(t, h[tc.op], tc.in); code(err) != tc.code {
			t.Errorf("%s %v: %v; want %s", tc.op, tc.in, err, tc.code)
		}
	}
	if l, _ := call(t, h["ListTagsForResource"], map[string]any{"ResourceARN": ARNPrefix + "nope"}); len(l[0].Value.(awsapi.List)) != 0 {
		t.Errorf("unknown dashboard: %v", l)
	}
	// Other resources go to the wrapped handlers.
	if _, err := call(t, h["ListTagsForResource"], map[string]any{"ResourceARN": "arn:aws:cloudwatch:us-east-1:000000000000:alarm:a"}); err != nil || otherCalls != 1 {
		t.Errorf("alarm ARN: %v, %d calls to the alarm handler", err, otherCalls)
	}
}
