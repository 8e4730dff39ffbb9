package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/cockroachdb/pebble/v2"

	"github.com/cellwatch/cellwatch/internal/record"
)

// GapRecord is a recorded hole in the long-term store's data (docs/design.md §6):
// data that was written somewhere but will never be applied.
type GapRecord struct {
	// Stream is false for a WAL gap: records [From, To) of Origin's WAL that
	// the shipper dropped (a gap marker), or one record whose message did not
	// decode. It is true for a stream gap: offsets [From, To) of Partition
	// that the stream removed before the consumer read them, or a message
	// whose envelope did not decode.
	Stream    bool
	Origin    string // WAL gaps
	Partition int    // stream gaps
	From, To  int64
	// FirstMs and LastMs bound the wall-clock time (Unix ms) in which the
	// missing data was written; -1 when unknown (unbounded on that side).
	// For a stream gap FirstMs is the older of the newest liveness mark and
	// the newest datum applied from the partition before the gap (late
	// datums older than that may be missing too) and LastMs the time the gap
	// was found. Gaps recorded by a WAL gap marker or a corrupt message have
	// the newest liveness mark applied before them as FirstMs when the
	// marker did not know, and the time they were applied as LastMs.
	FirstMs, LastMs int64
}

func gapKey(origin string, g record.Gap) []byte {
	k := appendString([]byte{prefixGap}, origin)
	k = binary.BigEndian.AppendUint64(k, g.From)
	return binary.BigEndian.AppendUint64(k, g.To)
}

// hasGap reports whether the WAL gap of origin is recorded.
func (lt *LongTerm) hasGap(origin string, g record.Gap) (bool, error) {
	_, closer, err := lt.db.Get(gapKey(origin, g))
	switch {
	case errors.Is(err, pebble.ErrNotFound):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("read gap: %w", err)
	}
	closer.Close()
	return true, nil
}

func putGap(batch *pebble.Batch, p int, origin string, g record.Gap) error {
	k := gapKey(origin, g)
	v := binary.BigEndian.AppendUint64(make([]byte, 0, 20), uint64(g.FirstMs))
	v = binary.BigEndian.AppendUint64(v, uint64(g.LastMs))
	v = binary.BigEndian.AppendUint32(v, uint32(p))
	if err := batch.Set(k, v, nil); err != nil {
		return fmt.Errorf("write gap: %w", err)
	}
	return nil
}

// SkipStream records that offsets [from, to) of partition p will never be
// read (the stream dropped them, or they do not decode) as a stream gap, and
// moves the next offset to at least to, in one synced batch.
func (lt *LongTerm) SkipStream(p int, from, to int64) error {
	if to <= from {
		return nil
	}
	ps, unlock, err := lt.lockPartition(p)
	if err != nil {
		return err
	}
	defer unlock()
	// The lost messages came after the last one applied: after the newest
	// liveness mark applied from the partition and (for data written in
	// order) the newest datum.
	first := lt.newestMark(p, ps, "")
	if ps.lastMs > 0 && (first < 0 || ps.lastMs < first) {
		first = ps.lastMs
	}
	k := binary.BigEndian.AppendUint32([]byte{prefixStreamGap}, uint32(p))
	k = binary.BigEndian.AppendUint64(k, uint64(from))
	k = binary.BigEndian.AppendUint64(k, uint64(to))
	v := binary.BigEndian.AppendUint64(nil, uint64(first))
	v = binary.BigEndian.AppendUint64(v, uint64(lt.cfg.Now().UnixMilli()))
	batch := lt.db.NewBatch()
	defer batch.Close()
	if err := batch.Set(k, v, nil); err != nil {
		return fmt.Errorf("write stream gap: %w", err)
	}
	next := max(ps.next, to)
	if err := putPartition(batch, p, next, ps.lastMs); err != nil {
		return err
	}
	if err := batch.Commit(pebble.Sync); err != nil {
		return fmt.Errorf("commit stream gap of partition %d: %w", p, err)
	}
	ps.next = next
	lt.streamGaps.Inc()
	lt.log.Warn("long-term store: stream offsets skipped, recorded as a gap", "partition", p, "from", from, "to", to)
	return nil
}

