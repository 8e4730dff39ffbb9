package alerting

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"sort"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/cellwatch/cellwatch/internal/awsapi"
)

// Handler serves one API operation, as ingest.Server registers them.
type Handler = func(ctx context.Context, req *awsapi.Request, hdr http.Header) (awsapi.Object, error)

// Config configures the alarm service.
type Config struct {
	Dir            string           // the alarm database's directory, e.g. <data>/alarms
	MaxAlarms      int              // per tenant; PutMetricAlarm over it is LimitExceeded (default 100,000)
	Now            func() time.Time // clock (default time.Now)
	Reader         Reader           // where the evaluator reads datapoints; nil: no evaluation loop
	EvalDelay      time.Duration    // how long after a period boundary an alarm is evaluated (default 10 s)
	EvalTickPeriod time.Duration    // how often the loop looks for due alarms (default 10 s)

	// Notifications (notify*.go).
	NotifyTimeout    time.Duration // one delivery attempt (default 5 s)
	NotifyBackoffMin time.Duration // first retry wait per target, doubling (default 1 s)
	NotifyBackoffMax time.Duration // retry wait cap (default 5 min)
	NotifyMaxEntries int           // outbox bound in entries; the oldest are dropped (default 10,000)
	NotifyMaxBytes   int64         // outbox bound in bytes (default 32 MiB)
	NotifyWorkers    int           // deliveries in flight at once (default 4)
}

// Service holds every tenant's alarms and serves the alarm API.
type Service struct {
	cfg    Config
	logger *slog.Logger
	db     *db

	mu         sync.RWMutex
	alarms     map[string]map[string]*Alarm          // tenant -> name -> alarm
	composites map[string]map[string]*CompositeAlarm // tenant -> name -> composite alarm (composite.go)

	transitions *prometheus.CounterVec
	evaluations prometheus.Counter
	evalErrors  prometheus.Counter
	evalSeconds prometheus.Histogram

	outbox *outbox // notify_outbox.go
}

// New opens (or creates) the alarm database in cfg.Dir and loads every alarm.
func New(cfg Config, reg prometheus.Registerer, logger *slog.Logger) (*Service, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.MaxAlarms <= 0 {
		cfg.MaxAlarms = 100_000
	}
	if cfg.EvalDelay <= 0 {
		cfg.EvalDelay = 10 * time.Second
	}
	if cfg.EvalTickPeriod <= 0 {
		cfg.EvalTickPeriod = 10 * time.Second
	}
	notifyDefaults(&cfg)
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("create alarm directory: %w", err)
	}
	d, err := openDB(cfg.Dir, logger)
	if err != nil {
		return nil, err
	}
	s := &Service{cfg: cfg, logger: logger, db: d, alarms: map[string]map[string]*Alarm{}}
	all, err := d.loadAlarms()
	if err != nil {
		_ = d.close()
		return nil, err
	}
	for _, a := range all {
		s.tenant(a.Tenant)[a.Name] = a
	}
	if err := s.loadComposites(); err != nil {
		_ = d.close()
		return nil, err
	}
	if err := d.prune(cfg.Now().Add(-historyRetention).UnixMilli()); err != nil {
		logger.Warn("prune alarm history", "err", err)
	}
	f := promauto.With(reg)
	s.transitions = f.NewCounterVec(prometheus.CounterOpts{
		Name: "cellwatch_alarm_transitions_total",
		Help: "Alarm state transitions by new state.",
	}, []string{"state"})
	s.evaluations = f.NewCounter(prometheus.CounterOpts{
		Name: "cellwatch_alarm_evaluations_total",
		Help: "Alarm evaluations.",
	})
	s.evalErrors = f.NewCounter(prometheus.CounterOpts{
		Name: "cellwatch_alarm_evaluation_errors_total",
		Help: "Alarm evaluations that failed to read their datapoints or write their state.",
	})
	s.evalSeconds = f.NewHistogram(prometheus.HistogramOpts{
		Name:    "cellwatch_alarm_evaluation_pass_seconds",
		Help:    "Time of one evaluation pass over the alarms due.",
		Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
	})
	f.NewGaugeFunc(prometheus.GaugeOpts{Name: "cellwatch_alarms", Help: "Metric alarms, over all tenants."}, func() float64 {
		s.mu.RLock()
		defer s.mu.RUnlock()
		n := 0
		for _, t := range s.alarms {
			n += len(t)
		}
		return float64(n)
	})
	if err := s.openOutbox(reg); err != nil {
		_ = d.close()
		return nil, err
	}
	logger.Info("alarms loaded", "alarms", len(all), "dir", cfg.Dir)
	return s, nil
}

