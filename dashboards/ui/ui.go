package ui

import (
	"bytes"
	"context"
	"embed"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/cellwatch/cellwatch/alerting"
	"github.com/cellwatch/cellwatch/dashboards"
	"github.com/cellwatch/cellwatch/internal/intervals"
	"github.com/cellwatch/cellwatch/internal/record"
	"github.com/cellwatch/cellwatch/query"
)

//go:embed assets
var assets embed.FS

var pages = template.Must(template.New("").Funcs(template.FuncMap{
	"bytes": humanBytes, "ago": ago, "dur": humanDuration, "ts": timestamp, "lower": strings.ToLower,
	"plus": func(a, b float64) float64 { return a + b }, "minus": func(a, b float64) float64 { return a - b },
	"half": func(a, b float64) float64 { return (a + b) / 2 },
}).ParseFS(assets, "assets/*.html"))

// Status is what the page shows of the node: the shipper's view of the
// stream and the local store's size. The cmd fills it from components that
// answer without touching the stream.
type Status struct {
	NodeID             string
	Ready              bool
	Mode               string // healthy, degraded or recovering
	ModeSince          time.Time
	LastError          string
	Fault              string // the injected stream fault, "" for none
	BacklogBytes       uint64
	BacklogRecords     uint64
	OldestUnshippedAge float64 // seconds
	CatchUpETA         float64 // seconds; -1 while the stream takes nothing
	DroppedBytes       uint64
	GapPending         bool
	LocalSeries        int
	LocalBytes         int64
	LocalMaxBytes      int64
}

// Alarms lists a tenant's alarms by name (alerting.Store).
type Alarms interface {
	List(tenant string) []alerting.Any
}

// Dashboards reads stored dashboards (dashboards.Store).
type Dashboards interface {
	List(tenant, prefix, after string) ([]dashboards.Entry, bool, error)
	Get(tenant, name string) (*dashboards.Dashboard, error)
}

// Reader is the read path over both stores (query.Service): one metric's
// statistic per period, metric math over several, and what of a time range
// no store vouches for.
type Reader interface {
	AlarmPeriods(ctx context.Context, tenant, namespace, metricName string, dims []record.Dimension, stat, unit string, period, from, to int64) (map[int64]query.AlarmDatapoint, []intervals.Interval, error)
	EvaluateQueries(ctx context.Context, tenant string, queries []query.MetricQuery, from, to int64) (map[string]query.Series, []intervals.Interval, error)
	Coverage(tenant string, from, to int64) []intervals.Interval
}

// Config is what the page reads. Status, Alarms, Dashboards and Reader are
// required.
type Config struct {
	// Tenant is whose alarms, dashboards and metrics the page shows; ""
	// turns the page off (403): on a node that takes only signed requests
	// a browser cannot sign, and the page would show anyone the node's
	// state.
	Tenant     string
	Status     func() Status
	Alarms     Alarms
	Dashboards Dashboards
	Reader     Reader
	Window     time.Duration // the local store's window (-store.window)
	Now        func() time.Time
	Logger     *slog.Logger
}

// Handler serves the page.
type Handler struct {
	cfg Config
	mux *http.ServeMux
}

// maxDashboardsDrawn bounds the dashboards drawn on the overview; the
// others are listed with a link to their own page.
const maxDashboardsDrawn = 5

// New returns the page's handler: GET / (the overview), /ui/dashboard?name=
// (one dashboard), /ui/chart (the ad-hoc chart) and /ui/style.css.
func New(cfg Config) *Handler {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	h := &Handler{cfg: cfg, mux: http.NewServeMux()}
	h.mux.HandleFunc("GET /{$}", h.overview)
	h.mux.HandleFunc("GET /ui/{$}", h.overview)
	h.mux.Handle("GET /ui", http.RedirectHandler("/ui/", http.StatusFound))
	h.mux.HandleFunc("GET /ui/dashboard", h.dashboard)
	h.mux.HandleFunc("GET /ui/chart", h.chart)
	h.mux.HandleFunc("GET /ui/style.css", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=300")
		http.ServeFileFS(w, r, assets, "assets/style.css")
	})
	return h
}

// ServeHTTP serves the page's paths; anything else is 404.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hdr := w.Header()
	hdr.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("X-Frame-Options", "DENY")
	hdr.Set("Referrer-Policy", "no-referrer")
	if h.cfg.Tenant == "" {
		http.Error(w, "the status page is off on a node that takes only signed requests (a browser cannot sign); "+
			"read /admin/status on the admin port", http.StatusForbidden)
		return
	}
	h.mux.ServeHTTP(w, r)
}

