package fallback

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/grafana/dskit/services"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/cellwatch/cellwatch/internal/record"
)

// DefaultLivenessInterval is how often a liveness mark is appended.
const DefaultLivenessInterval = time.Second

// LivenessSink is told of every mark once it is in the WAL, as ingest tells
// the local store of every record it appended (cmd wires the local store).
type LivenessSink interface {
	ApplyLiveness(l record.Liveness)
}

// LivenessConfig configures the Liveness service.
type LivenessConfig struct {
	// Interval between marks; default DefaultLivenessInterval. The stores
	// join marks at most a few seconds apart (store.DefaultMaxSilence), so
	// it must stay well below that.
	Interval time.Duration
	// Genesis says the node started on a new data directory: its first mark
	// says there is no data of this node from before it.
	Genesis bool
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// walAppender is the part of the WAL the marks need.
type walAppender interface {
	Append(ctx context.Context, rec []byte) (uint64, error)
}

// Liveness appends a liveness mark (record.KindLiveness) to the WAL every
// Interval, a "started" one when the service starts and a last one when it
// stops, and hands each durable mark to the sink. Marks are group-committed
// with ingest's records: about 12 bytes and no fsync of their own under
// load. It is a dskit service; start it after the local store was rebuilt
// and before the API serves, stop it after the API stopped.
type Liveness struct {
	services.Service
	cfg    LivenessConfig
	wal    walAppender
	sink   LivenessSink
	logger *slog.Logger

	lastMarkCtx context.Context // for the mark written while stopping

	mu      sync.Mutex
	started bool // a mark with Started was appended
	failing bool // the last append failed (log once per streak)

	marks, failures prometheus.Counter
	last            prometheus.Gauge
}

// NewLiveness returns the service. sink may be nil; reg may be nil; a nil
// logger discards.
func NewLiveness(cfg LivenessConfig, wal walAppender, sink LivenessSink, reg prometheus.Registerer, logger *slog.Logger) *Liveness {
	if cfg.Interval <= 0 {
		cfg.Interval = DefaultLivenessInterval
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	l := &Liveness{cfg: cfg, wal: wal, sink: sink, logger: logger}
	f := promauto.With(reg)
	l.marks = f.NewCounter(prometheus.CounterOpts{Name: "cellwatch_liveness_marks_total", Help: "Liveness marks appended to the WAL."})
	l.failures = f.NewCounter(prometheus.CounterOpts{Name: "cellwatch_liveness_mark_errors_total", Help: "Liveness marks the WAL refused (the interval goes uncovered)."})
	l.last = f.NewGauge(prometheus.GaugeOpts{Name: "cellwatch_liveness_last_mark_timestamp_seconds", Help: "Wall-clock time of the newest liveness mark in the WAL."})
	l.Service = services.NewTimerService(l.cfg.Interval, l.starting, l.mark, l.stopping)
	return l
}

// Mark appends one mark stamped with the clock's time and, once it is
// durable, gives it to the sink. The first mark that succeeds carries
// Started (and Genesis when configured).
func (l *Liveness) Mark(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock() // one mark at a time, so they reach the sink in WAL order
	m := record.Liveness{UnixMs: l.cfg.Now().UnixMilli(), Started: !l.started}
	m.Genesis = m.Started && l.cfg.Genesis
	ctx, cancel := context.WithTimeout(ctx, max(l.cfg.Interval, time.Second))
	defer cancel()
	if _, err := l.wal.Append(ctx, record.AppendLiveness(make([]byte, 0, 12), m)); err != nil {
		l.failures.Inc()
		if !l.failing {
			l.logger.Warn("liveness mark not written: this interval will be reported unknown", "err", err)
		}
		l.failing = true
		return fmt.Errorf("append liveness mark: %w", err)
	}
	if l.failing {
		l.logger.Info("liveness marks written again")
	}
	l.failing, l.started = false, true
	l.marks.Inc()
	l.last.Set(float64(m.UnixMs) / 1000)
	if l.sink != nil {
		l.sink.ApplyLiveness(m)
	}
	return nil
}

func (l *Liveness) starting(ctx context.Context) error {
	// The last mark is written while stopping, after the service context is
	// cancelled: it keeps the context's values, not its cancellation.
	l.lastMarkCtx = context.WithoutCancel(ctx)
	_ = l.Mark(ctx) // logged; a node whose WAL refuses marks still serves reads
	return nil
}

// mark is the timer's iteration: a refused mark is logged and counted, and
// the next tick tries again.
func (l *Liveness) mark(ctx context.Context) error {
	_ = l.Mark(ctx)
	return nil
}

// stopping appends a last mark, so coverage reaches the moment the node
// stopped taking writes.
func (l *Liveness) stopping(error) error {
	_ = l.Mark(l.lastMarkCtx)
	return nil
}
