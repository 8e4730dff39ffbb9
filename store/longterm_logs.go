package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"math"

	"github.com/cockroachdb/pebble/v2"

	"github.com/cellwatch/cellwatch/internal/record"
)

// prefixLogEvent keys the log events:
//
//	e | stream key | timestamp (8, ordered) | ingestion (8, ordered) | origin | 0 | WAL offset (8) | index (4) -> message
//
// where the stream key is tenant, group and stream, each length-prefixed.
// The key is the event's identity, so applying an event twice writes the
// same key: a replay is idempotent even before the marks skip it. Keys sort
// as CompareLogEvents orders events (an origin is a node ID, without NUL).
const prefixLogEvent = 'e'

func logStreamPrefix(tenant, group, stream string) []byte {
	b := make([]byte, 0, 1+len(tenant)+len(group)+len(stream)+6)
	b = append(b, prefixLogEvent)
	for _, s := range [...]string{tenant, group, stream} {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	return b
}

func logEventKey(prefix []byte, origin string, offset uint64, index uint32, ts, ingestion int64) []byte {
	b := make([]byte, 0, len(prefix)+29+len(origin))
	b = append(b, prefix...)
	b = appendOrdered(b, ts)
	b = appendOrdered(b, ingestion)
	b = append(b, origin...)
	b = append(b, 0)
	b = binary.BigEndian.AppendUint64(b, offset)
	return binary.BigEndian.AppendUint32(b, index)
}

// decodeLogEventKey reads the event fields of key k (prefix stripped).
func decodeLogEventKey(k []byte, ev *LogEvent) error {
	if len(k) < 16+1+12 {
		return fmt.Errorf("decode log event key %x: %w", k, record.ErrCorrupt)
	}
	ev.Timestamp, ev.Ingestion = readOrdered(k), readOrdered(k[8:])
	rest := k[16:]
	nul := bytes.IndexByte(rest, 0)
	if nul < 0 || len(rest)-nul-1 != 12 {
		return fmt.Errorf("decode log event key %x: %w", k, record.ErrCorrupt)
	}
	ev.Origin = string(rest[:nul])
	ev.Offset = binary.BigEndian.Uint64(rest[nul+1:])
	ev.Index = binary.BigEndian.Uint32(rest[nul+9:])
	return nil
}

// putLogs writes l's events (the WAL record at offset of origin) to batch.
func putLogs(batch *pebble.Batch, origin string, offset uint64, l *record.Logs) error {
	prefix := logStreamPrefix(l.Tenant, l.Group, l.Stream)
	for i, e := range l.Events {
		k := logEventKey(prefix, origin, offset, uint32(i), e.Timestamp, l.Ingestion)
		if err := batch.Set(k, []byte(e.Message), nil); err != nil {
			return fmt.Errorf("write log event: %w", err)
		}
	}
	return nil
}

// ScanLogs calls fn with the stored events of s's stream, in s's order,
// until fn returns false. The event passed to fn is valid only during the
// call.
func (lt *LongTerm) ScanLogs(ctx context.Context, s LogScan, fn func(*LogEvent) bool) error {
	prefix := logStreamPrefix(s.Tenant, s.Group, s.Stream)
	lo := appendOrdered(bytes.Clone(prefix), s.FromMs)
	hi := appendOrdered(bytes.Clone(prefix), s.ToMs)
	if s.ToMs == math.MaxInt64 {
		hi = prefixEnd(prefix)
	}
	it, err := lt.db.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi})
	if err != nil {
		return fmt.Errorf("scan log events: %w", err)
	}
	first, next := it.First, it.Next
	if s.Descending {
		first, next = it.Last, it.Prev
	}
	var ev LogEvent
	n := 0
	for ok := first(); ok; ok = next() {
		if n++; n%1024 == 0 && ctx.Err() != nil {
			err = ctx.Err()
			break
		}
		if err = decodeLogEventKey(it.Key()[len(prefix):], &ev); err != nil {
			break
		}
		ev.Message = string(it.Value())
		if !fn(&ev) {
			break
		}
	}
	if ierr := it.Error(); err == nil {
		err = ierr
	}
	if cerr := it.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("scan log events: %w", err)
	}
	return nil
}

