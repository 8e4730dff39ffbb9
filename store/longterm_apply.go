package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"sync"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/cellwatch/cellwatch/internal/record"
)

// Message is one decoded stream message of a partition: its stream offset
// and the shipped envelope (record.Shipped). Shipped.Body may alias the
// fetched bytes; ApplyBatch does not retain it.
type Message struct {
	Offset  int64
	Shipped record.Shipped
}

// DecodeMessage decodes the envelope of a stream message.
func DecodeMessage(offset int64, value []byte) (Message, error) {
	m := Message{Offset: offset}
	if err := record.DecodeShipped(value, &m.Shipped); err != nil {
		return m, fmt.Errorf("decode message at %d: %w", offset, err)
	}
	return m, nil
}

// partitionState is what ApplyBatch keeps per partition: the stored next
// offset and marks (loaded lazily, updated after each commit) and scratch.
type partitionState struct {
	mu     sync.Mutex
	loaded bool
	next   int64            // next stream offset to read
	lastMs int64            // newest datum timestamp applied (Unix ms), for stream gaps
	marks  map[string]int64 // origin -> highest applied WAL offset; absent: none (cache)

	updates    map[string]int64    // marks raised by the batch being built
	runUpdates map[string]markRun  // liveness runs the batch being built writes, per origin
	newest     map[uint32]int64    // series id -> newest second in the batch
	written    map[uint32]int64    // series id -> newest grain stored (cache)
	fresh      []uint32            // pending series ids the batch writes entries for
	freshSet   map[uint32]struct{} // the same, as a set
	pending    pendingBlocks
	keyBuf     []byte
	m          record.Metrics
	logs       record.Logs
}

// lockPartition returns partition p's state, locked; the caller calls
// unlock.
func (lt *LongTerm) lockPartition(p int) (*partitionState, func(), error) {
	lt.partsMu.Lock()
	ps, ok := lt.parts[p]
	if !ok {
		ps = &partitionState{}
		lt.parts[p] = ps
	}
	lt.partsMu.Unlock()
	ps.mu.Lock()
	unlock := ps.mu.Unlock
	if !ps.loaded {
		if err := lt.loadPartition(p, ps); err != nil {
			unlock()
			return nil, nil, err
		}
	}
	return ps, unlock, nil
}

func (lt *LongTerm) loadPartition(p int, ps *partitionState) error {
	v, closer, err := lt.db.Get(partitionKey(p))
	switch {
	case errors.Is(err, pebble.ErrNotFound):
		ps.next, ps.lastMs = 0, 0
	case err != nil:
		return fmt.Errorf("read partition %d state: %w", p, err)
	default:
		if len(v) != 16 {
			closer.Close()
			return fmt.Errorf("read partition %d state: %d bytes: %w", p, len(v), errBadBlock)
		}
		ps.next, ps.lastMs = int64(binary.BigEndian.Uint64(v)), int64(binary.BigEndian.Uint64(v[8:]))
		closer.Close()
	}
	ps.marks = make(map[string]int64)
	ps.updates = make(map[string]int64)
	ps.runUpdates = make(map[string]markRun)
	ps.newest = make(map[uint32]int64)
	ps.written = make(map[uint32]int64)
	ps.freshSet = make(map[uint32]struct{})
	ps.loaded = true
	return nil
}

// mark returns the highest WAL offset applied for origin in partition p, or
// -1 when none was. The caller holds the partition lock.
func (lt *LongTerm) mark(p int, ps *partitionState, origin string) (int64, error) {
	if v, ok := ps.updates[origin]; ok {
		return v, nil
	}
	if v, ok := ps.marks[origin]; ok {
		return v, nil
	}
	v, closer, err := lt.db.Get(markKey(p, origin))
	switch {
	case errors.Is(err, pebble.ErrNotFound):
		ps.marks[origin] = -1
		return -1, nil
	case err != nil:
		return 0, fmt.Errorf("read mark of %q in partition %d: %w", origin, p, err)
	}
	defer closer.Close()
	if len(v) != 8 {
		return 0, fmt.Errorf("read mark of %q in partition %d: %d bytes: %w", origin, p, len(v), errBadBlock)
	}
	m := int64(binary.BigEndian.Uint64(v))
	ps.marks[origin] = m
	return m, nil
}

