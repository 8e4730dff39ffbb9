package logs

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"math"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/cellwatch/cellwatch/internal/awsapi"
	"github.com/cellwatch/cellwatch/internal/intervals"
	"github.com/cellwatch/cellwatch/internal/record"
	"github.com/cellwatch/cellwatch/store"
)

// PutLogEvents' limits (the model's and the user guide's).
const (
	maxBatchEvents = 10_000
	maxBatchBytes  = 1_048_576 // Σ(message bytes + eventOverhead)
	eventOverhead  = 26
	maxEventBytes  = 1_048_576 - eventOverhead
	maxBatchSpan   = 24 * time.Hour
	maxFuture      = 2 * time.Hour
	maxPast        = 14 * 24 * time.Hour
	maxPageEvents  = 10_000
	maxPageBytes   = 1_048_576
	day            = int64(24 * time.Hour / time.Millisecond)
)

// PutLogEvents appends a batch of events to a log stream: it validates the
// batch as AWS does, sets aside the events too new, too old or past the
// group's retention (rejectedLogEventsInfo), evaluates the group's metric
// filters on the rest and makes events and datums durable in one record.
func (a *API) PutLogEvents(ctx context.Context, req *awsapi.Request, _ http.Header) (awsapi.Object, error) {
	in := req.Input
	group, err := requiredName(in, "logGroupName", false)
	if err != nil {
		return nil, err
	}
	stream, err := requiredName(in, "logStreamName", true)
	if err != nil {
		return nil, err
	}
	events, err := eventsOf(in)
	if err != nil {
		return nil, err
	}
	tenant := awsapi.TenantOf(req)
	now := a.cfg.Now()
	m := a.meta
	m.mu.Lock()
	g := m.group(tenant, group)
	var filters []*metricFilter
	retention := 0
	switch {
	case g == nil:
		err = errGroupNotFound
	case g.streams[stream] == nil:
		err = errStreamNotFound
	default:
		retention = g.Retention
		for _, f := range g.filters {
			filters = append(filters, f)
		}
	}
	m.mu.Unlock()
	if err != nil {
		return nil, err
	}
	lo, hi, rejected := classify(events, now, retention)
	accepted := events[lo:hi]
	if len(accepted) > 0 && accepted[len(accepted)-1].Timestamp-accepted[0].Timestamp > maxBatchSpan.Milliseconds() {
		return nil, awsapi.LogsInvalidParameter("The batch of log events in a single PutLogEvents request cannot span more than 24 hours.")
	}
	a.eventsRejected.Add(float64(len(events) - len(accepted)))
	out := awsapi.Object{}
	if len(accepted) > 0 {
		rec := &record.Logs{Tenant: tenant, Group: group, Stream: stream, Ingestion: now.UnixMilli(), Events: accepted}
		rec.Metrics = applyFilters(tenant, filters, accepted)
		if err := a.w.AppendLogs(ctx, rec); err != nil {
			return nil, err
		}
		a.eventsAccepted.Add(float64(len(accepted)))
	}
	seq, err := a.touchStream(tenant, group, stream, accepted, now.UnixMilli())
	if err != nil {
		return nil, err
	}
	out = out.Add("nextSequenceToken", sequenceToken(seq))
	if len(rejected) > 0 {
		out = out.Add("rejectedLogEventsInfo", rejected)
	}
	return out, nil
}

// eventsOf reads and checks PutLogEvents' logEvents: count, sizes, order.
func eventsOf(in awsapi.Input) ([]record.LogEvent, error) {
	if !in.Has("logEvents") {
		return nil, awsapi.NullError("logEvents")
	}
	list := in.Structs("logEvents")
	if len(list) < 1 || len(list) > maxBatchEvents {
		return nil, awsapi.ConstraintError("list of "+itoa(len(list))+" events", "logEvents",
			"have length between 1 and "+itoa(maxBatchEvents))
	}
	events := make([]record.LogEvent, len(list))
	total := 0
	for i, e := range list {
		at := "logEvents." + itoa(i+1) + ".member."
		ts, ok, err := e.Int("timestamp")
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, awsapi.NullError(at + "timestamp")
		}
		if !e.Has("message") {
			return nil, awsapi.NullError(at + "message")
		}
		msg := e.String("message")
		if msg == "" {
			return nil, awsapi.ConstraintError(msg, at+"message", "have length greater than or equal to 1")
		}
		if len(msg) > maxEventBytes {
			return nil, awsapi.LogsInvalidParameter("Log event too large: %d bytes exceeds limit of %d", len(msg)+eventOverhead, maxEventBytes+eventOverhead)
		}
		total += len(msg) + eventOverhead
		if i > 0 && ts < events[i-1].Timestamp {
			return nil, awsapi.LogsInvalidParameter("Log events in a single PutLogEvents request must be in chronological order.")
		}
		events[i] = record.LogEvent{Timestamp: ts, Message: msg}
	}
	if total > maxBatchBytes {
		return nil, awsapi.LogsInvalidParameter("Upload too large: %d bytes exceeds limit of %d", total, maxBatchBytes)
	}
	return events, nil
}

