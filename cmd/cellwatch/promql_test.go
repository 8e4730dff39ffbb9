package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/prometheus/client_golang/api"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/util/teststorage"

	"github.com/cellwatch/cellwatch/query"
)

// promClient is client_golang's Prometheus API client on the node.
func (tn *testNode) promClient(t testing.TB, rt http.RoundTripper) v1.API {
	t.Helper()
	c, err := api.NewClient(api.Config{Address: tn.url(), RoundTripper: rt})
	if err != nil {
		t.Fatal(err)
	}
	return v1.NewAPI(c)
}

// promFixture is what putShop writes: Requests{Host} with two values per
// minute (i+1 and 10*(i+1)+h for minute i, host h), and Total{Host=a}, a
// counter going up 10 a minute.
type promFixture struct {
	base time.Time // the first minute written
	n    int       // minutes written
}

func (f promFixture) values(i, h int) []float64 {
	return []float64{float64(i + 1), float64(10*(i+1) + h)}
}

func putShop(t *testing.T, cw *cloudwatch.Client, f promFixture) {
	t.Helper()
	var data []types.MetricDatum
	for i := range f.n {
		ts := f.base.Add(time.Duration(i)*time.Minute + 5*time.Second)
		for h, host := range []string{"a", "b"} {
			for _, v := range f.values(i, h) {
				data = append(data, types.MetricDatum{MetricName: aws.String("Requests"), Value: aws.Float64(v), Unit: types.StandardUnitCount,
					Timestamp: aws.Time(ts), Dimensions: dims("Host", host)})
			}
		}
		data = append(data, types.MetricDatum{MetricName: aws.String("Total"), Value: aws.Float64(float64(10 * (i + 1))), Timestamp: aws.Time(ts), Dimensions: dims("Host", "a")})
	}
	if _, err := cw.PutMetricData(context.Background(), &cloudwatch.PutMetricDataInput{Namespace: aws.String("Shop"), MetricData: data}); err != nil {
		t.Fatal(err)
	}
}