// NextOffset returns the stream offset from which partition p is read next:
// one past the last message applied or skipped (0 for a new partition). It
// is stored with the data, so it is exact after a crash.
func (lt *LongTerm) NextOffset(p int) int64 {
	off, err := lt.nextOffset(p)
	if err != nil {
		lt.log.Error("long-term store: next offset", "partition", p, "err", err)
	}
	return off
}

func (lt *LongTerm) nextOffset(p int) (int64, error) {
	ps, unlock, err := lt.lockPartition(p)
	if err != nil {
		return 0, err
	}
	defer unlock()
	return ps.next, nil
}

// A series' newest datum second is stored (merged by max) when it enters a
// new grain, so most batches write no newest key: the stored value may lag
// the true newest by less than newestGrain.
const (
	newestGrain      = 3600
	maxWrittenNewest = 1 << 20 // series per partition whose stored grain is cached
)

// ApplyBatch applies the messages of partition p (ascending by stream
// offset) exactly once, in one pebble batch committed with Sync:
//
//   - a message whose WAL offset is at or below the mark of (p, its origin)
//     was applied before (a replay, a producer retry, an overlapping batch)
//     and is skipped;
//   - a KindMetrics message merges its datums into every tier and raises the
//     mark to its offset; a KindLogs message writes its log events and
//     merges its metric filters' datums the same way; a KindGap message records the gap (idempotent:
//     keyed by origin and offset range; an unknown wall-clock bound is
//     replaced by the newest liveness mark applied before it, or by now) and
//     raises the mark to the last dropped offset; a KindLiveness message
//     extends the origin's liveness run in the partition (see Coverage) and
//     raises the mark to its offset;
//   - other kinds are skipped (counted); a body that does not decode is
//     recorded as a gap of its one offset;
//   - the next stream offset becomes one past the last message.
//
// Marks, data, gaps, new series and the next offset commit together, so a
// crash leaves every message either wholly applied with its mark or not at
// all. A failed batch changes nothing and may be retried.
func (lt *LongTerm) ApplyBatch(p int, msgs []Message) error {
	if len(msgs) == 0 {
		return nil
	}
	began := time.Now()
	ps, unlock, err := lt.lockPartition(p)
	if err != nil {
		return err
	}
	defer unlock()
	clear(ps.updates)
	clear(ps.runUpdates)
	clear(ps.newest)
	ps.fresh = ps.fresh[:0]
	clear(ps.freshSet)
	ps.pending.reset()

	now := lt.now()
	batch := lt.db.NewBatch()
	defer batch.Close()
	next, lastMs := ps.next, ps.lastMs
	var st applyStats
	for i := range msgs {
		m := &msgs[i]
		next = max(next, m.Offset+1)
		sh := &m.Shipped
		mark, err := lt.mark(p, ps, sh.Origin)
		if err != nil {
			return err
		}
		switch sh.Kind {
		case record.KindMetrics:
			if int64(sh.Offset) <= mark {
				st.dups++
				continue
			}
			if err := record.DecodeMetrics(sh.Body, &ps.m); err != nil {
				st.corrupt++
				lt.log.Error("long-term store: corrupt metrics message, recorded as a gap",
					"partition", p, "stream_offset", m.Offset, "origin", sh.Origin, "wal_offset", sh.Offset, "err", err)
				if err := lt.putCorruptGap(batch, p, ps, sh); err != nil {
					return err
				}
			} else {
				ms, err := lt.applyMetrics(batch, ps, &ps.m, now, &st)
				if err != nil {
					return err
				}
				lastMs = max(lastMs, ms)
			}
			ps.updates[sh.Origin] = int64(sh.Offset)
			st.msgs++
		case record.KindLogs:
			if int64(sh.Offset) <= mark {
				st.dups++
				continue
			}
			ms, err := lt.applyLogsMessage(batch, p, ps, m, now, &st)
			if err != nil {
				return err
			}
			lastMs = max(lastMs, ms)
			ps.updates[sh.Origin] = int64(sh.Offset)
			st.msgs++
		case record.KindGap:
			g, err := record.DecodeGap(sh.Body)
			if err != nil {
				st.corrupt++
				lt.log.Error("long-term store: corrupt gap message, skipped", "partition", p, "stream_offset", m.Offset, "err", err)
				continue
			}
			// The marker's offset is that of its last dropped record (or, as
			// the shipper sends it, the first kept one): the mark must stay
			// below the first record after the gap.
			last := int64(sh.Offset)
			if g.To > 0 {
				last = min(last, int64(g.To)-1)
			}
			if last <= mark {
				if dup, err := lt.hasGap(sh.Origin, g); err != nil {
					return err
				} else if dup { // applied before: its wall-clock bounds stay as first written
					st.dups++
					continue
				}
			}
			g = lt.boundGap(p, ps, sh.Origin, g)
			if err := putGap(batch, p, sh.Origin, g); err != nil {
				return err
			}
			st.walGaps++
			if last > mark {
				ps.updates[sh.Origin] = last
			}
			st.msgs++
		case record.KindLiveness:
			if int64(sh.Offset) <= mark {
				st.dups++
				continue
			}
			if l, err := record.DecodeLiveness(sh.Body); err != nil {
				st.corrupt++
				lt.log.Error("long-term store: corrupt liveness message, recorded as a gap",
					"partition", p, "stream_offset", m.Offset, "origin", sh.Origin, "wal_offset", sh.Offset, "err", err)
				if err := lt.putCorruptGap(batch, p, ps, sh); err != nil {
					return err
				}
			} else if err := lt.applyLiveness(batch, p, ps, sh.Origin, l); err != nil {
				return err
			}
			ps.updates[sh.Origin] = int64(sh.Offset)
			st.msgs++
		default:
			st.unknown++
		}
	}
	if err := ps.pending.write(batch); err != nil {
		return err
	}
	for _, id := range ps.fresh {
		if err := lt.series.writePending(batch, id); err != nil {
			return err
		}
	}
	for id, sec := range ps.newest {
		if ps.written[id] >= floorDiv(sec, newestGrain) {
			delete(ps.newest, id) // stored within the grain already
			continue
		}
		if err := batch.Merge(idKey(prefixNewest, id), appendOrdered(nil, sec), nil); err != nil {
			return fmt.Errorf("merge newest: %w", err)
		}
	}
	for origin, off := range ps.updates {
		if err := batch.Set(markKey(p, origin), encodeUint64(uint64(off)), nil); err != nil {
			return fmt.Errorf("write mark: %w", err)
		}
	}
	if err := putPartition(batch, p, next, lastMs); err != nil {
		return err
	}
	if err := batch.Commit(pebble.Sync); err != nil {
		return fmt.Errorf("commit batch of partition %d: %w", p, err)
	}
	lt.series.committed(ps.fresh)
	if len(ps.written)+len(ps.newest) > maxWrittenNewest {
		clear(ps.written)
	}
	for id, sec := range ps.newest {
		ps.written[id] = floorDiv(sec, newestGrain)
	}
	maps.Copy(ps.marks, ps.updates)
	lt.committedRuns(p, ps.runUpdates)
	ps.next, ps.lastMs = next, lastMs
	lt.count(&st, began)
	return nil
}

