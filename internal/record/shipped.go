package record

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"

	"github.com/cellwatch/cellwatch/internal/decode"
)

// KindGap marks WAL records the shipper dropped (backlog over its cap): the
// long-term store then knows it lacks that data instead of reading it as
// empty.
const KindGap Kind = 2

// Shipped is one stream message: a part of a WAL record, a liveness mark
// (sent whole to every partition), or a gap marker,
// with the identity of the WAL record it comes from. A WAL record whose
// datums fall in several partitions is split, and every part keeps the same
// (Origin, Offset), so consumers can apply each part exactly once.
type Shipped struct {
	Origin string // node ID of the WAL
	Offset uint64 // WAL offset of the record (for a gap: Gap.To, the first record kept after it)
	Kind   Kind   // KindMetrics, KindGap or KindLiveness
	Body   []byte // KindMetrics: an AppendMetrics encoding; KindGap: AppendGap; KindLiveness: AppendLiveness
}

// Gap describes dropped WAL records: offsets [From, To) and the wall-clock
// span (Unix ms) in which they were written.
type Gap struct {
	From, To        uint64
	FirstMs, LastMs int64
}

// AppendShipped appends the encoding of s to buf.
func AppendShipped(buf []byte, s *Shipped) []byte {
	buf = append(buf, byte(s.Kind))
	buf = appendString(buf, s.Origin)
	buf = binary.AppendUvarint(buf, s.Offset)
	return append(buf, s.Body...)
}

// DecodeShipped decodes b into s; s.Body aliases b.
func DecodeShipped(b []byte, s *Shipped) error {
	d := decode.New(b, ErrCorrupt)
	s.Kind = Kind(d.Byte())
	s.Origin = d.Str()
	s.Offset = d.Uvarint()
	if d.Err() != nil {
		return fmt.Errorf("decode shipped: %w", d.Err())
	}
	s.Body = d.Rest()
	return nil
}

// AppendGap appends the encoding of g to buf.
func AppendGap(buf []byte, g Gap) []byte {
	buf = binary.AppendUvarint(buf, g.From)
	buf = binary.AppendUvarint(buf, g.To)
	buf = binary.AppendVarint(buf, g.FirstMs)
	return binary.AppendVarint(buf, g.LastMs)
}

// DecodeGap decodes a gap body.
func DecodeGap(b []byte) (Gap, error) {
	d := decode.New(b, ErrCorrupt)
	g := Gap{From: d.Uvarint(), To: d.Uvarint(), FirstMs: d.Varint(), LastMs: d.Varint()}
	if d.Err() != nil {
		return g, fmt.Errorf("decode gap: %w", d.Err())
	}
	return g, nil
}

// SeriesHash identifies a datum's series (tenant, namespace, name,
// dimensions, unit) for partitioning: stable across nodes and versions.
func SeriesHash(tenant, namespace string, d *Datum) uint64 {
	h := fnv.New64a()
	w := func(s string) {
		_, _ = h.Write([]byte(s))
		_, _ = h.Write([]byte{0})
	}
	w(tenant)
	w(namespace)
	w(d.MetricName)
	for _, dim := range d.Dimensions {
		w(dim.Name)
		w(dim.Value)
	}
	w(d.Unit)
	return h.Sum64()
}
