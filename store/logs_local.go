package store

import (
	"math"
	"slices"
	"sync"

	"github.com/cellwatch/cellwatch/internal/intervals"
	"github.com/cellwatch/cellwatch/internal/record"
)

// DefaultMaxLogBytes bounds the local store's log events (-store.max-log-bytes).
const DefaultMaxLogBytes = 512 << 20

// logEventOverhead is what an event costs beside its message: the slice
// element and its identity's share.
const logEventOverhead = 64

// logStreamID names one log stream.
type logStreamID struct{ tenant, group, stream string }

// localLogs holds the log events of the window, per stream, in read order.
// It is byte-bounded: past MaxLogBytes the oldest events go first, and the
// horizon rises to the newest timestamp dropped so, below which the store
// no longer vouches for its streams (coverage): the long-term store answers
// for that time, or it is reported unknown.
type localLogs struct {
	mu        sync.RWMutex
	streams   map[logStreamID][]LogEvent
	bytes     int64
	horizonMs int64 // events with Timestamp < horizonMs may have been dropped for room
}

// ApplyLogs adds the events of l, the WAL record at offset of origin, and
// merges its metric filter datums; events older than the window (or the
// horizon) are left to the long-term store.
func (l *Local) ApplyLogs(origin string, offset uint64, rec *record.Logs) {
	for i := range rec.Metrics {
		l.Apply(&rec.Metrics[i])
	}
	if len(rec.Events) == 0 {
		return
	}
	lg := &l.logs
	id := logStreamID{rec.Tenant, rec.Group, rec.Stream}
	lg.mu.Lock()
	defer lg.mu.Unlock()
	if lg.streams == nil {
		lg.streams = map[logStreamID][]LogEvent{}
	}
	floor := max(l.cutoffMs(), lg.horizonMs)
	add := make([]LogEvent, 0, len(rec.Events))
	for i, e := range rec.Events {
		if e.Timestamp < floor {
			l.outOfWindow.Inc()
			continue
		}
		add = append(add, LogEvent{Timestamp: e.Timestamp, Ingestion: rec.Ingestion, Message: e.Message,
			Origin: origin, Offset: offset, Index: uint32(i)})
	}
	evs, added := mergeLogEvents(lg.streams[id], add)
	lg.bytes += added
	lg.streams[id] = evs
	if lg.bytes > l.cfg.MaxLogBytes {
		l.shedLogsLocked(l.cfg.Now().UnixMilli())
	}
}

// mergeLogEvents merges add into the ordered evs and returns them with the
// bytes it added. An event already in evs (same identity) is skipped. A
// record's events are in order (PutLogEvents requires it), so the common
// case, events newer than all held, appends; older ones merge with the
// held tail in one pass rather than one insertion each.
func mergeLogEvents(evs, add []LogEvent) ([]LogEvent, int64) {
	cmp := func(a, b LogEvent) int { return CompareLogEvents(&a, &b) }
	if !slices.IsSortedFunc(add, cmp) {
		slices.SortFunc(add, cmp)
	}
	if len(add) == 0 {
		return evs, 0
	}
	var added int64
	if n := len(evs); n == 0 || CompareLogEvents(&evs[n-1], &add[0]) < 0 {
		for i := range add {
			added += int64(len(add[i].Message)) + logEventOverhead
		}
		return append(evs, add...), added
	}
	at, _ := slices.BinarySearchFunc(evs, add[0], cmp)
	tail := slices.Clone(evs[at:])
	evs = evs[:at]
	i, j := 0, 0
	for i < len(tail) || j < len(add) {
		switch {
		case j == len(add):
			evs = append(evs, tail[i])
			i++
		case i == len(tail):
			evs = append(evs, add[j])
			added += int64(len(add[j].Message)) + logEventOverhead
			j++
		default:
			switch c := CompareLogEvents(&tail[i], &add[j]); {
			case c < 0:
				evs = append(evs, tail[i])
				i++
			case c > 0:
				evs = append(evs, add[j])
				added += int64(len(add[j].Message)) + logEventOverhead
				j++
			default: // applied before
				evs = append(evs, tail[i])
				i++
				j++
			}
		}
	}
	return evs, added
}

