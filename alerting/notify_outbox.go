package alerting

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// outboxEntry is one delivery waiting in the outbox.
type outboxEntry struct {
	Seq       uint64    `json:"seq"`
	Target    string    `json:"target"`
	Tenant    string    `json:"tenant"`
	AlarmName string    `json:"alarmName"`
	AlarmType string    `json:"alarmType"`
	Created   time.Time `json:"created"`
	Body      []byte    `json:"body"`

	size int64 // key + value bytes as stored
}

func outboxKey(seq uint64) []byte {
	return binary.BigEndian.AppendUint64([]byte("o\x00"), seq)
}

// targetQueue is one target's entries in seq order and its retry state.
type targetQueue struct {
	entries  []*outboxEntry
	failures int
	next     time.Time // no attempt before (real time)
	busy     bool      // the head is being delivered
}

// outbox is the in-memory index of the durable outbox, plus its delivery
// loop. Lock order: Service.mu, then outbox.mu.
type outbox struct {
	s      *Service
	client *http.Client

	mu     sync.Mutex
	queues map[string]*targetQueue
	n      int
	bytes  int64
	seq    uint64

	wake   chan struct{}
	cancel context.CancelFunc
	done   chan struct{}

	delivered prometheus.Counter
	failed    prometheus.Counter
	dropped   prometheus.Counter
}

// openOutbox loads the stored outbox and registers its metrics.
func (s *Service) openOutbox(reg prometheus.Registerer) error {
	o := &outbox{s: s, client: &http.Client{Timeout: s.cfg.NotifyTimeout}, queues: map[string]*targetQueue{},
		wake: make(chan struct{}, 1), seq: uint64(time.Now().UnixNano())}
	it, err := s.db.p.NewIter(&pebble.IterOptions{LowerBound: []byte("o\x00"), UpperBound: []byte("o\x01")})
	if err != nil {
		return fmt.Errorf("read outbox: %w", err)
	}
	for it.First(); it.Valid(); it.Next() {
		e := &outboxEntry{}
		if err := json.Unmarshal(it.Value(), e); err != nil {
			_ = it.Close()
			return fmt.Errorf("decode outbox entry: %w", err)
		}
		e.size = int64(len(it.Key()) + len(it.Value()))
		o.push(e)
		o.seq = max(o.seq, e.Seq)
	}
	if err := it.Close(); err != nil {
		return fmt.Errorf("read outbox: %w", err)
	}
	f := promauto.With(reg)
	o.delivered = f.NewCounter(prometheus.CounterOpts{Name: "cellwatch_alarm_notifications_delivered_total",
		Help: "Alarm notifications delivered."})
	o.failed = f.NewCounter(prometheus.CounterOpts{Name: "cellwatch_alarm_notifications_failed_attempts_total",
		Help: "Alarm notification delivery attempts that failed (retried)."})
	o.dropped = f.NewCounter(prometheus.CounterOpts{Name: "cellwatch_alarm_notifications_dropped_total",
		Help: "Alarm notifications dropped undelivered because the outbox was full."})
	f.NewGaugeFunc(prometheus.GaugeOpts{Name: "cellwatch_alarm_notifications_outbox_entries",
		Help: "Alarm notifications waiting in the outbox."}, func() float64 {
		o.mu.Lock()
		defer o.mu.Unlock()
		return float64(o.n)
	})
	f.NewGaugeFunc(prometheus.GaugeOpts{Name: "cellwatch_alarm_notifications_outbox_bytes",
		Help: "Bytes of the alarm notifications waiting in the outbox."}, func() float64 {
		o.mu.Lock()
		defer o.mu.Unlock()
		return float64(o.bytes)
	})
	s.outbox = o
	ctx, cancel := context.WithCancel(context.Background())
	o.cancel, o.done = cancel, make(chan struct{})
	go o.run(ctx)
	return nil
}

// close stops the delivery loop and waits for in-flight deliveries.
func (o *outbox) close() {
	o.cancel()
	<-o.done
}

// push appends e to its target's queue; o.mu must be held.
func (o *outbox) push(e *outboxEntry) {
	q := o.queues[e.Target]
	if q == nil {
		q = &targetQueue{}
		o.queues[e.Target] = q
	}
	q.entries = append(q.entries, e)
	o.n++
	o.bytes += e.size
}

// remove takes e out of its queue (if still there); o.mu must be held.
func (o *outbox) remove(e *outboxEntry) {
	q := o.queues[e.Target]
	if q == nil {
		return
	}
	for i, x := range q.entries {
		if x.Seq == e.Seq {
			q.entries = append(q.entries[:i:i], q.entries[i+1:]...)
			o.n--
			o.bytes -= e.size
			break
		}
	}
	if len(q.entries) == 0 && !q.busy {
		delete(o.queues, e.Target)
	}
}

