package main

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
)

const dashBody = `{"widgets":[{"type":"metric","x":0,"y":0,"width":12,"height":6,"properties":{"metrics":[["MyApp","Latency","Host","a"]],"region":"us-east-1","stat":"Average","period":60}},{"type":"text","x":12,"y":0,"width":12,"height":6,"properties":{"markdown":"# notes"}}]}`

// A dashboard round-trips through the Go SDK and survives a restart;
// DeleteDashboards refuses all when one name is missing.
func TestDashboardsThroughSDK(t *testing.T) {
	dir := t.TempDir()
	tn := startNode(t, testConfig(t, dir))
	cw, ctx := tn.sdk(), context.Background()
	put, err := cw.PutDashboard(ctx, &cloudwatch.PutDashboardInput{DashboardName: aws.String("ops"), DashboardBody: aws.String(dashBody)})
	if err != nil || len(put.DashboardValidationMessages) != 0 {
		t.Fatalf("PutDashboard: %+v %v", put, err)
	}
	tn.stop()
	tn = startNode(t, testConfig(t, dir))
	cw = tn.sdk()
	got, err := cw.GetDashboard(ctx, &cloudwatch.GetDashboardInput{DashboardName: aws.String("ops")})
	if err != nil || aws.ToString(got.DashboardBody) != dashBody || aws.ToString(got.DashboardName) != "ops" ||
		aws.ToString(got.DashboardArn) != "arn:aws:cloudwatch::000000000000:dashboard/ops" {
		t.Fatalf("GetDashboard after restart: %+v %v", got, err)
	}
	list, err := cw.ListDashboards(ctx, &cloudwatch.ListDashboardsInput{})
	if err != nil || len(list.DashboardEntries) != 1 || aws.ToInt64(list.DashboardEntries[0].Size) != int64(len(dashBody)) ||
		list.DashboardEntries[0].LastModified == nil || list.NextToken != nil {
		t.Errorf("ListDashboards: %+v %v", list, err)
	}
	_, err = cw.GetDashboard(ctx, &cloudwatch.GetDashboardInput{DashboardName: aws.String("nope")})
	var nf *types.DashboardNotFoundError
	if !errors.As(err, &nf) || apiCode(err) != "ResourceNotFound" {
		t.Errorf("GetDashboard unknown: %v; want ResourceNotFound", err)
	}
	_, err = cw.PutDashboard(ctx, &cloudwatch.PutDashboardInput{DashboardName: aws.String("has space"), DashboardBody: aws.String(dashBody)})
	if apiCode(err) != "InvalidParameterValue" {
		t.Errorf("bad name: %v; want InvalidParameterValue", err)
	}
	if _, err := cw.DeleteDashboards(ctx, &cloudwatch.DeleteDashboardsInput{DashboardNames: []string{"ops", "missing"}}); apiCode(err) != "ResourceNotFound" {
		t.Errorf("DeleteDashboards with a missing name: %v; want ResourceNotFound", err)
	}
	if _, err := cw.DeleteDashboards(ctx, &cloudwatch.DeleteDashboardsInput{DashboardNames: []string{"ops"}}); err != nil {
		t.Errorf("DeleteDashboards: %v", err)
	}
	if list, err := cw.ListDashboards(ctx, &cloudwatch.ListDashboardsInput{}); err != nil || len(list.DashboardEntries) != 0 {
		t.Errorf("after delete: %+v %v", list, err)
	}
}

// A body with structural problems is refused with InvalidParameterInput and
// its DashboardValidationMessages; one that is not JSON too.
func TestDashboardValidationThroughSDK(t *testing.T) {
	tn := startNode(t, testConfig(t, t.TempDir()))
	cw, ctx := tn.sdk(), context.Background()
	_, err := cw.PutDashboard(ctx, &cloudwatch.PutDashboardInput{DashboardName: aws.String("bad"),
		DashboardBody: aws.String(`{"widgets":[{"type":"metric","properties":{"title":"no metrics"}}]}`)})
	var inv *types.DashboardInvalidInputError
	if !errors.As(err, &inv) || apiCode(err) != "InvalidParameterInput" || len(inv.DashboardValidationMessages) != 3 {
		t.Fatalf("bad body: %v; want InvalidParameterInput with 3 messages", err)
	}
	if m := inv.DashboardValidationMessages[0]; aws.ToString(m.DataPath) != "/widgets/0/properties" || aws.ToString(m.Message) != "Should have required property 'metrics'" {
		t.Errorf("first message: %+v", m)
	}
	if !strings.HasPrefix(inv.ErrorMessage(), "The dashboard body is invalid, there are 3 validation errors:") {
		t.Errorf("message %q", inv.ErrorMessage())
	}
	_, err = cw.PutDashboard(ctx, &cloudwatch.PutDashboardInput{DashboardName: aws.String("bad"), DashboardBody: aws.String(`{"widgets":`)})
	if apiCode(err) != "InvalidParameterInput" {
		t.Errorf("not JSON: %v; want InvalidParameterInput", err)
	}
	if _, err := cw.GetDashboard(ctx, &cloudwatch.GetDashboardInput{DashboardName: aws.String("bad")}); apiCode(err) != "ResourceNotFound" {
		t.Errorf("a refused body was stored: %v", err)
	}
}

