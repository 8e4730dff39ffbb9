package ui

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/cellwatch/cellwatch/dashboards"
	"github.com/cellwatch/cellwatch/internal/record"
	"github.com/cellwatch/cellwatch/query"
)

// board is one dashboard as drawn.
type board struct {
	Name    string
	Err     string
	Widgets []widgetView
	Hidden  int // widgets left out of the overview
}

// widgetView is one widget: a chart, or a note on what is not drawn.
type widgetView struct {
	Type, Title string
	Chart       *svgChart
	Text        string
	Notes       []string
}

// body is the part of a DashboardBody the page draws.
type body struct {
	Widgets []struct {
		Type       string          `json:"type"`
		Properties json.RawMessage `json:"properties"`
	} `json:"widgets"`
}

type metricProps struct {
	Title    string  `json:"title"`
	Stat     string  `json:"stat"`
	Period   float64 `json:"period"`
	View     string  `json:"view"`
	Metrics  [][]any `json:"metrics"`
	Markdown string  `json:"markdown"`
}

// drawBoards draws the dashboard named only, or the first
// maxDashboardsDrawn of them (the rest are listed) when only is "".
func (h *Handler) drawBoards(ctx context.Context, p *page, only string) {
	var names []string
	if only != "" {
		names = []string{only}
	} else {
		entries, _, err := h.cfg.Dashboards.List(h.cfg.Tenant, "", "")
		if err != nil {
			p.BoardErr = "list dashboards: " + err.Error()
			return
		}
		for _, e := range entries {
			names = append(names, e.Name)
		}
	}
	for i, name := range names {
		if i >= maxDashboardsDrawn {
			p.More = append(p.More, name)
			continue
		}
		d, err := h.cfg.Dashboards.Get(h.cfg.Tenant, name)
		switch {
		case err != nil:
			p.Boards = append(p.Boards, board{Name: name, Err: err.Error()})
			continue
		case d == nil: // deleted since listed, or never there
			continue
		}
		limit := maxOverviewWidgets
		if only != "" {
			limit = -1
		}
		p.Boards = append(p.Boards, h.drawBoard(ctx, d, p.Range, p.Now, limit))
	}
}

// maxOverviewWidgets bounds the widgets of one dashboard drawn on the
// overview, so a large dashboard does not slow every reload; its own page
// draws them all.
const maxOverviewWidgets = 20

// drawBoard draws d's widgets, at most limit of them (limit < 0: all).
func (h *Handler) drawBoard(ctx context.Context, d *dashboards.Dashboard, rng timeRange, now time.Time, limit int) board {
	b := board{Name: d.Name}
	var parsed body
	if err := json.Unmarshal([]byte(d.Body), &parsed); err != nil {
		b.Err = "parse dashboard body: " + err.Error()
		return b
	}
	for i, w := range parsed.Widgets {
		if i == limit {
			b.Hidden = len(parsed.Widgets) - limit
			break
		}
		var props metricProps
		_ = json.Unmarshal(w.Properties, &props) // the body was validated when put; what does not fit is left out
		wv := widgetView{Type: w.Type, Title: props.Title}
		switch w.Type {
		case "metric":
			specs, notes := metricSpecs(props)
			wv.Notes = notes
			if props.View != "" && props.View != "timeSeries" {
				wv.Notes = append(wv.Notes, "view "+props.View+" drawn as a line chart")
			}
			if len(specs) > 0 {
				wv.Chart = h.draw(ctx, specs, int64(props.Period), rng, now)
			}
		case "text":
			wv.Text = props.Markdown
		default:
			wv.Notes = []string{"widgets of type " + w.Type + " are not drawn"}
		}
		b.Widgets = append(b.Widgets, wv)
	}
	return b
}

