package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/bloom"
	"github.com/grafana/dskit/services"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/cellwatch/cellwatch/internal/pebblelog"
)

var (
	// errLongTermConfig is wrapped by NewLongTerm for an invalid
	// configuration.
	errLongTermConfig = errors.New("invalid long-term store configuration")
	// errLayout is wrapped when the directory holds a database of another
	// layout version.
	errLayout = errors.New("unknown long-term store layout")
)

// Defaults of LongTermConfig.
const (
	DefaultLongTermCacheBytes      = 64 << 20
	DefaultLongTermMemTableBytes   = 32 << 20
	DefaultLongTermSeriesCache     = 1 << 18
	DefaultLongTermRetentionPeriod = 5 * time.Minute
)

// layoutVersion is stored under the meta key; a database of another layout
// is refused.
const layoutVersion = 1

// LongTermConfig configures a LongTerm store. Zero fields take the defaults.
type LongTermConfig struct {
	// Dir is the pebble directory; required.
	Dir string
	// Now is the clock (default time.Now): it decides retention, at apply
	// time, at read time and for deletion.
	Now func() time.Time
	// CacheBytes is pebble's block cache (default 64 MiB).
	CacheBytes int64
	// MemTableBytes is pebble's memtable size (default 32 MiB).
	MemTableBytes uint64
	// SeriesCache bounds the series identities kept in memory (default
	// 262,144); past it the cache is emptied and refilled from disk.
	SeriesCache int
	// RetentionInterval is how often the service deletes data past each
	// tier's retention (default 5m).
	RetentionInterval time.Duration
	// Partitions is the number of stream partitions the store is fed from
	// (0: those that applied any liveness mark). Coverage needs an origin's
	// marks applied in every one of them.
	Partitions int
	// MaxSilence is the longest time between two liveness marks that still
	// counts as covered (default DefaultMaxSilence); see Coverage.
	MaxSilence time.Duration
}

// LongTerm is the long-term store: every tier of every series, in pebble,
// fed exactly once from the stream (ApplyBatch, Consumer). It is safe for
// concurrent use: one ApplyBatch per partition at a time (calls for one
// partition are serialised), reads from any goroutine.
//
// LongTerm is a dskit service: starting opens the database, running is a
// timer that enforces retention every RetentionInterval, stopping closes
// the database. Reads and ApplyBatch are for while it runs.
type LongTerm struct {
	services.Service

	cfg    LongTermConfig
	dbMu   sync.RWMutex // guards db's opening and closing against the disk gauge
	db     *pebble.DB
	cache  *pebble.Cache
	log    *slog.Logger
	series seriesIndex

	partsMu sync.Mutex
	parts   map[int]*partitionState
	runs    liveRuns

	retainMu   sync.Mutex
	retainedTo [len(tiers)]int64 // block start below which a tier is deleted

	appliedMsgs, appliedDatums, duplicates prometheus.Counter
	invalid, tooOld, unknownKind, corrupt  prometheus.Counter
	walGaps, streamGaps, corruptBlocks     prometheus.Counter
	applySeconds                           prometheus.Histogram
}

