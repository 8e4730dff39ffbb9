package query

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"runtime"
	"slices"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/util/annotations"

	"github.com/cellwatch/cellwatch/internal/awsapi"
	"github.com/cellwatch/cellwatch/internal/sigv4"
	"github.com/cellwatch/cellwatch/store"
)

// PromConfig configures the Prometheus HTTP API (docs/promql.md).
type PromConfig struct {
	Timeout    time.Duration `yaml:"timeout"`
	MaxSamples int           `yaml:"max_samples"`
}

// RegisterFlags binds the settings to -query.* flags.
func (c *PromConfig) RegisterFlags(fs *flag.FlagSet) {
	fs.DurationVar(&c.Timeout, "query.timeout", 2*time.Minute, "longest a PromQL query (/api/v1/*) may run; a request's timeout parameter can only shorten it")
	fs.IntVar(&c.MaxSamples, "query.max-samples", 50_000_000, "most samples a PromQL query may hold in memory at once")
}

// Validate checks the settings.
func (c *PromConfig) Validate() error {
	switch {
	case c.Timeout <= 0:
		return errors.New("-query.timeout must be positive")
	case c.MaxSamples <= 0:
		return errors.New("-query.max-samples must be positive")
	}
	return nil
}

// Prometheus API error types, as Prometheus names them.
const (
	errBadData     = "bad_data"
	errExecution   = "execution"
	errTimeout     = "timeout"
	errCanceled    = "canceled"
	errInternal    = "internal"
	errNotFound    = "not_found"
	errUnauthorize = "unauthorized"
)

// maxPoints is Prometheus' limit of points per series in a range query.
const maxPoints = 11000

// promListSpan is how far back series and label listings look without start.
const promListSpan = 14 * 24 * time.Hour

// PromAPI serves the Prometheus HTTP API over the Service's stores.
type PromAPI struct {
	s      *Service
	cfg    PromConfig
	engine *promql.Engine
	parser parser.Parser
	keys   map[string]sigv4.Credential
	logger *slog.Logger
}

// NewPromAPI returns the API. With keys (the -auth.credentials file) every
// request needs HTTP basic auth: an access key id and its secret, acting
// for the key's account; without, requests act for the default tenant.
func NewPromAPI(s *Service, cfg PromConfig, keys map[string]sigv4.Credential, reg prometheus.Registerer, logger *slog.Logger) *PromAPI {
	p := parser.NewParser(parser.Options{})
	eng := promql.NewEngine(promql.EngineOpts{
		Logger: logger, Reg: reg, MaxSamples: cfg.MaxSamples, Timeout: cfg.Timeout,
		LookbackDelta: 5 * time.Minute, EnableAtModifier: true, EnableNegativeOffset: true, Parser: p,
	})
	return &PromAPI{s: s, cfg: cfg, engine: eng, parser: p, keys: keys, logger: logger}
}

// Mount adds the API's routes to r (paths /api/v1/...). Each takes GET
// and POST (a form); other methods get 405 in Prometheus' error shape.
func (a *PromAPI) Mount(r chi.Router) {
	for path, h := range map[string]http.HandlerFunc{
		"/api/v1/query":               a.query,
		"/api/v1/query_range":         a.queryRange,
		"/api/v1/series":              a.series,
		"/api/v1/labels":              a.labels,
		"/api/v1/label/{name}/values": a.labelValues,
		"/api/v1/metadata":            a.metadata,
		"/api/v1/status/buildinfo":    a.buildInfo,
	} {
		r.HandleFunc(path, a.guard(h))
	}
}

// guard checks the method, parses the form and authenticates.
func (a *PromAPI) guard(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodPost {
			w.Header().Set("Allow", "GET, POST")
			WritePromError(w, http.StatusMethodNotAllowed, errBadData, fmt.Errorf("method %s not allowed: use GET or POST", r.Method))
			return
		}
		if err := r.ParseForm(); err != nil {
			WritePromError(w, http.StatusBadRequest, errBadData, fmt.Errorf("parse form: %w", err))
			return
		}
		tenant, ok := a.tenantOf(r)
		if !ok {
			w.Header().Set("WWW-Authenticate", `Basic realm="cellwatch"`)
			WritePromError(w, http.StatusUnauthorized, errUnauthorize, errors.New("this node needs HTTP basic auth: an access key id and its secret from the node's credentials file"))
			return
		}
		h(w, r.WithContext(context.WithValue(r.Context(), tenantKey{}, tenant)))
	}
}

type tenantKey struct{}

