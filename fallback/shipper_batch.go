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
	logs    record.Logs
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
	case record.KindLogs:
		return b.addLogs(origin, off, rec)
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

// addLogs splits a KindLogs record: its events go whole to their stream's
// partition, its metric filter datums to their series' partitions, each
// part a KindLogs message with the record's identity. A partition gets at
// most one message of the record, so its mark skips nothing it should
// apply.
func (b *shipBatch) addLogs(origin string, off uint64, rec []byte) error {
	if err := record.DecodeLogs(rec, &b.logs); err != nil {
		return fmt.Errorf("decode wal record: %w", err)
	}
	l := &b.logs
	n := uint64(len(b.parts))
	parts := make([]record.Logs, n)
	ep := record.StreamHash(l.Tenant, l.Group, l.Stream) % n
	parts[ep].Events = l.Events
	for _, m := range l.Metrics {
		for i := range m.Datums {
			p := record.SeriesHash(m.Tenant, m.Namespace, &m.Datums[i]) % n
			ms := parts[p].Metrics
			if len(ms) == 0 || ms[len(ms)-1].Namespace != m.Namespace {
				ms = append(ms, record.Metrics{Tenant: m.Tenant, Namespace: m.Namespace})
			}
			ms[len(ms)-1].Datums = append(ms[len(ms)-1].Datums, m.Datums[i])
			parts[p].Metrics = ms
		}
	}
	for p := range parts {
		part := &parts[p]
		if len(part.Events) == 0 && len(part.Metrics) == 0 {
			continue
		}
		part.Tenant, part.Group, part.Stream, part.Ingestion = l.Tenant, l.Group, l.Stream, l.Ingestion
		body := record.AppendLogs(nil, part)
		msg := record.AppendShipped(make([]byte, 0, len(body)+len(origin)+12),
			&record.Shipped{Origin: origin, Offset: off, Kind: record.KindLogs, Body: body})
		b.parts[p] = append(b.parts[p], msg)
	}
	return nil
}
