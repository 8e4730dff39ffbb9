package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
)

// rawCall is one hand-made API request.
type rawCall struct {
	proto   string // "json" (query-compatible, as boto3 sends), "cbor" (as the Go SDK sends) or "query"
	body    string
	gzipped bool
	forged  bool // gzip footer says the body inflates to 1,000 bytes
}

// send posts c and returns the status, the AWS error code and the body.
func (c rawCall) send(t *testing.T, tn *testNode) (int, string, string) {
	t.Helper()
	body := []byte(c.body)
	if c.gzipped {
		var b bytes.Buffer
		zw := gzip.NewWriter(&b)
		_, _ = zw.Write(body)
		_ = zw.Close()
		body = b.Bytes()
		if c.forged {
			binary.LittleEndian.PutUint32(body[len(body)-4:], 1000)
		}
	}
	path := "/"
	if c.proto == "cbor" {
		path = "/service/GraniteServiceVersion20100801/operation/PutMetricData"
	}
	req, _ := http.NewRequest("POST", tn.url()+path, bytes.NewReader(body))
	switch c.proto {
	case "json":
		req.Header.Set("Content-Type", "application/x-amz-json-1.0")
		req.Header.Set("X-Amz-Target", "GraniteServiceVersion20100801.PutMetricData")
		req.Header.Set("X-Amzn-Query-Mode", "true")
	case "cbor":
		req.Header.Set("Content-Type", "application/cbor")
		req.Header.Set("Smithy-Protocol", "rpc-v2-cbor")
		req.Header.Set("X-Amzn-Query-Mode", "true")
	default:
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	}
	if c.gzipped {
		req.Header.Set("Content-Encoding", "gzip")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	code, _, _ := strings.Cut(resp.Header.Get("X-Amzn-Query-Error"), ";")
	if m := xmlCode.FindStringSubmatch(string(b)); m != nil {
		code = m[1]
	}
	return resp.StatusCode, code, string(b)
}

var xmlCode = regexp.MustCompile(`<Code>([^<]*)</Code>`)

func jsonPut(datum string) string {
	return `{"Namespace":"Bad","MetricData":[` + datum + `]}`
}

// TestBadInputGetsAWSErrors sends each class of bad input to a live node:
// each gets its AWS error, none echoes more than a short prefix of a bad
// value, and the datum accepted before is intact after them all.
func TestBadInputGetsAWSErrors(t *testing.T) {
	tn := startNode(t, testConfig(t, t.TempDir()))
	cw, ctx := tn.sdk(), context.Background()
	ts := minute(2)
	if _, err := cw.PutMetricData(ctx, &cloudwatch.PutMetricDataInput{Namespace: aws.String("Bad"), MetricData: []types.MetricDatum{
		{MetricName: aws.String("m"), Value: aws.Float64(7), Timestamp: aws.Time(ts)}}}); err != nil {
		t.Fatal(err)
	}
	huge := strings.Repeat("v", 900_000)
	q := "Action=PutMetricData&Version=2010-08-01&Namespace=Bad&MetricData.member.1.MetricName=m&MetricData.member.1.Value=1"
	cases := map[string]struct {
		call   rawCall
		status int
		code   string
	}{
		"json trailing bytes":      {rawCall{"json", jsonPut(`{"MetricName":"m","Value":1}`) + `{}`, false, false}, 400, "SerializationException"},
		"json duplicate key":       {rawCall{"json", jsonPut(`{"MetricName":"m","Value":1,"Value":2}`), false, false}, 400, "SerializationException"},
		"json string as number":    {rawCall{"json", jsonPut(`{"MetricName":"m","Value":"1"}`), false, false}, 400, "SerializationException"},
		"json out of range":        {rawCall{"json", jsonPut(`{"MetricName":"m","Value":1e999}`), false, false}, 400, "SerializationException"},
		"json invalid utf-8 name":  {rawCall{"json", jsonPut("{\"MetricName\":\"m\xff\",\"Value\":1}"), false, false}, 400, "SerializationException"},
		"json control char name":   {rawCall{"json", jsonPut(`{"MetricName":"m\u0001","Value":1}`), false, false}, 400, "InvalidParameterValue"},
		"json too deep":            {rawCall{"json", `{"A":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `}`, false, false}, 400, "SerializationException"},
		"json huge value echoed":   {rawCall{"json", jsonPut(`{"MetricName":"m","Value":1,"Dimensions":[{"Name":"d","Value":"` + huge + `"}]}`), false, false}, 400, "ValidationError"},
		"query index written 01":   {rawCall{"query", q + "&MetricData.member.01.MetricName=n", false, false}, 400, "InvalidQueryParameter"},
		"query parameter twice":    {rawCall{"query", q + "&MetricData.member.1.Value=2", false, false}, 400, "InvalidQueryParameter"},
		"query value and struct":   {rawCall{"query", q + "&MetricData.member.1.Value.X=2", false, false}, 400, "InvalidQueryParameter"},
		"query bad escape":         {rawCall{"query", q + "&Namespace2=%zz", false, false}, 404, "MalformedQueryString"},
		"query invalid utf-8 name": {rawCall{"query", strings.Replace(q, "MetricName=m", "MetricName=m%FF", 1), false, false}, 400, "InvalidParameterValue"},
		"query out of range":       {rawCall{"query", strings.Replace(q, "Value=1", "Value=1e999", 1), false, false}, 400, "SerializationException"},
		"gzip bomb":                {rawCall{"json", `{"A":[` + strings.Repeat("0,", 8<<20) + `0]}`, true, false}, 413, "RequestEntityTooLarge"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			for range 3 { // the same answer every time
				status, code, body := c.call.send(t, tn)
				if status != c.status || code != c.code {
					t.Fatalf("got %d %s (%.300s); want %d %s", status, code, body, c.status, c.code)
				}
				if len(body) > 2048 || strings.Contains(body, "strconv") {
					t.Fatalf("error body of %d bytes: %.400s", len(body), body)
				}
			}
		})
	}
	dp := getStats(t, cw, &cloudwatch.GetMetricStatisticsInput{Namespace: aws.String("Bad"), MetricName: aws.String("m"),
		StartTime: aws.Time(ts), EndTime: aws.Time(ts.Add(time.Minute)), Period: aws.Int32(60), Statistics: allStats()})
	if len(dp) != 1 || *dp[0].SampleCount != 1 || *dp[0].Sum != 7 {
		t.Errorf("got %+v; want the one accepted datum (count 1, sum 7)", dp)
	}
	if got := scrapeLimited(t, tn, "decompressed_size"); got < 3 {
		t.Errorf("cellwatch_api_limited_total{limit=\"decompressed_size\"} = %v; want the 3 bombs", got)
	}
}

// manyParams is n distinct Query parameters.
func manyParams(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "&P%d=1", i)
	}
	return b.String()
}

func scrapeLimited(t *testing.T, tn *testNode, limit string) float64 {
	t.Helper()
	_, body := tn.admin(t, "GET", "/metrics", nil)
	m := regexp.MustCompile(`cellwatch_api_limited_total\{limit="` + limit + `"\} (\S+)`).FindStringSubmatch(body)
	if m == nil {
		return 0
	}
	v, _ := strconv.ParseFloat(m[1], 64)
	return v
}

// TestCompressedBombCostIsBounded measures what one compressed request
// that inflates to the decompressed limit costs the node: the bound is the
// one docs/security.md gives (the body buffers, three times the inflated
// size at most as they grow, plus 128 bytes per element). The measure
// includes the client's copy and gzip of the body: the node and the test
// share the process.
func TestCompressedBombCostIsBounded(t *testing.T) {
	tn := startNode(t, testConfig(t, t.TempDir()))
	bombs := map[string]rawCall{
		"json zeros":        {"json", `{"A":[` + strings.Repeat("0,", 8<<20-8) + `0]}`, true, false},
		"json empty lists":  {"json", `{"A":[` + strings.Repeat("[],", 5<<20) + `[]]}`, true, false},
		"json tiny objects": {"json", `{"A":[` + strings.Repeat(`{"a":0},`, 2<<20) + `{}]}`, true, false},
		"query params":      {"query", "Action=PutMetricData" + manyParams(1<<20), true, false},
		"cbor zeros":        {"cbor", "\xa1\x61A\x9f" + strings.Repeat("\x00", 16<<20-8) + "\xff", true, false},
		"cbor empty maps":   {"cbor", "\xa1\x61A\x9f" + strings.Repeat("\xa0", 16<<20-8) + "\xff", true, false},
		"forged size":       {"json", `{"A":[` + strings.Repeat("0,", 8<<20) + `0]}`, true, true},
	}
	const bound = 3*(16<<20) + 128*500_000
	for name, c := range bombs {
		t.Run(name, func(t *testing.T) {
			c.send(t, tn) // warm the buffer pools
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			status, code, _ := c.send(t, tn)
			runtime.ReadMemStats(&after)
			if status < 400 {
				t.Fatalf("bomb accepted: %d", status)
			}
			alloc := after.TotalAlloc - before.TotalAlloc
			t.Logf("%s: %d %s; allocated %.1f MiB (bound %.1f MiB)", name, status, code, float64(alloc)/(1<<20), float64(bound)/(1<<20))
			if alloc > bound {
				t.Errorf("one request allocated %d bytes; the documented bound is %d", alloc, bound)
			}
		})
	}
}

// slowBody opens a connection and sends a request's headers and the first
// byte of its body, then nothing more.
func slowBody(t *testing.T, tn *testNode) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", tn.apiServer.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	fmt.Fprintf(conn, "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-amz-json-1.0\r\n"+
		"X-Amz-Target: GraniteServiceVersion20100801.ListMetrics\r\nX-Amzn-Query-Mode: true\r\nContent-Length: 100\r\n\r\n{")
	return conn
}

func TestSlowBodyIsCut(t *testing.T) {
	tn := startNode(t, testConfig(t, t.TempDir(), "-limits.read-timeout", "1s"))
	conn := slowBody(t, tn)
	start := time.Now()
	_ = conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer to a slow body: %v", err)
	}
	if code := resp.Header.Get("X-Amzn-Query-Error"); resp.StatusCode != 408 || !strings.HasPrefix(code, "RequestTimeout;") {
		t.Errorf("got %d %s; want 408 RequestTimeout", resp.StatusCode, code)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("cut after %v", took)
	}
	if scrapeLimited(t, tn, "body_read_time") != 1 {
		t.Error("the cut is not counted")
	}
}

func TestInflightCapAnswersServiceUnavailable(t *testing.T) {
	tn := startNode(t, testConfig(t, t.TempDir(), "-limits.max-inflight-requests", "1"))
	slowBody(t, tn) // holds the one slot
	var last string
	defer func() {
		if t.Failed() {
			t.Logf("last answer: %s", last)
		}
	}()
	waitFor(t, 10*time.Second, "the held request to be refused a second one", func() bool {
		status, body := tn.postJSON(t, "ListMetrics", `{}`)
		last = fmt.Sprint(status, " ", body)
		return status == 503 && strings.Contains(body, "ServiceUnavailableException")
	})
	if scrapeLimited(t, tn, "inflight_requests") < 1 {
		t.Error("the refusal is not counted")
	}
}

// TestTenantRateLimitUnderLoad sends PutMetricData at five times the
// tenant's request rate for two seconds: the requests over it get
// Throttling, every accepted one is stored, and goroutines stay bounded.
func TestTenantRateLimitUnderLoad(t *testing.T) {
	const rate, burst = 20, 5
	tn := startNode(t, testConfig(t, t.TempDir(), "-limits.tenant-request-rate", strconv.Itoa(rate), "-limits.tenant-request-burst", strconv.Itoa(burst)))
	cw := cloudwatch.New(cloudwatch.Options{Region: "us-east-1", BaseEndpoint: aws.String(tn.url()), Retryer: aws.NopRetryer{}})
	ts, goroutines := minute(1), runtime.NumGoroutine()
	var accepted, throttled, other atomic.Int64
	var wg sync.WaitGroup
	tick := time.NewTicker(time.Second / (5 * rate))
	defer tick.Stop()
	maxG := 0
	for end := time.Now().Add(2 * time.Second); time.Now().Before(end); <-tick.C {
		wg.Go(func() {
			_, err := cw.PutMetricData(context.Background(), &cloudwatch.PutMetricDataInput{Namespace: aws.String("Load"),
				MetricData: []types.MetricDatum{{MetricName: aws.String("m"), Value: aws.Float64(1), Timestamp: aws.Time(ts)}}})
			switch {
			case err == nil:
				accepted.Add(1)
			case apiErrorOf(t, err).ErrorCode() == "Throttling" && apiErrorOf(t, err).ErrorMessage() == "Rate exceeded":
				throttled.Add(1)
			default:
				other.Add(1)
				t.Errorf("unexpected error %v", err)
			}
		})
		maxG = max(maxG, runtime.NumGoroutine())
	}
	wg.Wait()
	t.Logf("accepted %d, throttled %d, other %d; goroutines %d before, at most %d during", accepted.Load(), throttled.Load(), other.Load(), goroutines, maxG)
	if accepted.Load() > rate*3+burst || throttled.Load() == 0 {
		t.Errorf("accepted %d, throttled %d: want about %d/s accepted and the rest throttled", accepted.Load(), throttled.Load(), rate)
	}
	dp := getStats(t, tn.sdk(), &cloudwatch.GetMetricStatisticsInput{Namespace: aws.String("Load"), MetricName: aws.String("m"),
		StartTime: aws.Time(ts), EndTime: aws.Time(ts.Add(time.Minute)), Period: aws.Int32(60), Statistics: allStats()})
	if len(dp) != 1 || int64(*dp[0].SampleCount) != accepted.Load() {
		t.Errorf("stored %+v; want every one of the %d accepted datums", dp, accepted.Load())
	}
	waitFor(t, 10*time.Second, "goroutines to settle", func() bool { return runtime.NumGoroutine() < goroutines+50 })
	// The reads above may be throttled too (the SDK retries them), so the
	// counter holds at least the load's refusals.
	if got := scrapeLimited(t, tn, "tenant_requests"); got < float64(throttled.Load()) {
		t.Errorf("cellwatch_api_limited_total{limit=\"tenant_requests\"} = %v; want at least %d", got, throttled.Load())
	}
}

// TestTenantNewSeriesRate lets a tenant create its burst of series, then
// throttles more new ones while writes to the series it has still pass.
func TestTenantNewSeriesRate(t *testing.T) {
	tn := startNode(t, testConfig(t, t.TempDir(), "-limits.tenant-new-series-rate", "0.001", "-limits.tenant-new-series-burst", "1000"))
	cw := cloudwatch.New(cloudwatch.Options{Region: "us-east-1", BaseEndpoint: aws.String(tn.url()), Retryer: aws.NopRetryer{}})
	put := func(first int) error {
		data := make([]types.MetricDatum, 1000)
		for i := range data {
			data[i] = types.MetricDatum{MetricName: aws.String("m"), Value: aws.Float64(1), Dimensions: dims("host", strconv.Itoa(first+i))}
		}
		_, err := cw.PutMetricData(context.Background(), &cloudwatch.PutMetricDataInput{Namespace: aws.String("Series"), MetricData: data})
		return err
	}
	if err := put(0); err != nil {
		t.Fatalf("the first 1000 series: %v", err)
	}
	if ae := apiErrorOf(t, put(1000)); ae.ErrorCode() != "Throttling" || ae.ErrorMessage() != "Rate exceeded" {
		t.Fatalf("1000 more new series: got %s %q; want Throttling", ae.ErrorCode(), ae.ErrorMessage())
	}
	if err := put(0); err != nil {
		t.Fatalf("writes to known series: %v", err)
	}
	if scrapeLimited(t, tn, "tenant_new_series") != 1 {
		t.Error("the refusal is not counted")
	}
}

// TestBoto3SeesThrottlingAndNameErrors checks what boto3 (AWS JSON) shows
// for a tenant over its request rate and for a name with a control
// character.
func TestBoto3SeesThrottlingAndNameErrors(t *testing.T) {
	tn := startNode(t, testConfig(t, t.TempDir(), "-limits.tenant-request-rate", "0.001", "-limits.tenant-request-burst", "3"))
	var out struct {
		Name  []any
		Codes [][]any
	}
	runBoto3(t, tn, `
import botocore.config, botocore.exceptions
c = boto3.client("cloudwatch", endpoint_url=os.environ["CELLWATCH_URL"], region_name="us-east-1",
                 aws_access_key_id="any", aws_secret_access_key="any",
                 config=botocore.config.Config(retries={"mode": "standard", "total_max_attempts": 1}))
def call(name):
    try:
        c.put_metric_data(Namespace="B", MetricData=[{"MetricName": name, "Value": 1}])
        return ["ok", 200, ""]
    except botocore.exceptions.ClientError as e:
        return [e.response["Error"]["Code"], e.response["ResponseMetadata"]["HTTPStatusCode"], e.response["Error"]["Message"]]
name = call("bad\x01name")  # takes the first of the 3 tokens
print(json.dumps({"Name": name, "Codes": [call("m") for _ in range(4)]}))
`, &out)
	if fmt.Sprint(out.Name[:2]) != "[InvalidParameterValue 400]" {
		t.Errorf("control character in a name: %v", out.Name)
	}
	want := "[[ok 200 ] [ok 200 ] [Throttling 400 Rate exceeded] [Throttling 400 Rate exceeded]]"
	if got := fmt.Sprint(out.Codes); got != want {
		t.Errorf("boto3 saw %s; want %s", got, want)
	}
}

// queryBatch is a Query PutMetricData of 1,000 datums of metric "m", each
// with dims dimensions (host=i and d2..dN), value 1 at ts.
func queryBatch(ns string, dims int, ts time.Time) string {
	var b strings.Builder
	b.WriteString("Action=PutMetricData&Version=2010-08-01&Namespace=" + ns)
	for i := 1; i <= 1000; i++ {
		p := "&MetricData.member." + strconv.Itoa(i)
		fmt.Fprintf(&b, "%s.MetricName=m%s.Value=1%s.Timestamp=%s", p, p, p, ts.Format(time.RFC3339))
		fmt.Fprintf(&b, "%s.Dimensions.member.1.Name=host%s.Dimensions.member.1.Value=%d", p, p, i)
		for j := 2; j <= dims; j++ {
			fmt.Fprintf(&b, "%s.Dimensions.member.%d.Name=d%d%s.Dimensions.member.%d.Value=v", p, j, j, p, j)
		}
	}
	return b.String()
}

// TestLargestQueryBatchesAreStored sends Query PutMetricData batches of
// 1,000 datums, with 5 dimensions as sent and with 30 gzipped (AWS's
// largest): both are stored whole.
func TestLargestQueryBatchesAreStored(t *testing.T) {
	tn := startNode(t, testConfig(t, t.TempDir()))
	ts := minute(2)
	for _, c := range []struct {
		ns      string
		dims    int
		gzipped bool
	}{{"Q5", 5, false}, {"Q30", 30, true}} {
		status, code, body := rawCall{"query", queryBatch(c.ns, c.dims, ts), c.gzipped, false}.send(t, tn)
		if status != 200 {
			t.Fatalf("%s: %d %s %.300s", c.ns, status, code, body)
		}
		dims := []types.DimensionFilter{{Name: aws.String("host")}}
		n := 0
		p := cloudwatch.NewListMetricsPaginator(tn.sdk(), &cloudwatch.ListMetricsInput{Namespace: aws.String(c.ns), Dimensions: dims})
		for p.HasMorePages() {
			page, err := p.NextPage(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range page.Metrics {
				if len(m.Dimensions) == c.dims {
					n++
				}
			}
		}
		if n != 1000 {
			t.Errorf("%s: %d series listed; want the batch's 1000", c.ns, n)
		}
	}
}