// NewLongTerm builds the long-term store of cfg.Dir; the database is opened
// when the service starts and closed when it stops. reg may be nil; a nil
// logger discards.
func NewLongTerm(cfg LongTermConfig, reg prometheus.Registerer, logger *slog.Logger) (*LongTerm, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.CacheBytes == 0 {
		cfg.CacheBytes = DefaultLongTermCacheBytes
	}
	if cfg.MemTableBytes == 0 {
		cfg.MemTableBytes = DefaultLongTermMemTableBytes
	}
	if cfg.SeriesCache == 0 {
		cfg.SeriesCache = DefaultLongTermSeriesCache
	}
	if cfg.RetentionInterval == 0 {
		cfg.RetentionInterval = DefaultLongTermRetentionPeriod
	}
	if cfg.MaxSilence == 0 {
		cfg.MaxSilence = DefaultMaxSilence
	}
	switch {
	case cfg.Dir == "":
		return nil, fmt.Errorf("dir: required: %w", errLongTermConfig)
	case cfg.CacheBytes < 0 || cfg.SeriesCache < 0 || cfg.RetentionInterval < 0:
		return nil, fmt.Errorf("cache sizes and retention interval must be positive: %w", errLongTermConfig)
	case cfg.Partitions < 0 || cfg.MaxSilence < 0:
		return nil, fmt.Errorf("partitions and max silence must not be negative: %w", errLongTermConfig)
	}
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	lt := &LongTerm{cfg: cfg, log: logger, parts: make(map[int]*partitionState)}
	lt.registerMetrics(reg)
	lt.Service = services.NewTimerService(cfg.RetentionInterval, lt.starting, func(context.Context) error {
		if err := lt.EnforceRetention(); err != nil {
			lt.log.Error("long-term store: retention", "err", err)
		}
		return nil
	}, lt.stopping)
	return lt, nil
}

// starting opens the database, checks its layout and loads the series
// index and the coverage runs.
func (lt *LongTerm) starting(context.Context) error {
	if err := os.MkdirAll(lt.cfg.Dir, 0o755); err != nil {
		return fmt.Errorf("create long-term dir: %w", err)
	}
	lt.cache = pebble.NewCache(lt.cfg.CacheBytes)
	opts := &pebble.Options{
		Cache:              lt.cache,
		FormatMajorVersion: pebble.FormatNewest,
		MemTableSize:       lt.cfg.MemTableBytes,
		Merger:             &pebble.Merger{Name: mergerName, Merge: lt.merge},
		Logger:             pebblelog.New(lt.log),
	}
	// Upper levels: fastest compression (MinLZ or Snappy); the bottom two,
	// where nearly all data ends: zstd.
	opts.ApplyCompressionSettings(func() pebble.DBCompressionSettings { return pebble.DBCompressionGood })
	for i := range opts.Levels {
		opts.Levels[i].FilterPolicy = bloom.FilterPolicy(10)
	}
	db, err := pebble.Open(lt.cfg.Dir, opts)
	if err != nil {
		lt.cache.Unref()
		return fmt.Errorf("open long-term store: %w", err)
	}
	lt.dbMu.Lock()
	lt.db = db
	lt.dbMu.Unlock()
	for _, load := range []func() error{
		lt.checkLayout,
		func() error { return lt.series.init(db, lt.cfg.SeriesCache) },
		lt.loadRuns,
	} {
		if err := load(); err != nil {
			_ = lt.closeDB()
			return err
		}
	}
	return nil
}

// stopping closes the database; the services that apply to it or read it
// stop before it.
func (lt *LongTerm) stopping(error) error {
	if err := lt.closeDB(); err != nil {
		return fmt.Errorf("close long-term store: %w", err)
	}
	return nil
}

func (lt *LongTerm) checkLayout() error {
	v, closer, err := lt.db.Get([]byte{prefixMeta})
	switch {
	case errors.Is(err, pebble.ErrNotFound):
		if err := lt.db.Set([]byte{prefixMeta}, []byte{layoutVersion}, pebble.Sync); err != nil {
			return fmt.Errorf("write layout version: %w", err)
		}
		return nil
	case err != nil:
		return fmt.Errorf("read layout version: %w", err)
	}
	defer closer.Close()
	if len(v) != 1 || v[0] != layoutVersion {
		return fmt.Errorf("layout %x in %s: %w", v, lt.cfg.Dir, errLayout)
	}
	return nil
}

func (lt *LongTerm) closeDB() error {
	lt.dbMu.Lock()
	defer lt.dbMu.Unlock()
	err := lt.db.Close()
	lt.db = nil
	lt.cache.Unref()
	return err
}

