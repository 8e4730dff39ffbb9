package store

import (
	"context"
	"math"

	"github.com/cellwatch/cellwatch/internal/intervals"
)

// LogsView reads log events from the local and the long-term store as one:
// each stream's events merged by identity (an event applied to both is
// returned once), and what neither store can vouch for reported.
type LogsView struct {
	Local    *Local
	LongTerm *LongTerm // nil: the local store alone
}

// ScanLogs calls fn with the events of s's stream, in s's order, until fn
// returns false, and returns the intervals of [s.FromMs, s.ToMs) (Unix ms)
// neither store covers. The event passed to fn is valid only during the
// call.
func (v LogsView) ScanLogs(ctx context.Context, s LogScan, fn func(*LogEvent) bool) ([]Interval, error) {
	if s.ToMs <= s.FromMs {
		return nil, nil
	}
	unknown := v.unknownLogs(s.FromMs, s.ToMs)
	var local []LogEvent
	v.Local.ScanLogs(s, func(e *LogEvent) bool { local = append(local, *e); return true })
	before := func(a, b *LogEvent) int { // <0: a comes first in s's order
		if s.Descending {
			return CompareLogEvents(b, a)
		}
		return CompareLogEvents(a, b)
	}
	i, stopped := 0, false
	if v.LongTerm != nil {
		err := v.LongTerm.ScanLogs(ctx, s, func(e *LogEvent) bool {
			for i < len(local) {
				c := before(&local[i], e)
				if c > 0 {
					break
				}
				if c < 0 && !fn(&local[i]) {
					stopped = true
					return false
				}
				i++ // c == 0: the same event in both stores, given once below
			}
			if !fn(e) {
				stopped = true
				return false
			}
			return true
		})
		if err != nil {
			return unknown, err
		}
	}
	for ; !stopped && i < len(local); i++ {
		if !fn(&local[i]) {
			break
		}
	}
	return unknown, nil
}

// unknownLogs is [fromMs, toMs) minus what either store covers.
func (v LogsView) unknownLogs(fromMs, toMs int64) []Interval {
	full := intervals.Of(Interval{From: fromMs, To: toMs})
	known := v.Local.LogCoverageMs(fromMs, toMs)
	if v.LongTerm != nil {
		if cov, err := v.LongTerm.coverageMs(fromMs, toMs); err == nil {
			known = intervals.Union(known, cov.Clip(fromMs, toMs))
		} else {
			v.LongTerm.log.Error("long-term store: log coverage", "err", err)
		}
	}
	return intervals.Subtract(full, known)
}

// ForgetLogs deletes a stream's events with Timestamp < beforeMs
// (math.MaxInt64: all) from both stores.
func (v LogsView) ForgetLogs(_ context.Context, tenant, group, stream string, beforeMs int64) error {
	v.Local.ForgetLogs(tenant, group, stream, beforeMs)
	if v.LongTerm == nil {
		return nil
	}
	return v.LongTerm.ForgetLogs(tenant, group, stream, beforeMs)
}

// StoredLogBytes estimates a stream's bytes: on disk in the long-term
// store, or in memory when there is none.
func (v LogsView) StoredLogBytes(tenant, group, stream string) int64 {
	if v.LongTerm != nil {
		return v.LongTerm.StoredLogBytes(tenant, group, stream)
	}
	var n int64
	v.Local.ScanLogs(LogScan{Tenant: tenant, Group: group, Stream: stream, FromMs: math.MinInt64, ToMs: math.MaxInt64},
		func(e *LogEvent) bool { n += int64(len(e.Message)); return true })
	return n
}
