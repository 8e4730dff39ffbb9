package query

import (
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/cellwatch/cellwatch/internal/awsapi"
	"github.com/cellwatch/cellwatch/internal/record"
	"github.com/cellwatch/cellwatch/store"
)

// seriesOfLister is a Store that lists one namespace's series through an
// index (both stores of package store are).
type seriesOfLister interface {
	SeriesOf(tenant, namespace string, fn func(ref store.SeriesRef, key *store.SeriesKey, newest int64) bool)
}

// listSeries visits the tenant's series, only those of namespace when
// hasNamespace and the store can list a namespace; the caller still filters.
func listSeries(st Store, tenant, namespace string, hasNamespace bool, fn func(ref store.SeriesRef, key *store.SeriesKey, newest int64) bool) {
	if l, ok := st.(seriesOfLister); ok && hasNamespace {
		l.SeriesOf(tenant, namespace, fn)
		return
	}
	st.Series(tenant, fn)
}

// parseExpressionPeriod reads an Expression query's optional Period (the
// period of a SEARCH without a third argument).
func parseExpressionPeriod(in awsapi.Input, path string, q *dataQuery) error {
	period, ok, err := in.Int("Period")
	if err != nil || !ok {
		return err
	}
	if err := checkPeriod(period, path+".Period"); err != nil {
		return err
	}
	q.period = period
	return nil
}

// search answers one SEARCH of query id: the metrics it matches among the
// series with data since start (in the stores the read draws on), at most
// maxSearchResults of them in metric order, each read like a
// MetricStat query with n's statistic and period. It reports whether any
// read touched unknown time.
func (s *Service) search(view *coverageView, tenant, id string, n searchNode, period int64, start, end time.Time, used *answered) ([]mathSeries, bool) {
	found := searchMetrics(view, tenant, n.query, start.Unix(), ceilSeconds(end))
	if len(found) > maxSearchResults {
		found = found[:maxSearchResults]
		used.limited = append(used.limited, id)
	}
	labels := searchLabels(n.query, found)
	out := make([]mathSeries, len(found))
	unknown := false
	for i, m := range found {
		q := dataQuery{metric: metricRef{namespace: m.namespace, name: m.name, dims: m.dims}, stat: n.stat, period: period}
		r := s.runDataQuery(view, tenant, q, start, end, scanAscending, used)
		out[i] = mathSeries{times: r.times, values: r.values, label: labels[i], props: r.props}
		unknown = unknown || r.unknown
	}
	return out, unknown
}

// searchMetrics returns the metrics (units folded) that q matches among the
// series with data since from, sorted. Only the stores that the read plan of
// [from, to) draws on are listed: a series of another store could not be
// read (and listing the long-term store costs a lookup per series).
func searchMetrics(view *coverageView, tenant string, q *searchQuery, from, to int64) []listedMetric {
	ns, hasNS := q.fixedNamespace()
	var keys []*store.SeriesKey
	var listed []string
	for _, src := range view.plan(floorDiv(from, 60)*60, ceilDiv(to, 60)*60, 60).sources {
		if slices.Contains(listed, src.name) {
			continue
		}
		listed = append(listed, src.name)
		listSeries(src.st, tenant, ns, hasNS, func(_ store.SeriesRef, key *store.SeriesKey, newest int64) bool {
			if newest >= from {
				keys = append(keys, key)
			}
			return true
		})
	}
	matched := matchKeys(q, tenant, keys)
	seen := map[string]bool{}
	var found []listedMetric
	for i, key := range keys {
		if !matched[i] {
			continue
		}
		lm := listedMetric{namespace: key.Namespace, name: key.MetricName, dims: key.Dimensions}
		lm.sortKey = metricSortKey(lm)
		if !seen[lm.sortKey] {
			seen[lm.sortKey] = true
			found = append(found, lm)
		}
	}
	slices.SortFunc(found, func(a, b listedMetric) int { return strings.Compare(a.sortKey, b.sortKey) })
	return found
}

