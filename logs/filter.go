package logs

import (
	"container/heap"
	"context"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/cellwatch/cellwatch/internal/awsapi"
	"github.com/cellwatch/cellwatch/store"
)

const maxFilterStreams = 100

// FilterLogEvents returns the events of a log group's streams that match a
// filter pattern, interleaved by timestamp (then ingestion time, then
// identity). It keeps the page's smallest events in a bounded heap (at most
// limit events and about 1 MB), so each stream's scan stops at the first
// event that cannot be on the page; nextToken is the last event's position.
func (a *API) FilterLogEvents(ctx context.Context, req *awsapi.Request, hdr http.Header) (awsapi.Object, error) {
	in := req.Input
	group, err := groupOf(awsapi.TenantOf(req), in)
	if err != nil {
		return nil, err
	}
	if in.Has("logStreamNames") && in.Has("logStreamNamePrefix") {
		return nil, awsapi.LogsInvalidParameter("logStreamNames and logStreamNamePrefix are mutually exclusive parameters.")
	}
	names := in.Strings("logStreamNames")
	if in.Has("logStreamNames") && (len(names) < 1 || len(names) > maxFilterStreams) {
		return nil, awsapi.ConstraintError("list of "+itoa(len(names))+" names", "logStreamNames", "have length between 1 and 100")
	}
	prefix := in.String("logStreamNamePrefix")
	from, err := timeOf(in, "startTime", 0)
	if err != nil {
		return nil, err
	}
	to, err := timeOf(in, "endTime", math.MaxInt64-1)
	if err != nil {
		return nil, err
	}
	limit, err := limitOf(in, "limit", 1, maxPageEvents, maxPageEvents)
	if err != nil {
		return nil, err
	}
	p, err := compilePattern(in.String("filterPattern"))
	if err != nil {
		return nil, err
	}
	pos := minPos
	if in.Has("nextToken") {
		fwd, at, err := decodePos(in.String("nextToken"))
		if err != nil || !fwd {
			return nil, errBadToken
		}
		pos = at
	}
	tenant := awsapi.TenantOf(req)
	streams, err := a.filterStreams(tenant, group, names, in.Has("logStreamNames"), prefix)
	if err != nil {
		return nil, err
	}
	page := &topEvents{limit: limit}
	var unknown []store.Interval
	searched := awsapi.List{}
	for _, s := range streams {
		complete := true
		scan := store.LogScan{Tenant: tenant, Group: group, Stream: s, FromMs: max(from, pos.Timestamp), ToMs: to + 1}
		if in.Has("endTime") {
			scan.ToMs = to
		}
		u, err := a.r.ScanLogs(ctx, scan, func(e *store.LogEvent) bool {
			if store.CompareLogEvents(e, &pos) <= 0 {
				return true
			}
			if page.full() && store.CompareLogEvents(e, &page.events[0].LogEvent) >= 0 {
				page.cut = true
				return false
			}
			if _, ok := p.Match(e.Message); ok {
				page.push(filtered{*e, s})
			}
			return true
		})
		if err != nil {
			return nil, err
		}
		if len(u) > 0 {
			complete = false
			unknown = append(unknown, u...)
		}
		searched = append(searched, awsapi.Obj("logStreamName", s, "searchedCompletely", complete))
	}
	setUnknown(hdr, unknown)
	events := page.sorted()
	list := make(awsapi.List, len(events))
	for i := range events {
		e := &events[i]
		list[i] = awsapi.Obj("logStreamName", e.stream, "timestamp", e.Timestamp, "message", e.Message,
			"ingestionTime", e.Ingestion, "eventId", eventID(&e.LogEvent))
	}
	out := awsapi.Obj("events", list, "searchedLogStreams", searched)
	if page.cut && len(events) > 0 {
		out = out.Add("nextToken", encodePos(true, &events[len(events)-1].LogEvent))
	}
	return out, nil
}

// filterStreams returns the names of the streams a FilterLogEvents call
// searches, in name order.
func (a *API) filterStreams(tenant, group string, names []string, byName bool, prefix string) ([]string, error) {
	var out []string
	err := a.meta.withGroup(tenant, group, func(g *logGroup) error {
		for _, s := range streamNames(g) {
			if (!byName || slices.Contains(names, s)) && strings.HasPrefix(s, prefix) {
				out = append(out, s)
			}
		}
		return nil
	})
	return out, err
}

// eventID renders an event's identity as FilterLogEvents' eventId.
func eventID(e *store.LogEvent) string {
	return strconv.FormatInt(e.Timestamp, 10) + "-" + e.Origin + "-" + strconv.FormatUint(e.Offset, 10) + "-" + strconv.FormatUint(uint64(e.Index), 10)
}

type filtered struct {
	store.LogEvent
	stream string
}

// topEvents keeps the smallest events seen, at most limit of them and
// about maxPageBytes: a max-heap whose root is the largest kept.
type topEvents struct {
	events []filtered
	limit  int
	bytes  int
	cut    bool // an event was left out: there is a next page
}

func (t *topEvents) Len() int { return len(t.events) }
func (t *topEvents) Less(i, j int) bool {
	return store.CompareLogEvents(&t.events[i].LogEvent, &t.events[j].LogEvent) > 0
}
func (t *topEvents) Swap(i, j int) { t.events[i], t.events[j] = t.events[j], t.events[i] }
func (t *topEvents) Push(x any)    { t.events = append(t.events, x.(filtered)) }
func (t *topEvents) Pop() any {
	e := t.events[len(t.events)-1]
	t.events = t.events[:len(t.events)-1]
	return e
}

func (t *topEvents) full() bool { return len(t.events) >= t.limit || t.bytes >= maxPageBytes }

func (t *topEvents) push(e filtered) {
	heap.Push(t, e)
	t.bytes += len(e.Message) + eventOverhead
	for len(t.events) > 1 && (len(t.events) > t.limit || t.bytes > maxPageBytes) {
		out := heap.Pop(t).(filtered)
		t.bytes -= len(out.Message) + eventOverhead
		t.cut = true
	}
}

func (t *topEvents) sorted() []filtered {
	out := slices.Clone(t.events)
	slices.SortFunc(out, func(a, b filtered) int { return store.CompareLogEvents(&a.LogEvent, &b.LogEvent) })
	return out
}
