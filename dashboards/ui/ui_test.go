package ui

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cellwatch/cellwatch/alerting"
	"github.com/cellwatch/cellwatch/dashboards"
	"github.com/cellwatch/cellwatch/internal/intervals"
	"github.com/cellwatch/cellwatch/internal/record"
	"github.com/cellwatch/cellwatch/query"
)

var testNow = time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)

// fakeReader answers every metric with a ramp, except metrics named
// "Empty", and reports one unknown interval.
type fakeReader struct {
	mu    sync.Mutex
	calls []string
}

func (f *fakeReader) AlarmPeriods(_ context.Context, tenant, ns, name string, dims []record.Dimension, stat, unit string, period, from, to int64) (map[int64]query.AlarmDatapoint, []intervals.Interval, error) {
	f.mu.Lock()
	f.calls = append(f.calls, fmt.Sprintf("%s %s %s %v %s %d", tenant, ns, name, dims, stat, period))
	f.mu.Unlock()
	out := map[int64]query.AlarmDatapoint{}
	if name == "Empty" {
		return out, nil, nil
	}
	if from%period != 0 {
		return nil, nil, fmt.Errorf("from %d not aligned on %d", from, period)
	}
	for t, i := from, 0; t < to; t, i = t+period, i+1 {
		out[t] = query.AlarmDatapoint{Value: float64(i % 17), SampleCount: 1}
	}
	return out, []intervals.Interval{{From: to - 600, To: to}}, nil
}

// EvaluateQueries answers every metric with AlarmPeriods' ramp and every
// expression with a constant 5, except expressions with METRICS(), which
// return several series.
func (f *fakeReader) EvaluateQueries(ctx context.Context, tenant string, qs []query.MetricQuery, from, to int64) (map[string]query.Series, []intervals.Interval, error) {
	var ids []string
	out := map[string]query.Series{}
	period := int64(60)
	for _, q := range qs {
		ids = append(ids, q.ID)
		if q.Expression != "" {
			continue
		}
		period = q.Period
		dps, _, err := f.AlarmPeriods(ctx, tenant, q.Namespace, q.MetricName, q.Dimensions, q.Stat, q.Unit, q.Period, from, to)
		if err != nil {
			return nil, nil, err
		}
		s := query.Series{ID: q.ID, Period: q.Period}
		for t := from; t < to; t += q.Period {
			if dp, ok := dps[t]; ok {
				s.Timestamps, s.Values = append(s.Timestamps, t), append(s.Values, dp.Value)
			}
		}
		out[q.ID] = s
	}
	for _, q := range qs {
		if q.Expression != "" && !strings.Contains(q.Expression, "METRICS(") {
			s := query.Series{ID: q.ID, Period: period}
			for t := from; t < to; t += period {
				s.Timestamps, s.Values = append(s.Timestamps, t), append(s.Values, 5)
			}
			out[q.ID] = s
		}
	}
	f.mu.Lock()
	f.calls = append(f.calls, fmt.Sprintf("eval %v", ids))
	f.mu.Unlock()
	return out, nil, nil
}

func (f *fakeReader) Coverage(string, int64, int64) []intervals.Interval {
	return []intervals.Interval{{From: testNow.Unix() - 3600, To: testNow.Unix() - 3000}}
}

type fakeAlarms []alerting.Any

func (f fakeAlarms) List(string) []alerting.Any { return f }

type fakeBoards map[string]string

func (f fakeBoards) List(_, _, _ string) ([]dashboards.Entry, bool, error) {
	var out []dashboards.Entry
	for _, n := range []string{"ops", "web", "broken"} {
		if _, ok := f[n]; ok {
			out = append(out, dashboards.Entry{Name: n})
		}
	}
	return out, false, nil
}

func (f fakeBoards) Get(tenant, name string) (*dashboards.Dashboard, error) {
	b, ok := f[name]
	if !ok {
		return nil, nil
	}
	return &dashboards.Dashboard{Tenant: tenant, Name: name, Body: b}, nil
}

func alarm(name, state, reason string) *alerting.Alarm {
	return &alerting.Alarm{Base: alerting.Base{Name: name, State: alerting.State{Value: state, Reason: reason, Updated: testNow}},
		Metric: alerting.Metric{Namespace: "App", MetricName: "Latency"}, Statistic: "Average"}
}

