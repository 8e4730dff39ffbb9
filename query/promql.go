package query

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
	"github.com/prometheus/prometheus/tsdb/chunks"
	"github.com/prometheus/prometheus/util/annotations"

	"github.com/cellwatch/cellwatch/internal/awsapi"
	"github.com/cellwatch/cellwatch/store"
)

// The labels of a CloudWatch series as PromQL sees it (docs/promql.md).
const (
	LabelNamespace = "namespace" // the CloudWatch namespace, as written
	LabelUnit      = "unit"      // the unit ("None" when none was given)
	LabelStat      = "stat"      // which statistic of each bucket a sample carries
	LabelMetric    = "cw_metric" // the original metric name, when sanitizing changed it
	dimensionLabel = "dimension_"
)

// baseStats are the statistics every series offers, by their stat label;
// any other statistic ParseStatistic takes (p99, tm90...) is offered when a
// selector asks for it with stat="...".
var baseStats = []struct{ label, name string }{
	{"average", "Average"}, {"count", "SampleCount"}, {"max", "Maximum"}, {"min", "Minimum"}, {"sum", "Sum"},
}

// PromName sanitizes a CloudWatch name into a Prometheus metric or label
// name: every character outside [A-Za-z0-9_] becomes "_", and a leading
// digit gets a "_" before it.
func PromName(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '_' || isAlnum(c):
			if i == 0 && isDigit(c) {
				b.WriteByte('_')
			}
			b.WriteByte(c)
		default:
			b.WriteByte('_')
		}
	}
	return b.String()
}

// dimensionName is the label of a dimension: its sanitized name, or
// dimension_<name> when that would be a label cellwatch sets or one
// Prometheus reserves (__*).
func dimensionName(d string) string {
	n := PromName(d)
	switch {
	case n == LabelNamespace, n == LabelUnit, n == LabelStat, n == LabelMetric, n == "", strings.HasPrefix(n, "__"), strings.HasPrefix(n, dimensionLabel):
		return dimensionLabel + n
	}
	return n
}

// seriesLabels are the labels of key without the stat label, sorted.
func seriesLabels(key *store.SeriesKey, b *labels.ScratchBuilder) labels.Labels {
	b.Reset()
	name := PromName(key.MetricName)
	b.Add(model.MetricNameLabel, name)
	if name != key.MetricName {
		b.Add(LabelMetric, key.MetricName)
	}
	b.Add(LabelNamespace, key.Namespace)
	unit := key.Unit
	if unit == "" {
		unit = "None"
	}
	b.Add(LabelUnit, unit)
	for _, d := range key.Dimensions {
		b.Add(dimensionName(d.Name), d.Value)
	}
	b.Sort()
	return b.Labels()
}

// promStat is one statistic a selector reads.
type promStat struct {
	label string
	st    Statistic
	last  bool // stat="last": each bucket's last sample at its own time (remote write)
}

// statLast selects, for series written through Prometheus remote write,
// each bucket's last sample at its timestamp: what Prometheus itself keeps
// (docs/remote-write.md).
const statLast = "last"

// statsFor returns the statistics the matchers on the stat label select.
func statsFor(ms []*labels.Matcher) []promStat {
	var out []promStat
	for _, b := range baseStats {
		st, _ := ParseStatistic(b.name)
		out = append(out, promStat{label: b.label, st: st})
	}
	out = append(out, promStat{label: statLast, last: true})
	for _, m := range ms {
		if m.Name != LabelStat || m.Type != labels.MatchEqual || slices.ContainsFunc(out, func(p promStat) bool { return p.label == m.Value }) {
			continue
		}
		if st, ok := ParseStatistic(m.Value); ok && st.Extended() {
			out = append(out, promStat{label: m.Value, st: st})
		}
	}
	return slices.DeleteFunc(out, func(p promStat) bool {
		for _, m := range ms {
			if m.Name == LabelStat && !m.Matches(p.label) {
				return true
			}
		}
		return false
	})
}

// Queryable returns the stores, merged by coverage, as a Prometheus
// storage.Queryable for tenant. hdr is the request's (a forced read source
// applies, as on the CloudWatch API).
func (s *Service) Queryable(tenant string, hdr http.Header) storage.Queryable {
	return storage.QueryableFunc(func(mint, maxt int64) (storage.Querier, error) {
		const bound = 1 << 53 // ms; keeps the second arithmetic below from overflowing
		mint, maxt = min(max(mint, -bound), bound), min(max(maxt, -bound), bound)
		lo, hi := floorDiv(mint, 60_000)*60, ceilDiv(maxt+1, 60_000)*60
		view, err := s.view(tenant, &awsapi.Request{Header: hdr, Tenant: tenant}, lo, hi)
		if err != nil {
			return nil, fmt.Errorf("read stores: %w", err)
		}
		return &promQuerier{s: s, tenant: tenant, view: view, mint: mint, maxt: maxt}, nil
	})
}