// ListDashboards pages at AWS's 1000 entries, in name order, with a prefix.
func TestListDashboardsPagesThroughSDK(t *testing.T) {
	tn := startNode(t, testConfig(t, t.TempDir()))
	cw, ctx := tn.sdk(), context.Background()
	const n = 1005
	names := make(chan string, n)
	for i := range n {
		names <- fmt.Sprintf("dash-%04d", i)
	}
	close(names)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			for name := range names {
				if _, err := cw.PutDashboard(ctx, &cloudwatch.PutDashboardInput{DashboardName: aws.String(name), DashboardBody: aws.String(`{"widgets":[]}`)}); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("PutDashboard: %v", err)
	}
	var got []string
	var pages []int
	p := cloudwatch.NewListDashboardsPaginator(cw, &cloudwatch.ListDashboardsInput{})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatalf("ListDashboards: %v", err)
		}
		pages = append(pages, len(out.DashboardEntries))
		for _, e := range out.DashboardEntries {
			got = append(got, aws.ToString(e.DashboardName))
		}
	}
	if fmt.Sprint(pages) != "[1000 5]" || len(got) != n || got[0] != "dash-0000" || got[n-1] != "dash-1004" {
		t.Errorf("pages %v, %d names (%s ... %s)", pages, len(got), got[0], got[len(got)-1])
	}
	out, err := cw.ListDashboards(ctx, &cloudwatch.ListDashboardsInput{DashboardNamePrefix: aws.String("dash-100")})
	if err != nil || len(out.DashboardEntries) != 5 || out.NextToken != nil {
		t.Errorf("prefix dash-100: %d entries, %v", len(out.DashboardEntries), err)
	}
}

// boto3 (JSON 1.0): put, get, list, the validation error and its messages.
func TestBoto3Dashboards(t *testing.T) {
	tn := startNode(t, testConfig(t, t.TempDir()))
	var got struct {
		Put      []any
		Body     string
		Arn      string
		Names    []string
		Code     string
		Messages []map[string]string
		NotFound string
	}
	runBoto3(t, tn, `
body = json.dumps({"widgets": [{"type": "text", "x": 0, "y": 0, "width": 6, "height": 3, "properties": {"markdown": "hi"}}]})
put = cw.put_dashboard(DashboardName="boto", DashboardBody=body)
got = cw.get_dashboard(DashboardName="boto")
names = [e["DashboardName"] for e in cw.list_dashboards(DashboardNamePrefix="bo")["DashboardEntries"]]
code, messages, nf = "", [], ""
try:
    cw.put_dashboard(DashboardName="bad", DashboardBody=json.dumps({"widgets": [{"type": "text", "properties": {}}]}))
except cw.exceptions.DashboardInvalidInputError as e:
    code, messages = e.response["Error"]["Code"], e.response.get("dashboardValidationMessages", [])
try:
    cw.get_dashboard(DashboardName="bad")
except cw.exceptions.ResourceNotFound as e:  # botocore names the class by the query code, shared with alarms
    nf = e.response["Error"]["Code"]
print(json.dumps({"Put": put["DashboardValidationMessages"], "Body": got["DashboardBody"], "Arn": got["DashboardArn"],
    "Names": names, "Code": code, "Messages": messages, "NotFound": nf}))
`, &got)
	if got.Put == nil || len(got.Put) != 0 || !strings.Contains(got.Body, `"markdown": "hi"`) || !strings.HasSuffix(got.Arn, ":dashboard/boto") ||
		fmt.Sprint(got.Names) != "[boto]" || got.Code != "InvalidParameterInput" || got.NotFound != "ResourceNotFound" {
		t.Errorf("boto3 dashboards: %+v", got)
	}
	if len(got.Messages) != 1 || got.Messages[0]["DataPath"] != "/widgets/0/properties" {
		t.Errorf("boto3 validation messages: %+v", got.Messages)
	}
}

// The dashboard operations in the Query protocol (older SDKs).
func TestDashboardsWireQuery(t *testing.T) {
	tn := startNode(t, testConfig(t, t.TempDir()))
	status, body := tn.postQuery(t, url.Values{"Action": {"PutDashboard"}, "Version": {"2010-08-01"}, "DashboardName": {"q"},
		"DashboardBody": {`{"widgets":[]}`}, "Tags.member.1.Key": {"team"}, "Tags.member.1.Value": {"db"}})
	if status != 200 || !strings.Contains(body, "<PutDashboardResult><DashboardValidationMessages/></PutDashboardResult>") {
		t.Errorf("PutDashboard Query: %d %s", status, body)
	}
	status, body = tn.postQuery(t, url.Values{"Action": {"ListDashboards"}, "Version": {"2010-08-01"}})
	if status != 200 || !strings.Contains(body, "<DashboardName>q</DashboardName>") || !strings.Contains(body, "<Size>14</Size>") ||
		!strings.Contains(body, "<LastModified>") {
		t.Errorf("ListDashboards Query: %d %s", status, body)
	}
	status, body = tn.postQuery(t, url.Values{"Action": {"PutDashboard"}, "Version": {"2010-08-01"}, "DashboardName": {"q"}, "DashboardBody": {`{}`}})
	if status != 400 || !strings.Contains(body, "<Code>InvalidParameterInput</Code>") {
		t.Errorf("bad body Query: %d %s", status, body)
	}
	status, body = tn.postQuery(t, url.Values{"Action": {"GetDashboard"}, "Version": {"2010-08-01"}, "DashboardName": {"none"}})
	if status != 404 || !strings.Contains(body, "<Code>ResourceNotFound</Code>") {
		t.Errorf("GetDashboard unknown Query: %d %s", status, body)
	}
	status, body = tn.postQuery(t, url.Values{"Action": {"ListTagsForResource"}, "Version": {"2010-08-01"},
		"ResourceARN": {"arn:aws:cloudwatch::000000000000:dashboard/q"}})
	if status != 200 || !strings.Contains(body, "<Key>team</Key><Value>db</Value>") {
		t.Errorf("ListTagsForResource Query: %d %s", status, body)
	}
}