func (lt *LongTerm) registerMetrics(reg prometheus.Registerer) {
	f := promauto.With(reg)
	lt.appliedMsgs = f.NewCounter(prometheus.CounterOpts{
		Name: "cellwatch_longterm_messages_applied_total",
		Help: "Stream messages applied to the long-term store (metrics parts and gap markers).",
	})
	lt.appliedDatums = f.NewCounter(prometheus.CounterOpts{
		Name: "cellwatch_longterm_datums_applied_total",
		Help: "Datums merged into the long-term store (each into every tier that applies).",
	})
	lt.duplicates = f.NewCounter(prometheus.CounterOpts{
		Name: "cellwatch_longterm_duplicates_skipped_total",
		Help: "Stream messages skipped because their WAL offset was already applied for their origin and partition.",
	})
	dropped := f.NewCounterVec(prometheus.CounterOpts{
		Name: "cellwatch_longterm_datums_dropped_total",
		Help: "Datums not merged into the long-term store, by reason (invalid, retention: older than every tier).",
	}, []string{"reason"})
	lt.invalid = dropped.WithLabelValues("invalid")
	lt.tooOld = dropped.WithLabelValues("retention")
	skipped := f.NewCounterVec(prometheus.CounterOpts{
		Name: "cellwatch_longterm_messages_skipped_total",
		Help: "Stream messages skipped, by reason (unknown_kind, corrupt: recorded as a gap).",
	}, []string{"reason"})
	lt.unknownKind = skipped.WithLabelValues("unknown_kind")
	lt.corrupt = skipped.WithLabelValues("corrupt")
	gaps := f.NewCounterVec(prometheus.CounterOpts{
		Name: "cellwatch_longterm_gaps_recorded_total",
		Help: "Gaps recorded by the long-term store, by kind (wal: a shipper's gap marker or a corrupt message; stream: offsets the stream dropped before they were read).",
	}, []string{"kind"})
	lt.walGaps = gaps.WithLabelValues("wal")
	lt.streamGaps = gaps.WithLabelValues("stream")
	lt.corruptBlocks = f.NewCounter(prometheus.CounterOpts{
		Name: "cellwatch_longterm_corrupt_blocks_total",
		Help: "Stored blocks that failed to decode (merged or read up to the corruption).",
	})
	lt.applySeconds = f.NewHistogram(prometheus.HistogramOpts{
		Name:    "cellwatch_longterm_apply_seconds",
		Help:    "Time to apply one batch of stream messages, including the synced commit.",
		Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
	})
	f.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "cellwatch_longterm_disk_bytes",
		Help: "Disk space used by the long-term store's database.",
	}, func() float64 {
		lt.dbMu.RLock()
		defer lt.dbMu.RUnlock()
		if lt.db == nil {
			return 0
		}
		return float64(lt.db.Metrics().DiskSpaceUsage())
	})
	lt.registerCoverageMetrics(f)
}

// corruptBlock counts and logs a block that failed to decode.
func (lt *LongTerm) corruptBlock(err error) {
	lt.corruptBlocks.Inc()
	lt.log.Error("long-term store: corrupt block", "err", err)
}

func (lt *LongTerm) now() int64 { return lt.cfg.Now().Unix() }

// EnforceRetention deletes, per tier, every block that ended before the
// tier's retention (a DeleteRange over the tier's time-ordered keys). Reads
// never return expired buckets whether or not this ran.
func (lt *LongTerm) EnforceRetention() error {
	lt.retainMu.Lock()
	defer lt.retainMu.Unlock()
	now := lt.now()
	for ti := range tiers {
		t := &tiers[ti]
		end := floorDiv(t.cutoff(now), t.span) * t.span
		if end <= lt.retainedTo[ti] {
			continue
		}
		lo, hi := tierBounds(ti, end)
		if err := lt.db.DeleteRange(lo, hi, pebble.NoSync); err != nil {
			return fmt.Errorf("delete tier %ds before %d: %w", t.width, end, err)
		}
		lt.retainedTo[ti] = end
	}
	return nil
}
