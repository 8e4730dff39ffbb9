package query

import (
	"slices"
	"time"

	"github.com/cellwatch/cellwatch/internal/intervals"
	"github.com/cellwatch/cellwatch/store"
)

// Store names, as the headers carry them.
const (
	SourceLocal    = "local"
	SourceLongTerm = "longterm"
	// HeaderSources, on every read response, names the stores that answered.
	HeaderSources = "X-Cellwatch-Sources"
	// HeaderReadSource, on a request, forces one store (operators, tests).
	HeaderReadSource = "X-Cellwatch-Read-Source"
)

// source is one store answering the buckets that start in [from, to).
type source struct {
	name     string
	st       Store
	from, to int64
}

// answered collects what a response drew on: the stores, in the order they
// first answered (older time first), and the unknown intervals.
type answered struct {
	names   []string
	unknown intervals.Set
	limited []string // queries whose SEARCH found more series than it returns
}

func (a *answered) add(name string) {
	if !slices.Contains(a.names, name) {
		a.names = append(a.names, name)
	}
}

func (a *answered) addUnknown(set intervals.Set) { a.unknown = intervals.Union(a.unknown, set) }

// unitPeriods merges, per unit, the buckets of metric m in the plan's
// sources into periods of the given length aligned on from. unit "" takes
// every unit. Each store is looked up once; each bucket is read from the one
// source whose range holds its start.
func (s *Service) unitPeriods(plan []source, tenant string, m metricRef, unit string, from, period int64, used *answered) map[string]map[int64]*store.Aggregate {
	out := map[string]map[int64]*store.Aggregate{}
	for i, first := range plan {
		if slices.ContainsFunc(plan[:i], func(o source) bool { return o.name == first.name }) {
			continue // this store was read with its first source
		}
		used.add(first.name)
		for _, ref := range first.st.Lookup(tenant, m.namespace, m.name, m.dims) {
			key := first.st.Key(ref)
			if unit != "" && key.Unit != unit {
				continue
			}
			periods := out[key.Unit]
			if periods == nil {
				periods = map[int64]*store.Aggregate{}
				out[key.Unit] = periods
			}
			merge := func(a *store.Aggregate) {
				p := from + floorDiv(a.Start-from, period)*period
				acc := periods[p]
				if acc == nil {
					acc = &store.Aggregate{Start: p, Width: period}
					periods[p] = acc
				}
				acc.Merge(a)
			}
			for _, src := range plan[i:] {
				if src.name != first.name {
					continue
				}
				if ps, ok := src.st.(PeriodStore); ok {
					ps.RangePeriod(ref, src.from, src.to, period, merge)
				} else {
					src.st.Range(ref, src.from, src.to, merge)
				}
			}
		}
	}
	return out
}

// highResAvailable: sub-minute periods are answered for the last 3 hours only.
func (s *Service) highResAvailable(from, period int64) bool {
	return period >= 60 || s.now().Sub(time.Unix(from, 0)) <= highResWindow
}
