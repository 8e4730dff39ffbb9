package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
)

// testNode is a cellwatch node running in-process on loopback.
type testNode struct {
	*node
	t      testing.TB
	cancel context.CancelFunc
	done   chan error
}

func testConfig(t testing.TB, dir string, extra ...string) *Config {
	t.Helper()
	cfg, err := loadConfig("test", append([]string{"-listen", "127.0.0.1:0", "-admin-listen", "127.0.0.1:0", "-data", dir}, extra...))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func startNode(t *testing.T, cfg *Config) *testNode {
	t.Helper()
	return startBenchNode(t, cfg)
}

// startBenchNode starts a node for a test or a benchmark.
func startBenchNode(t testing.TB, cfg *Config) *testNode {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	n, err := newNode(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		cancel()
		t.Fatalf("start node: %v", err)
	}
	tn := &testNode{node: n, t: t, cancel: cancel, done: make(chan error, 1)}
	go func() { tn.done <- n.serve(ctx) }()
	t.Cleanup(tn.stop)
	return tn
}

// stop shuts the node down gracefully and waits; calling it twice is fine.
func (tn *testNode) stop() {
	tn.cancel()
	if tn.done != nil {
		if err := <-tn.done; err != nil {
			tn.t.Errorf("node shut down with an error: %v", err)
		}
		tn.done = nil
	}
}

func (tn *testNode) url() string { return "http://" + tn.apiServer.Addr().String() }

// sdk returns the real Go SDK client (Smithy RPC v2 CBOR). Built with New and
// no config, it gzips every PutMetricData, as users' clients often do.
func (tn *testNode) sdk() *cloudwatch.Client { return clientFor(tn.apiServer.Addr().String()) }

// clientFor returns the real Go SDK client for a server at addr.
func clientFor(addr string) *cloudwatch.Client {
	return cloudwatch.New(cloudwatch.Options{Region: "us-east-1", BaseEndpoint: aws.String("http://" + addr),
		Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", "")})
}

// postJSON sends an AWS JSON 1.0 call as boto3 does and returns status and body.
func (tn *testNode) postJSON(t *testing.T, op, body string) (int, string) {
	t.Helper()
	status, _, b := tn.postJSONHeaders(t, op, body, nil)
	return status, b
}

// postJSONHeaders is postJSON with request headers, returning the response headers.
func (tn *testNode) postJSONHeaders(t *testing.T, op, body string, headers map[string]string) (int, http.Header, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", tn.url()+"/", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-amz-json-1.0")
	req.Header.Set("X-Amz-Target", "GraniteServiceVersion20100801."+op)
	req.Header.Set("X-Amzn-Query-Mode", "true")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

// postQuery sends an AWS Query call as older SDKs do.
func (tn *testNode) postQuery(t *testing.T, form url.Values) (int, string) {
	t.Helper()
	form.Set("Version", "2010-08-01")
	req, _ := http.NewRequest("POST", tn.url()+"/", bytes.NewBufferString(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	return do(t, req)
}

func do(t *testing.T, req *http.Request) (int, string) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func dims(kv ...string) []types.Dimension {
	var out []types.Dimension
	for i := 0; i < len(kv); i += 2 {
		out = append(out, types.Dimension{Name: aws.String(kv[i]), Value: aws.String(kv[i+1])})
	}
	return out
}

// minute returns a minute-aligned time a little in the past.
func minute(ago int) time.Time {
	return time.Now().UTC().Truncate(time.Minute).Add(-time.Duration(ago) * time.Minute)
}

func allStats() []types.Statistic {
	return []types.Statistic{types.StatisticSampleCount, types.StatisticSum, types.StatisticAverage, types.StatisticMinimum, types.StatisticMaximum}
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", within, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
