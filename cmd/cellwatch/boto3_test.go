package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// boto3Prelude opens the clients a boto3 script gets: cw (CloudWatch) on the
// node under test, with any credentials, and json.
const boto3Prelude = `import json, os, sys, datetime
import boto3
cw = boto3.client("cloudwatch", endpoint_url=os.environ["CELLWATCH_URL"], region_name="us-east-1",
                  aws_access_key_id="any", aws_secret_access_key="any")
`

// runBoto3 runs script with Python's boto3 against tn and decodes what it
// prints (one JSON document) into out. Without python3 and boto3 the test
// is skipped, except in CI (CI=true), where .ci/run installs them and a
// missing client is a failure.
func runBoto3(t *testing.T, tn *testNode, script string, out any) {
	t.Helper()
	python, err := boto3Python()
	if err != nil {
		if os.Getenv("CI") == "" {
			t.Skipf("python3 with boto3 is not installed: %v", err)
		}
		t.Fatalf("python3 with boto3 is not installed (.ci/run installs it): %v", err)
	}
	cmd := exec.Command(python, "-c", boto3Prelude+script)
	cmd.Env = append(os.Environ(), "CELLWATCH_URL="+tn.url(), "AWS_EC2_METADATA_DISABLED=true")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	stdout, err := cmd.Output()
	if err != nil {
		t.Fatalf("boto3 script: %v\n%s", err, stderr.String())
	}
	if err := json.Unmarshal(stdout, out); err != nil {
		t.Fatalf("boto3 script printed %q: %v", stdout, err)
	}
}

// boto3Python finds a Python that imports boto3: the one on PATH, or
// Debian's (where .ci/run installs python3-boto3 when PATH's has none).
func boto3Python() (string, error) {
	var err error
	for _, name := range []string{"python3", "/usr/bin/python3"} {
		var python string
		if python, err = exec.LookPath(name); err == nil {
			if err = exec.Command(python, "-c", "import boto3").Run(); err == nil {
				return python, nil
			}
		}
	}
	return "", err
}

// TestBoto3RoundTrip: boto3 (whatever protocol its botocore picks: CBOR,
// JSON 1.0 or Query) writes datums and reads them back, and sees AWS's error
// for a bad request.
func TestBoto3RoundTrip(t *testing.T) {
	tn := startNode(t, testConfig(t, t.TempDir()))
	ts := time.Now().Add(-2 * time.Minute).Truncate(time.Minute)
	var got struct {
		Protocol    string
		SampleCount float64
		Sum         float64
		ErrorCode   string
	}
	runBoto3(t, tn, `
ts = datetime.datetime.fromtimestamp(`+strconv.FormatInt(ts.Unix(), 10)+`, datetime.timezone.utc)
cw.put_metric_data(Namespace="Boto", MetricData=[
    {"MetricName": "m", "Timestamp": ts, "Values": [1, 2, 3], "Counts": [1, 1, 2], "Unit": "Count"}])
out = cw.get_metric_statistics(Namespace="Boto", MetricName="m", StartTime=ts, EndTime=ts + datetime.timedelta(minutes=1),
    Period=60, Statistics=["SampleCount", "Sum"])
code = ""
try:
    cw.get_metric_statistics(Namespace="Boto", MetricName="m", StartTime=ts, EndTime=ts, Period=60, Statistics=["Sum"])
except cw.exceptions.InvalidParameterValueException as e:
    code = e.response["Error"]["Code"]
dp = out["Datapoints"][0]
print(json.dumps({"Protocol": cw.meta.service_model.protocol, "SampleCount": dp["SampleCount"], "Sum": dp["Sum"], "ErrorCode": code}))
`, &got)
	if got.SampleCount != 4 || got.Sum != 9 || got.ErrorCode != "InvalidParameterValue" {
		t.Errorf("boto3 (%s): got %+v; want SampleCount 4, Sum 9 and InvalidParameterValue for an empty range", got.Protocol, got)
	}
	t.Logf("boto3 spoke %s", got.Protocol)
}