// promQuerier reads one query's time range.
type promQuerier struct {
	s          *Service
	tenant     string
	view       *coverageView
	mint, maxt int64 // ms
}

func (q *promQuerier) Close() error { return nil }

// span is the Unix-second range [lo, hi) of a select, minute-aligned.
func (q *promQuerier) span(h *storage.SelectHints) (lo, hi int64) {
	mint, maxt := q.mint, q.maxt
	if h != nil {
		mint, maxt = max(mint, h.Start), min(maxt, h.End)
	}
	return floorDiv(mint, 60_000) * 60, ceilDiv(maxt+1, 60_000) * 60
}

// warnings names the unknown intervals of [lo, hi): never read as empty.
func (q *promQuerier) warnings(lo, hi int64) annotations.Annotations {
	if lo >= hi {
		return nil
	}
	unknown := q.view.plan(lo, hi, 60).unknown
	if len(unknown) == 0 {
		return nil
	}
	var a annotations.Annotations
	a.Add(fmt.Errorf("%w: cellwatch: no store can vouch for %s: samples there are unknown, not absent (the node was down or lost its WAL, or the long-term store lacks the data)",
		annotations.PromQLWarning, formatUnknown(unknown)))
	return a
}

// matching visits the series whose labels (without stat) match ms, once
// each, over every store the view lists.
func (q *promQuerier) matching(ms []*labels.Matcher, fn func(key *store.SeriesKey, lbls labels.Labels)) {
	ns, hasNS := "", false
	var rest []*labels.Matcher
	for _, m := range ms {
		switch {
		case m.Name == LabelStat:
		case m.Name == LabelNamespace && m.Type == labels.MatchEqual:
			ns, hasNS = m.Value, true
		default:
			rest = append(rest, m)
		}
	}
	seen := map[string]bool{}
	var b labels.ScratchBuilder
	for _, src := range q.view.listSources() {
		listSeries(src.st, q.tenant, ns, hasNS, func(_ store.SeriesRef, key *store.SeriesKey, _ int64) bool {
			if hasNS && key.Namespace != ns {
				return true
			}
			lbls := seriesLabels(key, &b)
			for _, m := range rest {
				if !m.Matches(lbls.Get(m.Name)) {
					return true
				}
			}
			if id := lbls.String(); !seen[id] {
				seen[id] = true
				fn(key, lbls)
			}
			return true
		})
	}
}

// Select returns one series per matching CloudWatch series and statistic.
func (q *promQuerier) Select(ctx context.Context, _ bool, h *storage.SelectHints, ms ...*labels.Matcher) storage.SeriesSet {
	lo, hi := q.span(h)
	stats := statsFor(ms)
	var out []storage.Series
	if len(stats) > 0 {
		plan := q.view.plan(lo, hi, 60)
		q.matching(ms, func(key *store.SeriesKey, lbls labels.Labels) {
			out = append(out, q.read(plan, key, lbls, stats)...)
		})
	}
	if err := ctx.Err(); err != nil {
		return storage.ErrSeriesSet(err)
	}
	slices.SortFunc(out, func(a, b storage.Series) int { return labels.Compare(a.Labels(), b.Labels()) })
	return &promSeriesSet{series: out, i: -1, warns: q.warnings(lo, hi)}
}

// read builds key's series, one per statistic, from the stores of the
// plan: each bucket is one sample at its start (ms). Two buckets with the
// same start (a series written at two resolutions) are one sample: the
// simple statistics are merged, the others come from the first.
func (q *promQuerier) read(plan readPlan, key *store.SeriesKey, lbls labels.Labels, stats []promStat) []storage.Series {
	samples := make([]promSamples, len(stats))
	var last store.Aggregate
	have := false
	visit := func(a *store.Aggregate) {
		if have && a.Start == last.Start {
			for i, p := range stats {
				if n := len(samples[i]); !p.last && !p.st.Extended() && n > 0 && samples[i][n-1].t == a.Start*1000 {
					samples[i] = samples[i][:n-1]
				}
			}
			last.Count, last.Sum, last.Min, last.Max = last.Count+a.Count, last.Sum+a.Sum, min(last.Min, a.Min), max(last.Max, a.Max)
			for i, p := range stats {
				switch {
				case p.last:
					if n := len(samples[i]); a.LastTS != 0 && n > 0 && a.LastTS > samples[i][n-1].t {
						samples[i][n-1] = promSample{t: a.LastTS, v: a.Last}
					} else if a.LastTS != 0 && n == 0 {
						samples[i] = append(samples[i], promSample{t: a.LastTS, v: a.Last})
					}
				case !p.st.Extended():
					if v, ok := p.st.value(&last); ok {
						samples[i] = append(samples[i], promSample{t: last.Start * 1000, v: v})
					}
				}
			}
			return
		}
		last, have = store.Aggregate{Start: a.Start, Width: a.Width, Count: a.Count, Sum: a.Sum, Min: a.Min, Max: a.Max}, true
		for i, p := range stats {
			if p.last {
				if a.LastTS != 0 {
					samples[i] = append(samples[i], promSample{t: a.LastTS, v: a.Last})
				}
				continue
			}
			if v, ok := p.st.value(a); ok {
				samples[i] = append(samples[i], promSample{t: a.Start * 1000, v: v})
			}
		}
	}
	refs := map[string][]store.SeriesRef{}
	for _, src := range plan.sources {
		rs, ok := refs[src.name]
		if !ok {
			for _, ref := range src.st.Lookup(q.tenant, key.Namespace, key.MetricName, key.Dimensions) {
				if src.st.Key(ref).Unit == key.Unit {
					rs = append(rs, ref)
				}
			}
			refs[src.name] = rs
		}
		for _, ref := range rs {
			src.st.Range(ref, src.from, src.to, visit)
		}
	}
	out := make([]storage.Series, 0, len(stats))
	for i, p := range stats {
		if len(samples[i]) == 0 {
			continue
		}
		b := labels.NewBuilder(lbls)
		b.Set(LabelStat, p.label)
		out = append(out, &promSeries{lbls: b.Labels(), samples: samples[i]})
	}
	return out
}