const opsBody = `{"widgets":[
 {"type":"metric","properties":{"title":"Latency","stat":"p99","period":60,"metrics":[
   ["App","Latency","Host","a"],
   [".",".",".","b",{"stat":"Maximum","color":"#ff0000","label":"host b"}],
   [{"expression":"m1*2","label":"doubled"}],
   [{"expression":"SEARCH('{App,Host} Latency', 'Average')"}]]}},
 {"type":"metric","properties":{"title":"Math","metrics":[["App","Errors",{"visible":false,"id":"errs"}],
   [{"expression":"METRICS()","id":"all"}],[{"expression":"errs/60","id":"rate","label":"per second"}]]}},
 {"type":"text","properties":{"markdown":"# <b>runbook</b>"}},
 {"type":"metric","properties":{"view":"singleValue","metrics":[["App","Empty"]]}},
 {"type":"log","properties":{"query":"x"}}]}`

func testHandler(tenant string, alarms fakeAlarms, boards fakeBoards) (*Handler, *fakeReader) {
	r := &fakeReader{}
	return New(Config{Tenant: tenant, Alarms: alarms, Dashboards: boards, Reader: r, Window: 2 * time.Hour,
		Now: func() time.Time { return testNow }, Status: func() Status {
			return Status{NodeID: "n1", Ready: true, Mode: "degraded", ModeSince: testNow.Add(-90 * time.Second),
				LastError: "dial tcp: connection refused", Fault: "down", BacklogBytes: 3 << 20, BacklogRecords: 1200,
				OldestUnshippedAge: 95, CatchUpETA: -1, LocalSeries: 42, LocalBytes: 5 << 20, LocalMaxBytes: 1 << 30}
		}}), r
}

func get(t *testing.T, h http.Handler, target string) (int, string, http.Header) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil))
	return rec.Code, rec.Body.String(), rec.Header()
}

func mustContain(t *testing.T, body string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(body, w) {
			t.Errorf("page lacks %q", w)
		}
	}
}

func TestOverviewStatus(t *testing.T) {
	h, _ := testHandler("default", nil, nil)
	code, body, hdr := get(t, h, "/")
	if code != http.StatusOK {
		t.Fatalf("GET / = %d: %s", code, body)
	}
	mustContain(t, body, `<span id="mode" class="mode mode-degraded">stream degraded</span>`, "dial tcp: connection refused",
		"Injected fault", "3.0 MiB, about 1200 records; oldest 1m35s old", "waiting for the stream",
		"42 series, 5.0 MiB of 1.0 GiB", "the last 2h00m", "2026-12-02 11:00:00Z to 2026-12-02 11:10:00Z",
		"No alarms.", "No dashboards.")
	if ct := hdr.Get("Content-Type"); ct != "text/html; charset=utf-8" {
		t.Errorf("Content-Type = %q", ct)
	}
	if csp := hdr.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("Content-Security-Policy = %q", csp)
	}
}

func TestOverviewAlarms(t *testing.T) {
	alarms := fakeAlarms{alarm("api-latency", "ALARM", "Threshold Crossed: 3 datapoints were greater than the threshold (1.0)."),
		alarm(`<script>alert(1)</script>`, "OK", `reason with "quotes" & <tags>`), alarm("fresh", "", "")}
	h, _ := testHandler("default", alarms, nil)
	_, body, _ := get(t, h, "/")
	mustContain(t, body, "Alarms (3)", `<tr class="alarm state-ALARM"><td class="name">api-latency</td><td><span class="state">ALARM</span>`,
		"Threshold Crossed: 3 datapoints", "&lt;script&gt;alert(1)&lt;/script&gt;", "reason with &#34;quotes&#34; &amp; &lt;tags&gt;",
		`state-INSUFFICIENT_DATA`, "App Latency Average")
	if strings.Contains(body, "<script>") {
		t.Error("an alarm name reached the page unescaped")
	}
}

// pathWithPoints matches a series path with at least two joined points.
var pathWithPoints = regexp.MustCompile(`<path class="series" d="M[0-9.]+,[0-9.]+ L[0-9.]+,[0-9.]+`)

