package logs

import (
	"errors"
	"sort"
	"strconv"

	"github.com/cellwatch/cellwatch/internal/awsapi"
	"github.com/cellwatch/cellwatch/internal/record"
	"github.com/cellwatch/cellwatch/logs/pattern"
)

// compilePattern parses a filter pattern; a pattern the service rejects is
// an InvalidParameterException with the pattern package's text.
func compilePattern(s string) (*pattern.Pattern, error) {
	if len([]rune(s)) > maxPatternLen {
		return nil, awsapi.ConstraintError(s, "filterPattern", "have length less than or equal to 1024")
	}
	p, err := pattern.Parse(s)
	var pe *pattern.Error
	if errors.As(err, &pe) {
		return nil, awsapi.LogsInvalidParameter("%s", pe.Msg)
	}
	return p, err
}

func (t *transformation) pattern() *pattern.Transformation {
	return &pattern.Transformation{MetricName: t.MetricName, MetricNamespace: t.Namespace, MetricValue: t.Value,
		DefaultValue: t.Default, Dimensions: t.Dimensions, Unit: t.Unit}
}

// applyFilters evaluates the metric filters on the accepted events and
// returns their datums, one record.Metrics per namespace, in filter order.
// A filter whose stored pattern no longer parses publishes nothing.
func applyFilters(tenant string, filters []*metricFilter, events []record.LogEvent) []record.Metrics {
	if len(filters) == 0 {
		return nil
	}
	sort.Slice(filters, func(i, j int) bool { return filters[i].Name < filters[j].Name })
	var out []record.Metrics
	at := map[string]int{}
	for _, f := range filters {
		p, err := pattern.Parse(f.Pattern)
		if err != nil {
			continue
		}
		for _, t := range f.Transformations {
			pt := t.pattern()
			for _, e := range events {
				fields, matched := p.Match(e.Message)
				v, dims, ok := pt.Apply(fields, matched)
				if !ok {
					continue
				}
				i, seen := at[t.Namespace]
				if !seen {
					i = len(out)
					at[t.Namespace] = i
					out = append(out, record.Metrics{Tenant: tenant, Namespace: t.Namespace})
				}
				out[i].Datums = append(out[i].Datums, datum(&t, dims, e.Timestamp, v))
			}
		}
	}
	return out
}

func datum(t *transformation, dims map[string]string, ts int64, v float64) record.Datum {
	d := record.Datum{MetricName: t.MetricName, Unit: t.Unit, Timestamp: ts, Value: v}
	if d.Unit == "" {
		d.Unit = "None"
	}
	for k, val := range dims {
		d.Dimensions = append(d.Dimensions, record.Dimension{Name: k, Value: val})
	}
	record.SortDimensions(d.Dimensions)
	return d
}

func itoa(n int) string { return strconv.Itoa(n) }

func slicesSortByName(fs []*metricFilter) {
	sort.Slice(fs, func(i, j int) bool { return fs[i].Name < fs[j].Name })
}