// LabelNames returns the label names of the series matching ms.
func (q *promQuerier) LabelNames(_ context.Context, h *storage.LabelHints, ms ...*labels.Matcher) ([]string, annotations.Annotations, error) {
	names := map[string]bool{}
	if len(statsFor(ms)) > 0 {
		q.matching(ms, func(_ *store.SeriesKey, lbls labels.Labels) {
			names[LabelStat] = true
			lbls.Range(func(l labels.Label) { names[l.Name] = true })
		})
	}
	return limited(names, h), q.warnings(q.span(nil)), nil
}

// LabelValues returns the values of label name in the series matching ms.
func (q *promQuerier) LabelValues(_ context.Context, name string, h *storage.LabelHints, ms ...*labels.Matcher) ([]string, annotations.Annotations, error) {
	values := map[string]bool{}
	stats := statsFor(ms)
	if len(stats) > 0 {
		q.matching(ms, func(_ *store.SeriesKey, lbls labels.Labels) {
			if name == LabelStat {
				for _, p := range stats {
					if p.last && !asksFor(ms, statLast) {
						continue // only remote-written series have it: listed when asked for
					}
					values[p.label] = true
				}
			} else if v := lbls.Get(name); v != "" {
				values[v] = true
			}
		})
	}
	return limited(values, h), q.warnings(q.span(nil)), nil
}

// asksFor reports whether ms select stat value v by equality.
func asksFor(ms []*labels.Matcher, v string) bool {
	return slices.ContainsFunc(ms, func(m *labels.Matcher) bool {
		return m.Name == LabelStat && m.Type == labels.MatchEqual && m.Value == v
	})
}

func limited(set map[string]bool, h *storage.LabelHints) []string {
	out := make([]string, 0, len(set))
	for v := range set {
		out = append(out, v)
	}
	sort.Strings(out)
	if h != nil && h.Limit > 0 && len(out) > h.Limit {
		out = out[:h.Limit]
	}
	return out
}

// promSample is one float sample; Prometheus' list iterator reads a
// series' samples through promSamples.
type promSample struct {
	t int64
	v float64
}

func (s *promSample) T() int64                      { return s.t }
func (s *promSample) ST() int64                     { return 0 }
func (s *promSample) F() float64                    { return s.v }
func (s *promSample) H() *histogram.Histogram       { return nil }
func (s *promSample) FH() *histogram.FloatHistogram { return nil }
func (s *promSample) Type() chunkenc.ValueType      { return chunkenc.ValFloat }
func (s *promSample) Copy() chunks.Sample           { c := *s; return &c }

// promSamples are a series' samples in time order, as storage.Samples:
// Get hands out a pointer into the slice, so reading allocates nothing.
type promSamples []promSample

func (s promSamples) Get(i int) chunks.Sample { return &s[i] }
func (s promSamples) Len() int                { return len(s) }

type promSeriesSet struct {
	series []storage.Series
	i      int
	warns  annotations.Annotations
}

func (s *promSeriesSet) Next() bool                        { s.i++; return s.i < len(s.series) }
func (s *promSeriesSet) At() storage.Series                { return s.series[s.i] }
func (s *promSeriesSet) Err() error                        { return nil }
func (s *promSeriesSet) Warnings() annotations.Annotations { return s.warns }

type promSeries struct {
	lbls    labels.Labels
	samples promSamples
}

func (s *promSeries) Labels() labels.Labels { return s.lbls }

// Iterator is Prometheus' own list iterator over the samples, reset when
// the engine hands one back.
func (s *promSeries) Iterator(it chunkenc.Iterator) chunkenc.Iterator {
	if r, ok := it.(interface{ Reset(storage.Samples) }); ok {
		r.Reset(s.samples)
		return it
	}
	return storage.NewListSeriesIterator(s.samples)
}