// Close closes the alarm database.
func (s *Service) Close() error {
	s.outbox.close()
	if err := s.db.close(); err != nil {
		return fmt.Errorf("close alarm database: %w", err)
	}
	return nil
}

// Handlers returns the alarm API operations by name, for ingest.Server.Register.
func (s *Service) Handlers() map[string]Handler {
	return map[string]Handler{
		"PutMetricAlarm":          s.PutMetricAlarm,
		"DescribeAlarms":          s.DescribeAlarms,
		"DescribeAlarmsForMetric": s.DescribeAlarmsForMetric,
		"DeleteAlarms":            s.DeleteAlarms,
		"SetAlarmState":           s.SetAlarmState,
		"DescribeAlarmHistory":    s.DescribeAlarmHistory,
		"EnableAlarmActions":      s.EnableAlarmActions,
		"DisableAlarmActions":     s.DisableAlarmActions,
		"PutCompositeAlarm":       s.PutCompositeAlarm,
	}
}

// tenant returns the tenant's alarms, creating the map; s.mu must be held
// for writing (or New must be running).
func (s *Service) tenant(t string) map[string]*Alarm {
	m := s.alarms[t]
	if m == nil {
		m = map[string]*Alarm{}
		s.alarms[t] = m
	}
	return m
}

// sorted returns the tenant's alarms by name; s.mu must be held.
func (s *Service) sorted(tenant string) []*Alarm {
	m := s.alarms[tenant]
	out := make([]*Alarm, 0, len(m))
	for _, a := range m {
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Alarm returns a copy of the tenant's alarm (nil when there is none).
func (s *Service) Alarm(tenant, name string) *Alarm {
	s.mu.RLock()
	defer s.mu.RUnlock()
	a := s.alarms[tenant][name]
	if a == nil {
		return nil
	}
	c := *a
	return &c
}

// setState moves a to st (a copy is stored) and returns the history items to
// write with it: a StateUpdate when the value changes. s.mu must be held.
func (s *Service) setState(a *Alarm, st State) (*Alarm, []HistoryItem) {
	next := *a
	var hist []HistoryItem
	next.State, hist = transition(a.Tenant, a.Name, "MetricAlarm", a.State, st)
	return &next, hist
}

// transition is an alarm of either type moving from old to st: st with its
// Transitioned time, and the StateUpdate history item when the value changes.
func transition(tenant, name, alarmType string, old, st State) (State, []HistoryItem) {
	st.Transitioned = old.Transitioned
	if st.Value != old.Value {
		st.Transitioned = st.Updated
	}
	if st.Value == old.Value {
		return st, nil
	}
	data := fmt.Sprintf(`{"version":"1.0","oldState":{"stateValue":%s,"stateReason":%s},"newState":{"stateValue":%s,"stateReason":%s%s}}`,
		jsonString(old.Value), jsonString(old.Reason), jsonString(st.Value), jsonString(st.Reason), reasonDataMember(st.ReasonData))
	return st, []HistoryItem{{
		Tenant: tenant, AlarmName: name, AlarmType: alarmType, Timestamp: st.Updated,
		Type: HistoryStateUpdate, Summary: "Alarm updated from " + old.Value + " to " + st.Value, Data: data,
	}}
}

func reasonDataMember(d string) string {
	if d == "" {
		return ""
	}
	return `,"stateReasonData":` + d
}