// ForgetLogs deletes the events of a stream with a timestamp before
// beforeMs (math.MaxInt64: all), for retention and deleted streams. An event
// of that range still in a node's backlog is written when it arrives; the
// next retention pass deletes it.
func (lt *LongTerm) ForgetLogs(tenant, group, stream string, beforeMs int64) error {
	prefix := logStreamPrefix(tenant, group, stream)
	hi := prefixEnd(prefix)
	if beforeMs != math.MaxInt64 {
		hi = appendOrdered(bytes.Clone(prefix), beforeMs)
	}
	if err := lt.db.DeleteRange(prefix, hi, pebble.Sync); err != nil {
		return fmt.Errorf("delete log events: %w", err)
	}
	return nil
}

// StoredLogBytes estimates the bytes a stream's events take on disk.
func (lt *LongTerm) StoredLogBytes(tenant, group, stream string) int64 {
	prefix := logStreamPrefix(tenant, group, stream)
	n, err := lt.db.EstimateDiskUsage(prefix, prefixEnd(prefix))
	if err != nil {
		return 0
	}
	return int64(n)
}

// LogDiskBytes is the long-term store's bytes on disk for every log event
// (its sstables' share of the events' key range), for measuring
// compression; the metrics' keys are not counted.
func (lt *LongTerm) LogDiskBytes() (int64, error) {
	n, err := lt.db.EstimateDiskUsage([]byte{prefixLogEvent}, []byte{prefixLogEvent + 1})
	if err != nil {
		return 0, fmt.Errorf("estimate log disk usage: %w", err)
	}
	return int64(n), nil
}

// applyLogsMessage applies one KindLogs stream message: its events (the
// shipper sends them to the stream's partition only) and its metric filter
// datums (split by series like any datums). A body that does not decode is
// recorded as a gap of its one offset. It returns the newest timestamp
// applied, for stream gaps.
func (lt *LongTerm) applyLogsMessage(batch *pebble.Batch, p int, ps *partitionState, m *Message, now int64, st *applyStats) (int64, error) {
	sh := &m.Shipped
	if err := record.DecodeLogs(sh.Body, &ps.logs); err != nil {
		st.corrupt++
		lt.log.Error("long-term store: corrupt logs message, recorded as a gap",
			"partition", p, "stream_offset", m.Offset, "origin", sh.Origin, "wal_offset", sh.Offset, "err", err)
		return 0, lt.putCorruptGap(batch, p, ps, sh)
	}
	if err := putLogs(batch, sh.Origin, sh.Offset, &ps.logs); err != nil {
		return 0, err
	}
	var newest int64
	for _, e := range ps.logs.Events {
		newest = max(newest, e.Timestamp)
	}
	for i := range ps.logs.Metrics {
		ms, err := lt.applyMetrics(batch, ps, &ps.logs.Metrics[i], now, st)
		if err != nil {
			return 0, err
		}
		newest = max(newest, ms)
	}
	return newest, nil
}

// Flush writes the memtable to sstables (compressed), as a full memtable
// would: for measuring bytes on disk and for an orderly stop.
func (lt *LongTerm) Flush() error {
	if err := lt.db.Flush(); err != nil {
		return fmt.Errorf("flush long-term store: %w", err)
	}
	return nil
}

// CompactLogs compacts the log events' key range into the bottom level,
// where the store keeps most of its data in steady state (zstd level 3):
// for measuring bytes on disk.
func (lt *LongTerm) CompactLogs(ctx context.Context) error {
	if err := lt.db.Compact(ctx, []byte{prefixLogEvent}, []byte{prefixLogEvent + 1}, true); err != nil {
		return fmt.Errorf("compact log events: %w", err)
	}
	return nil
}