func TestPromQLAPI(t *testing.T) {
	tn := startNode(t, testConfig(t, t.TempDir()))
	f := promFixture{base: time.Now().UTC().Truncate(time.Minute).Add(-10 * time.Minute), n: 10}
	putShop(t, tn.sdk(), f)
	prom := tn.promClient(t, nil)
	ctx := context.Background()
	at := f.base.Add(9 * time.Minute) // the last bucket's start
	waitFor(t, 30*time.Second, "the written series", func() bool {
		v, _, _, err := prom.Query(ctx, `Requests{namespace="Shop",stat="sum"}`, at)
		return err == nil && len(v.(model.Vector)) == 2
	})

	t.Run("query", func(t *testing.T) {
		for q, want := range map[string]map[string]float64{
			`Requests{stat="sum"}`:                                 {"a": 1*10 + 100, "b": 10 + 101},
			`Requests{stat="count",Host="b"}`:                      {"b": 2},
			`Requests{stat="average",Host="a"}`:                    {"a": (10 + 100) / 2.0},
			`sum by (Host) (Requests{stat=~"min|max"})`:            {"a": 10 + 100, "b": 10 + 101},
			`rate(Total{stat="max"}[5m])`:                          {"a": 10.0 / 60},
			`avg_over_time(Requests{stat="sum",Host="a"}[5m])`:     {"a": avg(f, 5, 10, 0)},
			`max_over_time(Requests{stat="max",Host="b"}[5m])`:     {"b": 101},
			`sum(Requests{stat="sum"}) by (namespace)`:             {"": 110 + 111},
			`Requests{stat="p50",Host="a"}`:                        {"a": 10},
			`count(Requests{namespace="Shop",unit="Count"}) by ()`: {"": 10},
		} {
			v, warns, _, err := prom.Query(ctx, q, at)
			if err != nil || len(warns) > 0 {
				t.Errorf("%s: %v, warnings %v", q, err, warns)
				continue
			}
			got := map[string]float64{}
			for _, s := range v.(model.Vector) {
				got[string(s.Metric["Host"])] = float64(s.Value)
			}
			if !closeMaps(got, want, 0.02) {
				t.Errorf("%s = %v; want %v", q, got, want)
			}
		}
	})

	t.Run("query_range", func(t *testing.T) {
		v, warns, _, err := prom.QueryRange(ctx, `Requests{Host="a",stat="sum"}`, v1.Range{Start: f.base, End: at, Step: time.Minute})
		if err != nil || len(warns) > 0 {
			t.Fatalf("%v, warnings %v", err, warns)
		}
		m := v.(model.Matrix)
		if len(m) != 1 || len(m[0].Values) != f.n {
			t.Fatalf("got %v; want one series of %d points", m, f.n)
		}
		for i, p := range m[0].Values {
			vals := f.values(i, 0)
			if want := vals[0] + vals[1]; float64(p.Value) != want || !p.Timestamp.Time().Equal(f.base.Add(time.Duration(i)*time.Minute)) {
				t.Errorf("point %d = %v@%v; want %v@%v", i, p.Value, p.Timestamp.Time(), want, f.base.Add(time.Duration(i)*time.Minute))
			}
		}
	})

	t.Run("series and labels", func(t *testing.T) {
		start, end := f.base.Add(-time.Hour), time.Now()
		series, _, _, err := prom.Series(ctx, []string{`Requests{Host="a"}`}, start, end)
		if err != nil || len(series) != 5 {
			t.Fatalf("series: %v, %v; want the five statistics of one series", series, err)
		}
		if s := series[0]; s["namespace"] != "Shop" || s["unit"] != "Count" || s["Host"] != "a" || s["__name__"] != "Requests" {
			t.Errorf("series labels %v", s)
		}
		names, _, _, err := prom.LabelNames(ctx, []string{`{namespace="Shop"}`}, start, end)
		if want := []string{"Host", "__name__", "namespace", "stat", "unit"}; err != nil || !slices.Equal(toStrings(names), want) {
			t.Errorf("labels %v, %v; want %v", names, err, want)
		}
		hosts, _, _, err := prom.LabelValues(ctx, "Host", nil, start, end)
		if err != nil || !slices.Equal(toStrings(hosts), []string{"a", "b"}) {
			t.Errorf("Host values %v, %v", hosts, err)
		}
		stats, _, _, err := prom.LabelValues(ctx, "stat", []string{"Requests"}, start, end)
		if err != nil || !slices.Equal(toStrings(stats), []string{"average", "count", "max", "min", "sum"}) {
			t.Errorf("stat values %v, %v", stats, err)
		}
		md, err := prom.Metadata(ctx, "Requests", "")
		if err != nil || len(md["Requests"]) != 1 || md["Requests"][0].Type != v1.MetricTypeGauge {
			t.Errorf("metadata %v, %v", md, err)
		}
		bi, err := prom.Buildinfo(ctx)
		if err != nil || !strings.HasPrefix(bi.Version, "3.") {
			t.Errorf("buildinfo %+v, %v", bi, err)
		}
	})

	t.Run("same as the engine over a test storage", func(t *testing.T) {
		comparePromQL(t, prom, f, at)
	})

	t.Run("bad queries", func(t *testing.T) {
		for q, form := range map[string]url.Values{
			"syntax":    {"query": {"sum(("}},
			"no query":  {},
			"bad time":  {"query": {"up"}, "time": {"yesterday"}},
			"bad range": {"query": {"up"}, "start": {"10"}, "end": {"5"}, "step": {"1"}, "range": {"1"}},
			"zero step": {"query": {"up"}, "start": {"1"}, "end": {"5"}, "step": {"0"}, "range": {"1"}},
		} {
			path := "/api/v1/query"
			if form.Has("range") {
				path = "/api/v1/query_range"
			}
			status, body := do(t, mustRequest(t, "POST", tn.url()+path, form))
			if status != 400 || !strings.Contains(body, `"status":"error"`) || !strings.Contains(body, `"errorType":"bad_data"`) {
				t.Errorf("%s: %d %s; want 400 bad_data", q, status, body)
			}
		}
		_, _, _, err := prom.Query(ctx, "sum((", at)
		if e, ok := errors.AsType[*v1.Error](err); !ok || e.Type != v1.ErrBadData {
			t.Errorf("client error %#v; want bad_data", err)
		}
		// The CloudWatch API still answers on the same port.
		if _, err := tn.sdk().ListMetrics(ctx, &cloudwatch.ListMetricsInput{Namespace: aws.String("Shop")}); err != nil {
			t.Errorf("ListMetrics behind the router: %v", err)
		}
	})
}

func mustRequest(t *testing.T, method, u string, form url.Values) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, u, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return req
}

// avg is the average over minutes [from, to) of host h's per-minute sums.
func avg(f promFixture, from, to, h int) float64 {
	var s float64
	for i := from; i < to; i++ {
		v := f.values(i, h)
		s += v[0] + v[1]
	}
	return s / float64(to-from)
}

func closeMaps(got, want map[string]float64, rel float64) bool {
	if len(got) != len(want) {
		return false
	}
	for k, w := range want {
		g, ok := got[k]
		if !ok || math.Abs(g-w) > rel*math.Abs(w)+1e-9 {
			return false
		}
	}
	return true
}

