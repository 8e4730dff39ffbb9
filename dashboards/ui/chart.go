package ui

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cellwatch/cellwatch/internal/intervals"
	"github.com/cellwatch/cellwatch/internal/record"
	"github.com/cellwatch/cellwatch/query"
)

// timeRange is one choice of the time-range picker: the last Dur.
type timeRange struct {
	Name string
	Dur  time.Duration
}

var ranges = []timeRange{
	{"15m", 15 * time.Minute}, {"1h", time.Hour}, {"3h", 3 * time.Hour}, {"12h", 12 * time.Hour},
	{"1d", 24 * time.Hour}, {"3d", 72 * time.Hour}, {"1w", 7 * 24 * time.Hour},
}

const defaultRange = 2 // 3h

// parseRange returns the picker's choice named s, 3h when s names none.
func parseRange(s string) timeRange {
	for _, r := range ranges {
		if r.Name == s {
			return r
		}
	}
	return ranges[defaultRange]
}

// autoPeriods are the periods a chart picks from, finest first.
var autoPeriods = []int64{60, 300, 900, 3600, 6 * 3600, 86400}

// maxPoints bounds the points of one line: a chart is ~600 pixels wide.
const maxPoints = 360

// periodFor returns want, when it is a period the read API takes (1, 5,
// 10, 30 or a multiple of 60 seconds) and gives at most 1,440 points over
// span (the API's own limit), else the finest of autoPeriods that gives at
// most maxPoints.
func periodFor(want int64, span time.Duration) int64 {
	secs := int64(span / time.Second)
	valid := want == 1 || want == 5 || want == 10 || want == 30 || want >= 60 && want%60 == 0
	if valid && secs/want <= 1440 {
		return want
	}
	for _, p := range autoPeriods {
		if secs/p <= maxPoints {
			return p
		}
	}
	return autoPeriods[len(autoPeriods)-1]
}

// metricSpec is one line of a chart: a metric, its statistic and period.
type metricSpec struct {
	ID, Expression  string // an expression has no metric
	Hidden          bool   // read for the expressions, not drawn
	Namespace, Name string
	Dims            []record.Dimension // sorted by name
	Stat            string
	Period          int64 // seconds; 0: the chart's own
	Label, Color    string
}

func (m metricSpec) label() string {
	switch {
	case m.Label != "":
		return m.Label
	case m.Expression != "":
		return m.Expression
	}
	var b strings.Builder
	b.WriteString(m.Name)
	for _, d := range m.Dims {
		b.WriteString(" " + d.Name + "=" + d.Value)
	}
	b.WriteString(" (" + m.Stat + ")")
	return b.String()
}

// svgChart is a line chart laid out for the template: every coordinate is
// computed here, the template only writes the elements.
type svgChart struct {
	Width, Height          int
	Left, Top, Right, Bott float64 // the plot area
	Lines                  []line
	YTicks, XTicks         []tick
	Unknown                []band
	Points                 int // over every line
	Period                 int64
}

type line struct {
	Label, Color, D, Last, URL string
	Points                     int
	Err                        string
}

type tick struct {
	At            float64
	Label, Anchor string
}

type band struct{ X, W float64 }

var palette = []string{"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"}

// series is one line's data before layout.
type series struct {
	spec   metricSpec
	period int64
	values map[int64]float64
	err    error
}

// draw reads every spec over [now-rng, now) and lays the chart out. A
// chart without expressions reads each metric as alarms do; one with
// expressions evaluates them all as GetMetricData does.
func (h *Handler) draw(ctx context.Context, specs []metricSpec, defPeriod int64, rng timeRange, now time.Time) *svgChart {
	to := now.Unix()
	from := to - int64(rng.Dur/time.Second)
	c := &svgChart{Width: 640, Height: 240, Left: 60, Top: 10, Right: 630, Bott: 214, Period: periodFor(defPeriod, rng.Dur)}
	var all []series
	var unknown intervals.Set
	if slices.ContainsFunc(specs, func(m metricSpec) bool { return m.Expression != "" }) {
		all, unknown = h.evaluate(ctx, specs, c.Period, rng, from, to)
	} else {
		all, unknown = h.readMetrics(ctx, specs, c.Period, rng, from, to)
	}
	c.layout(all, unknown, from, to, rng.Name)
	return c
}

func (h *Handler) readMetrics(ctx context.Context, specs []metricSpec, period int64, rng timeRange, from, to int64) ([]series, intervals.Set) {
	var all []series
	var unknown intervals.Set
	for _, m := range specs {
		p := period
		if m.Period > 0 {
			p = periodFor(m.Period, rng.Dur)
		}
		lo := from - ((from%p)+p)%p
		dps, unk, err := h.cfg.Reader.AlarmPeriods(ctx, h.cfg.Tenant, m.Namespace, m.Name, m.Dims, m.Stat, "", p, lo, to)
		unknown = intervals.Union(unknown, unk)
		if m.Hidden {
			continue
		}
		s := series{spec: m, period: p, values: make(map[int64]float64, len(dps)), err: err}
		for t, dp := range dps {
			s.values[t] = dp.Value
		}
		all = append(all, s)
	}
	return all, unknown
}

