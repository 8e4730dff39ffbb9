package record

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"slices"

	"github.com/cellwatch/cellwatch/internal/decode"
)

// KindLogs is the record of one PutLogEvents call: the events of one log
// stream and the datums its metric filters published for them, so that the
// events and the metrics they feed are durable in one fsync.
const KindLogs Kind = 4

// LogEvent is one log event as the client sent it.
type LogEvent struct {
	Timestamp int64 // Unix milliseconds
	Message   string
}

// Logs is the record of one PutLogEvents call. An event's identity is
// (the WAL's origin, the record's offset, its index in Events): the same in
// the local store, on the stream and in the long-term store.
type Logs struct {
	Tenant, Group, Stream string
	Ingestion             int64 // Unix ms at which the node accepted the call
	Events                []LogEvent
	// Metrics are the metric filters' datums, one entry per namespace.
	Metrics []Metrics
}

// AppendLogs appends the encoding of l to buf. Each Metrics part is nested
// in its own AppendMetrics encoding (tenant included, as it is everywhere).
func AppendLogs(buf []byte, l *Logs) []byte {
	buf = append(buf, byte(KindLogs))
	buf = appendString(buf, l.Tenant)
	buf = appendString(buf, l.Group)
	buf = appendString(buf, l.Stream)
	buf = binary.AppendVarint(buf, l.Ingestion)
	buf = binary.AppendUvarint(buf, uint64(len(l.Events)))
	for _, e := range l.Events {
		buf = binary.AppendVarint(buf, e.Timestamp)
		buf = appendString(buf, e.Message)
	}
	buf = binary.AppendUvarint(buf, uint64(len(l.Metrics)))
	for i := range l.Metrics {
		body := AppendMetrics(nil, &l.Metrics[i])
		buf = binary.AppendUvarint(buf, uint64(len(body)))
		buf = append(buf, body...)
	}
	return buf
}

// DecodeLogs decodes a KindLogs record into l, reusing l's slices. Strings
// are copied, so b may be reused after the call.
func DecodeLogs(b []byte, l *Logs) error {
	d := decode.New(b, ErrCorrupt)
	if k := Kind(d.Byte()); k != KindLogs {
		return fmt.Errorf("decode logs: kind %d: %w", k, ErrCorrupt)
	}
	l.Tenant, l.Group, l.Stream = d.Str(), d.Str(), d.Str()
	l.Ingestion = d.Varint()
	n := d.Count()
	l.Events = slices.Grow(l.Events[:0], n)[:n]
	for i := range l.Events {
		l.Events[i] = LogEvent{Timestamp: d.Varint(), Message: d.Str()}
		if d.Err() != nil {
			break
		}
	}
	nm := d.Count()
	l.Metrics = slices.Grow(l.Metrics[:0], nm)[:nm]
	for i := range l.Metrics {
		body := d.Str()
		if d.Err() != nil {
			break
		}
		if err := DecodeMetrics([]byte(body), &l.Metrics[i]); err != nil {
			return fmt.Errorf("decode logs: metric filter datums: %w", err)
		}
	}
	if d.Err() != nil {
		return fmt.Errorf("decode logs: %w", d.Err())
	}
	return nil
}

// StreamHash identifies a log stream for partitioning: stable across nodes
// and versions, so all of a stream's events land in one partition.
func StreamHash(tenant, group, stream string) uint64 {
	h := fnv.New64a()
	for _, s := range [...]string{tenant, group, stream} {
		_, _ = h.Write([]byte(s))
		_, _ = h.Write([]byte{0})
	}
	return h.Sum64()
}
