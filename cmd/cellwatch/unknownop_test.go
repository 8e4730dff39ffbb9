package main

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
)

// An operation the SDKs can send but cellwatch does not serve: the Go SDK
// (CBOR) sees UnknownOperationException, a raw JSON 1.0 call the coral
// __type, a Query call InvalidAction; all 400.
func TestUnknownOperationThroughSDKAndWire(t *testing.T) {
	tn := startNode(t, testConfig(t, t.TempDir()))
	_, err := tn.sdk().DescribeAnomalyDetectors(context.Background(), &cloudwatch.DescribeAnomalyDetectorsInput{Namespace: aws.String("ns")})
	if apiCode(err) != "UnknownOperationException" {
		t.Errorf("SDK DescribeAnomalyDetectors: %v; want UnknownOperationException", err)
	}
	status, hdr, body := tn.postJSONHeaders(t, "DeleteAnomalyDetector", `{}`, map[string]string{"X-Amzn-Query-Mode": "true"})
	if status != http.StatusBadRequest || body != `{"__type":"com.amazon.coral.service#UnknownOperationException"}` || hdr.Get("X-Amzn-Query-Error") != "" {
		t.Errorf("JSON: %d %v %s", status, hdr, body)
	}
	status, body = tn.postQuery(t, url.Values{"Action": {"DeleteAnomalyDetector"}, "Version": {"2010-08-01"}})
	if status != http.StatusBadRequest || !strings.Contains(body, "<Code>InvalidAction</Code>") ||
		!strings.Contains(body, "<Message>Could not find operation DeleteAnomalyDetector for version 2010-08-01</Message>") {
		t.Errorf("Query: %d %s", status, body)
	}
}
