package query

import (
	"fmt"
	"math"
	"net/http"
	"strings"
	"time"

	"github.com/cellwatch/cellwatch/internal/awsapi"
	"github.com/cellwatch/cellwatch/internal/intervals"
	"github.com/cellwatch/cellwatch/store"
)

// HeaderUnknown, on every read response that has some, lists the intervals
// no store could vouch for, as "<start>/<end>" in RFC 3339 UTC, comma
// separated, ascending. At most maxUnknownListed are listed; past that the
// last one spans the rest (a superset: some known time is then included).
const HeaderUnknown = "X-Cellwatch-Unknown"

const (
	maxUnknownListed  = 100
	maxUnknownInText  = 10
	listMetricsPeriod = 14 * 24 * time.Hour // ListMetrics shows metrics of the last two weeks
)

// Coverer is a Store that says which intervals it can vouch for: Coverage
// returns the covered sub-intervals of [from, to), Unix seconds (store.Local
// and store.LongTerm implement it). A Store without it is taken to cover
// everything.
type Coverer interface {
	Coverage(from, to int64) []store.Interval
}

// coverageView is the coverage of the stores a request may read, taken once
// per request over [lo, hi).
type coverageView struct {
	force           string // "", SourceLocal or SourceLongTerm
	local, longTerm Store
	covLocal, covLT intervals.Set
	split           int64 // the local window starts here (a minute boundary)
}

// view validates the request's forced source and takes the coverage of the
// stores it may read over [lo, hi).
func (s *Service) view(tenant string, req *awsapi.Request, lo, hi int64) (*coverageView, error) {
	force := ""
	if req != nil {
		force = req.Header.Get(HeaderReadSource)
	}
	switch force {
	case "", SourceLocal:
	case SourceLongTerm:
		if s.longTerm == nil {
			return nil, awsapi.InvalidParameterValue("The header %s names %s, but this node has no long-term store.", HeaderReadSource, force)
		}
	default:
		return nil, awsapi.InvalidParameterValue("The header %s must be %s or %s, not %q.", HeaderReadSource, SourceLocal, SourceLongTerm, force)
	}
	v := &coverageView{force: force, local: s.local, longTerm: s.longTerm}
	if s.fed != nil {
		v.local, v.longTerm = s.fed.Stores(tenant, lo, hi)
	}
	split := s.now().Add(-s.window).Unix()
	v.split = (split + 59) / 60 * 60
	if force != SourceLongTerm {
		v.covLocal = coverageOf(v.local, lo, hi)
	}
	if force != SourceLocal && v.longTerm != nil && (force != "" || !v.localAnswersAll(lo, hi, s.now().Unix())) {
		v.covLT = coverageOf(v.longTerm, lo, hi)
	}
	return v, nil
}

// localAnswersAll reports whether the local store answers the range
// without the long-term store: [lo, hi) is in the window and the local
// store covers it up to a few seconds ago. In the window the local store
// answers every grain it covers, and the long-term store, fed from the
// same WALs later, covers no more of the window than the local store does
// but for its last seconds, which are then reported unknown: leaving the
// long-term store out can only make a read more cautious, never wrong. It
// saves its coverage, in a cluster a call to every partition owner.
func (v *coverageView) localAnswersAll(lo, hi, now int64) bool {
	end := min(hi, now-localLead)
	if lo < v.split || end <= lo {
		return false
	}
	return v.covLocal.Contains(lo, end)
}

// localLead is how far behind now the local store must cover for a read of
// the window to leave the long-term store out.
const localLead = 5

func coverageOf(st Store, lo, hi int64) intervals.Set {
	c, ok := st.(Coverer)
	if !ok {
		return intervals.Set{{From: math.MinInt64, To: math.MaxInt64}}
	}
	return intervals.Of(c.Coverage(lo, hi)...)
}

// readPlan says which store answers which part of a range, and what no
// store can vouch for.
type readPlan struct {
	sources []source      // ascending, disjoint
	unknown intervals.Set // whole grains, Unix seconds
}