// SetNextOffset sets the next offset of partition p, lower or higher, without
// recording a gap. The consumer uses it when the stored offset is past the
// stream's end (a replaced stream): it rereads from the oldest offset and
// the marks drop what was applied.
func (lt *LongTerm) SetNextOffset(p int, off int64) error {
	ps, unlock, err := lt.lockPartition(p)
	if err != nil {
		return err
	}
	defer unlock()
	batch := lt.db.NewBatch()
	defer batch.Close()
	if err := putPartition(batch, p, off, ps.lastMs); err != nil {
		return err
	}
	if err := batch.Commit(pebble.Sync); err != nil {
		return fmt.Errorf("commit next offset of partition %d: %w", p, err)
	}
	ps.next = off
	return nil
}

// Gaps returns the recorded gaps whose wall-clock span may overlap [fromMs,
// toMs), WAL gaps first (by origin and offset), then stream gaps (by
// partition and offset).
func (lt *LongTerm) Gaps(fromMs, toMs int64) ([]GapRecord, error) {
	var out []GapRecord
	overlaps := func(g GapRecord) bool {
		first, last := g.FirstMs, g.LastMs
		if first < 0 {
			first = math.MinInt64
		}
		if last < 0 {
			last = math.MaxInt64
		}
		return first < toMs && last >= fromMs
	}
	var bad error
	err := lt.scan([]byte{prefixGap}, func(k, v []byte) bool {
		n, w := binary.Uvarint(k[1:])
		rest := k[1+w:]
		if w <= 0 || uint64(len(rest)) != n+16 || len(v) != 20 {
			bad = fmt.Errorf("gap key %x: %w", k, errBadBlock)
			return false
		}
		g := GapRecord{
			Origin:    string(rest[:n]),
			Partition: int(binary.BigEndian.Uint32(v[16:])),
			From:      int64(binary.BigEndian.Uint64(rest[n:])),
			To:        int64(binary.BigEndian.Uint64(rest[n+8:])),
			FirstMs:   int64(binary.BigEndian.Uint64(v)),
			LastMs:    int64(binary.BigEndian.Uint64(v[8:])),
		}
		if overlaps(g) {
			out = append(out, g)
		}
		return true
	})
	if err == nil {
		err = lt.scan([]byte{prefixStreamGap}, func(k, v []byte) bool {
			if len(k) != 21 || len(v) != 16 {
				bad = fmt.Errorf("stream gap key %x: %w", k, errBadBlock)
				return false
			}
			g := GapRecord{
				Stream:    true,
				Partition: int(binary.BigEndian.Uint32(k[1:])),
				From:      int64(binary.BigEndian.Uint64(k[5:])),
				To:        int64(binary.BigEndian.Uint64(k[13:])),
				FirstMs:   int64(binary.BigEndian.Uint64(v)),
				LastMs:    int64(binary.BigEndian.Uint64(v[8:])),
			}
			if overlaps(g) {
				out = append(out, g)
			}
			return true
		})
	}
	if err == nil {
		err = bad
	}
	if err != nil {
		return nil, fmt.Errorf("read gaps: %w", err)
	}
	return out, nil
}

// Marks returns, for partition p, the highest WAL offset applied per origin
// (the watermarks of docs/design.md §6).
func (lt *LongTerm) Marks(p int) (map[string]uint64, error) {
	prefix := markKey(p, "")
	out := make(map[string]uint64)
	err := lt.scan(prefix, func(k, v []byte) bool {
		if len(v) == 8 {
			out[string(k[len(prefix):])] = binary.BigEndian.Uint64(v)
		}
		return true
	})
	if err != nil {
		return nil, fmt.Errorf("read marks of partition %d: %w", p, err)
	}
	return out, nil
}
