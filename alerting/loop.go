package alerting

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/grafana/dskit/services"
)

// Evaluator returns the service that evaluates every alarm once per period,
// EvalDelay after each period boundary. It needs Config.Reader.
func (s *Service) Evaluator() services.Service {
	last := map[string]int64{} // tenant\x00name -> end of the range last evaluated
	pruned := s.cfg.Now()
	return services.NewTimerService(s.cfg.EvalTickPeriod, nil, func(ctx context.Context) error {
		s.EvaluateDue(ctx, last)
		if now := s.cfg.Now(); now.Sub(pruned) >= time.Hour {
			pruned = now
			if err := s.db.prune(now.Add(-historyRetention).UnixMilli()); err != nil {
				s.logger.Warn("prune alarm history", "err", err)
			}
		}
		return nil // a failed pass is counted and logged; the next tick retries
	}, nil)
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
func (s *Service) EvaluateDue(ctx context.Context, last map[string]int64) {
	if s.cfg.Reader == nil {
		return
	}
	began := time.Now()
	now := s.cfg.Now()
	groups := map[string]*group{}
	var maths []mathDue
	s.mu.RLock()
	for tenant, alarms := range s.alarms {
		for _, a := range alarms {
			end := (now.Add(-s.cfg.EvalDelay).Unix() / a.Period) * a.Period
			id := tenant + "\x00" + a.Name
			if last[id] >= end {
				continue
			}
			last[id] = end
			if a.IsMath() { // evaluated individually: no series to share
				c := *a
				maths = append(maths, mathDue{alarm: &c, end: end})
				continue
			}
			key := strings.Join([]string{tenant, a.Metric.key(), a.Stat(), a.Unit, strconv.FormatInt(a.Period, 10), strconv.FormatInt(end, 10)}, "\x01")
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
		values, unknown, err := s.cfg.Reader.Periods(ctx, g.tenant, g.metric, g.stat, g.unit, g.period, from, g.end)
		if err != nil {
			s.evalErrors.Add(float64(len(g.alarms)))
			s.logger.Warn("read alarm datapoints", "namespace", g.metric.Namespace, "metric", g.metric.MetricName, "err", err)
			continue
		}
		for _, a := range g.alarms {
			if s.judge(a, rangePoints(a, values, unknown, g.end), now) {
				put = append(put, a)
			}
		}
	}
	for _, m := range maths {
		pts, err := s.readMath(ctx, m.alarm, m.end) // mathalarm.go
		if err != nil {
			s.evalErrors.Inc()
			s.logger.Warn("evaluate metric math alarm", "alarm", m.alarm.Name, "err", err)
			continue
		}
		if s.judge(m.alarm, pts, now) {
			put = append(put, m.alarm)
		}
	}
	if len(put) > 0 {
		s.apply(put)
	}
	s.evalSeconds.Observe(time.Since(began).Seconds())
}

// mathDue is a metric math alarm due for evaluation over the range ending at end.
type mathDue struct {
	alarm *Alarm
	end   int64
}

// judge decides a (a copy) over its evaluation range pts and, when its
// state or reason changes, sets the proposed State and reports true.
func (s *Service) judge(a *Alarm, pts []Point, now time.Time) bool {
	s.evaluations.Inc()
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
func (s *Service) apply(proposed []*Alarm) []HistoryItem {
	s.mu.Lock()
	defer s.mu.Unlock()
	var prev, put []*Alarm
	var hist []HistoryItem
	for _, p := range proposed {
		cur := s.alarms[p.Tenant][p.Name]
		if cur == nil || !cur.ConfigUpdated.Equal(p.ConfigUpdated) || cur.State.Updated.After(p.State.Updated) {
			continue // deleted, reconfigured or set since it was read: the next period decides
		}
		next, h := s.setState(cur, p.State)
		prev, put = append(prev, cur), append(put, next)
		hist = append(hist, h...)
	}
	if len(put) == 0 {
		return nil
	}
	if err := s.commitStates(prev, put, hist); err != nil { // notify_outbox.go
		s.evalErrors.Add(float64(len(put)))
		s.logger.Error("write alarm states", "alarms", len(put), "err", err)
		return nil
	}
	for _, a := range put {
		s.alarms[a.Tenant][a.Name] = a
	}
	s.onChildTransitions(hist) // composite.go
	for _, h := range hist {
		s.transitions.WithLabelValues(h.Summary[strings.LastIndexByte(h.Summary, ' ')+1:]).Inc()
	}
	return hist
}

func ruleOf(a *Alarm) Rule {
	return Rule{N: a.EvaluationPeriods, M: a.M(), Operator: a.ComparisonOperator, Threshold: a.Threshold,
		Treat: a.Treatment(), IgnoreLowSample: a.EvaluateLowSampleCountPercentile == "ignore"}
}

// rangePoints builds the alarm's evaluation range ending at end from the
// values read and the unknown intervals.
func rangePoints(a *Alarm, values map[int64]Datapoint, unknown []Interval, end int64) []Point {
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
