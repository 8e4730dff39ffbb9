package query

import (
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/cellwatch/cellwatch/internal/awsapi"
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

// plan splits [from, to) between the stores: the local store answers its
// window, the long-term store everything before it. The split is on a minute
// boundary, so every bucket comes from exactly one store.
func (s *Service) plan(req *awsapi.Request, from, to int64) ([]source, error) {
	switch force := req.Header.Get(HeaderReadSource); force {
	case "":
	case SourceLocal:
		return []source{{SourceLocal, s.local, from, to}}, nil
	case SourceLongTerm:
		if s.longTerm == nil {
			return nil, awsapi.InvalidParameterValue("The header %s names %s, but this node has no long-term store.", HeaderReadSource, force)
		}
		return []source{{SourceLongTerm, s.longTerm, from, to}}, nil
	default:
		return nil, awsapi.InvalidParameterValue("The header %s must be %s or %s, not %q.", HeaderReadSource, SourceLocal, SourceLongTerm, force)
	}
	if s.longTerm == nil {
		return []source{{SourceLocal, s.local, from, to}}, nil
	}
	split := s.now().Add(-s.window).Unix()
	split = (split + 59) / 60 * 60
	var out []source
	if from < split {
		out = append(out, source{SourceLongTerm, s.longTerm, from, min(to, split)})
	}
	if to > split {
		out = append(out, source{SourceLocal, s.local, max(from, split), to})
	}
	return out, nil
}

// answered collects the names of the stores a response drew on.
type answered []string

func (a *answered) add(name string) {
	if !slices.Contains(*a, name) {
		*a = append(*a, name)
	}
}

func (a answered) write(h http.Header) {
	if len(a) > 0 {
		h.Set(HeaderSources, strings.Join(a, ","))
	}
}

// unitPeriods merges, per unit, the buckets of metric m in [from, to) into
// periods of the given length aligned on from. unit "" takes every unit.
func (s *Service) unitPeriods(plan []source, tenant string, m metricRef, unit string, from, period int64, used *answered) map[string]map[int64]*store.Aggregate {
	out := map[string]map[int64]*store.Aggregate{}
	for _, src := range plan {
		used.add(src.name)
		for _, ref := range src.st.Lookup(tenant, m.namespace, m.name, m.dims) {
			key := src.st.Key(ref)
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
			if ps, ok := src.st.(PeriodStore); ok {
				ps.RangePeriod(ref, src.from, src.to, period, merge)
			} else {
				src.st.Range(ref, src.from, src.to, merge)
			}
		}
	}
	return out
}

// highResAvailable: sub-minute periods are answered for the last 3 hours only.
func (s *Service) highResAvailable(from, period int64) bool {
	return period >= 60 || s.now().Sub(time.Unix(from, 0)) <= highResWindow
}