func TestDashboardsDrawn(t *testing.T) {
	h, r := testHandler("default", nil, fakeBoards{"ops": opsBody, "broken": `{"widgets":`})
	code, body, _ := get(t, h, "/?range=1h")
	if code != http.StatusOK {
		t.Fatalf("GET / = %d", code)
	}
	if n := len(pathWithPoints.FindAllString(body, -1)); n != 4 {
		t.Errorf("%d series paths with points, want 4 (host a, host b, doubled, per second)", n)
	}
	mustContain(t, body, `id="dashboard-ops"`, "<h4>Latency</h4>", "host b", `stroke="#ff0000"`, "SEARCH expressions are not drawn yet: SEARCH(&#39;{App,Host} Latency&#39;, &#39;Average&#39;)",
		"</svg>doubled <span", `href="/ui/chart?dim=Host%3Da&amp;metric=Latency&amp;namespace=App&amp;range=1h&amp;stat=p99"`, "per second", "METRICS()", "returns several time series or none: not drawn",
		"# &lt;b&gt;runbook&lt;/b&gt;", "view singleValue drawn as a line chart", "No data in this range",
		"widgets of type log are not drawn", "parse dashboard body", `<option value="1h" selected>`, "period 60s")
	want := []string{"default App Latency [{Host a}] p99 60", "default App Latency [{Host b}] Maximum 60", "eval [m1 m2 e1]",
		"default App Errors [] Average 60", "eval [errs all rate]", "default App Empty [] Average 60"}
	if fmt.Sprint(r.calls) != fmt.Sprint(want) {
		t.Errorf("reads = %q, want %q", r.calls, want)
	}
	code, body, _ = get(t, h, "/ui/dashboard?name=ops&range=1w")
	if code != http.StatusOK || !strings.Contains(body, "period 3600s") || len(pathWithPoints.FindAllString(body, -1)) != 4 {
		t.Errorf("GET /ui/dashboard?name=ops&range=1w = %d; want four lines at a 3600s period: %s", code, body)
	}
	mustContain(t, body, `<input type="hidden" name="name" value="ops">`)
	if code, _, _ := get(t, h, "/ui/dashboard?name=nope"); code != http.StatusNotFound {
		t.Errorf("a missing dashboard = %d, want 404", code)
	}
}

func TestOverviewBoundsLargeDashboards(t *testing.T) {
	widgets := make([]string, 25)
	for i := range widgets {
		widgets[i] = fmt.Sprintf(`{"type":"metric","properties":{"title":"w%d","metrics":[["App","Latency","Host","h%d"]]}}`, i, i)
	}
	h, r := testHandler("default", nil, fakeBoards{"web": `{"widgets":[` + strings.Join(widgets, ",") + `]}`})
	_, body, _ := get(t, h, "/")
	if n := strings.Count(body, `<path class="series"`); n != maxOverviewWidgets || len(r.calls) != maxOverviewWidgets {
		t.Errorf("the overview draws %d lines from %d reads, want %d", n, len(r.calls), maxOverviewWidgets)
	}
	mustContain(t, body, `5 more widgets: <a href="/ui/dashboard?name=web">`)
	if _, body, _ = get(t, h, "/ui/dashboard?name=web"); strings.Count(body, `<path class="series"`) != 25 {
		t.Error("the dashboard's own page does not draw every widget")
	}
}

func TestAdhocChart(t *testing.T) {
	h, r := testHandler("default", nil, nil)
	code, body, _ := get(t, h, "/ui/chart?namespace=App&metric=Latency&stat=p90&dim=Zone%3Dz1%0D%0AHost%3Da&range=15m")
	if code != http.StatusOK || len(pathWithPoints.FindAllString(body, -1)) != 1 {
		t.Fatalf("ad-hoc chart = %d, want one line: %s", code, body)
	}
	if want := "[default App Latency [{Host a} {Zone z1}] p90 60]"; fmt.Sprint(r.calls) != want {
		t.Errorf("reads = %v, want %s", r.calls, want)
	}
	mustContain(t, body, `value="App"`, `value="Latency"`, "Zone=z1\nHost=a</textarea>", `class="unknown"`)
	for _, tc := range []struct{ query, want string }{
		{"namespace=App&metric=Latency&stat=Median", "statistic &#34;Median&#34; is not one CloudWatch knows"},
		{"namespace=App&metric=Latency&dim=nodim", "dimension &#34;nodim&#34; is not Name=Value"},
		{"namespace=App", "both the namespace and the metric name are needed"},
	} {
		code, body, _ := get(t, h, "/ui/chart?"+tc.query)
		if code != http.StatusBadRequest || !strings.Contains(body, tc.want) {
			t.Errorf("%s = %d, want 400 with %q", tc.query, code, tc.want)
		}
	}
	if code, body, _ := get(t, h, "/ui/chart"); code != http.StatusOK || strings.Contains(body, "<svg") {
		t.Errorf("the empty form = %d and draws a chart", code)
	}
}

func TestSignedNodeServesNoPage(t *testing.T) {
	h, r := testHandler("", fakeAlarms{alarm("secret", "ALARM", "")}, fakeBoards{"ops": opsBody})
	for _, p := range []string{"/", "/ui/dashboard?name=ops", "/ui/chart?namespace=App&metric=Latency", "/ui/style.css"} {
		code, body, _ := get(t, h, p)
		if code != http.StatusForbidden || !strings.Contains(body, "a browser cannot sign") || strings.Contains(body, "secret") {
			t.Errorf("%s on a signed node = %d %q, want 403", p, code, body)
		}
	}
	if len(r.calls) > 0 {
		t.Error("a signed node's page read metrics")
	}
}