func toStrings[S ~string](in []S) []string {
	out := make([]string, len(in))
	for i, s := range in {
		out[i] = string(s)
	}
	return out
}

// comparePromQL runs expressions on the node and on Prometheus' engine over
// a test storage holding the samples the mapping gives the fixture.
func comparePromQL(t *testing.T, prom v1.API, f promFixture, at time.Time) {
	ts := teststorage.New(t)
	app := ts.Appender(context.Background())
	for i := range f.n {
		tm := f.base.Add(time.Duration(i) * time.Minute).UnixMilli()
		for h, host := range []string{"a", "b"} {
			v := f.values(i, h)
			for stat, x := range map[string]float64{"sum": v[0] + v[1], "count": 2, "min": v[0], "max": v[1], "average": (v[0] + v[1]) / 2} {
				l := labels.FromStrings("__name__", "Requests", "namespace", "Shop", "unit", "Count", "Host", host, "stat", stat)
				if _, err := app.Append(0, l, tm, x); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	if err := app.Commit(); err != nil {
		t.Fatal(err)
	}
	eng := promql.NewEngine(promql.EngineOpts{MaxSamples: 1e6, Timeout: time.Minute, LookbackDelta: 5 * time.Minute})
	start, end, step := f.base, at, 30*time.Second
	for _, q := range []string{
		`Requests{stat="sum"}`,
		`rate(Requests{stat="max"}[3m])`,
		`sum by (Host) (Requests{stat=~"sum|count"})`,
		`avg_over_time(Requests{stat="average"}[4m])`,
		`max_over_time(Requests{stat="max"}[2m]) - ignoring(stat) min_over_time(Requests{stat="min"}[2m])`,
		`increase(Requests{stat="sum",Host="b"}[5m])`,
		`topk(1, Requests{stat="sum"})`,
		`Requests{stat="sum"} offset 2m`,
	} {
		got, _, _, err := prom.QueryRange(context.Background(), q, v1.Range{Start: start, End: end, Step: step})
		if err != nil {
			t.Errorf("%s on the node: %v", q, err)
			continue
		}
		rq, err := eng.NewRangeQuery(context.Background(), ts, nil, q, start, end, step)
		if err != nil {
			t.Fatal(err)
		}
		res := rq.Exec(context.Background())
		if res.Err != nil {
			t.Fatal(res.Err)
		}
		if g, w := matrixString(got.(model.Matrix)), matrixString(toModel(res.Value.(promql.Matrix))); g != w || g == "" {
			t.Errorf("%s:\nnode:   %s\nengine: %s", q, g, w)
		}
		rq.Close()
	}
}

// matrixString renders a result, series by series.
func matrixString(m model.Matrix) string {
	var b strings.Builder
	for _, s := range m {
		fmt.Fprintf(&b, "%s:", s.Metric)
		for _, p := range s.Values {
			fmt.Fprintf(&b, " %d=%.9g", p.Timestamp, float64(p.Value))
		}
		b.WriteString("\n")
	}
	return b.String()
}

func toModel(m promql.Matrix) model.Matrix {
	out := make(model.Matrix, 0, len(m))
	for _, s := range m {
		ms := &model.SampleStream{Metric: model.Metric{}}
		s.Metric.Range(func(l labels.Label) { ms.Metric[model.LabelName(l.Name)] = model.LabelValue(l.Value) })
		for _, p := range s.Floats {
			ms.Values = append(ms.Values, model.SamplePair{Timestamp: model.Time(p.T), Value: model.SampleValue(p.F)})
		}
		out = append(out, ms)
	}
	return out
}

// TestPromQLOutageAndCoverage: with the stream down, query_range over the
// last 15 minutes still answers from the local store; a read forced onto
// the long-term store, which the down stream cannot fill, names the time it
// cannot vouch for in warnings.
func TestPromQLOutageAndCoverage(t *testing.T) {
	tn := startNode(t, testConfig(t, t.TempDir()))
	if code, body := tn.admin(t, "POST", "/admin/stream/fault?mode=down", nil); code != 200 {
		t.Fatalf("fault: %d %s", code, body)
	}
	f := promFixture{base: time.Now().UTC().Truncate(time.Minute).Add(-10 * time.Minute), n: 10}
	putShop(t, tn.sdk(), f)
	ctx := context.Background()
	now := time.Now()
	r := v1.Range{Start: now.Add(-15 * time.Minute), End: now, Step: 15 * time.Second}
	v, warns, _, err := tn.promClient(t, nil).QueryRange(ctx, `sum by (Host) (Requests{stat="count"})`, r)
	if err != nil || len(warns) > 0 {
		t.Fatalf("query_range during the outage: %v, warnings %v", err, warns)
	}
	if m := v.(model.Matrix); len(m) != 2 || len(m[0].Values) == 0 || m[0].Values[len(m[0].Values)-1].Value != 2 {
		t.Fatalf("got %v; want both hosts, 2 datapoints a bucket", m)
	}
	longTerm := headerTransport{query.HeaderReadSource: query.SourceLongTerm}
	v, warns, _, err = tn.promClient(t, longTerm).QueryRange(ctx, `Requests{stat="count"}`, r)
	if err != nil || len(warns) != 1 || !strings.Contains(warns[0], "no store can vouch for") {
		t.Fatalf("long-term read: %v, %v, warnings %v; want one warning naming the unknown time", v, err, warns)
	}
	t.Logf("warning: %s", warns[0])
}

// headerTransport adds headers to every request.
type headerTransport map[string]string

func (h headerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	for k, v := range h {
		r.Header.Set(k, v)
	}
	return http.DefaultTransport.RoundTrip(r)
}

// TestPromQLBasicAuth: with -auth.credentials, the API takes HTTP basic
// auth with a key of the file and reads that key's account only.
func TestPromQLBasicAuth(t *testing.T) {
	dir := t.TempDir()
	creds := dir + "/creds"
	if err := os.WriteFile(creds, []byte("AKIDPROM secretprom 123456789012\nAKIDOTHER secretother 210987654321\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tn := startNode(t, testConfig(t, dir+"/data", "-auth.credentials", creds))
	cw := cloudwatch.NewFromConfig(aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("AKIDPROM", "secretprom", "")},
		func(o *cloudwatch.Options) { o.BaseEndpoint = aws.String(tn.url()) })
	f := promFixture{base: time.Now().UTC().Truncate(time.Minute).Add(-3 * time.Minute), n: 3}
	putShop(t, cw, f)
	ctx := context.Background()
	for name, c := range map[string]struct {
		user, pass string
		want       int // series of Requests{stat="sum"}; -1: refused
	}{
		"owner":        {"AKIDPROM", "secretprom", 2},
		"other":        {"AKIDOTHER", "secretother", 0},
		"wrong secret": {"AKIDPROM", "nope", -1},
		"none":         {"", "", -1},
	} {
		rt := http.RoundTripper(http.DefaultTransport)
		if c.user != "" {
			rt = basicAuth{c.user, c.pass}
		}
		v, _, _, err := tn.promClient(t, rt).Query(ctx, `Requests{stat="sum"}`, f.base.Add(2*time.Minute))
		switch {
		case c.want < 0 && (err == nil || !strings.Contains(err.Error(), "401")):
			t.Errorf("%s: %v; want 401", name, err)
		case c.want >= 0 && (err != nil || len(v.(model.Vector)) != c.want):
			t.Errorf("%s: %v, %v; want %d series", name, v, err, c.want)
		}
	}
}

// TestPromRouterRecovers: a panic under /api/v1/ answers Prometheus' error
// JSON with a request ID; other paths reach the fallback.
func TestPromRouterRecovers(t *testing.T) {
	fallback := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusTeapot) })
	cfg := query.PromConfig{Timeout: time.Second, MaxSamples: 1}
	r := newPublicRouter(query.NewPromAPI(query.New(query.Config{Local: nil}, nil), cfg, nil, prometheus.NewRegistry(), slog.New(slog.DiscardHandler)), cfg, fallback, slog.New(slog.DiscardHandler))
	srv := httptest.NewServer(r)
	defer srv.Close()
	// The Service has no store: the first read panics.
	status, body := do(t, mustRequest(t, "GET", srv.URL+"/api/v1/query?query=up", nil))
	if status != 500 || !strings.Contains(body, `"errorType":"internal"`) {
		t.Errorf("panic: %d %s; want 500 internal", status, body)
	}
	for _, path := range []string{"/", "/service/x", "/api/v1/write"} {
		if status, _ := do(t, mustRequest(t, "POST", srv.URL+path, nil)); status != http.StatusTeapot {
			t.Errorf("POST %s: %d; want the fallback", path, status)
		}
	}
	req := mustRequest(t, "PUT", srv.URL+"/api/v1/query", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 405 || resp.Header.Get("X-Request-Id") == "" {
		t.Errorf("PUT: %d, request id %q; want 405 with an id", resp.StatusCode, resp.Header.Get("X-Request-Id"))
	}
}