// matchKeys matches every key, on all cores for many keys: matching is
// bound by memory latency (each key, its dimensions and values are
// separate allocations), so parallel misses pay.
func matchKeys(q *searchQuery, tenant string, keys []*store.SeriesKey) []bool {
	matched := make([]bool, len(keys))
	const minPart = 8192
	parts := min(runtime.GOMAXPROCS(0), max(1, len(keys)/minPart))
	var wg sync.WaitGroup
	for p := range parts {
		lo, hi := p*len(keys)/parts, (p+1)*len(keys)/parts
		wg.Go(func() {
			m := &searchMetric{tenant: tenant}
			for i := lo; i < hi; i++ {
				m.key = keys[i]
				matched[i] = q.matches(m)
			}
		})
	}
	wg.Wait()
	return matched
}

// searchLabels gives each found metric its default label: the values of
// the dimensions that differ between the found metrics (the schema's
// dimensions first, in its order, then the others by name), then the
// metric name when names differ; with nothing differing, all its dimension
// values, or else its name. (AWS documents the dimension values; which ones
// and their order are this server's choice.)
func searchLabels(q *searchQuery, found []listedMetric) []string {
	if len(found) == 0 {
		return nil
	}
	names := slices.Clone(q.schemaDims)
	var others []string
	for _, m := range found {
		for _, d := range m.dims {
			if !slices.Contains(names, d.Name) && !slices.Contains(others, d.Name) {
				others = append(others, d.Name)
			}
		}
	}
	slices.Sort(others)
	names = append(names, others...)
	value := func(m listedMetric, name string) (string, bool) {
		i := slices.IndexFunc(m.dims, func(d record.Dimension) bool { return d.Name == name })
		if i < 0 {
			return "", false
		}
		return m.dims[i].Value, true
	}
	var varying []string
	for _, name := range names {
		v0, ok0 := value(found[0], name)
		if slices.ContainsFunc(found[1:], func(m listedMetric) bool { v, ok := value(m, name); return v != v0 || ok != ok0 }) {
			varying = append(varying, name)
		}
	}
	nameVaries := slices.ContainsFunc(found, func(m listedMetric) bool { return m.name != found[0].name })
	labels := make([]string, len(found))
	for i, m := range found {
		parts := valuesOf(m, varying, value)
		if nameVaries {
			parts = append(parts, m.name)
		}
		if len(parts) == 0 {
			parts = valuesOf(m, names, value)
		}
		if len(parts) == 0 {
			parts = []string{m.name}
		}
		labels[i] = strings.Join(parts, " ")
	}
	return labels
}

func valuesOf(m listedMetric, names []string, value func(listedMetric, string) (string, bool)) []string {
	var out []string
	for _, name := range names {
		if v, ok := value(m, name); ok {
			out = append(out, v)
		}
	}
	return out
}

// memberLabel labels one member of an expression's array result: a SEARCH
// member has its default label, after the query's Label when one is given;
// other members are "<label> <metric label>".
func memberLabel(q dataQuery, label string) string {
	if defaultSearchLabels(q) {
		return label
	}
	return strings.TrimSpace(q.label + " " + label)
}

// defaultSearchLabels: the query has no Label and a SEARCH, so the members
// of its array result carry SEARCH's default labels.
func defaultSearchLabels(q dataQuery) bool { return q.idLabel && len(searchesOf(q.ast)) > 0 }

// uniqueSearchLabels tells apart default labels that several queries of a
// request give (two SEARCHes over the same metrics with other statistics):
// each such label gets its query's statistic appended, as AWS does.
func uniqueSearchLabels(queries []dataQuery, all map[string][]dataResult) {
	owners := map[string]map[string]bool{}
	for _, q := range queries {
		for _, r := range all[q.id] {
			if owners[r.label] == nil {
				owners[r.label] = map[string]bool{}
			}
			owners[r.label][q.id] = true
		}
	}
	for _, q := range queries {
		stat := searchesOf(q.ast)[0].stat.name
		for i, r := range all[q.id] {
			if len(owners[r.label]) > 1 {
				all[q.id][i].label = r.label + " " + stat
			}
		}
	}
}

// limitedMessage is the request message for SEARCHes that found more
// series than they return.
func limitedMessage(ids []string) awsapi.Object {
	return awsapi.Obj("Code", "MaxMetricsExceeded", "Value",
		fmt.Sprintf("The SEARCH of query %s found more than %d metrics; only the first %d are returned.", strings.Join(ids, ", "), maxSearchResults, maxSearchResults))
}