// classify returns the accepted events, events[lo:hi] (they are in order,
// so the too-old and expired ones lead and the too-new ones trail), and the
// rejectedLogEventsInfo for the others (empty when none).
func classify(events []record.LogEvent, now time.Time, retentionDays int) (lo, hi int, info awsapi.Object) {
	nowMs := now.UnixMilli()
	tooNew := nowMs + maxFuture.Milliseconds()
	tooOld := nowMs - maxPast.Milliseconds()
	expired := int64(math.MinInt64)
	if retentionDays > 0 {
		expired = nowMs - int64(retentionDays)*day
	}
	oldEnd, expEnd := -1, -1
	hi = len(events)
	for i, e := range events {
		if e.Timestamp < tooOld {
			oldEnd = i
		}
		if e.Timestamp < expired {
			expEnd = i
		}
	}
	for hi > 0 && events[hi-1].Timestamp > tooNew {
		hi--
	}
	lo = max(oldEnd, expEnd) + 1
	hi = max(hi, lo)
	if hi < len(events) {
		info = info.Add("tooNewLogEventStartIndex", hi)
	}
	if oldEnd >= 0 {
		info = info.Add("tooOldLogEventEndIndex", oldEnd)
	}
	if expEnd >= 0 {
		info = info.Add("expiredLogEventEndIndex", expEnd)
	}
	return lo, hi, info
}

// touchStream moves a stream's event timestamps and sequence after a
// PutLogEvents call and returns the new sequence number.
func (a *API) touchStream(tenant, group, stream string, accepted []record.LogEvent, ingestion int64) (uint64, error) {
	m := a.meta
	m.mu.Lock()
	defer m.mu.Unlock()
	g := m.group(tenant, group)
	if g == nil || g.streams[stream] == nil {
		return 0, errStreamNotFound // deleted meanwhile
	}
	next := *g.streams[stream]
	next.Sequence++
	if len(accepted) > 0 {
		first, last := accepted[0].Timestamp, accepted[len(accepted)-1].Timestamp
		if next.Ingestion == 0 || first < next.First {
			next.First = first
		}
		next.Last = max(next.Last, last)
		next.Ingestion = ingestion
	}
	return next.Sequence, m.putStream(g, &next, false)
}

// GetLogEvents pages through one stream's events, forward or backward,
// with tokens that encode a position in the stream's order.
func (a *API) GetLogEvents(ctx context.Context, req *awsapi.Request, hdr http.Header) (awsapi.Object, error) {
	in := req.Input
	group, err := groupOf(awsapi.TenantOf(req), in)
	if err != nil {
		return nil, err
	}
	stream, err := requiredName(in, "logStreamName", true)
	if err != nil {
		return nil, err
	}
	from, err := timeOf(in, "startTime", 0)
	if err != nil {
		return nil, err
	}
	to, err := timeOf(in, "endTime", math.MaxInt64)
	if err != nil {
		return nil, err
	}
	limit, err := limitOf(in, "limit", 1, maxPageEvents, maxPageEvents)
	if err != nil {
		return nil, err
	}
	head, _, err := in.Bool("startFromHead")
	if err != nil {
		return nil, err
	}
	forward, pos := head, minPos
	if !head {
		pos = maxPos
	}
	tok := in.String("nextToken")
	if in.Has("nextToken") {
		if forward, pos, err = decodePos(tok); err != nil {
			return nil, err
		}
	}
	tenant := awsapi.TenantOf(req)
	if err := a.requireStream(tenant, group, stream); err != nil {
		return nil, err
	}
	scan := store.LogScan{Tenant: tenant, Group: group, Stream: stream, FromMs: from, ToMs: to, Descending: !forward}
	if forward {
		scan.FromMs = max(from, pos.Timestamp)
	} else if pos.Timestamp != math.MaxInt64 {
		scan.ToMs = min(to, pos.Timestamp+1)
	}
	var page []store.LogEvent
	bytes := 0
	unknown, err := a.r.ScanLogs(ctx, scan, func(e *store.LogEvent) bool {
		c := store.CompareLogEvents(e, &pos)
		if forward && c <= 0 || !forward && c >= 0 {
			return true
		}
		bytes += len(e.Message) + eventOverhead
		if len(page) == limit || bytes > maxPageBytes && len(page) > 0 {
			return false
		}
		page = append(page, *e)
		return true
	})
	if err != nil {
		return nil, err
	}
	setUnknown(hdr, unknown)
	if !forward {
		slices.Reverse(page)
	}
	list := make(awsapi.List, len(page))
	for i := range page {
		e := &page[i]
		list[i] = awsapi.Obj("timestamp", e.Timestamp, "message", e.Message, "ingestionTime", e.Ingestion)
	}
	fwd, back := pos, pos
	switch {
	case len(page) > 0:
		fwd, back = page[len(page)-1], page[0]
	case tok == "":
		fwd, back = minPos, maxPos
	}
	return awsapi.Obj("events", list, "nextForwardToken", encodePos(true, &fwd), "nextBackwardToken", encodePos(false, &back)), nil
}