// putCorruptGap records the one WAL record of a message that does not
// decode as a gap.
func (lt *LongTerm) putCorruptGap(batch *pebble.Batch, p int, ps *partitionState, sh *record.Shipped) error {
	g := lt.boundGap(p, ps, sh.Origin, record.Gap{From: sh.Offset, To: sh.Offset + 1, FirstMs: -1, LastMs: -1})
	return putGap(batch, p, sh.Origin, g)
}

// boundGap fills the unknown wall-clock bounds of a WAL gap of origin when
// the partition applied liveness marks of it: the missing records were
// written after the newest mark applied before them, and before now (the
// gap is applied after they were written). Without marks the bounds stay
// unknown (unbounded).
func (lt *LongTerm) boundGap(p int, ps *partitionState, origin string, g record.Gap) record.Gap {
	newest := lt.newestMark(p, ps, origin)
	if newest < 0 || (g.FirstMs >= 0 && g.LastMs >= 0) {
		return g
	}
	if g.FirstMs < 0 {
		g.FirstMs = newest
	}
	if g.LastMs < 0 {
		g.LastMs = lt.cfg.Now().UnixMilli()
	}
	return g
}

type applyStats struct {
	msgs, dups, datums, invalid, tooOld, unknown, corrupt, walGaps int
}