func TestAssetsAreLocal(t *testing.T) {
	h, _ := testHandler("default", fakeAlarms{alarm("a", "OK", "")}, fakeBoards{"ops": opsBody})
	_, body, _ := get(t, h, "/")
	if m := regexp.MustCompile(`(?i)(src|href|action)="(https?:)?//`).FindString(body); m != "" || strings.Contains(body, "<script") {
		t.Errorf("the page loads something from elsewhere or runs a script: %q", m)
	}
	code, css, hdr := get(t, h, "/ui/style.css")
	if code != http.StatusOK || !strings.HasPrefix(hdr.Get("Content-Type"), "text/css") || !strings.Contains(css, ".mode-degraded") {
		t.Errorf("GET /ui/style.css = %d %q", code, hdr.Get("Content-Type"))
	}
	if code, _, hdr := get(t, h, "/ui"); code != http.StatusFound || hdr.Get("Location") != "/ui/" {
		t.Errorf("GET /ui = %d to %q, want a redirect to /ui/", code, hdr.Get("Location"))
	}
	if code, _, _ := get(t, h, "/ui/nothing"); code != http.StatusNotFound {
		t.Errorf("GET /ui/nothing = %d, want 404", code)
	}
}

func TestIsPage(t *testing.T) {
	for _, tc := range []struct {
		method, target string
		want           bool
	}{
		{"GET", "/", true}, {"HEAD", "/", true}, {"GET", "/?range=1h", true}, {"GET", "/ui/chart", true}, {"GET", "/ui", true},
		{"POST", "/", false}, {"GET", "/?Action=ListMetrics&Version=2010-08-01", false}, {"POST", "/ui/chart", false},
		{"GET", "/uix", false}, {"GET", "/api/v1/query", false}, {"PUT", "/", false},
	} {
		if got := IsPage(httptest.NewRequest(tc.method, tc.target, nil)); got != tc.want {
			t.Errorf("IsPage(%s %s) = %v, want %v", tc.method, tc.target, got, tc.want)
		}
	}
}

func TestMetricSpecs(t *testing.T) {
	specs, notes := metricSpecs(metricProps{Metrics: [][]any{
		{"AWS/EC2", "CPUUtilization", "InstanceId", "i-1", "AutoScalingGroupName", "g"},
		{".", ".", ".", "i-2", ".", ".", map[string]any{"period": 300.0, "visible": true}},
		{".", "NetworkIn", ".", ".", ".", ".", map[string]any{"visible": false}},
		{map[string]any{"expression": "SEARCH('x', 'Average')"}},
		{"OnlyNamespace"},
		{map[string]any{"expression": "m1+m3", "label": "sum"}},
		{"AWS/EC2", "DiskReadOps", map[string]any{"id": "disk", "color": "red"}},
	}})
	got := fmt.Sprint(specs)
	want := "[{m1  false AWS/EC2 CPUUtilization [{AutoScalingGroupName g} {InstanceId i-1}] Average 0  } " +
		"{m2  false AWS/EC2 CPUUtilization [{AutoScalingGroupName g} {InstanceId i-2}] Average 300  } " +
		"{m3  true AWS/EC2 NetworkIn [{AutoScalingGroupName g} {InstanceId i-2}] Average 0  } " +
		"{e1 m1+m3 false   [] Average 0 sum } {disk  false AWS/EC2 DiskReadOps [] Average 0  }]"
	if got != want {
		t.Errorf("specs = %s\nwant %s", got, want)
	}
	if len(notes) != 1 || !strings.Contains(notes[0], "SEARCH") {
		t.Errorf("notes = %q", notes)
	}
}

func TestPeriodFor(t *testing.T) {
	for _, tc := range []struct {
		want int64
		span time.Duration
		got  int64
	}{
		{0, time.Hour, 60}, {0, 3 * time.Hour, 60}, {0, 12 * time.Hour, 300}, {0, 7 * 24 * time.Hour, 3600},
		{300, time.Hour, 300}, {60, 7 * 24 * time.Hour, 3600}, {10, time.Hour, 10}, {90, time.Hour, 60},
		{10, 3 * time.Hour, 10}, {10, 12 * time.Hour, 300}, {10, 15 * time.Minute, 10}, {1, 15 * time.Minute, 1}, {7, 15 * time.Minute, 60},
	} {
		if got := periodFor(tc.want, tc.span); got != tc.got {
			t.Errorf("periodFor(%d, %s) = %d, want %d", tc.want, tc.span, got, tc.got)
		}
	}
}

func TestNiceStep(t *testing.T) {
	for _, tc := range []struct{ raw, want float64 }{{29, 50}, {0.3, 0.5}, {1, 1}, {1.5, 2}, {120, 200}, {0, 1}, {7, 10}} {
		if got := niceStep(tc.raw); got != tc.want {
			t.Errorf("niceStep(%v) = %v, want %v", tc.raw, got, tc.want)
		}
	}
}
