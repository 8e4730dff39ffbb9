package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// Two tenants' keys, as a credentials file holds them.
const credentialsFile = `# access key, secret, account
AKIDTENANTA secret-of-a 111111111111
AKIDTENANTB secret-of-b 222222222222
`

func authNode(t *testing.T) *testNode {
	t.Helper()
	dir := t.TempDir()
	file := filepath.Join(dir, "credentials")
	if err := os.WriteFile(file, []byte(credentialsFile), 0o600); err != nil {
		t.Fatal(err)
	}
	return startNode(t, testConfig(t, filepath.Join(dir, "data"), "-auth.credentials", file))
}

// shiftedSigner signs as the SDK does, at a clock off by shift.
type shiftedSigner struct {
	shift time.Duration
	v4    *v4.Signer
}

func (s shiftedSigner) SignHTTP(ctx context.Context, c aws.Credentials, r *http.Request, hash, service, region string, at time.Time, opts ...func(*v4.SignerOptions)) error {
	return s.v4.SignHTTP(ctx, c, r, hash, service, region, at.Add(s.shift), opts...)
}

func clientAs(tn *testNode, key, secret string, opts ...func(*cloudwatch.Options)) *cloudwatch.Client {
	return cloudwatch.New(cloudwatch.Options{Region: "us-east-1", BaseEndpoint: aws.String(tn.url()), RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider(key, secret, "")}, opts...)
}

// apiError returns the AWS code and HTTP status an SDK call failed with.
func apiError(err error) (string, int) {
	code, status := "", 0
	if ae, ok := errors.AsType[smithy.APIError](err); ok {
		code = ae.ErrorCode()
	}
	if re, ok := errors.AsType[*smithyhttp.ResponseError](err); ok {
		status = re.HTTPStatusCode()
	}
	return code, status
}

// TestSigV4ThroughSDK: with a credentials file, the Go SDK's signed calls
// (gzipped PutMetricData included) are served for the key's account, and
// each way a signature can be wrong gets AWS's error and status.
func TestSigV4ThroughSDK(t *testing.T) {
	tn := authNode(t)
	ctx := context.Background()
	ts := time.Now().Add(-time.Minute).Truncate(time.Minute)
	put := &cloudwatch.PutMetricDataInput{Namespace: aws.String("Auth"), MetricData: []types.MetricDatum{
		{MetricName: aws.String("m"), Timestamp: aws.Time(ts), Value: aws.Float64(2)}}}
	if _, err := clientAs(tn, "AKIDTENANTA", "secret-of-a").PutMetricData(ctx, put); err != nil {
		t.Fatalf("signed by a known key: %v", err)
	}
	for name, tc := range map[string]struct {
		client *cloudwatch.Client
		code   string
		status int
	}{
		"wrong secret": {clientAs(tn, "AKIDTENANTA", "not-the-secret"), "SignatureDoesNotMatch", 403},
		"unknown key":  {clientAs(tn, "AKIDNOBODY", "whatever"), "InvalidClientTokenId", 403},
		"clock 20 min ahead": {clientAs(tn, "AKIDTENANTA", "secret-of-a", func(o *cloudwatch.Options) {
			o.HTTPSignerV4 = shiftedSigner{shift: 20 * time.Minute, v4: v4.NewSigner()}
		}), "RequestExpired", 400},
	} {
		_, err := tc.client.PutMetricData(ctx, put)
		if code, status := apiError(err); code != tc.code || status != tc.status {
			t.Errorf("%s: got %s %d (%v); want %s %d", name, code, status, err, tc.code, tc.status)
		}
	}
	code, body := tn.postJSON(t, "ListMetrics", `{}`) // no Authorization at all
	if code != 403 || !strings.Contains(body, "MissingAuthenticationToken") {
		t.Errorf("unsigned: got %d %s; want 403 MissingAuthenticationToken", code, body)
	}
	dp := getStats(t, clientAs(tn, "AKIDTENANTA", "secret-of-a"), &cloudwatch.GetMetricStatisticsInput{Namespace: aws.String("Auth"), MetricName: aws.String("m"),
		StartTime: aws.Time(ts), EndTime: aws.Time(ts.Add(time.Minute)), Period: aws.Int32(60), Statistics: allStats()})
	if len(dp) != 1 || *dp[0].SampleCount != 1 {
		t.Errorf("the one accepted datum: got %+v; want one datapoint of one sample (refused calls store nothing)", dp)
	}

	// A presigned Query GET (the SDK's presigner) is a signature too.
	r, _ := http.NewRequest("GET", tn.url()+"/?Action=ListMetrics&Version=2010-08-01&X-Amz-Expires=300", nil)
	sum := sha256.Sum256(nil)
	u, _, err := v4.NewSigner().PresignHTTP(ctx, aws.Credentials{AccessKeyID: "AKIDTENANTA", SecretAccessKey: "secret-of-a"}, r,
		hex.EncodeToString(sum[:]), "monitoring", "us-east-1", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("presigned ListMetrics: got %d; want 200", resp.StatusCode)
	}

	var fromBoto struct{ Metrics, Code string }
	runBoto3(t, tn, `
good = boto3.client("cloudwatch", endpoint_url=os.environ["CELLWATCH_URL"], region_name="us-east-1",
                    aws_access_key_id="AKIDTENANTA", aws_secret_access_key="secret-of-a")
bad = boto3.client("cloudwatch", endpoint_url=os.environ["CELLWATCH_URL"], region_name="us-east-1",
                   aws_access_key_id="AKIDTENANTA", aws_secret_access_key="wrong")
names = [m["MetricName"] for m in good.list_metrics(Namespace="Auth")["Metrics"]]
code = ""
try:
    bad.list_metrics(Namespace="Auth")
except Exception as e:
    code = e.response["Error"]["Code"]
print(json.dumps({"Metrics": ",".join(names), "Code": code}))
`, &fromBoto)
	if fromBoto.Metrics != "m" || fromBoto.Code != "SignatureDoesNotMatch" {
		t.Errorf("boto3: got %+v; want metric m listed with the right key and SignatureDoesNotMatch with the wrong one", fromBoto)
	}
}

