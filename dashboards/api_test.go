package dashboards

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/grafana/dskit/services"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/cellwatch/cellwatch/internal/awsapi"
)

var testNow = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// open starts a store over dir; the test's cleanup stops it.
func open(t testing.TB, dir string, pageSize int) (*Store, *API) {
	t.Helper()
	s, err := NewStore(Config{Dir: dir, PageSize: pageSize, Now: func() time.Time { return testNow }}, prometheus.NewRegistry(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := services.StartAndAwaitRunning(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = services.StopAndAwaitTerminated(context.Background(), s) })
	return s, New(s)
}

func call(t testing.TB, h Handler, in map[string]any) (awsapi.Object, error) {
	t.Helper()
	return h(context.Background(), &awsapi.Request{Input: in}, http.Header{})
}

func code(err error) string {
	if e, ok := errors.AsType[*awsapi.Error](err); ok {
		return e.Code
	}
	return ""
}

func field(o awsapi.Object, name string) any {
	for _, f := range o {
		if f.Name == name {
			return f.Value
		}
	}
	return nil
}

const textBody = `{"widgets":[{"type":"text","x":0,"y":0,"width":6,"height":3,"properties":{"markdown":"hello"}}]}`

func TestDashboardLifecycle(t *testing.T) {
	dir := t.TempDir()
	s, api := open(t, dir, 2)
	for _, n := range []string{"b-web", "a-db", "b-api", "c_x"} {
		out, err := call(t, api.PutDashboard, map[string]any{"DashboardName": n, "DashboardBody": textBody,
			"Tags": []any{map[string]any{"Key": "team", "Value": n}}})
		if err != nil || len(field(out, "DashboardValidationMessages").(awsapi.List)) != 0 {
			t.Fatalf("PutDashboard %s: %v %v", n, out, err)
		}
	}
	// Replace the body; the tags of an update are ignored.
	body2 := `{"widgets":[]}`
	if _, err := call(t, api.PutDashboard, map[string]any{"DashboardName": "a-db", "DashboardBody": body2,
		"Tags": []any{map[string]any{"Key": "team", "Value": "other"}}}); err != nil {
		t.Fatal(err)
	}
	if err := services.StopAndAwaitTerminated(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	s, api = open(t, dir, 2)
	out, err := call(t, api.GetDashboard, map[string]any{"DashboardName": "a-db"})
	if err != nil || field(out, "DashboardBody") != body2 || field(out, "DashboardName") != "a-db" ||
		field(out, "DashboardArn") != "arn:aws:cloudwatch::000000000000:dashboard/a-db" {
		t.Errorf("GetDashboard after restart: %v %v", out, err)
	}
	if tags, ok, err := s.Tags(awsapi.DefaultTenant, "a-db"); err != nil || !ok || len(tags) != 1 || tags[0].Value != "a-db" {
		t.Errorf("tags after an update: %v %v %v", tags, ok, err)
	}
	// Pages of 2, by name; a prefix.
	var names []string
	tok := ""
	for page := 0; ; page++ {
		in := map[string]any{}
		if tok != "" {
			in["NextToken"] = tok
		}
		out, err := call(t, api.ListDashboards, in)
		if err != nil || page > 3 {
			t.Fatalf("ListDashboards page %d: %v", page, err)
		}
		for _, e := range field(out, "DashboardEntries").(awsapi.List) {
			o := e.(awsapi.Object)
			names = append(names, field(o, "DashboardName").(string))
			if field(o, "LastModified") != testNow || field(o, "Size").(int64) <= 0 {
				t.Errorf("entry: %v", o)
			}
		}
		next, _ := field(out, "NextToken").(string)
		if next == "" {
			break
		}
		tok = next
	}
	if strings.Join(names, ",") != "a-db,b-api,b-web,c_x" {
		t.Errorf("listed %v", names)
	}
	out, err = call(t, api.ListDashboards, map[string]any{"DashboardNamePrefix": "b-"})
	if l := field(out, "DashboardEntries").(awsapi.List); err != nil || len(l) != 2 || field(out, "NextToken") != nil {
		t.Errorf("prefix b-: %v %v", out, err)
	}
	out, err = call(t, api.ListDashboards, map[string]any{"DashboardNamePrefix": "zzz"})
	if l := field(out, "DashboardEntries").(awsapi.List); err != nil || l == nil || len(l) != 0 {
		t.Errorf("prefix zzz: %v %v", out, err)
	}
	// DeleteDashboards is all or nothing.
	_, err = call(t, api.DeleteDashboards, map[string]any{"DashboardNames": []any{"a-db", "nope", "gone"}})
	if code(err) != "ResourceNotFound" || !strings.Contains(err.Error(), "[nope, gone]") {
		t.Errorf("delete with missing names: %v", err)
	}
	if _, err := call(t, api.GetDashboard, map[string]any{"DashboardName": "a-db"}); err != nil {
		t.Errorf("a-db deleted by a failed DeleteDashboards: %v", err)
	}
	if _, err := call(t, api.DeleteDashboards, map[string]any{"DashboardNames": []any{"a-db", "b-api", "a-db"}}); err != nil {
		t.Fatal(err)
	}
	_, err = call(t, api.GetDashboard, map[string]any{"DashboardName": "a-db"})
	if e, ok := errors.AsType[*awsapi.Error](err); !ok || e.Code != "ResourceNotFound" || e.Status != 404 || e.Message != "Dashboard a-db does not exist" {
		t.Errorf("get deleted: %v", err)
	}
	if n := s.count.Load(); n != 2 {
		t.Errorf("count %d; want 2", n)
	}
}

func TestDashboardErrors(t *testing.T) {
	_, api := open(t, t.TempDir(), 0)
	long := strings.Repeat("a", 256)
	for _, tc := range []struct {
		op   Handler
		in   map[string]any
		code string
		msg  string
	}{
		{api.PutDashboard, map[string]any{"DashboardName": "bad name", "DashboardBody": textBody}, "InvalidParameterValue",
			"The value for field DashboardName contains invalid characters. It can only contain alphanumerics, dash (-) and underscore (_).\n"},
		{api.PutDashboard, map[string]any{"DashboardName": long, "DashboardBody": textBody}, "InvalidParameterValue", ""},
		{api.PutDashboard, map[string]any{"DashboardName": "", "DashboardBody": textBody}, "InvalidParameterValue", ""},
		{api.PutDashboard, map[string]any{"DashboardBody": textBody}, "ValidationError", ""},
		{api.PutDashboard, map[string]any{"DashboardName": "d"}, "ValidationError", ""},
		{api.PutDashboard, map[string]any{"DashboardName": "d", "DashboardBody": "not json"}, "InvalidParameterInput", ""},
		{api.PutDashboard, map[string]any{"DashboardName": "d", "DashboardBody": `{"widgets":[{"type":"metric","properties":{}}]}`}, "InvalidParameterInput",
			"The dashboard body is invalid, there are 3 validation errors:\n[\n  {\n    \"dataPath\": \"/widgets/0/properties\",\n    \"message\": \"Should have required property 'metrics'\"\n  },"},
		{api.PutDashboard, map[string]any{"DashboardName": "d", "DashboardBody": `{}`}, "InvalidParameterInput",
			"The dashboard body is invalid, there is 1 validation error:\n[\n  {\n    \"dataPath\": \"\",\n    \"message\": \"Should have required property 'widgets'\"\n  }\n]"},
		{api.PutDashboard, map[string]any{"DashboardName": "d", "DashboardBody": textBody, "Tags": []any{map[string]any{"Key": "aws:x", "Value": "v"}}}, "InvalidParameterValue", ""},
		{api.GetDashboard, map[string]any{"DashboardName": "missing"}, "ResourceNotFound", "Dashboard missing does not exist"},
		{api.GetDashboard, map[string]any{"DashboardName": "a/b"}, "InvalidParameterValue", ""},
		{api.ListDashboards, map[string]any{"DashboardNamePrefix": "a b"}, "InvalidParameterValue", ""},
		{api.ListDashboards, map[string]any{"DashboardNamePrefix": "a.b"}, "", ""},
		{api.ListDashboards, map[string]any{"NextToken": "!!"}, "InvalidParameterValue", ""},
		{api.DeleteDashboards, map[string]any{}, "ValidationError", ""},
		{api.DeleteDashboards, map[string]any{"DashboardNames": manyNames(101)}, "ValidationError", ""},
	} {
		_, err := call(t, tc.op, tc.in)
		if code(err) != tc.code {
			t.Errorf("%v: got %v; want %q", tc.in, err, tc.code)
			continue
		}
		if e, ok := errors.AsType[*awsapi.Error](err); ok && tc.msg != "" && !strings.HasPrefix(e.Message, tc.msg) {
			t.Errorf("%v: message %q; want %q", tc.in, e.Message, tc.msg)
		}
	}
	// The validation messages are the error's dashboardValidationMessages member.
	_, err := call(t, api.PutDashboard, map[string]any{"DashboardName": "d", "DashboardBody": `{"widgets":[{"type":"text","properties":{}}]}`})
	e, _ := errors.AsType[*awsapi.Error](err)
	if e == nil || len(e.Members) != 1 || e.Members[0].Name != "dashboardValidationMessages" {
		t.Fatalf("members of %v", err)
	}
	msgs := e.Members[0].Value.(awsapi.List)
	if b, _ := json.Marshal(msgs); len(msgs) != 1 || fmt.Sprint(msgs[0]) != fmt.Sprint(awsapi.Obj("DataPath", "/widgets/0/properties", "Message", "Should have required property 'markdown'")) {
		t.Errorf("validation messages %s", b)
	}
}

func manyNames(n int) []any {
	l := make([]any, n)
	for i := range l {
		l[i] = fmt.Sprintf("d%d", i)
	}
	return l
}
