package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"

	"github.com/cellwatch/cellwatch/fallback"
)

const uiBoard = `{"widgets":[{"type":"metric","x":0,"y":0,"width":12,"height":6,"properties":{"title":"Checkout latency","metrics":[["Shop","Latency","Host","a"],[".",".",".","b"],[{"expression":"(m1+m2)/2","label":"mean of both hosts"}]],"region":"us-east-1","stat":"Average","period":60}},{"type":"text","x":12,"y":0,"width":12,"height":6,"properties":{"markdown":"Runbook: restart the <cart> service"}}]}`

// The status page, loaded in headless Chromium while the stream is down,
// shows the degraded mode, the alarms with their states and a dashboard's
// chart drawn from the local store.
func TestUIInChromium(t *testing.T) {
	chromium := chromiumPath(t)
	tn := startNode(t, testConfig(t, t.TempDir()))
	cw, ctx := tn.sdk(), context.Background()
	putUIData(t, ctx, cw, 30)
	if _, err := cw.PutDashboard(ctx, &cloudwatch.PutDashboardInput{DashboardName: aws.String("shop"), DashboardBody: aws.String(uiBoard)}); err != nil {
		t.Fatalf("PutDashboard: %v", err)
	}
	alarm := alarmInput("checkout-latency") // over Shop's data: the evaluator keeps it in ALARM
	alarm.Namespace, alarm.Threshold = aws.String("Shop"), aws.Float64(50)
	if _, err := cw.PutMetricAlarm(ctx, alarm); err != nil {
		t.Fatalf("PutMetricAlarm: %v", err)
	}
	if _, err := cw.SetAlarmState(ctx, &cloudwatch.SetAlarmStateInput{AlarmName: aws.String("checkout-latency"),
		StateValue: types.StateValueAlarm, StateReason: aws.String("checkout is slow")}); err != nil {
		t.Fatalf("SetAlarmState: %v", err)
	}
	if code, body := tn.admin(t, "POST", "/admin/stream/fault", url.Values{"mode": {"down"}}); code != http.StatusOK {
		t.Fatalf("inject the outage: %d %s", code, body)
	}
	putUIData(t, ctx, cw, 2) // a write the shipper cannot send
	waitFor(t, 20*time.Second, "degraded", func() bool { return tn.adminStatus(t).Mode == fallback.ModeDegraded })

	dom := runChromium(t, chromium, tn.url()+"/?range=1h", "--dump-dom")
	for _, want := range []string{`class="mode mode-degraded">stream degraded`, `<td class="name">checkout-latency</td><td><span class="state">ALARM</span>`,
		`id="dashboard-shop"`, "Checkout latency", "Runbook: restart the &lt;cart&gt; service", "Injected fault"} {
		if !strings.Contains(dom, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	if !strings.Contains(dom, "checkout is slow") && !strings.Contains(dom, "Threshold Crossed") {
		t.Error("the page lacks the alarm's reason")
	}
	if n := len(regexp.MustCompile(`<path class="series" d="M[0-9.]+,[0-9.]+ L[0-9.]+,[0-9.]+ L`).FindAllString(dom, -1)); n != 3 {
		t.Errorf("%d chart lines with points, want 3 (hosts a and b, and their mean):\n%s", n, dom)
	}
	if !regexp.MustCompile(`mean of both hosts <span class="last">last 10[0-9.]+</span> <span class="pts">3[0-9] points`).MatchString(dom) {
		t.Error("the expression's line lacks its label, latest value or points")
	}
	dir := os.Getenv("CELLWATCH_ARTIFACTS")
	if dir == "" {
		dir = t.TempDir()
	}
	shot := filepath.Join(dir, "ui-degraded.png")
	runChromium(t, chromium, tn.url()+"/?range=1h", "--screenshot="+shot, "--window-size=1280,1600")
	if st, err := os.Stat(shot); err != nil || st.Size() < 10_000 {
		t.Fatalf("screenshot %s: %v (%d bytes)", shot, err, sizeOf(st))
	}
	t.Logf("screenshot: %s", shot)

	chartURL := tn.url() + "/ui/chart?namespace=Shop&metric=Latency&dim=Host%3Da&stat=p90&range=1h"
	chart := runChromium(t, chromium, chartURL, "--dump-dom")
	if !regexp.MustCompile(`<path class="series" d="M[0-9.]+,[0-9.]+ L`).MatchString(chart) {
		t.Errorf("the ad-hoc chart has no line:\n%s", chart)
	}
	runChromium(t, chromium, chartURL, "--screenshot="+filepath.Join(dir, "ui-chart.png"), "--window-size=1280,700")
}

// The page and the CloudWatch API share the port: GET / and /ui/ are the
// page, a Query-protocol GET with Action and every POST the API.
func TestUIRouting(t *testing.T) {
	tn := startNode(t, testConfig(t, t.TempDir()))
	for _, tc := range []struct{ target, want string }{
		{"/", "<!DOCTYPE html>"}, {"/ui/style.css", ".mode-degraded"},
		{"/?Action=ListMetrics&Version=2010-08-01", "ListMetricsResponse"},
	} {
		resp, err := http.Get(tn.url() + tc.target)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), tc.want) {
			t.Errorf("GET %s = %d, want %q in:\n%.300s", tc.target, resp.StatusCode, tc.want, b)
		}
	}
	if _, err := tn.sdk().ListMetrics(context.Background(), &cloudwatch.ListMetricsInput{}); err != nil {
		t.Errorf("the API behind the page: %v", err)
	}
	// A stream that takes writes and never answers: the page does not wait on it.
	if code, body := tn.admin(t, "POST", "/admin/stream/fault", url.Values{"mode": {"hang"}}); code != http.StatusOK {
		t.Fatalf("inject the hang: %d %s", code, body)
	}
	putUIData(t, context.Background(), tn.sdk(), 2)
	client := &http.Client{Timeout: 5 * time.Second}
	for range 3 {
		resp, err := client.Get(tn.url() + "/")
		if err != nil {
			t.Fatalf("GET / while the stream hangs: %v", err)
		}
		b, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), `Injected fault</dt><dd class="err">hang`) {
			t.Errorf("GET / while the stream hangs = %d:\n%.300s", resp.StatusCode, b)
		}
	}
}

