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
)

// db is the durable copy of alarms and history (see the package doc).
type db struct {
	p   *pebble.DB
	seq atomic.Uint64 // orders history items written in the same millisecond
}

func openDB(dir string, logger *slog.Logger) (*db, error) {
	p, err := pebble.Open(dir, &pebble.Options{FormatMajorVersion: pebble.FormatNewest, Logger: pebbleLogger{logger}})
	if err != nil {
		return nil, fmt.Errorf("open alarm database: %w", err)
	}
	d := &db{p: p}
	d.seq.Store(uint64(time.Now().UnixNano()))
	return d, nil
}

func (d *db) close() error { return d.p.Close() }

func alarmKey(tenant, name string) []byte {
	return []byte("a\x00" + tenant + "\x00" + name)
}

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

// loadAlarms returns every stored alarm.
func (d *db) loadAlarms() ([]*Alarm, error) {
	it, err := d.p.NewIter(&pebble.IterOptions{LowerBound: []byte("a\x00"), UpperBound: []byte("a\x01")})
	if err != nil {
		return nil, fmt.Errorf("read alarms: %w", err)
	}
	defer it.Close()
	var out []*Alarm
	for it.First(); it.Valid(); it.Next() {
		a := &Alarm{}
		if err := json.Unmarshal(it.Value(), a); err != nil {
			return nil, fmt.Errorf("decode alarm %q: %w", it.Key(), err)
		}
		out = append(out, a)
	}
	return out, it.Error()
}

// write stores alarms, deletes the named ones and appends history items in
// one synced batch.
func (d *db) write(put []*Alarm, del []*Alarm, history []HistoryItem) error {
	b := d.p.NewBatch()
	defer b.Close()
	for _, a := range put {
		v, err := json.Marshal(a)
		if err != nil {
			return fmt.Errorf("encode alarm: %w", err)
		}
		if err := b.Set(alarmKey(a.Tenant, a.Name), v, nil); err != nil {
			return fmt.Errorf("write alarm: %w", err)
		}
	}
	for _, a := range del {
		if err := b.Delete(alarmKey(a.Tenant, a.Name), nil); err != nil {
			return fmt.Errorf("delete alarm: %w", err)
		}
	}
	for _, h := range history {
		v, err := json.Marshal(h)
		if err != nil {
			return fmt.Errorf("encode history item: %w", err)
		}
		if err := b.Set(historyKey(h.Timestamp.UnixMilli(), d.seq.Add(1)), v, nil); err != nil {
			return fmt.Errorf("write history item: %w", err)
		}
	}
	if err := b.Commit(pebble.Sync); err != nil {
		return fmt.Errorf("commit alarm batch: %w", err)
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

// pebbleLogger sends pebble's messages to slog.
type pebbleLogger struct{ l *slog.Logger }

func (p pebbleLogger) Infof(format string, args ...any) {
	p.l.Debug("pebble: " + fmt.Sprintf(format, args...))
}

func (p pebbleLogger) Errorf(format string, args ...any) {
	p.l.Error("pebble: " + fmt.Sprintf(format, args...))
}

func (p pebbleLogger) Fatalf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	p.l.Error("pebble: fatal: " + msg)
	panic("pebble: " + msg)
}
