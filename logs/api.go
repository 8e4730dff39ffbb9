package logs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"time"

	"github.com/grafana/dskit/services"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/cellwatch/cellwatch/internal/awsapi"
)

// Config configures the Logs API. cmd sets every field; none has a flag.
type Config struct {
	Dir string `yaml:"-"` // the metadata database's directory, <data>/logs-meta by convention
	// Bounds on the metadata each tenant may create (0: the default).
	MaxGroups          int              `yaml:"-"` // log groups per tenant (default 10,000)
	MaxStreams         int              `yaml:"-"` // log streams per log group (default 50,000)
	MaxMetricFilters   int              `yaml:"-"` // metric filters per log group (default 100, AWS's quota)
	RetentionInterval  time.Duration    `yaml:"-"` // how often retention runs (default 5 minutes)
	MaxRunningQueries  int              `yaml:"-"` // Logs Insights queries running per tenant (default 30, AWS's quota)
	QueryResultsMaxAge time.Duration    `yaml:"-"` // how long a finished query's results are kept (default 1 hour)
	Now                func() time.Time `yaml:"-"` // clock (default time.Now)
}

// Validate checks the settings.
func (c *Config) Validate() error {
	if c.Dir == "" {
		return errors.New("no logs metadata directory")
	}
	if c.MaxGroups < 0 || c.MaxStreams < 0 || c.MaxMetricFilters < 0 || c.MaxRunningQueries < 0 {
		return errors.New("logs limits must not be negative")
	}
	if c.RetentionInterval < 0 || c.QueryResultsMaxAge < 0 {
		return errors.New("logs intervals must not be negative")
	}
	return nil
}