// tenantOf is the account a request acts for.
func (a *PromAPI) tenantOf(r *http.Request) (string, bool) {
	if a.keys == nil {
		return awsapi.DefaultTenant, true
	}
	id, secret, ok := r.BasicAuth()
	if !ok {
		return "", false
	}
	c, found := a.keys[id]
	if !found || subtle.ConstantTimeCompare([]byte(c.SecretAccessKey), []byte(secret)) != 1 {
		return "", false
	}
	return c.AccountID, true
}

func (a *PromAPI) queryable(r *http.Request) storage.Queryable {
	tenant, _ := r.Context().Value(tenantKey{}).(string)
	return a.s.Queryable(tenant, r.Header)
}

// apiError is a failure with its Prometheus error type and HTTP status.
type apiError struct {
	status int
	typ    string
	err    error
}

func (e *apiError) Error() string { return e.err.Error() }

func badData(format string, args ...any) *apiError {
	return &apiError{http.StatusBadRequest, errBadData, fmt.Errorf(format, args...)}
}

// promResponse is Prometheus' response envelope.
type promResponse struct {
	Status    string   `json:"status"`
	Data      any      `json:"data,omitempty"`
	ErrorType string   `json:"errorType,omitempty"`
	Error     string   `json:"error,omitempty"`
	Warnings  []string `json:"warnings,omitempty"`
	Infos     []string `json:"infos,omitempty"`
}

// WritePromError answers an error in Prometheus' JSON shape.
func WritePromError(w http.ResponseWriter, status int, typ string, err error) {
	writeProm(w, status, promResponse{Status: "error", ErrorType: typ, Error: err.Error()})
}

// WritePromPanic answers a handler's panic (internal, 500).
func WritePromPanic(w http.ResponseWriter) {
	WritePromError(w, http.StatusInternalServerError, errInternal, errors.New("internal error: the request failed (the node logged it)"))
}

func writeProm(w http.ResponseWriter, status int, resp promResponse) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(resp)
}

func (a *PromAPI) respond(w http.ResponseWriter, data any, annos annotations.Annotations, qs string, err error) {
	warns, infos := annos.AsStrings(qs, 10, 10)
	if err != nil {
		var ae *apiError
		if !errors.As(err, &ae) {
			ae = &apiError{http.StatusInternalServerError, errInternal, err}
		}
		writeProm(w, ae.status, promResponse{Status: "error", ErrorType: ae.typ, Error: ae.Error(), Warnings: warns, Infos: infos})
		return
	}
	writeProm(w, http.StatusOK, promResponse{Status: "success", Data: data, Warnings: warns, Infos: infos})
}

// parseTime takes Unix seconds (fractions allowed) or RFC 3339.
func parseTime(s string) (time.Time, error) {
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		if math.IsNaN(f) || math.IsInf(f, 0) || math.Abs(f) > 1e13 {
			return time.Time{}, fmt.Errorf("cannot parse %q to a valid timestamp", s)
		}
		sec, frac := math.Modf(f)
		return time.Unix(int64(sec), int64(math.Round(frac*1000))*int64(time.Millisecond)).UTC(), nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("cannot parse %q to a valid timestamp", s)
}

// parseDuration takes seconds (fractions allowed) or a Prometheus duration.
func parseDuration(s string) (time.Duration, error) {
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		d := f * float64(time.Second)
		if d >= math.MaxInt64 || d <= math.MinInt64 || math.IsNaN(d) {
			return 0, fmt.Errorf("cannot parse %q to a valid duration. It overflows int64", s)
		}
		return time.Duration(d), nil
	}
	if d, err := model.ParseDuration(s); err == nil {
		return time.Duration(d), nil
	}
	return 0, fmt.Errorf("cannot parse %q to a valid duration", s)
}

func timeParam(r *http.Request, name string, def time.Time) (time.Time, error) {
	v := r.Form.Get(name)
	if v == "" {
		return def, nil
	}
	t, err := parseTime(v)
	if err != nil {
		return time.Time{}, badData("invalid parameter %q: %w", name, err)
	}
	return t, nil
}

// queryContext applies the request's timeout parameter, which can only
// shorten -query.timeout.
func (a *PromAPI) queryContext(r *http.Request) (context.Context, context.CancelFunc, error) {
	d := a.cfg.Timeout
	if v := r.Form.Get("timeout"); v != "" {
		t, err := parseDuration(v)
		if err != nil {
			return nil, nil, badData("invalid parameter \"timeout\": %w", err)
		}
		d = min(d, t)
	}
	ctx, cancel := context.WithTimeout(r.Context(), d)
	return ctx, cancel, nil
}

func (a *PromAPI) query(w http.ResponseWriter, r *http.Request) {
	qs := r.Form.Get("query")
	ts, err := timeParam(r, "time", a.s.now())
	if err != nil {
		a.respond(w, nil, nil, qs, err)
		return
	}
	a.run(w, r, qs, func(ctx context.Context) (promql.Query, error) {
		return a.engine.NewInstantQuery(ctx, a.queryable(r), nil, qs, ts)
	})
}

