package query

import (
	"fmt"
	"slices"
	"time"

	"github.com/cellwatch/cellwatch/internal/awsapi"
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
	notes   awsapi.List // request-level Messages besides PartialData, one per code
	limited []string    // queries whose SEARCH found more series than it returns
}

// note adds a request-level message, once per code.
func (a *answered) note(code, format string, args ...any) {
	for _, n := range a.notes {
		if n.(awsapi.Object)[0].Value == code {
			return
		}
	}
	a.notes = append(a.notes, awsapi.Obj("Code", code, "Value", fmt.Sprintf(format, args...)))
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
	eachStore(plan, used, func(i int, first source) {
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
			readRef(plan, i, ref, period, func(a *store.Aggregate) {
				p := from + floorDiv(a.Start-from, period)*period
				acc := periods[p]
				if acc == nil {
					acc = &store.Aggregate{Start: p, Width: period}
					periods[p] = acc
				}
				acc.Merge(a)
			})
		}
	})
	return out
}

// eachStore calls fn once per store of the plan, with the index of the
// store's first source, and records the store as answering.
func eachStore(plan []source, used *answered, fn func(i int, first source)) {
	for i, first := range plan {
		if slices.ContainsFunc(plan[:i], func(o source) bool { return o.name == first.name }) {
			continue // this store was read with its first source
		}
		used.add(first.name)
		fn(i, first)
	}
}

// readRef visits the buckets of ref (a series of plan[i]'s store) in every
// source of plan[i:] that is that store, read as periods of the given
// length where the store keeps roll-ups (PeriodStore).
func readRef(plan []source, i int, ref store.SeriesRef, period int64, fn func(a *store.Aggregate)) {
	for _, src := range plan[i:] {
		if src.name != plan[i].name {
			continue
		}
		if ps, ok := src.st.(PeriodStore); ok {
			ps.RangePeriod(ref, src.from, src.to, period, fn)
		} else {
			src.st.Range(ref, src.from, src.to, fn)
		}
	}
}

// highResAvailable: sub-minute periods are answered for the last 3 hours only.
func (s *Service) highResAvailable(from, period int64) bool {
	return period >= 60 || s.now().Sub(time.Unix(from, 0)) <= highResWindow
}