func (c Config) withDefaults() Config {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	def(&c.MaxGroups, 10_000)
	def(&c.MaxStreams, 50_000)
	def(&c.MaxMetricFilters, 100)
	def(&c.MaxRunningQueries, 30)
	if c.RetentionInterval == 0 {
		c.RetentionInterval = 5 * time.Minute
	}
	if c.QueryResultsMaxAge == 0 {
		c.QueryResultsMaxAge = time.Hour
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// API serves the CloudWatch Logs operations. It is a service: starting
// opens the metadata database and starts the retention loop; stopping
// cancels the running Insights queries and closes the database.
type API struct {
	*services.BasicService

	cfg     Config
	w       Writer
	r       Reader
	logger  *slog.Logger
	meta    *metaStore
	queries *queries

	retentionRuns   prometheus.Counter
	retentionErrors prometheus.Counter
	eventsAccepted  prometheus.Counter
	eventsRejected  prometheus.Counter
}

// New builds the Logs API over cfg.Dir; it reads events through r and
// writes them through w. It opens nothing until started.
func New(cfg Config, w Writer, r Reader, reg prometheus.Registerer, logger *slog.Logger) (*API, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("build logs api: %w", err)
	}
	if w == nil || r == nil {
		return nil, errors.New("build logs api: no writer or reader")
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	cfg = cfg.withDefaults()
	a := &API{cfg: cfg, w: w, logger: logger, meta: newMetaStore(cfg.Dir, logger), queries: newQueries()}
	a.r = incarnationReader{Reader: r, meta: a.meta}
	f := promauto.With(reg)
	a.retentionRuns = f.NewCounter(prometheus.CounterOpts{Name: "cellwatch_logs_retention_runs_total",
		Help: "Passes of the log retention loop over every log group."})
	a.retentionErrors = f.NewCounter(prometheus.CounterOpts{Name: "cellwatch_logs_retention_errors_total",
		Help: "Log streams whose expired events the retention loop failed to delete."})
	a.eventsAccepted = f.NewCounter(prometheus.CounterOpts{Name: "cellwatch_logs_events_accepted_total",
		Help: "Log events PutLogEvents accepted."})
	a.eventsRejected = f.NewCounter(prometheus.CounterOpts{Name: "cellwatch_logs_events_rejected_total",
		Help: "Log events PutLogEvents rejected as too old, too new or expired."})
	f.NewGaugeFunc(prometheus.GaugeOpts{Name: "cellwatch_logs_groups", Help: "Log groups, over all tenants."},
		func() float64 { return float64(a.meta.groupCount()) })
	a.BasicService = services.NewBasicService(a.starting, a.running, a.stopping)
	return a, nil
}

func (a *API) starting(context.Context) error {
	if err := a.meta.open(); err != nil {
		return err
	}
	a.logger.Info("logs metadata loaded", "groups", a.meta.groupCount(), "dir", a.cfg.Dir)
	return nil
}

// running applies retention every RetentionInterval until ctx ends.
func (a *API) running(ctx context.Context) error {
	t := time.NewTicker(a.cfg.RetentionInterval)
	defer t.Stop()
	for {
		a.applyRetention(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

func (a *API) stopping(error) error {
	a.queries.close()
	return a.meta.close()
}

// applyRetention forgets, in every log group with a retention policy, the
// events older than it.
func (a *API) applyRetention(ctx context.Context) {
	now := a.cfg.Now().UnixMilli()
	for _, s := range a.meta.retained() {
		if ctx.Err() != nil {
			return
		}
		before := now - int64(s.days)*24*int64(time.Hour/time.Millisecond)
		if err := a.r.ForgetLogs(ctx, s.tenant, s.group, s.stream, before); err != nil {
			a.retentionErrors.Inc()
			a.logger.Warn("apply log retention", "tenant", s.tenant, "group", s.group, "stream", s.stream, "err", err)
		}
	}
	a.retentionRuns.Inc()
}

// forgetAll deletes every event of the streams (DeleteLogGroup,
// DeleteLogStream).
func (a *API) forgetAll(ctx context.Context, tenant, group string, streams []string) error {
	for _, s := range streams {
		if err := a.r.ForgetLogs(ctx, tenant, group, s, math.MaxInt64); err != nil {
			return fmt.Errorf("delete events of %s/%s: %w", group, s, err)
		}
	}
	return nil
}

// Handler serves one operation (the shape of ingest.Handler, declared here
// so the API does not import the write path).
type Handler func(ctx context.Context, req *awsapi.Request, hdr http.Header) (awsapi.Object, error)

// Handlers returns the Logs operations by name, for ingest.Server.RegisterLogs.
func (a *API) Handlers() map[string]Handler {
	return map[string]Handler{
		"CreateLogGroup":        a.CreateLogGroup,
		"DeleteLogGroup":        a.DeleteLogGroup,
		"DescribeLogGroups":     a.DescribeLogGroups,
		"PutRetentionPolicy":    a.PutRetentionPolicy,
		"DeleteRetentionPolicy": a.DeleteRetentionPolicy,
		"CreateLogStream":       a.CreateLogStream,
		"DeleteLogStream":       a.DeleteLogStream,
		"DescribeLogStreams":    a.DescribeLogStreams,
		"PutLogEvents":          a.PutLogEvents,
		"GetLogEvents":          a.GetLogEvents,
		"FilterLogEvents":       a.FilterLogEvents,
		"PutMetricFilter":       a.PutMetricFilter,
		"DescribeMetricFilters": a.DescribeMetricFilters,
		"DeleteMetricFilter":    a.DeleteMetricFilter,
		"TestMetricFilter":      a.TestMetricFilter,
		"StartQuery":            a.StartQuery,
		"GetQueryResults":       a.GetQueryResults,
		"StopQuery":             a.StopQuery,
		"DescribeQueries":       a.DescribeQueries,
		"GetLogGroupFields":     a.GetLogGroupFields,
		"TagLogGroup":           a.TagLogGroup,
		"UntagLogGroup":         a.UntagLogGroup,
		"ListTagsLogGroup":      a.ListTagsLogGroup,
		"TagResource":           a.TagResource,
		"UntagResource":         a.UntagResource,
		"ListTagsForResource":   a.ListTagsForResource,
	}
}