func putUIData(t *testing.T, ctx context.Context, cw *cloudwatch.Client, minutes int) {
	t.Helper()
	var data []types.MetricDatum
	for i := range minutes {
		for h, host := range []string{"a", "b"} {
			data = append(data, types.MetricDatum{MetricName: aws.String("Latency"), Dimensions: dims("Host", host),
				Timestamp: aws.Time(minute(i)), Value: aws.Float64(float64(100 + 10*h + i%7))})
		}
	}
	if _, err := cw.PutMetricData(ctx, &cloudwatch.PutMetricDataInput{Namespace: aws.String("Shop"), MetricData: data}); err != nil {
		t.Fatalf("PutMetricData: %v", err)
	}
}

// chromiumPath finds Debian's chromium; without it the test is skipped,
// except in CI, where .ci/run installs it.
func chromiumPath(t *testing.T) string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "" {
		t.Skip("chromium is not installed (apt-get install chromium); the page is not loaded in a browser")
	}
	t.Fatal("chromium is not installed (.ci/run installs it)")
	return ""
}

// runChromium loads target in headless Chromium with args and returns what
// it prints (the DOM with --dump-dom).
func runChromium(t *testing.T, chromium, target string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	all := append([]string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
		"--user-data-dir=" + t.TempDir()}, args...)
	cmd := exec.CommandContext(ctx, chromium, append(all, target)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium %s: %v\n%s", target, err, stderr.String())
	}
	return string(out)
}

func sizeOf(st os.FileInfo) int64 {
	if st == nil {
		return 0
	}
	return st.Size()
}

// BenchmarkUIPage: GET / of a node with 100 alarms and a 10-widget
// dashboard (30 metrics with 3 hours of minutes each, read from the local
// store, and 10 metric math expressions over them), through HTTP.
func BenchmarkUIPage(b *testing.B) {
	tn := startBenchNode(b, testConfig(b, b.TempDir()))
	cw, ctx := tn.sdk(), context.Background()
	for _, name := range []string{"Latency", "Errors", "Requests"} {
		for h := range 10 {
			var data []types.MetricDatum
			for i := range 180 {
				data = append(data, types.MetricDatum{MetricName: aws.String(name), Dimensions: dims("Host", fmt.Sprintf("h%d", h)),
					Timestamp: aws.Time(minute(i)), Value: aws.Float64(float64(i % 13))})
			}
			if _, err := cw.PutMetricData(ctx, &cloudwatch.PutMetricDataInput{Namespace: aws.String("MyApp"), MetricData: data}); err != nil {
				b.Fatal(err)
			}
		}
	}
	for i := range 100 {
		if _, err := cw.PutMetricAlarm(ctx, alarmInput(fmt.Sprintf("alarm-%03d", i))); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := cw.PutDashboard(ctx, &cloudwatch.PutDashboardInput{DashboardName: aws.String("ten"), DashboardBody: aws.String(widgetBody(10))}); err != nil {
		b.Fatal(err)
	}
	paths := regexp.MustCompile(`<path class="series" d="M[^"]* L`)
	b.ResetTimer()
	for range b.N {
		resp, err := http.Get(tn.url() + "/")
		if err != nil {
			b.Fatal(err)
		}
		page, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if b.N == 1 || resp.StatusCode != http.StatusOK {
			if n := len(paths.FindAll(page, -1)); resp.StatusCode != http.StatusOK || n != 40 || !strings.Contains(string(page), "alarm-099") {
				b.Fatalf("GET / = %d with %d lines", resp.StatusCode, n)
			}
		}
		b.SetBytes(int64(len(page)))
	}
}

// On a node that takes only signed requests the page is off: a browser
// cannot sign, and the page would show anyone the node.
func TestUIOffOnSignedNode(t *testing.T) {
	tn := authNode(t)
	resp, err := http.Get(tn.url() + "/")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(b), "a browser cannot sign") || strings.Contains(string(b), "<html") {
		t.Errorf("GET / on a signed node = %d %q, want 403", resp.StatusCode, b)
	}
}