// TestTenantsSeeOnlyTheirOwn: two keys of two accounts share a node; what
// one writes (metrics and alarms) no read of the other finds.
func TestTenantsSeeOnlyTheirOwn(t *testing.T) {
	tn := authNode(t)
	ctx := context.Background()
	a, b := clientAs(tn, "AKIDTENANTA", "secret-of-a"), clientAs(tn, "AKIDTENANTB", "secret-of-b")
	ts := time.Now().Add(-time.Minute).Truncate(time.Minute)
	if _, err := a.PutMetricData(ctx, &cloudwatch.PutMetricDataInput{Namespace: aws.String("Iso"), MetricData: []types.MetricDatum{
		{MetricName: aws.String("secret"), Dimensions: dims("Host", "a"), Timestamp: aws.Time(ts), Value: aws.Float64(7)}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.PutMetricAlarm(ctx, &cloudwatch.PutMetricAlarmInput{AlarmName: aws.String("OnlyA"), Namespace: aws.String("Iso"),
		MetricName: aws.String("secret"), Statistic: types.StatisticAverage, Period: aws.Int32(60), EvaluationPeriods: aws.Int32(1),
		Threshold: aws.Float64(1), ComparisonOperator: types.ComparisonOperatorGreaterThanThreshold}); err != nil {
		t.Fatal(err)
	}
	seen := func(cw *cloudwatch.Client) (metrics, datapoints, values, alarms int) {
		lm, err := cw.ListMetrics(ctx, &cloudwatch.ListMetricsInput{Namespace: aws.String("Iso")})
		if err != nil {
			t.Fatal(err)
		}
		st, err := cw.GetMetricStatistics(ctx, &cloudwatch.GetMetricStatisticsInput{Namespace: aws.String("Iso"), MetricName: aws.String("secret"),
			Dimensions: dims("Host", "a"), StartTime: aws.Time(ts), EndTime: aws.Time(ts.Add(time.Minute)), Period: aws.Int32(60), Statistics: allStats()})
		if err != nil {
			t.Fatal(err)
		}
		gd, err := cw.GetMetricData(ctx, &cloudwatch.GetMetricDataInput{StartTime: aws.Time(ts), EndTime: aws.Time(ts.Add(time.Minute)),
			MetricDataQueries: []types.MetricDataQuery{{Id: aws.String("m"), MetricStat: &types.MetricStat{Period: aws.Int32(60), Stat: aws.String("Sum"),
				Metric: &types.Metric{Namespace: aws.String("Iso"), MetricName: aws.String("secret"), Dimensions: dims("Host", "a")}}}}})
		if err != nil {
			t.Fatal(err)
		}
		da, err := cw.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{})
		if err != nil {
			t.Fatal(err)
		}
		return len(lm.Metrics), len(st.Datapoints), len(gd.MetricDataResults[0].Values), len(da.MetricAlarms)
	}
	if m, d, v, al := seen(a); m != 1 || d != 1 || v != 1 || al != 1 {
		t.Errorf("tenant A sees %d metrics, %d datapoints, %d values, %d alarms; want 1 of each", m, d, v, al)
	}
	if m, d, v, al := seen(b); m+d+v+al != 0 {
		t.Errorf("tenant B sees %d metrics, %d datapoints, %d values, %d alarms of tenant A; want none", m, d, v, al)
	}
	if _, err := b.SetAlarmState(ctx, &cloudwatch.SetAlarmStateInput{AlarmName: aws.String("OnlyA"), StateValue: types.StateValueAlarm,
		StateReason: aws.String("not yours")}); err == nil {
		t.Error("tenant B set the state of tenant A's alarm")
	}
}

// TestAnonymousOnlyOnLoopback: without credentials a node refuses to listen
// beyond loopback unless told -auth.anonymous.
func TestAnonymousOnlyOnLoopback(t *testing.T) {
	_, err := loadConfig("test", []string{"-listen", "0.0.0.0:0", "-data", t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "-listen 0.0.0.0:0 is not on loopback") || !strings.Contains(err.Error(), "-auth.credentials") {
		t.Errorf("public listener without credentials: got %v; want a refusal naming -listen and -auth.credentials", err)
	}
	if _, err := loadConfig("test", []string{"-listen", "0.0.0.0:0", "-auth.anonymous", "-data", t.TempDir()}); err != nil {
		t.Errorf("with -auth.anonymous: %v", err)
	}
	for addr, want := range map[string]bool{"127.0.0.1:1": true, "localhost:1": true, "[::1]:1": true, ":1": false, "10.0.0.1:1": false} {
		if got := onLoopback(addr); got != want {
			t.Errorf("onLoopback(%q) = %v; want %v", addr, got, want)
		}
	}
}