// requireStream checks that the tenant's log stream exists.
func (a *API) requireStream(tenant, group, stream string) error {
	return a.meta.withGroup(tenant, group, func(g *logGroup) error {
		if g.streams[stream] == nil {
			return errStreamNotFound
		}
		return nil
	})
}

// Positions: before every event and after every event.
var (
	minPos = store.LogEvent{Timestamp: math.MinInt64}
	maxPos = store.LogEvent{Timestamp: math.MaxInt64}
)

// encodePos renders a GetLogEvents token: "f/" (events after e) or "b/"
// (events before e), then e's sort key.
func encodePos(forward bool, e *store.LogEvent) string {
	b := binary.AppendVarint(nil, e.Timestamp)
	b = binary.AppendVarint(b, e.Ingestion)
	b = binary.AppendUvarint(b, e.Offset)
	b = binary.AppendUvarint(b, uint64(e.Index))
	b = append(b, e.Origin...)
	dir := "b/"
	if forward {
		dir = "f/"
	}
	return dir + base64.RawURLEncoding.EncodeToString(b)
}

func decodePos(tok string) (forward bool, e store.LogEvent, err error) {
	dir, rest, ok := strings.Cut(tok, "/")
	if !ok || dir != "f" && dir != "b" {
		return false, e, errBadToken
	}
	b, err := base64.RawURLEncoding.DecodeString(rest)
	if err != nil {
		return false, e, errBadToken
	}
	var n int
	fields := []*int64{&e.Timestamp, &e.Ingestion}
	for _, f := range fields {
		if *f, n = binary.Varint(b); n <= 0 {
			return false, e, errBadToken
		}
		b = b[n:]
	}
	if e.Offset, n = binary.Uvarint(b); n <= 0 {
		return false, e, errBadToken
	}
	b = b[n:]
	idx, n := binary.Uvarint(b)
	if n <= 0 || idx > math.MaxUint32 {
		return false, e, errBadToken
	}
	e.Index, e.Origin = uint32(idx), string(b[n:])
	return dir == "f", e, nil
}

// HeaderUnknown, on a read's response, lists the intervals of its range
// that no store can vouch for, in query.HeaderUnknown's format: RFC 3339
// "from/to" pairs at second granularity (widened outward), comma separated,
// ascending, at most maxUnknownListed (the last one then reaches to the end).
const (
	HeaderUnknown    = "X-Cellwatch-Unknown"
	maxUnknownListed = 100
)

func setUnknown(hdr http.Header, unknown []store.Interval) {
	if len(unknown) == 0 || hdr == nil {
		return
	}
	var set intervals.Set
	for _, iv := range unknown {
		set = set.Add(intervals.Interval{From: floorDiv(iv.From, 1000), To: -floorDiv(-iv.To, 1000)})
	}
	hdr.Set(HeaderUnknown, formatUnknown(set))
}

func formatUnknown(set intervals.Set) string {
	if len(set) > maxUnknownListed {
		last := set[maxUnknownListed-1]
		last.To = set[len(set)-1].To
		set = append(set[:maxUnknownListed-1:maxUnknownListed-1], last)
	}
	var b strings.Builder
	for i, iv := range set {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(rfc3339(iv.From) + "/" + rfc3339(iv.To))
	}
	return b.String()
}

func rfc3339(sec int64) string {
	const lo, hi = -62135596800, 253402300799 // years 1 and 9999
	return time.Unix(min(max(sec, lo), hi), 0).UTC().Format(time.RFC3339)
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}
