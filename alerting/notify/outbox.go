package notify

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/grafana/dskit/services"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// KeyPrefix starts every outbox key in the shared database.
const KeyPrefix = "o\x00"

// Entry is one delivery waiting in the outbox.
type Entry struct {
	Seq       uint64    `json:"seq"`
	Target    string    `json:"target"`
	Tenant    string    `json:"tenant"`
	AlarmName string    `json:"alarmName"`
	AlarmType string    `json:"alarmType"`
	Created   time.Time `json:"created"`
	Body      []byte    `json:"body"`

	size int64 // key + value bytes as stored
}

func entryKey(seq uint64) []byte {
	return binary.BigEndian.AppendUint64([]byte(KeyPrefix), seq)
}

// Journal is the durable side the outbox is given: the database it shares
// and where the outcome of its actions is recorded.
type Journal interface {
	// DB is the open database; it is called from the outbox's starting on.
	DB() *pebble.DB
	// Record adds the records of results to b.
	Record(b *pebble.Batch, results []Result) error
}

// targetQueue is one target's entries in seq order and its retry state.
type targetQueue struct {
	entries  []*Entry
	failures int
	next     time.Time // no attempt before (real time)
	busy     bool      // the head is being delivered
}

// Outbox is the in-memory index of the durable outbox plus its delivery
// loop, a service (see the package doc). Lock order: the caller's lock
// around Stage, then Outbox.mu.
type Outbox struct {
	*services.BasicService

	cfg     Config
	journal Journal
	now     func() time.Time
	logger  *slog.Logger
	client  *http.Client

	mu     sync.Mutex
	queues map[string]*targetQueue
	n      int
	bytes  int64
	seq    uint64

	wake chan struct{}

	src     Source // of the keepalives (keepalive.go); nil: none
	pausing bool   // a keepalive pass runs; under mu

	keepalives *prometheus.CounterVec

	delivered prometheus.Counter
	failed    prometheus.Counter
	dropped   prometheus.Counter
}

// New builds the outbox over journal (now: the clock of the records, nil
// for time.Now) and registers its metrics on reg. It opens nothing.
func New(cfg Config, journal Journal, now func() time.Time, reg prometheus.Registerer, logger *slog.Logger) (*Outbox, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("validate notification config: %w", err)
	}
	if journal == nil {
		return nil, errors.New("build outbox: no journal")
	}
	if now == nil {
		now = time.Now
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	cfg = cfg.withDefaults()
	o := &Outbox{cfg: cfg, journal: journal, now: now, logger: logger, client: &http.Client{Timeout: cfg.Timeout},
		queues: map[string]*targetQueue{}, wake: make(chan struct{}, 1)}
	o.metrics(reg)
	o.BasicService = services.NewBasicService(o.starting, o.running, nil)
	return o, nil
}

func (o *Outbox) metrics(reg prometheus.Registerer) {
	f := promauto.With(reg)
	o.delivered = f.NewCounter(prometheus.CounterOpts{Name: "cellwatch_alarm_notifications_delivered_total",
		Help: "Alarm notifications delivered."})
	o.failed = f.NewCounter(prometheus.CounterOpts{Name: "cellwatch_alarm_notifications_failed_attempts_total",
		Help: "Alarm notification delivery attempts that failed (retried)."})
	o.keepalives = f.NewCounterVec(prometheus.CounterOpts{Name: "cellwatch_alarm_alertmanager_keepalives_total",
		Help: "Keepalive posts of alarms in ALARM to Alertmanagers, by outcome (sent, failed)."}, []string{"outcome"})
	o.dropped = f.NewCounter(prometheus.CounterOpts{Name: "cellwatch_alarm_notifications_dropped_total",
		Help: "Alarm notifications dropped undelivered because the outbox was full."})
	f.NewGaugeFunc(prometheus.GaugeOpts{Name: "cellwatch_alarm_notifications_outbox_entries",
		Help: "Alarm notifications waiting in the outbox."}, func() float64 {
		n, _ := o.Size()
		return float64(n)
	})
	f.NewGaugeFunc(prometheus.GaugeOpts{Name: "cellwatch_alarm_notifications_outbox_bytes",
		Help: "Bytes of the alarm notifications waiting in the outbox."}, func() float64 {
		_, b := o.Size()
		return float64(b)
	})
}