// shedLogsLocked drops the oldest events until the store is at 7/8 of its
// bound: it raises the horizon in steps of an eighth of what the window
// holds and drops what is below it.
func (l *Local) shedLogsLocked(nowMs int64) {
	lg := &l.logs
	floor := max(l.cutoffMs(), lg.horizonMs)
	step := max((nowMs-floor)/8, 1)
	for lg.bytes > l.cfg.MaxLogBytes/8*7 && floor < math.MaxInt64-step {
		floor += step
		l.dropLogsBeforeLocked(floor)
	}
	lg.horizonMs = max(lg.horizonMs, floor)
}

// dropLogsBeforeLocked drops events with Timestamp < ms from every stream.
func (l *Local) dropLogsBeforeLocked(ms int64) {
	lg := &l.logs
	for id, evs := range lg.streams {
		n, _ := slices.BinarySearchFunc(evs, ms, func(e LogEvent, t int64) int { return cmpInt64(e.Timestamp, t) })
		if n == 0 {
			continue
		}
		for _, e := range evs[:n] {
			lg.bytes -= int64(len(e.Message)) + logEventOverhead
		}
		if n == len(evs) {
			delete(lg.streams, id)
			continue
		}
		lg.streams[id] = slices.Clone(evs[n:]) // release the dropped prefix's messages
	}
}

// trimLogs drops the events that left the window (Trim calls it).
func (l *Local) trimLogs() {
	lg := &l.logs
	lg.mu.Lock()
	l.dropLogsBeforeLocked(l.cutoffMs())
	lg.mu.Unlock()
}

// LogBytes is the accounted memory of the local store's log events.
func (l *Local) LogBytes() int64 {
	l.logs.mu.RLock()
	defer l.logs.mu.RUnlock()
	return l.logs.bytes
}

// ScanLogs calls fn with the events of s's stream the local store holds,
// in s's order, until fn returns false. The events are copied out under the
// lock first, so fn may be slow.
func (l *Local) ScanLogs(s LogScan, fn func(*LogEvent) bool) {
	lg := &l.logs
	lg.mu.RLock()
	evs := lg.streams[logStreamID{s.Tenant, s.Group, s.Stream}]
	lo, _ := slices.BinarySearchFunc(evs, s.FromMs, func(e LogEvent, t int64) int { return cmpInt64(e.Timestamp, t) })
	hi, _ := slices.BinarySearchFunc(evs, s.ToMs, func(e LogEvent, t int64) int { return cmpInt64(e.Timestamp, t) })
	evs = slices.Clone(evs[lo:hi])
	lg.mu.RUnlock()
	if s.Descending {
		for i := len(evs) - 1; i >= 0; i-- {
			if !fn(&evs[i]) {
				return
			}
		}
		return
	}
	for i := range evs {
		if !fn(&evs[i]) {
			return
		}
	}
}

// ForgetLogs drops a stream's events with Timestamp < beforeMs.
func (l *Local) ForgetLogs(tenant, group, stream string, beforeMs int64) {
	lg := &l.logs
	id := logStreamID{tenant, group, stream}
	lg.mu.Lock()
	defer lg.mu.Unlock()
	evs := lg.streams[id]
	n, _ := slices.BinarySearchFunc(evs, beforeMs, func(e LogEvent, t int64) int { return cmpInt64(e.Timestamp, t) })
	for _, e := range evs[:n] {
		lg.bytes -= int64(len(e.Message)) + logEventOverhead
	}
	if n == len(evs) {
		delete(lg.streams, id)
		return
	}
	lg.streams[id] = slices.Clone(evs[n:])
}

// LogCoverageMs is the part of [fromMs, toMs) for which the local store
// holds every log event this node accepted: its coverage (see Coverage),
// from the byte bound's horizon on.
func (l *Local) LogCoverageMs(fromMs, toMs int64) intervals.Set {
	l.logs.mu.RLock()
	horizon := l.logs.horizonMs
	l.logs.mu.RUnlock()
	return l.coverageMs(l.cfg.Now(), max(fromMs, horizon), toMs)
}