// evaluate reads the metrics and evaluates the expressions of one chart
// through the metric math of GetMetricData.
func (h *Handler) evaluate(ctx context.Context, specs []metricSpec, period int64, rng timeRange, from, to int64) ([]series, intervals.Set) {
	qs := make([]query.MetricQuery, len(specs))
	for i, m := range specs {
		p := period
		if m.Period > 0 {
			p = periodFor(m.Period, rng.Dur)
		}
		qs[i] = query.MetricQuery{ID: m.ID, Expression: m.Expression, Namespace: m.Namespace, MetricName: m.Name, Dimensions: m.Dims, Stat: m.Stat, Period: p}
		if m.Expression != "" {
			qs[i].Stat, qs[i].Period = "", 0
		}
	}
	lo := from - ((from%period)+period)%period
	out, unknown, err := h.cfg.Reader.EvaluateQueries(ctx, h.cfg.Tenant, qs, lo, to)
	var all []series
	for i, m := range specs {
		if m.Hidden {
			continue
		}
		s := series{spec: m, period: qs[i].Period, values: map[int64]float64{}, err: err}
		r, ok := out[m.ID]
		switch {
		case err == nil && !ok:
			s.err = errors.New("returns several time series or none: not drawn")
		case ok:
			s.period = r.Period
			for j, t := range r.Timestamps {
				s.values[t] = r.Values[j]
			}
		}
		all = append(all, s)
	}
	return all, unknown
}

// layout computes the scales, ticks, bands and paths.
func (c *svgChart) layout(all []series, unknown intervals.Set, from, to int64, rng string) {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, s := range all {
		for _, v := range s.values {
			lo, hi = min(lo, v), max(hi, v)
		}
	}
	if math.IsInf(lo, 0) {
		lo, hi = 0, 1
	}
	lo = min(lo, 0)
	if hi <= lo {
		hi = lo + 1
	}
	step := niceStep((hi - lo) / 4)
	lo, hi = math.Floor(lo/step)*step, math.Ceil(hi/step)*step
	x := func(t int64) float64 { return c.Left + (c.Right-c.Left)*float64(t-from)/float64(max(1, to-from)) }
	y := func(v float64) float64 { return c.Bott - (c.Bott-c.Top)*(v-lo)/(hi-lo) }
	for v := lo; v <= hi+step/2; v += step {
		c.YTicks = append(c.YTicks, tick{At: y(v), Label: strconv.FormatFloat(v, 'g', 4, 64)})
	}
	layout := "15:04"
	if to-from > 86400 {
		layout = "01-02 15:04"
	}
	for i := range 5 {
		t := from + (to-from)*int64(i)/4
		anchor := "middle"
		switch i {
		case 0:
			anchor = "start"
		case 4:
			anchor = "end"
		}
		c.XTicks = append(c.XTicks, tick{At: x(t), Label: time.Unix(t, 0).UTC().Format(layout), Anchor: anchor})
	}
	for _, iv := range unknown {
		a, b := max(iv.From, from), min(iv.To, to)
		if b > a {
			c.Unknown = append(c.Unknown, band{X: x(a), W: x(b) - x(a)})
		}
	}
	for i, s := range all {
		ln := line{Label: s.spec.label(), Color: s.spec.Color}
		if s.spec.Expression == "" {
			ln.URL = chartURL(s.spec, rng)
		}
		if ln.Color == "" {
			ln.Color = palette[i%len(palette)]
		}
		if s.err != nil {
			ln.Err = s.err.Error()
		}
		ln.D, ln.Points, ln.Last = path(s, from, to, x, y)
		c.Points += ln.Points
		c.Lines = append(c.Lines, ln)
	}
}

// path is the SVG path of one series: a subpath per run of consecutive
// periods with data (a gap is not drawn across), each point at its
// period's start; last is the latest value.
func path(s series, from, to int64, x func(int64) float64, y func(float64) float64) (d string, points int, last string) {
	ts := make([]int64, 0, len(s.values))
	for t := range s.values {
		if t >= from-s.period && t < to {
			ts = append(ts, t)
		}
	}
	slices.Sort(ts)
	var b strings.Builder
	for i, t := range ts {
		cmd := "L"
		if i == 0 || t-ts[i-1] != s.period {
			cmd = "M"
		}
		fmt.Fprintf(&b, "%s%.1f,%.1f ", cmd, x(max(t, from)), y(s.values[t]))
		if cmd == "M" && (i+1 == len(ts) || ts[i+1]-t != s.period) {
			b.WriteString("h0.1 ") // a lone point: round caps draw it as a dot
		}
	}
	if len(ts) > 0 {
		last = strconv.FormatFloat(s.values[ts[len(ts)-1]], 'g', 6, 64)
	}
	return strings.TrimSpace(b.String()), len(ts), last
}

// sortDims sorts dimensions by name, as the stores key series.
func sortDims(ds []record.Dimension) []record.Dimension {
	slices.SortFunc(ds, func(a, b record.Dimension) int { return strings.Compare(a.Name, b.Name) })
	return ds
}

// niceStep rounds raw up to 1, 2 or 5 times a power of ten.
func niceStep(raw float64) float64 {
	if raw <= 0 || math.IsNaN(raw) || math.IsInf(raw, 0) {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if raw <= m*p {
			return m * p
		}
	}
	return 10 * p
}
