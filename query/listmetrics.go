package query

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/cellwatch/cellwatch/internal/awsapi"
	"github.com/cellwatch/cellwatch/internal/record"
	"github.com/cellwatch/cellwatch/store"
)

const (
	listPageSize   = 500
	recentlyActive = "PT3H"
)

// dimensionFilter is one ListMetrics DimensionFilter; an empty value
// matches any value of the dimension.
type dimensionFilter struct {
	name, value string
	anyValue    bool
}

// listedMetric is a metric as ListMetrics shows it (units folded together).
type listedMetric struct {
	sortKey   string
	namespace string
	name      string
	dims      []record.Dimension
}

// ListMetrics serves the operation of that name.
func (s *Service) ListMetrics(_ context.Context, req *awsapi.Request, hdr http.Header) (awsapi.Object, error) {
	in := req.Input
	ns, name := in.String("Namespace"), in.String("MetricName")
	filters, err := parseDimensionFilters(in)
	if err != nil {
		return nil, err
	}
	var activeSince int64 = -1 << 62
	now := s.now().Unix()
	span := int64(listMetricsPeriod / time.Second) // the unknown intervals it reports
	if in.Has("RecentlyActive") {
		if ra := in.String("RecentlyActive"); ra != recentlyActive {
			return nil, awsapi.ConstraintError(ra, "recentlyActive", "satisfy enum value set: [PT3H]")
		}
		activeSince = s.now().Add(-3 * time.Hour).Unix()
		span = 3 * 3600
	}
	fingerprint := requestFingerprint(in)
	after := ""
	if in.Has("NextToken") {
		if after, err = decodeTokenString(in.String("NextToken"), fingerprint); err != nil {
			return nil, err
		}
	}
	from, to := floorDiv(now-span, 60)*60, ceilDiv(now, 60)*60
	view, err := s.view(awsapi.TenantOf(req), req, from, to)
	if err != nil {
		return nil, err
	}
	var used answered
	used.addUnknown(view.plan(from, to, 60).unknown)
	seen := map[string]bool{}
	var found []listedMetric
	visit := func(_ store.SeriesRef, key *store.SeriesKey, newest int64) bool {
		if (ns != "" && key.Namespace != ns) || (name != "" && key.MetricName != name) ||
			newest < activeSince || !matchDimensions(key.Dimensions, filters) {
			return true
		}
		m := listedMetric{namespace: key.Namespace, name: key.MetricName, dims: key.Dimensions}
		m.sortKey = metricSortKey(m)
		if m.sortKey > after && !seen[m.sortKey] {
			seen[m.sortKey] = true
			found = append(found, m)
		}
		return true
	}
	// Every store lists its series: a metric is listed when any store has it.
	for _, src := range view.listSources() {
		used.add(src.name)
		listSeries(src.st, awsapi.TenantOf(req), ns, ns != "", visit)
	}
	used.write(hdr)
	slices.SortFunc(found, func(a, b listedMetric) int { return strings.Compare(a.sortKey, b.sortKey) })
	out := awsapi.Object{}
	page := found[:min(len(found), listPageSize)]
	metrics := make(awsapi.List, len(page))
	for i, m := range page {
		metrics[i] = metricObject(m.namespace, m.name, m.dims)
	}
	out = out.Add("Metrics", metrics)
	if len(found) > listPageSize {
		out = out.Add("NextToken", encodeToken(page[len(page)-1].sortKey, fingerprint))
	}
	return out, nil
}

func parseDimensionFilters(in awsapi.Input) ([]dimensionFilter, error) {
	raw := in.Structs("Dimensions")
	if len(raw) > maxDimensionFilters {
		return nil, awsapi.InvalidParameterValue("The collection Dimensions must not have a size greater than %d.", maxDimensionFilters)
	}
	filters := make([]dimensionFilter, len(raw))
	for i, f := range raw {
		if !f.Has("Name") {
			return nil, awsapi.MissingParameter("The parameter Dimensions.member.%d.Name is required.", i+1)
		}
		filters[i] = dimensionFilter{name: f.String("Name"), value: f.String("Value"), anyValue: !f.Has("Value")}
	}
	return filters, nil
}

// matchDimensions: the metric has every filtered dimension (and its value
// when one is given); it may have more.
func matchDimensions(dims []record.Dimension, filters []dimensionFilter) bool {
	for _, f := range filters {
		i := slices.IndexFunc(dims, func(d record.Dimension) bool { return d.Name == f.name })
		if i < 0 || (!f.anyValue && dims[i].Value != f.value) {
			return false
		}
	}
	return true
}

// metricSortKey orders metrics for paging; \x00 and \x01 cannot appear in names.
func metricSortKey(m listedMetric) string {
	var b strings.Builder
	b.WriteString(m.namespace)
	b.WriteByte(0)
	b.WriteString(m.name)
	for _, d := range m.dims {
		b.WriteByte(0)
		b.WriteString(d.Name)
		b.WriteByte(1)
		b.WriteString(d.Value)
	}
	return b.String()
}

func metricObject(ns, name string, dims []record.Dimension) awsapi.Object {
	l := make(awsapi.List, len(dims))
	for i, d := range dims {
		l[i] = awsapi.Obj("Name", d.Name, "Value", d.Value)
	}
	return awsapi.Obj("Namespace", ns, "MetricName", name, "Dimensions", l)
}
