package alerting

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/grafana/dskit/services"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/cellwatch/cellwatch/internal/intervals"
	"github.com/cellwatch/cellwatch/query"
)

// Evaluator evaluates every metric alarm of its store once per period,
// EvalDelay after each period boundary, reading through Config.Reader, and
// prunes the history past its retention hourly. It is a timer service; it
// must run while its store runs.
type Evaluator struct {
	*services.BasicService

	s      *Store
	cfg    Config
	logger *slog.Logger
	last   map[string]int64 // tenant\x00name -> end of the range last evaluated
	pruned time.Time

	evaluations prometheus.Counter
	evalErrors  prometheus.Counter
	evalSeconds prometheus.Histogram
}

// NewEvaluator builds the evaluator of store's alarms, with the store's
// Config, and registers its metrics on reg.
func NewEvaluator(store *Store, reg prometheus.Registerer, logger *slog.Logger) (*Evaluator, error) {
	if store == nil {
		return nil, errors.New("build alarm evaluator: no store")
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	e := &Evaluator{s: store, cfg: store.cfg, logger: logger, last: map[string]int64{}}
	f := promauto.With(reg)
	e.evaluations = f.NewCounter(prometheus.CounterOpts{
		Name: "cellwatch_alarm_evaluations_total",
		Help: "Alarm evaluations.",
	})
	e.evalErrors = f.NewCounter(prometheus.CounterOpts{
		Name: "cellwatch_alarm_evaluation_errors_total",
		Help: "Alarm evaluations that failed to read their datapoints or write their state.",
	})
	e.evalSeconds = f.NewHistogram(prometheus.HistogramOpts{
		Name:    "cellwatch_alarm_evaluation_pass_seconds",
		Help:    "Time of one evaluation pass over the alarms due.",
		Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
	})
	e.BasicService = services.NewTimerService(e.cfg.EvalTickPeriod, e.starting, e.iteration, nil)
	return e, nil
}

func (e *Evaluator) starting(context.Context) error {
	e.pruned = e.cfg.Now()
	return nil
}

func (e *Evaluator) iteration(ctx context.Context) error {
	e.EvaluateDue(ctx, e.last)
	if now := e.cfg.Now(); now.Sub(e.pruned) >= time.Hour {
		e.pruned = now
		if err := e.s.db.prune(now.Add(-HistoryRetention).UnixMilli()); err != nil {
			e.logger.Warn("prune alarm history", "err", err)
		}
		if err := e.s.pruneTombstones(now); err != nil {
			e.logger.Warn("prune alarm tombstones", "err", err)
		}
	}
	return nil // a failed pass is counted and logged; the next tick retries
}

// group is the alarms that read the same series the same way.
type group struct {
	tenant string
	metric Metric
	stat   string
	unit   string
	period int64
	end    int64
	alarms []*Alarm
}

// EvaluateDue evaluates the alarms whose newest complete period ended since
// their last evaluation (last: tenant\x00name -> range end, updated). Each
// series is read once per pass, however many alarms watch it.
func (e *Evaluator) EvaluateDue(ctx context.Context, last map[string]int64) {
	s := e.s
	if e.cfg.Reader == nil {
		return
	}
	began := time.Now()
	now := e.cfg.Now()
	groups := map[string]*group{}
	var maths []mathDue
	var recheck []string // composites to re-evaluate (tenant\x00name)
	s.mu.RLock()
	for tenant, alarms := range s.alarms {
		for _, x := range alarms {
			a, ok := x.(*Alarm)
			if !ok {
				if c, ok := x.(*CompositeAlarm); ok && s.gainComposite(c, last) {
					recheck = append(recheck, tenant+"\x00"+c.Name)
				}
				continue
			}
			id := tenant + "\x00" + a.Name
			if !s.owns(tenant, a.Name) {
				delete(last, id) // another node's: if it comes back, it is due at once
				continue
			}
			end := (now.Add(-e.cfg.EvalDelay).Unix() / a.Period) * a.Period
			if last[id] >= end {
				continue
			}
			last[id] = end
			if a.IsMath() { // evaluated individually: no series to share
				c := *a
				maths = append(maths, mathDue{alarm: &c, end: end})
				continue
			}
			key := strings.Join([]string{tenant, a.Metric.Key(), a.Stat(), a.Unit, strconv.FormatInt(a.Period, 10), strconv.FormatInt(end, 10)}, "\x01")
			g := groups[key]
			if g == nil {
				g = &group{tenant: tenant, metric: a.Metric, stat: a.Stat(), unit: a.Unit, period: a.Period, end: end}
				groups[key] = g
			}
			c := *a
			g.alarms = append(g.alarms, &c)
		}
	}
	s.mu.RUnlock()
	var put []*Alarm
	for _, g := range groups {
		r := 0
		for _, a := range g.alarms {
			r = max(r, RangeLen(a.EvaluationPeriods))
		}
		from := g.end - int64(r)*g.period
		values, unknown, err := e.cfg.Reader.Periods(ctx, g.tenant, g.metric, g.stat, g.unit, g.period, from, g.end)
		if err != nil {
			e.evalErrors.Add(float64(len(g.alarms)))
			e.logger.Warn("read alarm datapoints", "namespace", g.metric.Namespace, "metric", g.metric.MetricName, "err", err)
			if errors.Is(err, query.ErrUnsupportedStatistic) {
				put = append(put, unevaluable(g.alarms, now)...)
			}
			continue
		}
		for _, a := range g.alarms {
			if e.judge(a, rangePoints(a, values, unknown, g.end), now) {
				put = append(put, a)
			}
		}
	}
	for _, m := range maths {
		pts, err := e.readMath(ctx, m.alarm, m.end) // mathalarm.go
		if err != nil {
			e.evalErrors.Inc()
			e.logger.Warn("evaluate metric math alarm", "alarm", m.alarm.Name, "err", err)
			continue
		}
		if e.judge(m.alarm, pts, now) {
			put = append(put, m.alarm)
		}
	}
	if len(put) > 0 {
		e.apply(put)
	}
	if len(recheck) > 0 {
		s.recheck(recheck, now.UTC())
	}
	e.evalSeconds.Observe(time.Since(began).Seconds())
}

// gainComposite reports whether the composite alarm c, which this node
// owns, may have missed a child's change: the evaluator has not seen it
// owned here yet (last: it was just put, its ownership moved here, or the
// node started), or a child changed while it was not owned here (missed,
// so its owner then may not have re-evaluated it: the change was taken
// while another node owned it, or that node stopped first). It records c
// in last; a composite not owned leaves it. s.mu is held.
func (s *Store) gainComposite(c *CompositeAlarm, last map[string]int64) bool {
	id := c.Tenant + "\x00" + c.Name
	if !s.owns(c.Tenant, c.Name) {
		delete(last, id)
		return false
	}
	_, seen := last[id]
	last[id] = 0 // from now on its children's changes re-evaluate it (propagate)
	return !seen || s.missed[id]
}

// recheck re-evaluates the composite alarms ids (tenant\x00name) this node
// owns from their children whose state is newer than theirs: a state set
// after every child's change stands, as it does until a child changes.
func (s *Store) recheck(ids []string, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	seeds := map[string]map[string][]string{} // tenant -> composite -> children newer
	for _, id := range ids {
		delete(s.missed, id)
		tenant, name, _ := strings.Cut(id, "\x00")
		c := s.composite(tenant, name)
		if c == nil || !s.owns(tenant, name) {
			continue
		}
		var newerChildren []string
		for _, n := range c.Children() {
			if ch := s.alarms[tenant][n]; ch != nil && newer(ch.Common().StateRev, ch.Common().StateRevBy, c.StateRev, c.StateRevBy) {
				newerChildren = append(newerChildren, n)
			}
		}
		if len(newerChildren) > 0 {
			if seeds[tenant] == nil {
				seeds[tenant] = map[string][]string{}
			}
			seeds[tenant][name] = newerChildren
		}
	}
	for tenant, seed := range seeds {
		s.reevaluate(tenant, func(n string) []string { return seed[n] }, now)
	}
}

// unevaluable proposes INSUFFICIENT_DATA, with a reason saying why, for
// alarms (copies) whose statistic can never be computed, so that they do
// not sit silently in their old state.
func unevaluable(alarms []*Alarm, now time.Time) []*Alarm {
	var out []*Alarm
	for _, a := range alarms {
		reason := "Unchecked: the statistic " + a.Stat() + " cannot be evaluated; put the alarm again with a supported statistic"
		if a.State.Value != StateInsufficientData || a.State.Reason != reason {
			a.State = State{Value: StateInsufficientData, Reason: reason, Updated: now.UTC()}
			out = append(out, a)
		}
	}
	return out
}

// mathDue is a metric math alarm due for evaluation over the range ending at end.
type mathDue struct {
	alarm *Alarm
	end   int64
}

// judge decides a (a copy) over its evaluation range pts and, when its
// state or reason changes, sets the proposed State and reports true.
func (e *Evaluator) judge(a *Alarm, pts []Point, now time.Time) bool {
	e.evaluations.Inc()
	d := Decide(pts, ruleOf(a), a.State.Value)
	if d.Kept {
		return false
	}
	reason, data := Reason(a, pts, d, now)
	if d.State == a.State.Value && reason == a.State.Reason {
		return false
	}
	a.State = State{Value: d.State, Reason: reason, ReasonData: data, Updated: now.UTC()} // marks the proposal
	return true
}

// apply writes the evaluated states of alarms (copies carrying the proposed
// State) whose configuration and state did not change meanwhile.
func (e *Evaluator) apply(proposed []*Alarm) {
	s := e.s
	s.mu.Lock()
	defer s.mu.Unlock()
	var prev, put []Any
	var hist []HistoryItem
	for _, p := range proposed {
		cur, _ := s.alarms[p.Tenant][p.Name].(*Alarm)
		if cur == nil || !cur.ConfigUpdated.Equal(p.ConfigUpdated) || cur.StateRev != p.StateRev || cur.StateRevBy != p.StateRevBy {
			continue // deleted, reconfigured or set (here or by a peer) since it was read: the next period decides
		}
		next, h := transition(cur, p.State)
		prev, put = append(prev, cur), append(put, next)
		hist = append(hist, h...)
	}
	if len(put) == 0 {
		return
	}
	if err := s.commit(prev, put, nil, hist); err != nil {
		e.evalErrors.Add(float64(len(put)))
		e.logger.Error("write alarm states", "alarms", len(put), "err", err)
		return
	}
	s.onChildTransitions(hist) // composite.go
}

func ruleOf(a *Alarm) Rule {
	return Rule{N: a.EvaluationPeriods, M: a.M(), Operator: a.ComparisonOperator, Threshold: a.Threshold,
		Treat: a.Treatment(), IgnoreLowSample: a.EvaluateLowSampleCountPercentile == "ignore"}
}

// rangePoints builds the alarm's evaluation range ending at end from the
// values read and the unknown intervals.
func rangePoints(a *Alarm, values map[int64]query.AlarmDatapoint, unknown []intervals.Interval, end int64) []Point {
	r := RangeLen(a.EvaluationPeriods)
	minSamples := lowSampleBound(a.ExtendedStatistic)
	pts := make([]Point, r)
	for i := range pts {
		t := end - int64(r-i)*a.Period
		p := Point{Time: t}
		if dp, ok := values[t]; ok {
			p.Present, p.Value, p.SampleCount = true, dp.Value, dp.SampleCount
			p.LowSample = dp.SampleCount < minSamples
		} else {
			for _, iv := range unknown {
				if iv.From < t+a.Period && t < iv.To {
					p.Unknown = true
					break
				}
			}
		}
		pts[i] = p
	}
	return pts
}

// lowSampleBound is the sample count under which a percentile is not
// statistically significant: 10/(1-p) for p >= 0.5, 10/p below (0 for
// anything but pNN).
func lowSampleBound(ext string) float64 {
	rest, ok := strings.CutPrefix(ext, "p")
	if !ok {
		return 0
	}
	p, err := strconv.ParseFloat(rest, 64)
	if err != nil || p <= 0 || p >= 100 {
		return 0
	}
	p /= 100
	if p >= 0.5 {
		return 10 / (1 - p)
	}
	return 10 / p
}
