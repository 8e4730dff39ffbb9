package query

import (
	"cmp"
	"slices"
	"strings"
	"time"

	"github.com/cellwatch/cellwatch/internal/awsapi"
	"github.com/cellwatch/cellwatch/store"
)

// Metrics Insights evaluation (docs/metrics-insights.md). A query reads
// every series of the tenant whose namespace and metric name match, whose
// dimension set is exactly the SCHEMA's when there is one, and which the
// WHERE condition accepts; units are folded together. Each GROUP BY value
// combination is one result (a missing key reads "Other"), and each period
// of a result aggregates the buckets of all its series: SUM the sums, MIN
// and MAX the extremes, COUNT the sample counts, AVG the total sum over the
// total count. ORDER BY ranks the results by its function over the whole
// range; without it they are sorted by label. Only the most recent three
// hours are read.

const (
	insightsWindow     = 3 * time.Hour
	insightsMaxMetrics = 10_000 // metrics one query processes
	insightsOther      = "Other"

	codeTimeRange  = "MaxQueryTimeRangeExceeded"
	codeResults    = "MaxQueryResultsExceeded"
	codeMatching   = "MaxMatchingResultsExceeded"
	insightsPrefix = "Metrics Insights: "
)

// parseInsightsQuery reads a Metrics Insights Expression and the query's
// Period (required; below a minute it is read as a minute, since Metrics
// Insights answers no high-resolution data) into q. path names the query.
func parseInsightsQuery(in awsapi.Input, src, path string, q *dataQuery) error {
	if len(src) > maxExpressionLen {
		return awsapi.ConstraintError(src, awsapi.CoralPath(path+".Expression"), "have length between 1 and 2048")
	}
	iq, err := parseInsights(src)
	if err != nil {
		// AWS's exact text for a malformed query is unverified; the code
		// and status are those of its other Metrics Insights refusals.
		return awsapi.ValidationError("The Metrics Insights query in %s.Expression is invalid: %s.", path, err.Error())
	}
	period, ok, err := in.Int("Period")
	switch {
	case err != nil:
		return err
	case !ok:
		return awsapi.MissingParameter("The parameter %s.Period is required for a Metrics Insights query.", path)
	}
	if err := checkPeriod(period, path+".Period"); err != nil {
		return err
	}
	q.expression, q.insights, q.period = src, iq, max(period, 60)
	return nil
}

// seriesInNamespace visits every series of tenant in namespace ns that st
// holds, until fn returns false.
// It reads the store's namespace index (listSeries) when the store has one.
func seriesInNamespace(st Store, tenant, ns string, fn func(ref store.SeriesRef, key *store.SeriesKey, newest int64) bool) {
	listSeries(st, tenant, ns, true, func(ref store.SeriesRef, key *store.SeriesKey, newest int64) bool {
		return key.Namespace != ns || fn(ref, key, newest)
	})
}

// selects reports whether the query reads the series (its namespace
// already matched).
func (iq *insightsQuery) selects(key *store.SeriesKey) bool {
	if key.MetricName != iq.metric {
		return false
	}
	if iq.hasSchema {
		if len(key.Dimensions) != len(iq.schema) {
			return false
		}
		for i, d := range key.Dimensions { // both sorted by name
			if d.Name != iq.schema[i] {
				return false
			}
		}
	}
	return iq.where == nil || iq.where.match(key.Dimensions)
}

// groupLabel is the series' group: its GROUP BY values joined by a space.
func (iq *insightsQuery) groupLabel(key *store.SeriesKey) string {
	vals := make([]string, len(iq.groupBy))
	for i, k := range iq.groupBy {
		v, ok := dimValue(key.Dimensions, k)
		if !ok {
			v = insightsOther
		}
		vals[i] = v
	}
	return strings.Join(vals, " ")
}

// insightsAcc folds buckets: what the five functions need.
type insightsAcc struct{ count, sum, min, max float64 }

func (a *insightsAcc) add(count, sum, lo, hi float64) {
	if count <= 0 {
		return
	}
	if a.count <= 0 {
		a.min, a.max = lo, hi
	} else {
		a.min, a.max = min(a.min, lo), max(a.max, hi)
	}
	a.count += count
	a.sum += sum
}

func (a insightsAcc) value(fn string) float64 {
	switch fn {
	case "SUM":
		return a.sum
	case "MIN":
		return a.min
	case "MAX":
		return a.max
	case "COUNT":
		return a.count
	}
	return a.sum / a.count
}

// insightsGroup is one result being built: the whole range folded, and
// its periods from the first (nil until they are read, see insightsRead).
type insightsGroup struct {
	label   string
	whole   insightsAcc
	periods []insightsAcc
	late    bool // returned, and its periods are read after the ranking
}

// insightsRead is one query's read of the stores. Every series is read
// once into its group's whole-range aggregate, which ranks the groups; the
// periods are kept only for the first insightsMaxLimit groups found (at
// most that many are returned). A group found later that is returned
// has its series read again for its periods: a top 10 of 10,000 hosts
// keeps 500 groups' periods and reads about 10 series twice.
type insightsRead struct {
	iq                *insightsQuery
	plan              []source
	from, period, n   int64
	groups            map[string]*insightsGroup
	pending           []pendingSeries // series of groups without periods
	matched           int
	seen              map[string]bool // metrics counted, when two stores answer
	truncatedMatching bool
}

type pendingSeries struct {
	g   *insightsGroup
	src int // plan index of the series' store
	ref store.SeriesRef
}