func (a *PromAPI) queryRange(w http.ResponseWriter, r *http.Request) {
	qs := r.Form.Get("query")
	start, end, step, err := rangeParams(r)
	if err != nil {
		a.respond(w, nil, nil, qs, err)
		return
	}
	a.run(w, r, qs, func(ctx context.Context) (promql.Query, error) {
		return a.engine.NewRangeQuery(ctx, a.queryable(r), nil, qs, start, end, step)
	})
}

func rangeParams(r *http.Request) (start, end time.Time, step time.Duration, err error) {
	for _, p := range []string{"start", "end", "step"} {
		if r.Form.Get(p) == "" {
			return start, end, 0, badData("invalid parameter %q: missing", p)
		}
	}
	if start, err = timeParam(r, "start", time.Time{}); err != nil {
		return
	}
	if end, err = timeParam(r, "end", time.Time{}); err != nil {
		return
	}
	if end.Before(start) {
		return start, end, 0, badData("invalid parameter \"end\": end timestamp must not be before start time")
	}
	if step, err = parseDuration(r.Form.Get("step")); err != nil {
		return start, end, 0, badData("invalid parameter \"step\": %w", err)
	}
	if step <= 0 {
		return start, end, 0, badData("zero or negative query resolution step widths are not accepted. Try a positive integer")
	}
	if end.Sub(start)/step > maxPoints {
		return start, end, 0, badData("exceeded maximum resolution of %d points per timeseries. Try decreasing the query resolution (?step=XX)", maxPoints)
	}
	return start, end, step, nil
}

// run executes a query and answers its result.
func (a *PromAPI) run(w http.ResponseWriter, r *http.Request, qs string, build func(context.Context) (promql.Query, error)) {
	ctx, cancel, err := a.queryContext(r)
	if err != nil {
		a.respond(w, nil, nil, qs, err)
		return
	}
	defer cancel()
	if qs == "" {
		a.respond(w, nil, nil, qs, badData("invalid parameter \"query\": missing"))
		return
	}
	q, err := build(ctx)
	if err != nil {
		a.respond(w, nil, nil, qs, badData("invalid parameter \"query\": %w", err))
		return
	}
	defer q.Close()
	res := q.Exec(ctx)
	if res.Err != nil {
		a.respond(w, nil, res.Warnings, qs, engineError(res.Err))
		return
	}
	if m, ok := res.Value.(promql.Matrix); ok {
		warns, infos := res.Warnings.AsStrings(qs, 10, 10)
		if err := writeMatrix(w, m, warns, infos); err != nil {
			a.logger.Debug("write matrix", "err", err)
		}
		return
	}
	a.respond(w, map[string]any{"resultType": res.Value.Type(), "result": res.Value}, res.Warnings, qs, nil)
}

// engineError gives an engine error its Prometheus type and status.
func engineError(err error) *apiError {
	var (
		timeout promql.ErrQueryTimeout
		cancel  promql.ErrQueryCanceled
		storage promql.ErrStorage
	)
	switch {
	case errors.As(err, &timeout), errors.Is(err, context.DeadlineExceeded):
		return &apiError{http.StatusServiceUnavailable, errTimeout, err}
	case errors.As(err, &cancel), errors.Is(err, context.Canceled):
		return &apiError{499, errCanceled, err}
	case errors.As(err, &storage):
		return &apiError{http.StatusInternalServerError, errInternal, err}
	}
	return &apiError{http.StatusUnprocessableEntity, errExecution, err}
}

// listRange is the [start, end] of a series or label listing: the last two
// weeks unless given.
func (a *PromAPI) listRange(r *http.Request) (mint, maxt int64, err error) {
	now := a.s.now()
	start, err := timeParam(r, "start", now.Add(-promListSpan))
	if err != nil {
		return 0, 0, err
	}
	end, err := timeParam(r, "end", now)
	if err != nil {
		return 0, 0, err
	}
	if end.Before(start) {
		return 0, 0, badData("invalid parameter \"end\": end timestamp must not be before start time")
	}
	return start.UnixMilli(), end.UnixMilli(), nil
}

func (a *PromAPI) matchers(r *http.Request, required bool) ([][]*labels.Matcher, error) {
	raw := r.Form["match[]"]
	if required && len(raw) == 0 {
		return nil, badData("no match[] parameter provided")
	}
	out := make([][]*labels.Matcher, 0, len(raw))
	for _, s := range raw {
		ms, err := a.parser.ParseMetricSelector(s)
		if err != nil {
			return nil, badData("invalid parameter \"match[]\": %w", err)
		}
		out = append(out, ms)
	}
	return out, nil
}