func (o *outbox) poke() {
	select {
	case o.wake <- struct{}{}:
	default:
	}
}

// commitStates writes the alarms put (next states of prev, nil for none)
// with their history items, the outbox entries of their transitions and
// the drops that keep the outbox within its bounds, in one synced batch.
// s.mu must be held for writing.
func (s *Service) commitStates(prev, put []*Alarm, hist []HistoryItem) error {
	sets := make([]kv, 0, len(put))
	for _, a := range put {
		v, err := json.Marshal(a)
		if err != nil {
			return fmt.Errorf("encode alarm: %w", err)
		}
		sets = append(sets, kv{alarmKey(a.Tenant, a.Name), v})
	}
	now := s.cfg.Now().UTC()
	add, extra := notifications(prev, put, now)
	return s.commitOutbox(now, sets, slices.Concat(hist, extra), add)
}

// kv is one key and value to write.
type kv struct{ key, value []byte }

// commitOutbox writes sets and hist with the outbox entries add (and the
// drops that keep the outbox within its bounds) in one synced batch, then
// hands the entries to the delivery loop. s.mu must be held for writing.
func (s *Service) commitOutbox(now time.Time, sets []kv, hist []HistoryItem, add []*outboxEntry) error {
	o := s.outbox
	o.mu.Lock()
	defer o.mu.Unlock()
	seq := o.seq
	for _, e := range add {
		seq++
		e.Seq = seq
		v, err := json.Marshal(e)
		if err != nil {
			return fmt.Errorf("encode outbox entry: %w", err)
		}
		e.size = int64(len(outboxKey(e.Seq)) + len(v))
	}
	drop := o.overflow(add)
	dropped := map[uint64]bool{}
	var stored []*outboxEntry // dropped before they were ever stored: neither written nor deleted
	for _, e := range drop {
		hist = append(hist, actionItem(e.Tenant, e.AlarmName, e.AlarmType, now, e.Target, false, fmt.Sprintf(
			"Failed to execute action %s: the notification outbox is full (%d entries, %d bytes); the oldest notification was dropped",
			e.Target, s.cfg.NotifyMaxEntries, s.cfg.NotifyMaxBytes)))
		dropped[e.Seq] = true
		if e.Seq <= o.seq {
			stored = append(stored, e)
		}
	}
	keep := slices.DeleteFunc(slices.Clone(add), func(e *outboxEntry) bool { return dropped[e.Seq] })
	if err := s.db.writeNotify(sets, hist, keep, stored); err != nil {
		return err
	}
	o.seq = seq
	for _, e := range stored {
		o.remove(e)
	}
	for _, e := range keep {
		o.push(e)
	}
	o.dropped.Add(float64(len(drop)))
	if len(keep) > 0 {
		o.poke()
	}
	return nil
}

// overflow returns the oldest entries (stored ones first, then among add)
// to drop so that the outbox holds add within its bounds; o.mu must be held.
func (o *outbox) overflow(add []*outboxEntry) []*outboxEntry {
	n, b := o.n+len(add), o.bytes
	for _, e := range add {
		b += e.size
	}
	maxN, maxB := o.s.cfg.NotifyMaxEntries, o.s.cfg.NotifyMaxBytes
	if n <= maxN && b <= maxB {
		return nil
	}
	var drop []*outboxEntry
	cut := map[*targetQueue]int{}
	ai := 0
	for n > maxN || b > maxB {
		var oldest *outboxEntry
		var from *targetQueue
		for _, q := range o.queues {
			if i := cut[q]; i < len(q.entries) && (oldest == nil || q.entries[i].Seq < oldest.Seq) {
				oldest, from = q.entries[i], q
			}
		}
		switch {
		case oldest != nil:
			cut[from]++
		case ai < len(add): // every stored entry is older than the new ones
			oldest = add[ai]
			ai++
		default:
			return drop
		}
		drop = append(drop, oldest)
		n--
		b -= oldest.size
	}
	return drop
}

// writeNotify writes key/values and history items plus outbox entries
// added and deleted, in one synced batch.
func (d *db) writeNotify(sets []kv, history []HistoryItem, add, del []*outboxEntry) error {
	b := d.p.NewBatch()
	defer b.Close()
	for _, r := range sets {
		if err := b.Set(r.key, r.value, nil); err != nil {
			return fmt.Errorf("write alarm: %w", err)
		}
	}
	if err := d.batchHistory(b, history); err != nil {
		return err
	}
	for _, e := range add {
		v, err := json.Marshal(e)
		if err != nil {
			return fmt.Errorf("encode outbox entry: %w", err)
		}
		if err := b.Set(outboxKey(e.Seq), v, nil); err != nil {
			return fmt.Errorf("write outbox entry: %w", err)
		}
	}
	for _, e := range del {
		if err := b.Delete(outboxKey(e.Seq), nil); err != nil {
			return fmt.Errorf("delete outbox entry: %w", err)
		}
	}
	if err := b.Commit(pebble.Sync); err != nil {
		return fmt.Errorf("commit alarm batch: %w", err)
	}
	return nil
}

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

