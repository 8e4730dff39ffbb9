package alerting

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/cellwatch/cellwatch/internal/pebblelog"
)

// db is the durable copy of alarms and history (see the package doc);
// notify keeps its outbox in it too.
type db struct {
	p   *pebble.DB
	seq atomic.Uint64 // orders history items written in the same millisecond
}

func openDB(dir string, logger *slog.Logger) (*db, error) {
	p, err := pebble.Open(dir, &pebble.Options{FormatMajorVersion: pebble.FormatNewest, Logger: pebblelog.New(logger)})
	if err != nil {
		return nil, fmt.Errorf("open alarm database: %w", err)
	}
	d := &db{p: p}
	d.seq.Store(uint64(time.Now().UnixNano()))
	return d, nil
}

func (d *db) close() error { return d.p.Close() }

func historyKey(ms int64, seq uint64) []byte {
	k := make([]byte, 2, 18)
	copy(k, "h\x00")
	k = binary.BigEndian.AppendUint64(k, uint64(ms))
	return binary.BigEndian.AppendUint64(k, seq)
}

// historyBound is the first history key at or after ms.
func historyBound(ms int64) []byte {
	if ms < 0 {
		ms = 0
	}
	return binary.BigEndian.AppendUint64([]byte("h\x00"), uint64(ms))
}

// prefixes are the key prefixes of the two alarm types.
var prefixes = map[string]string{TypeMetric: "a\x00", TypeComposite: "c\x00"}

func alarmKey(a Any) []byte {
	b := a.Common()
	return []byte(prefixes[a.Type()] + b.Tenant + "\x00" + b.Name)
}

// loadAlarms returns every stored alarm of both types.
func (d *db) loadAlarms() ([]Any, error) {
	var out []Any
	for typ, prefix := range prefixes {
		end := []byte(prefix)
		end[len(end)-1]++
		it, err := d.p.NewIter(&pebble.IterOptions{LowerBound: []byte(prefix), UpperBound: end})
		if err != nil {
			return nil, fmt.Errorf("read alarms: %w", err)
		}
		for it.First(); it.Valid(); it.Next() {
			a, err := decodeAlarm(typ, it.Value())
			if err != nil {
				_ = it.Close()
				return nil, fmt.Errorf("decode alarm %q: %w", it.Key(), err)
			}
			out = append(out, a)
		}
		if err := it.Close(); err != nil {
			return nil, fmt.Errorf("read alarms: %w", err)
		}
	}
	return out, nil
}

func decodeAlarm(typ string, v []byte) (Any, error) {
	if typ == TypeMetric {
		a := &Alarm{}
		return a, json.Unmarshal(v, a)
	}
	c := &CompositeAlarm{}
	if err := json.Unmarshal(v, c); err != nil {
		return nil, err
	}
	if err := c.ParseRule(); err != nil {
		return nil, fmt.Errorf("parse alarm rule: %w", err)
	}
	return c, nil
}

// batchAlarms adds the alarms put and the deletes of del to b.
func batchAlarms(b *pebble.Batch, put, del []Any) error {
	for _, a := range put {
		v, err := json.Marshal(a)
		if err != nil {
			return fmt.Errorf("encode alarm: %w", err)
		}
		if err := b.Set(alarmKey(a), v, nil); err != nil {
			return fmt.Errorf("write alarm: %w", err)
		}
	}
	for _, a := range del {
		if err := b.Delete(alarmKey(a), nil); err != nil {
			return fmt.Errorf("delete alarm: %w", err)
		}
	}
	return nil
}

// batchHistory adds the history items to b.
func (d *db) batchHistory(b *pebble.Batch, history []HistoryItem) error {
	for _, h := range history {
		v, err := json.Marshal(h)
		if err != nil {
			return fmt.Errorf("encode history item: %w", err)
		}
		if err := b.Set(historyKey(h.Timestamp.UnixMilli(), d.seq.Add(1)), v, nil); err != nil {
			return fmt.Errorf("write history item: %w", err)
		}
	}
	return nil
}

// history visits the history items with timestamps in [from, to) ms, in
// ascending or descending order, starting after the key after (if any),
// until fn returns false.
func (d *db) history(from, to int64, descending bool, after []byte, fn func(key []byte, h *HistoryItem) bool) error {
	it, err := d.p.NewIter(&pebble.IterOptions{LowerBound: historyBound(from), UpperBound: historyBound(to)})
	if err != nil {
		return fmt.Errorf("read history: %w", err)
	}
	defer it.Close()
	var valid bool
	switch {
	case after != nil && descending:
		valid = it.SeekLT(after)
	case after != nil:
		valid = it.SeekGE(after)
		if valid && bytes.Equal(it.Key(), after) {
			valid = it.Next()
		}
	case descending:
		valid = it.Last()
	default:
		valid = it.First()
	}
	for ; valid; valid = step(it, descending) {
		h := &HistoryItem{}
		if err := json.Unmarshal(it.Value(), h); err != nil {
			return fmt.Errorf("decode history item: %w", err)
		}
		if !fn(bytes.Clone(it.Key()), h) {
			return nil
		}
	}
	return it.Error()
}

func step(it *pebble.Iterator, descending bool) bool {
	if descending {
		return it.Prev()
	}
	return it.Next()
}

// prune deletes history items older than before (ms).
func (d *db) prune(before int64) error {
	if err := d.p.DeleteRange(historyBound(0), historyBound(before), pebble.Sync); err != nil {
		return fmt.Errorf("prune alarm history: %w", err)
	}
	return nil
}