// runInsights answers one Metrics Insights query, results ascending.
func (s *Service) runInsights(view *coverageView, tenant string, q dataQuery, start, end time.Time, used *answered) []dataResult {
	iq, period := q.insights, q.period
	from, to := alignStart(start.Unix(), period), ceilSeconds(end)
	clipped := false
	if lo := s.now().Add(-insightsWindow).Unix(); from < lo {
		from += ceilDiv(lo-from, period) * period
		clipped = true
		used.note(codeTimeRange, insightsPrefix+"only the most recent %s are queried; the time range was cut to start at %s.", insightsWindow, rfc3339(from))
	}
	rd := &insightsRead{iq: iq, from: from, period: period, n: max(0, ceilDiv(to-from, period)), groups: map[string]*insightsGroup{}, seen: map[string]bool{}}
	unknown := clipped
	if from < to {
		plan := view.plan(from, to, grainOf(period))
		used.addUnknown(plan.unknown)
		unknown = unknown || len(plan.unknown) > 0
		rd.plan = plan.sources
		eachStore(plan.sources, used, func(i int, first source) {
			seriesInNamespace(first.st, tenant, iq.namespace, func(ref store.SeriesRef, key *store.SeriesKey, newest int64) bool {
				return rd.series(i, ref, key, newest)
			})
		})
		if rd.truncatedMatching {
			used.note(codeMatching, insightsPrefix+"the query matches more than %d metrics; only the first %d found are processed.", insightsMaxMetrics, insightsMaxMetrics)
		}
	}
	ordered := make([]*insightsGroup, 0, len(rd.groups))
	for _, g := range rd.groups {
		if g.whole.count > 0 {
			ordered = append(ordered, g)
		}
	}
	sortGroups(ordered, iq)
	limit := insightsMaxLimit
	if iq.limit > 0 {
		limit = iq.limit
	} else if len(ordered) > limit {
		used.note(codeResults, insightsPrefix+"the query has %d series; only %d are returned.", len(ordered), limit)
	}
	ordered = ordered[:min(len(ordered), limit)]
	rd.readPending(ordered)
	if len(iq.groupBy) == 0 && len(ordered) == 0 {
		ordered = append(ordered, &insightsGroup{}) // no GROUP BY: one result, even if empty
	}
	results := make([]dataResult, 0, len(ordered))
	for _, g := range ordered {
		r := dataResult{id: q.id, label: insightsResultLabel(q, g.label), unknown: unknown}
		for i, p := range g.periods {
			if p.count > 0 {
				r.times = append(r.times, from+int64(i)*period)
				r.values = append(r.values, p.value(iq.fn))
			}
		}
		results = append(results, r)
	}
	return results
}

// series reads one series of the store of plan[i] when the query selects
// it; false stops the listing (the metric cap is reached).
func (rd *insightsRead) series(i int, ref store.SeriesRef, key *store.SeriesKey, newest int64) bool {
	if (newest != minTime && newest < rd.from) || !rd.iq.selects(key) {
		return true // not selected, or no bucket of it starts in the range
	}
	if len(rd.plan) > 1 {
		id := metricSortKey(listedMetric{namespace: key.Namespace, name: key.MetricName, dims: key.Dimensions})
		if !rd.seen[id] {
			rd.seen[id] = true
			rd.matched++
		}
	} else {
		rd.matched++
	}
	if rd.matched > insightsMaxMetrics {
		rd.truncatedMatching = true
		return false
	}
	label := rd.iq.groupLabel(key)
	g := rd.groups[label]
	if g == nil {
		g = &insightsGroup{label: label}
		if len(rd.groups) < insightsMaxLimit {
			g.periods = make([]insightsAcc, rd.n)
		}
		rd.groups[label] = g
	}
	if g.periods == nil {
		rd.pending = append(rd.pending, pendingSeries{g, i, ref})
	}
	readRef(rd.plan, i, ref, rd.period, func(a *store.Aggregate) {
		if j := floorDiv(a.Start-rd.from, rd.period); j >= 0 && j < rd.n {
			g.whole.add(a.Count, a.Sum, a.Min, a.Max)
			if g.periods != nil {
				g.periods[j].add(a.Count, a.Sum, a.Min, a.Max)
			}
		}
	})
	return true
}

// readPending reads the periods of the returned groups that have none yet.
func (rd *insightsRead) readPending(returned []*insightsGroup) {
	for _, g := range returned {
		if g.periods == nil {
			g.periods, g.late = make([]insightsAcc, rd.n), true
		}
	}
	for _, p := range rd.pending {
		if !p.g.late {
			continue // not returned
		}
		readRef(rd.plan, p.src, p.ref, rd.period, func(a *store.Aggregate) {
			if j := floorDiv(a.Start-rd.from, rd.period); j >= 0 && j < rd.n {
				p.g.periods[j].add(a.Count, a.Sum, a.Min, a.Max)
			}
		})
	}
}

// minTime is the newest timestamp a store reports when it does not know it.
const minTime = -1 << 63

// sortGroups orders the results: by the ORDER BY function over the whole
// range (ties by label), else by label ascending.
func sortGroups(gs []*insightsGroup, iq *insightsQuery) {
	slices.SortFunc(gs, func(a, b *insightsGroup) int {
		if iq.orderBy != "" {
			c := cmp.Compare(a.whole.value(iq.orderBy), b.whole.value(iq.orderBy))
			if iq.desc {
				c = -c
			}
			if c != 0 {
				return c
			}
		}
		return strings.Compare(a.label, b.label)
	})
}

// insightsResultLabel: a grouped result is labelled with its group values
// (after the query's Label when it has one, as CloudWatch does for a static
// label on several series); the one result of an ungrouped query takes the
// query's Label, else its Id (AWS's default here is unverified).
func insightsResultLabel(q dataQuery, group string) string {
	switch {
	case len(q.insights.groupBy) == 0 && q.label != "":
		return q.label
	case len(q.insights.groupBy) == 0:
		return q.id
	case q.label != "":
		return q.label + " " + group
	}
	return group
}