// IsPage reports whether r is for the page rather than the CloudWatch API:
// a GET or HEAD of / without a Query-protocol Action, or of a path under /ui/.
func IsPage(r *http.Request) bool {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return false
	}
	if r.URL.Path == "/" {
		return !r.URL.Query().Has("Action")
	}
	return r.URL.Path == "/ui" || strings.HasPrefix(r.URL.Path, "/ui/")
}

// page is the data of every template.
type page struct {
	Title    string
	Now      time.Time
	Range    timeRange
	Ranges   []timeRange
	Status   Status
	Window   time.Duration
	Unknown  []span // unknown intervals of the local window
	Alarms   []alarmRow
	AlarmErr string
	Boards   []board
	More     []string // dashboards listed but not drawn
	BoardErr string
	Chart    *chartForm
	Hidden   map[string]string // the range picker's other parameters
}

type span struct{ From, To time.Time }

func (h *Handler) base(r *http.Request, title string) *page {
	now := h.cfg.Now().UTC()
	p := &page{Title: title, Now: now, Range: parseRange(r.URL.Query().Get("range")), Ranges: ranges,
		Status: h.cfg.Status(), Window: h.cfg.Window}
	return p
}

func (h *Handler) overview(w http.ResponseWriter, r *http.Request) {
	p := h.base(r, "cellwatch")
	now := p.Now.Unix()
	if h.cfg.Window > 0 {
		for _, iv := range h.cfg.Reader.Coverage(h.cfg.Tenant, now-int64(h.cfg.Window/time.Second), now) {
			p.Unknown = append(p.Unknown, span{time.Unix(iv.From, 0).UTC(), time.Unix(iv.To, 0).UTC()})
		}
	}
	p.Alarms = alarmRows(h.cfg.Alarms.List(h.cfg.Tenant))
	h.drawBoards(r.Context(), p, "")
	h.render(w, "overview.html", p)
}

func (h *Handler) dashboard(w http.ResponseWriter, r *http.Request) {
	name := r.URL.Query().Get("name")
	p := h.base(r, "dashboard "+name)
	p.Hidden = map[string]string{"name": name}
	h.drawBoards(r.Context(), p, name)
	if len(p.Boards) == 0 && p.BoardErr == "" {
		w.WriteHeader(http.StatusNotFound)
		p.BoardErr = fmt.Sprintf("no dashboard named %q", name)
	}
	h.render(w, "dashboard.html", p)
}

func (h *Handler) chart(w http.ResponseWriter, r *http.Request) {
	p := h.base(r, "chart")
	p.Chart = h.adhoc(r.Context(), r.URL.Query(), p.Range, p.Now)
	if p.Chart.Err != "" {
		w.WriteHeader(http.StatusBadRequest)
	}
	h.render(w, "chart.html", p)
}

// render executes a template into a buffer first, so a failure is a clean 500.
func (h *Handler) render(w http.ResponseWriter, name string, p *page) {
	var buf bytes.Buffer
	if err := pages.ExecuteTemplate(&buf, name, p); err != nil {
		h.cfg.Logger.Error("render page", "page", name, "err", err)
		http.Error(w, "render page: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(buf.Bytes())
}

// alarmRow is one alarm of the table.
type alarmRow struct {
	Name, Type, State, Reason, Metric string
	Updated                           time.Time
}

func alarmRows(all []alerting.Any) []alarmRow {
	rows := make([]alarmRow, 0, len(all))
	for _, a := range all {
		b := a.Common()
		row := alarmRow{Name: b.Name, Type: a.Type(), State: b.State.Value, Reason: b.State.Reason, Updated: b.State.Updated}
		if m, ok := a.(*alerting.Alarm); ok && m.Metric.MetricName != "" {
			row.Metric = m.Metric.Namespace + " " + m.Metric.MetricName + " " + m.Stat()
		}
		if row.State == "" {
			row.State = alerting.StateInsufficientData
		}
		rows = append(rows, row)
	}
	return rows
}

// chartURL is the ad-hoc chart's link for one metric.
func chartURL(m metricSpec, rng string) string {
	v := url.Values{"namespace": {m.Namespace}, "metric": {m.Name}, "stat": {m.Stat}, "range": {rng}}
	for _, d := range m.Dims {
		v.Add("dim", d.Name+"="+d.Value)
	}
	return "/ui/chart?" + v.Encode()
}