// Size returns the entries waiting and their bytes.
func (o *Outbox) Size() (int, int64) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.n, o.bytes
}

// starting loads the stored entries.
func (o *Outbox) starting(context.Context) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.queues, o.n, o.bytes, o.seq = map[string]*targetQueue{}, 0, 0, uint64(time.Now().UnixNano())
	it, err := o.journal.DB().NewIter(&pebble.IterOptions{LowerBound: []byte(KeyPrefix), UpperBound: []byte("o\x01")})
	if err != nil {
		return fmt.Errorf("read outbox: %w", err)
	}
	for it.First(); it.Valid(); it.Next() {
		e := &Entry{}
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
	return nil
}

// push appends e to its target's queue; o.mu must be held.
func (o *Outbox) push(e *Entry) {
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
func (o *Outbox) remove(e *Entry) {
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

func (o *Outbox) poke() {
	select {
	case o.wake <- struct{}{}:
	default:
	}
}

// Stage adds the entries add to b, with the deletes of the oldest entries
// that keep the outbox within its bounds, and returns the Results of those
// drops (to record in the same batch) and done, which the caller must call
// once b is committed or abandoned: done(true) hands the entries to the
// delivery loop. The outbox is locked from Stage to done; on error it is
// unlocked and done is nil.
func (o *Outbox) Stage(b *pebble.Batch, now time.Time, add []*Entry) ([]Result, func(committed bool), error) {
	o.mu.Lock()
	seq := o.seq
	vals := make([][]byte, len(add))
	for i, e := range add {
		seq++
		e.Seq = seq
		v, err := json.Marshal(e)
		if err != nil {
			o.mu.Unlock()
			return nil, nil, fmt.Errorf("encode outbox entry: %w", err)
		}
		vals[i], e.size = v, int64(len(entryKey(e.Seq))+len(v))
	}
	drop := o.overflow(add)
	dropped := map[uint64]bool{}
	var res []Result
	var stored []*Entry // dropped before they were ever stored: neither written nor deleted
	for _, e := range drop {
		res = append(res, Result{e.Tenant, e.AlarmName, e.AlarmType, e.Target, now, false, fmt.Sprintf(
			"Failed to execute action %s: the notification outbox is full (%d entries, %d bytes); the oldest notification was dropped",
			e.Target, o.cfg.MaxEntries, o.cfg.MaxBytes)})
		dropped[e.Seq] = true
		if e.Seq <= o.seq {
			stored = append(stored, e)
		}
	}
	var keep []*Entry
	for i, e := range add {
		if dropped[e.Seq] {
			continue
		}
		keep = append(keep, e)
		if err := b.Set(entryKey(e.Seq), vals[i], nil); err != nil {
			o.mu.Unlock()
			return nil, nil, fmt.Errorf("write outbox entry: %w", err)
		}
	}
	if err := deleteEntries(b, stored); err != nil {
		o.mu.Unlock()
		return nil, nil, err
	}
	return res, func(committed bool) { o.staged(committed, seq, stored, keep, len(drop)) }, nil
}

// staged ends a Stage: if the batch committed, the index follows it.
func (o *Outbox) staged(committed bool, seq uint64, stored, keep []*Entry, drops int) {
	defer o.mu.Unlock()
	if !committed {
		return
	}
	o.seq = seq
	for _, e := range stored {
		o.remove(e)
	}
	for _, e := range keep {
		o.push(e)
	}
	o.dropped.Add(float64(drops))
	if len(keep) > 0 {
		o.poke()
	}
}

func deleteEntries(b *pebble.Batch, del []*Entry) error {
	for _, e := range del {
		if err := b.Delete(entryKey(e.Seq), nil); err != nil {
			return fmt.Errorf("delete outbox entry: %w", err)
		}
	}
	return nil
}

// overflow returns the oldest entries (stored ones first, then among add)
// to drop so that the outbox holds add within its bounds; o.mu must be held.
func (o *Outbox) overflow(add []*Entry) []*Entry {
	n, b := o.n+len(add), o.bytes
	for _, e := range add {
		b += e.size
	}
	maxN, maxB := o.cfg.MaxEntries, o.cfg.MaxBytes
	if n <= maxN && b <= maxB {
		return nil
	}
	var drop []*Entry
	cut := map[*targetQueue]int{}
	ai := 0
	for n > maxN || b > maxB {
		var oldest *Entry
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
	return slices.Clip(drop)
}