// plan splits [from, to) between the stores, grain by grain (grain divides
// 60 and from is a multiple of it; the last grain may reach past to). A
// grain counts as covered by a store only when the store covers all of it.
// The local store answers the grains of its window it covers, the long-term
// store the older ones it covers; where the preferred store does not cover
// a grain and the other does, the other answers (a node that lost its WAL
// reads its recent past from the long-term store; an old grain the
// long-term store lacks may still be in the local window). A grain neither
// covers is unknown: the preferred store answers what it has, and the grain
// is reported. A forced read takes one store and reports what it does not
// cover.
func (v *coverageView) plan(from, to, grain int64) readPlan {
	if from >= to {
		return readPlan{}
	}
	hi := intervals.CeilDiv(to, grain) * grain
	full := intervals.Set{{From: from, To: hi}}
	local := intervals.Intersect(v.covLocal, full).Inward(grain)
	lt := intervals.Intersect(v.covLT, full).Inward(grain)
	switch {
	case v.force == SourceLocal || (v.force == "" && v.longTerm == nil):
		return readPlan{sources: []source{{SourceLocal, v.local, from, to}}, unknown: intervals.Subtract(full, local)}
	case v.force == SourceLongTerm:
		return readPlan{sources: []source{{SourceLongTerm, v.longTerm, from, to}}, unknown: intervals.Subtract(full, lt)}
	}
	unknown := intervals.Subtract(intervals.Subtract(full, local), lt)
	recent := intervals.Set{{From: v.split, To: math.MaxInt64}}
	old := intervals.Set{{From: math.MinInt64, To: v.split}}
	byLocal := intervals.Union(
		intervals.Intersect(recent, intervals.Union(local, unknown)),
		intervals.Intersect(old, intervals.Subtract(local, lt)))
	byLT := intervals.Subtract(full, byLocal)
	var srcs []source
	i, j := 0, 0
	for i < len(byLocal) || j < len(byLT) {
		if j >= len(byLT) || (i < len(byLocal) && byLocal[i].From < byLT[j].From) {
			srcs = appendSource(srcs, source{SourceLocal, v.local, byLocal[i].From, min(byLocal[i].To, to)})
			i++
		} else {
			srcs = appendSource(srcs, source{SourceLongTerm, v.longTerm, byLT[j].From, min(byLT[j].To, to)})
			j++
		}
	}
	return readPlan{sources: srcs, unknown: unknown}
}

func appendSource(srcs []source, s source) []source {
	if s.from < s.to {
		srcs = append(srcs, s)
	}
	return srcs
}

// Coverage returns the intervals of [from, to) (Unix seconds) that no store
// can vouch for, as the reads report them: the one place alarms (and
// anything else) learn what is unknown. In a cluster it is judged over the
// tenant's nodes and the partitions' owners.
func (s *Service) Coverage(tenant string, from, to int64) []store.Interval {
	v, err := s.view(tenant, nil, from, to)
	if err != nil {
		return []store.Interval{{From: from, To: to}}
	}
	return v.plan(from, to, 1).unknown
}

// formatUnknown renders intervals as the HeaderUnknown value.
func formatUnknown(set intervals.Set) string {
	if len(set) > maxUnknownListed {
		last := set[maxUnknownListed-1]
		last.To = set[len(set)-1].To
		set = append(set[:maxUnknownListed-1:maxUnknownListed-1], last)
	}
	parts := make([]string, len(set))
	for i, iv := range set {
		parts[i] = formatInterval(iv)
	}
	return strings.Join(parts, ",")
}

func formatInterval(iv store.Interval) string {
	return rfc3339(iv.From) + "/" + rfc3339(iv.To)
}

func rfc3339(sec int64) string {
	const lo, hi = -62135596800, 253402300799 // years 1 and 9999
	return time.Unix(min(max(sec, lo), hi), 0).UTC().Format(time.RFC3339)
}

// unknownMessage is the GetMetricData Messages entry for unknown intervals.
func unknownMessage(set intervals.Set) awsapi.Object {
	var b strings.Builder
	b.WriteString("No store can vouch for ")
	for i, iv := range set {
		if i == maxUnknownInText {
			fmt.Fprintf(&b, " and %d more intervals", len(set)-i)
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(formatInterval(iv))
	}
	fmt.Fprintf(&b, " (%s in all; see the %s header): this node was down or lost its WAL, or the long-term store lacks the data. Periods there are unknown, not empty.",
		time.Duration(set.Len())*time.Second, HeaderUnknown)
	return awsapi.Obj("Code", statusPartial, "Value", b.String())
}

// writeHeaders sets the response headers of a read.
func (a *answered) write(h http.Header) {
	if len(a.names) > 0 {
		h.Set(HeaderSources, strings.Join(a.names, ","))
	}
	if len(a.unknown) > 0 {
		h.Set(HeaderUnknown, formatUnknown(a.unknown))
	}
}

// listSources returns the stores a listing reads: the forced one, else
// every store (older first).
func (v *coverageView) listSources() []source {
	switch {
	case v.force == SourceLocal || (v.force == "" && v.longTerm == nil):
		return []source{{name: SourceLocal, st: v.local}}
	case v.force == SourceLongTerm:
		return []source{{name: SourceLongTerm, st: v.longTerm}}
	}
	return []source{{name: SourceLongTerm, st: v.longTerm}, {name: SourceLocal, st: v.local}}
}

// grainOf is the unit in which coverage is judged for a period: the period
// itself below a minute, else the minute (the stores' standard bucket).
func grainOf(period int64) int64 { return min(period, 60) }

func ceilDiv(a, b int64) int64 { return intervals.CeilDiv(a, b) }