// metricSpecs reads a metric widget's metrics arrays: [Namespace,
// MetricName, Dim1Name, Dim1Value, ..., {options}], where "." repeats the
// value at the same place in the previous array, and [{"expression": ...}].
// A metric or expression without an id gets m1, m2, ... or e1, e2, ... by
// its place among its kind (the console's naming; AWS's rule for bodies
// that omit ids is unverified). SEARCH expressions are noted, not drawn.
func metricSpecs(props metricProps) (specs []metricSpec, notes []string) {
	stat := props.Stat
	if stat == "" {
		stat = "Average"
	}
	var prev []string
	var metrics, exprs int
	for _, row := range props.Metrics {
		strs, opts := splitRow(row, prev)
		m := metricSpec{Stat: stat}
		expr, isExpr := opts["expression"].(string)
		switch {
		case isExpr && strings.Contains(strings.ToUpper(expr), "SEARCH("):
			notes = append(notes, "SEARCH expressions are not drawn yet: "+expr)
			continue
		case isExpr:
			exprs++
			m.Expression, m.ID = expr, fmt.Sprintf("e%d", exprs)
		case len(strs) >= 2:
			prev = strs
			metrics++
			m.Namespace, m.Name, m.ID = strs[0], strs[1], fmt.Sprintf("m%d", metrics)
			for i := 2; i+1 < len(strs); i += 2 {
				m.Dims = append(m.Dims, record.Dimension{Name: strs[i], Value: strs[i+1]})
			}
			sortDims(m.Dims)
		default:
			continue
		}
		applyOptions(&m, opts)
		specs = append(specs, m)
	}
	return specs, notes
}

// splitRow returns a metrics array's strings ("." taken from prev) and its
// options object.
func splitRow(row []any, prev []string) (strs []string, opts map[string]any) {
	for _, el := range row {
		switch v := el.(type) {
		case string:
			if v == "." && len(strs) < len(prev) {
				v = prev[len(strs)]
			}
			strs = append(strs, v)
		case map[string]any:
			opts = v
		}
	}
	return strs, opts
}

func applyOptions(m *metricSpec, opts map[string]any) {
	if id, ok := opts["id"].(string); ok && id != "" {
		m.ID = id
	}
	if v, ok := opts["visible"].(bool); ok && !v {
		m.Hidden = true
	}
	if s, ok := opts["stat"].(string); ok && s != "" {
		m.Stat = s
	}
	if p, ok := opts["period"].(float64); ok {
		m.Period = int64(p)
	}
	m.Label, _ = opts["label"].(string)
	if c, ok := opts["color"].(string); ok && hexColor.MatchString(c) {
		m.Color = c
	}
}

var hexColor = regexp.MustCompile(`^#[0-9a-fA-F]{6}$`)

// chartForm is the ad-hoc chart: the form's values and, once asked, the chart.
type chartForm struct {
	Namespace, Metric, Stat, Dims string
	Chart                         *svgChart
	Err                           string
}

// adhoc draws the metric the form names: namespace, metric, stat, and dim
// (Name=Value, one per parameter or per line).
func (h *Handler) adhoc(ctx context.Context, q url.Values, rng timeRange, now time.Time) *chartForm {
	f := &chartForm{Namespace: q.Get("namespace"), Metric: q.Get("metric"), Stat: q.Get("stat")}
	if f.Stat == "" {
		f.Stat = "Average"
	}
	var lines []string
	for _, d := range q["dim"] {
		lines = append(lines, strings.FieldsFunc(d, func(r rune) bool { return r == '\n' || r == '\r' })...)
	}
	f.Dims = strings.Join(lines, "\n")
	if f.Namespace == "" && f.Metric == "" {
		return f
	}
	m := metricSpec{Namespace: f.Namespace, Name: f.Metric, Stat: f.Stat}
	for _, l := range lines {
		name, value, ok := strings.Cut(strings.TrimSpace(l), "=")
		if !ok || name == "" {
			f.Err = fmt.Sprintf("dimension %q is not Name=Value", l)
			return f
		}
		m.Dims = append(m.Dims, record.Dimension{Name: name, Value: value})
	}
	sortDims(m.Dims)
	switch _, ok := query.ParseStatistic(f.Stat); {
	case f.Namespace == "" || f.Metric == "":
		f.Err = "both the namespace and the metric name are needed"
	case !ok:
		f.Err = fmt.Sprintf("statistic %q is not one CloudWatch knows (Average, Sum, Minimum, Maximum, SampleCount, p99, tm90, ...)", f.Stat)
	default:
		f.Chart = h.draw(ctx, []metricSpec{m}, 0, rng, now)
	}
	return f
}
