package logs

import (
	"context"

	"github.com/cellwatch/cellwatch/internal/record"
	"github.com/cellwatch/cellwatch/store"
)

// Writer makes a PutLogEvents record durable and readable: it returns once
// rec is in the WAL (fsynced) and applied to the local store (events and
// metric filter datums alike). Its errors are already AWS errors
// (*awsapi.Error, e.g. ServiceUnavailable when the disk is full).
type Writer interface {
	AppendLogs(ctx context.Context, rec *record.Logs) error
}

// Reader reads stored events. ScanLogs calls fn with the events of one
// stream, in s's order, until fn returns false; it returns the intervals of
// [s.FromMs, s.ToMs) (Unix ms, ascending) that no store can vouch for: an
// event there may exist and not have been seen.
type Reader interface {
	ScanLogs(ctx context.Context, s store.LogScan, fn func(*store.LogEvent) bool) (unknown []store.Interval, err error)
	// ForgetLogs deletes the events of a stream with Timestamp < beforeMs
	// (math.MaxInt64: all of them) from every store: DeleteLogStream,
	// DeleteLogGroup and retention.
	ForgetLogs(ctx context.Context, tenant, group, stream string, beforeMs int64) error
	// StoredLogBytes estimates the bytes a stream's events take on disk.
	StoredLogBytes(tenant, group, stream string) int64
}
