package fallback

import (
	"fmt"

	"github.com/cellwatch/cellwatch/internal/record"
)

// shipBatch is a run of WAL records split into per-partition stream messages.
type shipBatch struct {
	parts   [][][]byte // partition -> messages
	end     uint64     // WAL offset after the batch's last record
	records int
	bytes   int
	m       record.Metrics
	split   [][]record.Datum
}

func newShipBatch(partitions int) *shipBatch {
	return &shipBatch{parts: make([][][]byte, partitions), split: make([][]record.Datum, partitions)}
}

func (b *shipBatch) empty() bool { return b.records == 0 }

func (b *shipBatch) reset() {
	for p := range b.parts {
		b.parts[p] = nil
	}
	b.records, b.bytes, b.end = 0, 0, 0
}

// add splits one WAL record by series into its partitions' messages. Each
// part carries the record's identity (origin, offset). A liveness mark goes
// whole to every partition: each partition's consumer learns how far the
// origin's data in it is applied (docs/design.md §6).
func (b *shipBatch) add(origin string, off uint64, rec []byte) error {
	b.records++
	b.bytes += len(rec)
	kind, err := record.KindOf(rec)
	if err != nil {
		return err
	}
	switch kind {
	case record.KindMetrics:
	case record.KindLiveness:
		if _, err := record.DecodeLiveness(rec); err != nil {
			return fmt.Errorf("decode wal record: %w", err)
		}
		msg := record.AppendShipped(make([]byte, 0, len(rec)+len(origin)+12),
			&record.Shipped{Origin: origin, Offset: off, Kind: record.KindLiveness, Body: rec})
		for p := range b.parts {
			b.parts[p] = append(b.parts[p], msg) // read-only: one copy serves every partition
		}
		return nil
	default:
		return nil // other kinds stay on this node
	}
	if err := record.DecodeMetrics(rec, &b.m); err != nil {
		return fmt.Errorf("decode wal record: %w", err)
	}
	n := uint64(len(b.parts))
	for p := range b.split {
		b.split[p] = b.split[p][:0]
	}
	for _, d := range b.m.Datums {
		p := record.SeriesHash(b.m.Tenant, b.m.Namespace, &d) % n
		b.split[p] = append(b.split[p], d)
	}
	for p, datums := range b.split {
		if len(datums) == 0 {
			continue
		}
		part := record.Metrics{Tenant: b.m.Tenant, Namespace: b.m.Namespace, Datums: datums}
		body := record.AppendMetrics(nil, &part)
		msg := record.AppendShipped(make([]byte, 0, len(body)+len(origin)+12),
			&record.Shipped{Origin: origin, Offset: off, Kind: record.KindMetrics, Body: body})
		b.parts[p] = append(b.parts[p], msg)
	}
	return nil
}