func (lt *LongTerm) count(st *applyStats, began time.Time) {
	lt.appliedMsgs.Add(float64(st.msgs))
	lt.appliedDatums.Add(float64(st.datums))
	lt.duplicates.Add(float64(st.dups))
	lt.invalid.Add(float64(st.invalid))
	lt.tooOld.Add(float64(st.tooOld))
	lt.unknownKind.Add(float64(st.unknown))
	lt.corrupt.Add(float64(st.corrupt))
	lt.walGaps.Add(float64(st.walGaps + st.corrupt))
	lt.applySeconds.Observe(time.Since(began).Seconds())
}

// applyMetrics merges the datums of m into the pending blocks of every tier
// that applies and returns the newest datum timestamp (ms).
func (lt *LongTerm) applyMetrics(batch *pebble.Batch, ps *partitionState, m *record.Metrics, now int64, st *applyStats) (int64, error) {
	newestMs := int64(minInt64)
	for i := range m.Datums {
		d := &m.Datums[i]
		if !validDatum(d) {
			st.invalid++
			continue
		}
		sec := floorDiv(d.Timestamp, 1000)
		seen := false
		var id uint32
		for ti := range tiers {
			t := &tiers[ti]
			if t.highRes && !d.HighRes || !t.holds(sec, now) {
				continue
			}
			if !seen {
				var err error
				if id, err = lt.seriesID(ps, m.Tenant, m.Namespace, d); err != nil {
					return 0, err
				}
				if old, ok := ps.newest[id]; !ok || sec > old {
					ps.newest[id] = sec
				}
				seen = true
			}
			ps.pending.bucket(ti, id, floorDiv(sec, t.width)*t.width).AddDatum(d)
		}
		if !seen {
			st.tooOld++
			continue
		}
		st.datums++
		newestMs = max(newestMs, d.Timestamp)
	}
	return newestMs, nil
}

// seriesID resolves the datum's series, noting ids whose index entries the
// batch must write.
func (lt *LongTerm) seriesID(ps *partitionState, tenant, namespace string, d *record.Datum) (uint32, error) {
	ps.keyBuf = appendSeriesKey(ps.keyBuf[:0], tenant, namespace, d.MetricName, sortedDims(d.Dimensions), d.Unit)
	id, pending, err := lt.series.resolve(ps.keyBuf)
	if err != nil {
		return 0, err
	}
	if _, ok := ps.freshSet[id]; pending && !ok {
		ps.freshSet[id] = struct{}{}
		ps.fresh = append(ps.fresh, id)
	}
	return id, nil
}

func putPartition(batch *pebble.Batch, p int, next, lastMs int64) error {
	v := binary.BigEndian.AppendUint64(make([]byte, 0, 16), uint64(next))
	v = binary.BigEndian.AppendUint64(v, uint64(lastMs))
	if err := batch.Set(partitionKey(p), v, nil); err != nil {
		return fmt.Errorf("write partition %d state: %w", p, err)
	}
	return nil
}