// listing opens a querier over the request's listing range and its matchers.
func (a *PromAPI) listing(r *http.Request, required bool) (storage.Querier, [][]*labels.Matcher, error) {
	sets, err := a.matchers(r, required)
	if err != nil {
		return nil, nil, err
	}
	mint, maxt, err := a.listRange(r)
	if err != nil {
		return nil, nil, err
	}
	q, err := a.queryable(r).Querier(mint, maxt)
	if err != nil {
		return nil, nil, badData("%w", err)
	}
	return q, sets, nil
}

func (a *PromAPI) series(w http.ResponseWriter, r *http.Request) {
	q, sets, err := a.listing(r, true)
	if err != nil {
		a.respond(w, nil, nil, "", err)
		return
	}
	defer q.Close()
	var annos annotations.Annotations
	seen := map[string]bool{}
	out := []labels.Labels{}
	for _, ms := range sets {
		ss := q.Select(r.Context(), true, nil, ms...)
		for ss.Next() {
			l := ss.At().Labels()
			if id := l.String(); !seen[id] {
				seen[id] = true
				out = append(out, l)
			}
		}
		annos.Merge(ss.Warnings())
	}
	slices.SortFunc(out, labels.Compare)
	a.respond(w, out, annos, "", nil)
}

func (a *PromAPI) labels(w http.ResponseWriter, r *http.Request) {
	a.labelList(w, r, func(q storage.Querier, ms []*labels.Matcher) ([]string, annotations.Annotations, error) {
		return q.LabelNames(r.Context(), nil, ms...)
	})
}

func (a *PromAPI) labelValues(w http.ResponseWriter, r *http.Request) {
	name := chi.URLParam(r, "name")
	if !model.UTF8Validation.IsValidLabelName(name) {
		a.respond(w, nil, nil, "", badData("invalid label name: %q", name))
		return
	}
	a.labelList(w, r, func(q storage.Querier, ms []*labels.Matcher) ([]string, annotations.Annotations, error) {
		return q.LabelValues(r.Context(), name, nil, ms...)
	})
}

// labelList answers the union of list over every match[] set (one empty
// set without match[]).
func (a *PromAPI) labelList(w http.ResponseWriter, r *http.Request, list func(storage.Querier, []*labels.Matcher) ([]string, annotations.Annotations, error)) {
	q, sets, err := a.listing(r, false)
	if err != nil {
		a.respond(w, nil, nil, "", err)
		return
	}
	defer q.Close()
	if len(sets) == 0 {
		sets = [][]*labels.Matcher{nil}
	}
	var annos annotations.Annotations
	set := map[string]bool{}
	for _, ms := range sets {
		vals, warns, err := list(q, ms)
		if err != nil {
			a.respond(w, nil, annos, "", err)
			return
		}
		annos.Merge(warns)
		for _, v := range vals {
			set[v] = true
		}
	}
	a.respond(w, limited(set, nil), annos, "", nil)
}

// promMetadata is one entry of /api/v1/metadata.
type promMetadata struct {
	Type string `json:"type"`
	Help string `json:"help"`
	Unit string `json:"unit"`
}

func (a *PromAPI) metadata(w http.ResponseWriter, r *http.Request) {
	mint, maxt, err := a.listRange(r)
	if err != nil {
		a.respond(w, nil, nil, "", err)
		return
	}
	qr, err := a.queryable(r).Querier(mint, maxt)
	if err != nil {
		a.respond(w, nil, nil, "", badData("%w", err))
		return
	}
	q := qr.(*promQuerier)
	metric := r.Form.Get("metric")
	out := map[string][]promMetadata{}
	q.matching(nil, func(key *store.SeriesKey, lbls labels.Labels) {
		name := lbls.Get(model.MetricNameLabel)
		if metric != "" && name != metric {
			return
		}
		md := promMetadata{Type: "gauge", Help: fmt.Sprintf("CloudWatch metric %s in namespace %s; stat selects the statistic of each bucket", key.MetricName, key.Namespace)}
		if !slices.Contains(out[name], md) {
			out[name] = append(out[name], md)
		}
	})
	a.respond(w, out, nil, "", nil)
}

// promVersion is the Prometheus release whose engine and API cellwatch
// serves (Grafana reads it to pick features).
const promVersion = "3.16.0"

func (a *PromAPI) buildInfo(w http.ResponseWriter, _ *http.Request) {
	a.respond(w, map[string]string{
		"version": promVersion, "revision": "cellwatch", "branch": "", "buildUser": "", "buildDate": "", "goVersion": runtime.Version(),
	}, nil, "", nil)
}
