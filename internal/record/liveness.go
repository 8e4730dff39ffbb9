package record

import (
	"encoding/binary"
	"fmt"

	"github.com/cellwatch/cellwatch/internal/decode"
)

// KindLiveness is a liveness mark: the node was up and accepting writes at
// UnixMs (docs/design.md §6). The node appends one to its WAL every second, in
// order with its ingest records, so the stores can tell the intervals in
// which it was live (covered) from those in which it was not (crash,
// restart, a lost WAL). The shipper sends every mark to every partition.
const KindLiveness Kind = 3

// Liveness is the body of a KindLiveness record.
type Liveness struct {
	UnixMs int64 // wall-clock time of the mark
	// Started marks the first mark after the node started.
	Started bool
	// Genesis marks a start on a new data directory: the node holds no data
	// from before this mark, so there is nothing unknown before it.
	Genesis bool
}

const (
	livenessStarted = 1 << iota
	livenessGenesis
)

// AppendLiveness appends the encoding of l to buf: kind, zig-zag varint
// UnixMs, one flags byte.
func AppendLiveness(buf []byte, l Liveness) []byte {
	buf = append(buf, byte(KindLiveness))
	buf = binary.AppendVarint(buf, l.UnixMs)
	var flags byte
	if l.Started {
		flags |= livenessStarted
	}
	if l.Genesis {
		flags |= livenessGenesis
	}
	return append(buf, flags)
}

// DecodeLiveness decodes a KindLiveness record. Flags it does not know are
// ignored.
func DecodeLiveness(b []byte) (Liveness, error) {
	d := decode.New(b, ErrCorrupt)
	if k := Kind(d.Byte()); k != KindLiveness {
		return Liveness{}, fmt.Errorf("decode liveness: kind %d: %w", k, ErrCorrupt)
	}
	l := Liveness{UnixMs: d.Varint()}
	flags := d.Byte()
	if d.Err() != nil {
		return Liveness{}, fmt.Errorf("decode liveness: %w", d.Err())
	}
	l.Started, l.Genesis = flags&livenessStarted != 0, flags&livenessGenesis != 0
	return l, nil
}