// run is the delivery loop: it starts the head of every due, idle target
// queue on at most NotifyWorkers deliveries at once, and sleeps until the
// next retry or a new entry.
func (o *outbox) run(ctx context.Context) {
	defer close(o.done)
	var wg sync.WaitGroup
	defer wg.Wait()
	sem := make(chan struct{}, o.s.cfg.NotifyWorkers)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		now := time.Now()
		var earliest time.Time
		var start []*outboxEntry
		o.mu.Lock()
		for _, q := range o.queues {
			if q.busy || len(q.entries) == 0 {
				continue
			}
			if q.next.After(now) {
				if earliest.IsZero() || q.next.Before(earliest) {
					earliest = q.next
				}
				continue
			}
			if len(start)+len(sem) >= cap(sem) {
				break
			}
			q.busy = true
			start = append(start, q.entries[0])
		}
		o.mu.Unlock()
		for _, e := range start {
			sem <- struct{}{}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() { <-sem; o.poke() }()
				err := o.deliver(ctx, e)
				if err != nil && ctx.Err() != nil { // shutting down: not an attempt to record
					o.mu.Lock()
					if q := o.queues[e.Target]; q != nil {
						q.busy = false
					}
					o.mu.Unlock()
					return
				}
				o.finish(e, err)
			}()
		}
		wait := time.Hour
		if !earliest.IsZero() {
			wait = max(time.Until(earliest), time.Millisecond)
		}
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			return
		case <-o.wake:
		case <-timer.C:
		}
	}
}

// deliver makes one attempt at e.
func (o *outbox) deliver(ctx context.Context, e *outboxEntry) error {
	url := e.Target
	if targetKind(e.Target) == "alertmanager" {
		url = alertmanagerURL(e.Target)
	}
	ctx, cancel := context.WithTimeout(ctx, o.s.cfg.NotifyTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(e.Body))
	if err != nil {
		return fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "cellwatch-alarm-notifier")
	resp, err := o.client.Do(req)
	if err != nil {
		return fmt.Errorf("post notification: %w", err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("post notification: %s", resp.Status)
	}
	return nil
}

// backoff is the wait after the n-th consecutive failure (n >= 1).
func (o *outbox) backoff(n int) time.Duration {
	d := o.s.cfg.NotifyBackoffMin
	for i := 1; i < n && d < o.s.cfg.NotifyBackoffMax; i++ {
		d *= 2
	}
	return min(d, o.s.cfg.NotifyBackoffMax)
}

// finish records the attempt at e: on success e leaves the outbox, on
// failure its target waits out its backoff. Either way an Action history
// item says so.
func (o *outbox) finish(e *outboxEntry, err error) {
	now := o.s.cfg.Now().UTC()
	o.mu.Lock()
	q := o.queues[e.Target]
	var item HistoryItem
	var del []*outboxEntry
	if q != nil {
		q.busy = false
	}
	if err == nil {
		o.delivered.Inc()
		item = actionItem(e.Tenant, e.AlarmName, e.AlarmType, now, e.Target, true, "Successfully executed action "+e.Target)
		del = []*outboxEntry{e}
		if q != nil {
			q.failures, q.next = 0, time.Time{}
		}
		o.remove(e)
	} else {
		o.failed.Inc()
		wait := o.s.cfg.NotifyBackoffMin
		if q != nil {
			q.failures++
			wait = o.backoff(q.failures)
			q.next = time.Now().Add(wait)
		}
		item = actionItem(e.Tenant, e.AlarmName, e.AlarmType, now, e.Target, false,
			fmt.Sprintf("Failed to execute action %s: %v; retrying in %s", e.Target, err, wait))
	}
	if q != nil && len(q.entries) == 0 {
		delete(o.queues, e.Target)
	}
	// Written under o.mu so that a drop and this delete cannot interleave
	// with the in-memory index; a crash before it only repeats a delivery.
	if werr := o.s.db.writeNotify(nil, []HistoryItem{item}, nil, del); werr != nil {
		o.s.logger.Error("record alarm notification", "target", e.Target, "alarm", e.AlarmName, "err", werr)
	}
	o.mu.Unlock()
	if err != nil {
		o.s.logger.Warn("alarm notification failed", "target", e.Target, "alarm", e.AlarmName, "err", err)
	}
}
